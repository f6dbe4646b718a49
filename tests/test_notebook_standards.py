"""The course's rules for notebooks, checked on the committed files.

- Lessons and solutions are stored executed (nbval compares nothing for a cell without
  an execution count), with no error output except in cells tagged ``raises-exception``.
- A cell whose output nbval ignores must be followed by a cell that asserts the claim
  (the rule: nothing is silenced without an assertion that checks the same thing).
- A lesson opens with what you will learn and closes with a summary and a link onwards.
- Notebooks are numbered ``NN_topic`` and the three folders mirror each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.nbtesting import ROOT

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STORED = LESSONS + sorted((ROOT / "solutions").glob("*.ipynb"))
IGNORE_TAGS = {"nbval-ignore-output", "nbval-skip"}
# A check's message names the inputs it drew, which change every run (so no answer can fit
# them): nbval ignores a solution's check cells, and test_start_methods.py asserts each shows ✓.
CHECK_CALL = re.compile(r"\bq\d+\.check\(")


def _ids(p: Path) -> str:
    return f"{p.parent.name}/{p.stem}"


def test_names_are_numbered_topics() -> None:
    for folder in ("notebooks", "exercises", "solutions"):
        for path in (ROOT / folder).glob("*.ipynb"):
            assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path


@pytest.mark.parametrize("path", STORED, ids=_ids)
def test_stored_outputs_come_from_a_full_run(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert None not in counts, f"{path.name}: cells stored without running: {counts}"
    assert counts == sorted(counts), f"{path.name}: cells were run out of order: {counts}"
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            assert "raises-exception" in cell.metadata.get("tags", []), (
                f"{path.name}: stored {errors[0].ename} in a cell not tagged raises-exception"
            )


@pytest.mark.parametrize("path", STORED, ids=_ids)
def test_every_ignored_output_is_backed_by_an_assertion(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    for i, cell in enumerate(cells):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type != "code" or not tags & IGNORE_TAGS:
            continue
        if path.parent.name == "solutions" and CHECK_CALL.search(cell.source):
            continue  # a check's ✓ is asserted in every start method (test_start_methods.py)
        following = next((c for c in cells[i + 1 :] if c.cell_type == "code"), None)
        sources = cell.source + "\n" + (following.source if following else "")
        assert "assert " in sources, (
            f"{path.name}: cell {i} ignores its output but neither it nor the next code "
            f"cell asserts anything:\n{cell.source[:200]}"
        )


@pytest.mark.parametrize("path", LESSONS, ids=_ids)
def test_lesson_opens_and_closes_as_the_guide_says(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert markdown and markdown[0].lstrip().startswith("# "), f"{path.name}: no title"
    head = "\n".join(markdown[:3]).lower()
    assert "you will learn" in head or "you'll learn" in head, f"{path.name}: no 'You will learn'"
    tail = "\n".join(markdown[-3:])
    assert "summary" in tail.lower(), f"{path.name}: no summary at the end"
    number = int(path.name[:2])
    onward = re.findall(r"\((?:\.\./notebooks/)?(\d\d)_[a-z0-9_]+\.ipynb\)", tail)
    # the last lesson has no next one: it links back to the start of the course instead
    expected = 0 if path == LESSONS[-1] else number + 1
    assert any(int(n) == expected for n in onward), f"{path.name}: no link to the next lesson"
    if (ROOT / "exercises" / path.name).exists():
        assert f"../exercises/{path.name}" in "\n".join(markdown), (
            f"{path.name}: no 'Try it' link to its exercises"
        )
