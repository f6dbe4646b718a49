"""The course as a student sees it: each lesson opened and run in JupyterLab, in Chromium.

For every lesson in ``notebooks/``: open it, clear the stored outputs, Run → Run All Cells,
wait until every cell has run, save (into the server's temporary copy), and check

- no error output, except in cells tagged ``raises-exception`` (read from the saved file,
  whose cells match the lesson's one for one; the page is checked for tracebacks too);
- lessons with the explorer: it renders (sliders and a Run button), pressing Run shows a
  timeline picture, and moving the workers slider and pressing Run again changes it;
- lessons with a ``tqdm`` progress bar: the bar renders and reaches its total.

A screenshot of each lesson goes to ``tests/browser/artifacts/`` (the explorer, or the
first picture), and one lesson is run again in the dark theme.

Run with ``make test-browser`` (``make test`` does not collect this folder).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import ARTIFACTS, DARK, LIGHT, ROOT, Lab, screenshots

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
RUN_TIMEOUT_S = 120  # one lesson at test scale, with a fresh kernel


def _code_cells(path: Path) -> list[Any]:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _has_explorer(path: Path) -> bool:
    return any("explore(" in c.source for c in _code_cells(path))


def _has_tqdm(path: Path) -> bool:
    return any("tqdm" in c.source for c in _code_cells(path))


EXPLORER_LESSONS = [p for p in LESSONS if _has_explorer(p)]


def _menu(page: Any, menu: str, command: str) -> None:
    """Click a top menu (``Run``), then one of its items, found by its command id."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    item = page.locator(f'.lm-Menu-item[data-command="{command}"]').first
    try:
        item.wait_for(timeout=5_000)
    except Exception:
        items = page.locator(".lm-Menu-item[data-command]")
        found = [items.nth(i).get_attribute("data-command") for i in range(items.count())]
        raise AssertionError(f"no {command!r} in the {menu} menu; it has {found}") from None
    item.click()


