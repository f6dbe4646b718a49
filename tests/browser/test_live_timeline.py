"""The live timeline in a real JupyterLab, in Chromium: the picture grows while the cell runs.

A small notebook runs four live demos at lecture scale (the Jupyter server itself runs at
the test scale; the notebook's first cell sets scale 1 for its kernel): five ``io_task`` s
in threads, two ``cpu_task`` s in a process pool, five coroutines, and the course's HTTP
server's own view of 60 requests (``live_server``). For each, two screenshots
of the cell's output taken a second apart while the cell runs must differ (the display
update reached the browser), and when all is done every output is the final PNG picture.

Run with ``make test-browser`` (``make test`` does not collect this folder).
"""

from __future__ import annotations

import time
from typing import Any

import nbformat

from .conftest import ARTIFACTS, Lab, screenshots
from .test_jupyterlab import _menu, _prompts, _wait

CELLS = [
    """import asyncio, os, threading
from concurrent.futures import ProcessPoolExecutor
os.environ["CONCURRENCY_LAB_SCALE"] = "1"  # lecture scale for this kernel
from concurrency_lab.view.live import live
from concurrency_lab.work.aio import io_task as aio_task, track
from concurrency_lab.work.tasks import cpu_task, io_task
from concurrency_lab.work.timeline import Timeline, traced
pool = ProcessPoolExecutor(2)
list(pool.map(cpu_task, range(2), [10, 10]))  # workers started before the demo""",
    """with live(Timeline("threads: five io_tasks")) as tl:
    task = tl.track(io_task)
    threads = [threading.Thread(target=task, args=(i,), kwargs={"verbose": False})
               for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()""",
    """with live(Timeline("processes: two cpu_tasks")) as tl:
    tl.collect_all(pool.map(traced(cpu_task), range(2), [150_000_000] * 2))""",
    """with live(Timeline("coroutines: five io_tasks")) as tl:
    task = track(tl, aio_task)
    await asyncio.gather(*(task(i, verbose=False) for i in range(5)))
pool.shutdown()""",
    """from concurrent.futures import ThreadPoolExecutor
from concurrency_lab.view.live import live_server
from concurrency_lab.work.http_client import get
from concurrency_lab.work.service import start_service
service = start_service(limit=10)  # 60 requests of 0.5 s, 10 at a time: about 3 s
urls = [service.item_url(i, seconds=0.5) for i in range(60)]
with live_server(service, "the server: 60 requests, limit 10"), ThreadPoolExecutor(10) as ex:
    replies = list(ex.map(get, urls))
service.close()""",
]
LIVE_CELLS = (1, 2, 3, 4)


def _output(notebook: Any, k: int) -> Any:
    return notebook.locator(".jp-CodeCell").nth(k).locator(".jp-OutputArea")


def _image_src(notebook: Any, k: int) -> str:
    img = _output(notebook, k).locator("img")
    return (img.first.get_attribute("src") or "") if img.count() else ""


def test_live_pictures_grow_in_the_browser(lab: Lab, browser_context: Any) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / "notebooks" / "live_demo.ipynb")

    page = browser_context.new_page()
    try:
        page.goto(lab.url("lab/workspaces/live/tree/notebooks/live_demo.ipynb"))
        notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        notebook.locator(".jp-CodeCell").first.wait_for()
        indicator = page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator"
        )
        _wait(lambda: indicator.get_attribute("data-status") == "idle", 60, "the kernel")
        # Run All; on a page that has only just loaded the command may not reach the
        # notebook yet, so try again if no cell starts (as test_jupyterlab does).
        for _attempt in range(3):
            notebook.locator(".jp-CodeCell").first.locator(".jp-InputPrompt").click()
            _menu(page, "Run", "runmenu:run-all")
            try:
                _wait(lambda: _prompts(notebook)[0] not in ("[ ]:", "[ ]"), 10, "the first cell")
                break
            except AssertionError:
                continue

        for k in LIVE_CELLS:
            # the cell is running and its live picture is on the page
            _wait(
                lambda k=k: _prompts(notebook)[k] in ("[*]:", "[*]") and _image_src(notebook, k),
                90,
                f"cell {k}'s live picture",
                interval=0.1,
            )
            output = _output(notebook, k)
            output.scroll_into_view_if_needed()
            first = output.screenshot()
            src_first = _image_src(notebook, k)
            time.sleep(1.0)
            second = output.screenshot()
            shot = ARTIFACTS / f"live-cell{k}.png"
            shot.write_bytes(second)
            screenshots.append(shot)
            assert first != second, f"cell {k}: the picture did not change in a second"
            assert _image_src(notebook, k) != src_first
            assert src_first.startswith("data:image/svg+xml") or "svg" in src_first[:40]

        _wait(lambda: "[*]" not in " ".join(_prompts(notebook)), 90, "the cells to finish")
        for k in LIVE_CELLS:
            img = _output(notebook, k).locator("img")
            assert img.count() == 1, f"cell {k}: {img.count()} pictures, expected one"
            _wait(
                lambda img=img: img.first.evaluate("i => i.complete && i.naturalWidth > 0"),
                10,
                f"cell {k}'s final picture",
            )
            assert (img.first.get_attribute("src") or "").startswith("data:image/png")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "live-failure.png"))
        (ARTIFACTS / "live-failure.html").write_text(page.content())
        raise
    finally:
        page.close()
