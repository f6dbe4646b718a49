"""Every question is tied to its solution cell by name: grade_id ``qN`` ⇔ problem ``qN``.

Adding a question touches the solutions notebook (a cell with nbgrader ``grade_id``), the
lesson's checker module (``qN = ...Problem(name="qN", ...)``) and its self-tests; the names
link them, so this test fails if one side has a name the other lacks.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from concurrency_lab.exercises.core import Problem

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _grade_ids(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        c["metadata"]["nbgrader"]["grade_id"]
        for c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_grade_ids_match_the_lessons_questions(path: Path) -> None:
    module = importlib.import_module(f"concurrency_lab.exercises.lesson{path.stem[:2]}")
    problems = {n: v for n, v in vars(module).items() if isinstance(v, Problem)}
    assert sorted(_grade_ids(path)) == sorted(n for n, p in problems.items() if p.notebook)
    for name, problem in problems.items():
        assert problem.name == name
        assert problem.notebook == path.stem
        assert problem.solution().plain.strip()