def _wait(predicate: Any, timeout: float, what: str, interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _prompts(notebook: Any) -> list[str]:
    return [t.strip() for t in notebook.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def open_and_run(page: Any, lab: Lab, lesson: Path) -> Any:
    """Open ``lesson``, clear its outputs, run all cells, wait, save; return the notebook."""
    # A workspace of its own: otherwise JupyterLab reopens (and starts kernels for) every
    # notebook an earlier page had open.
    page.goto(lab.url(f"lab/workspaces/{lesson.stem}/tree/notebooks/{lesson.name}"))
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    notebook.locator(".jp-CodeCell").first.wait_for()
    indicator = page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator"
    )
    _wait(lambda: indicator.get_attribute("data-status") == "idle", 60, "the kernel to start")

    if page.locator("#jp-left-stack").is_visible():  # more room for the lesson
        _menu(page, "View", "filebrowser:toggle-main")
    n_code = len(_code_cells(lesson))
    cells = notebook.locator(".jp-CodeCell")
    _wait(lambda: cells.count() == n_code, 30, f"all {n_code} code cells to render")
    _menu(page, "Edit", "editmenu:clear-all")
    _wait(lambda: all(p in ("[ ]:", "[ ]") for p in _prompts(notebook)), 10, "cleared prompts")
    # Run All; on a page that has only just loaded the command may not reach the
    # notebook yet, so try again if no cell starts.
    for _attempt in range(3):
        cells.first.locator(".jp-InputPrompt").click()  # make this notebook the active one
        _menu(page, "Run", "runmenu:run-all")
        try:
            _wait(lambda: _prompts(notebook)[0] not in ("[ ]:", "[ ]"), 10, "the first cell")
            break
        except AssertionError:
            continue

    quiet_polls = 0

    def finished() -> bool:
        # Done when nothing is queued or running ([*]) and the kernel has been idle for two
        # polls in a row. A cell that raises stops Run All: the cells after it stay [ ].
        nonlocal quiet_polls
        prompts = _prompts(notebook)
        started = bool(prompts) and re.fullmatch(r"\[\d+\]:?", prompts[0]) is not None
        quiet = started and "[*]:" not in prompts and "[*]" not in prompts
        quiet = quiet and indicator.get_attribute("data-status") == "idle"
        quiet_polls = quiet_polls + 1 if quiet else 0
        return quiet_polls >= 2

    _wait(finished, RUN_TIMEOUT_S, f"the cells of {lesson.name} to run", 0.5)
    _menu(page, "File", "docmanager:save")
    tab = page.locator('.lm-TabBar-tab[data-type="document-title"]', has_text=lesson.name)
    _wait(lambda: "jp-mod-dirty" not in (tab.get_attribute("class") or ""), 20, "the save")
    return notebook


def check_no_errors(lab: Lab, lesson: Path, notebook: Any) -> None:
    saved = _code_cells(lab.root / "notebooks" / lesson.name)
    committed = _code_cells(lesson)
    assert [c.source for c in saved] == [c.source for c in committed]
    problems: list[str] = []
    flagged: set[int] = set()
    for k, (cell, original) in enumerate(zip(saved, committed, strict=True)):
        allowed = "raises-exception" in original.metadata.get("tags", [])
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors and not allowed:
            error = errors[0]
            trace = _ANSI.sub("", "\n".join(error.traceback)).splitlines()
            where = [line.strip() for line in trace if line.lstrip().startswith("--->")]
            problems.append(
                f"code cell {k}: {error.ename}: {error.evalue} {where[-1] if where else ''}"
            )
            flagged.add(k)
    not_run = [k for k, cell in enumerate(saved) if cell.execution_count is None]
    if not_run:
        problems.append(f"code cells {not_run} did not run (Run All stops at an error)")
    # and what the page shows: a traceback only where the lesson means to show one
    cells = notebook.locator(".jp-CodeCell")
    for k, original in enumerate(committed):
        if k in flagged or "raises-exception" in original.metadata.get("tags", []):
            continue
        stderr = cells.nth(k).locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        for text in stderr.all_inner_texts():
            if "Traceback" in text:
                problems.append(f"code cell {k} shows a traceback: {text[:300]}")
    assert not problems, f"{lesson.name}:\n" + "\n".join(problems)


def _explorer(notebook: Any) -> Any:
    run = notebook.page.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$"))
    return notebook.locator(".jp-OutputArea-output").filter(has=run).last


def _picture_src(explorer: Any) -> str | None:
    img = explorer.locator("img.widget-image")
    if img.count() == 0 or not img.is_visible():
        return None
    loaded = img.evaluate("el => el.complete && el.naturalWidth > 0")
    return img.get_attribute("src") if loaded else None


def _click_run_and_wait(explorer: Any, previous: str | None) -> str:
    button = explorer.locator("button.widget-button", has_text=re.compile(r"^\s*Run\s*$"))
    button.click()

    def updated() -> bool:
        src = _picture_src(explorer)
        return src is not None and src != previous and button.inner_text().strip() == "Run"

    _wait(updated, 60, "the explorer's timeline picture to change")
    report = explorer.inner_text()
    assert "Could not run" not in report, report
    return _picture_src(explorer) or ""


def check_explorer(notebook: Any) -> Any:
    explorer = _explorer(notebook)
    explorer.scroll_into_view_if_needed()
    sliders = explorer.locator(".widget-hslider")
    assert sliders.count() >= 3, "the explorer's sliders did not render"
    label = notebook.page.get_by_text("workers", exact=True)
    workers = explorer.locator(".widget-hslider", has=label)
    readout = workers.locator(".widget-readout")
    start = int(readout.inner_text().strip())  # each lesson opens it with its own settings

    first = _click_run_and_wait(explorer, None)
    assert "speed-up" in explorer.inner_text()

    steps, key = (min(3, start - 1), "ArrowLeft") if start > 1 else (1, "ArrowRight")
    target = start - steps if key == "ArrowLeft" else start + steps
    workers.locator(".noUi-handle").focus()
    for _ in range(steps):
        workers.locator(".noUi-handle").press(key)
    _wait(lambda: readout.inner_text().strip() == str(target), 10, "the workers slider to move")
    second = _click_run_and_wait(explorer, first)
    assert second != first
    # the report: the sequential baseline's wall time next to the chosen runner's
    assert re.search(r"\b(threads|processes|asyncio):", explorer.inner_text())
    return explorer


def check_progress_bars(notebook: Any) -> Any:
    bars = notebook.locator(".widget-hbox", has=notebook.page.locator(".widget-hprogress"))
    assert bars.count() >= 1, "no tqdm progress bar rendered"
    for text in bars.all_inner_texts():
        counts = re.search(r"\b(\d+)/(\d+)\b", text)
        done = "100%" in text or (counts is not None and counts.group(1) == counts.group(2))
        assert done, f"progress bar not complete: {text!r}"
    return bars.first


def screenshot(page: Any, target: Any, name: str) -> Path:
    if target is not None:
        target.scroll_into_view_if_needed()
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    screenshots.append(path)
    print(f"screenshot: {path}")
    return path


@contextlib.contextmanager
def lesson_page(lab: Lab, browser_context: Any, name: str) -> Iterator[Any]:
    """A new page; on failure a screenshot ``<name>-FAILED.png``; at the end, kernels shut."""
    page = browser_context.new_page()
    try:
        yield page
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, None, f"{name}-FAILED")
        raise
    finally:
        page.close()
        lab.shut_down_kernels()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_in_jupyterlab(lab: Lab, browser_context: Any, lesson: Path) -> None:
    with lesson_page(lab, browser_context, lesson.stem) as page:
        notebook = open_and_run(page, lab, lesson)
        check_no_errors(lab, lesson, notebook)
        target = None
        if _has_tqdm(lesson):
            target = check_progress_bars(notebook)
        pictures = notebook.locator(".jp-OutputArea-output img")
        if pictures.count():
            target = pictures.first
        if _has_explorer(lesson):
            target = check_explorer(notebook)
        screenshot(page, target, lesson.stem)


@pytest.mark.skipif(not EXPLORER_LESSONS, reason="no lesson has the explorer yet")
def test_dark_theme(lab: Lab, browser_context: Any) -> None:
    lesson = EXPLORER_LESSONS[0]
    lab.set_theme(DARK)
    try:
        with lesson_page(lab, browser_context, f"{lesson.stem}-dark") as page:
            notebook = open_and_run(page, lab, lesson)
            assert page.evaluate("document.body.dataset.jpThemeName") == DARK
            check_no_errors(lab, lesson, notebook)
            first_picture = notebook.locator(".jp-OutputArea-output img").first
            screenshot(page, first_picture, f"{lesson.stem}-dark")
            explorer = check_explorer(notebook)
            screenshot(page, explorer, f"{lesson.stem}-dark-explorer")
    finally:
        lab.set_theme(LIGHT)
