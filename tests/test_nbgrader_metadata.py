"""The exercise notebooks carry valid nbgrader metadata, so a course that already uses
nbgrader can take them as they are.

nbgrader's rules for schema version 3 (its ``nbformat/v3`` validator), checked on every
cell of ``solutions/`` and of the exercises as generated from them:

* every nbgrader cell has ``grade``, ``solution``, ``locked``, ``task`` (booleans),
  ``schema_version`` 3 and a non-empty ``grade_id`` of letters, digits, ``_`` and ``-``,
  unique in its notebook;
* a graded cell has ``points`` (a number ≥ 0); a markdown cell is graded and a solution
  together or neither; a task cell is markdown and neither graded nor a solution.

And the course's own convention on top: each question has one answer cell (solution,
``grade_id`` ``qN``, not locked) and one autograder-test cell (the check, ``grade_id``
``qN_check``, graded, locked, with the question's points), so nbgrader's autograde gives
exactly the marks ``python -m concurrency_lab.grade`` gives.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.generate import make_exercise
from concurrency_lab.dev.nbtesting import ROOT

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
KEYS = {"grade": bool, "solution": bool, "locked": bool, "task": bool, "grade_id": str}


def _notebooks() -> list[tuple[str, nbformat.NotebookNode]]:
    found = []
    for path in SOLUTIONS:
        solution = nbformat.read(path, as_version=4)
        found += [(f"solutions/{path.name}", solution), (f"exercises/{path.name}",
                                                         make_exercise(solution))]
    return found


@pytest.mark.parametrize("name, nb", _notebooks(), ids=lambda x: x if isinstance(x, str) else "")
def test_nbgrader_schema_v3(name: str, nb: nbformat.NotebookNode) -> None:
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        where = f"{name} cell {index}"
        for key, kind in KEYS.items():
            assert isinstance(meta.get(key), kind), f"{where}: {key} must be a {kind.__name__}"
        assert meta.get("schema_version") == 3, where
        assert re.fullmatch(r"[a-zA-Z0-9_\-]+", meta["grade_id"]), where
        assert meta["grade_id"] not in seen, f"{where}: duplicate grade_id {meta['grade_id']}"
        seen.add(meta["grade_id"])
        if meta["grade"]:
            points = meta.get("points")
            assert isinstance(points, int | float) and points >= 0, f"{where}: points"
        if cell.cell_type == "markdown":
            assert meta["grade"] == meta["solution"], where
        if meta["task"]:
            assert cell.cell_type == "markdown" and not (meta["grade"] or meta["solution"])


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_each_question_has_an_answer_cell_and_a_graded_check(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    answers, checks = [], []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            assert not meta["locked"], f"{path.name}: answer {meta['grade_id']} is locked"
            answers.append(meta["grade_id"])
        if meta.get("grade") and not meta.get("solution"):
            found = re.search(r"\b(q\d+)\.check\(", cell.source)
            assert found and meta["grade_id"] == f"{found.group(1)}_check", meta
            assert meta["locked"], f"{path.name}: {meta['grade_id']} should be locked"
            checks.append(found.group(1))
    assert answers and sorted(answers) == sorted(checks)
