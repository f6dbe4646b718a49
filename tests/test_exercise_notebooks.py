"""Exercises are generated from solutions, and every stored solution check shows ✓.

(That exercise notebooks run to the end with every check saying "not attempted" is
tested under every start method in ``test_start_methods.py``.)
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.generate import (
    SolutionMarkerError,
    main,
    make_exercise,
    strip_solution,
)
from concurrency_lab.dev.nbtesting import ROOT

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_committed_exercises_match_their_solutions(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--check"])
    assert status == 0, capsys.readouterr().err


def test_every_solution_has_its_exercise_and_lesson() -> None:
    assert SOLUTIONS, "no solution notebooks"
    for src in SOLUTIONS:
        assert (ROOT / "exercises" / src.name).exists(), f"exercises/{src.name} missing"
        assert (ROOT / "notebooks" / src.name).exists(), f"notebooks/{src.name} missing"
    exercises = {p.name for p in (ROOT / "exercises").glob("*.ipynb")}
    assert exercises == {p.name for p in SOLUTIONS}, "an exercise without a solution"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_stored_solution_checks_all_pass(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    checks = [
        c for c in nb["cells"] if c["cell_type"] == "code" and ".check(" in "".join(c["source"])
    ]
    assert len(checks) >= 3, f"{path.name}: fewer than three checks"
    for cell in checks:
        texts = []
        for out in cell["outputs"]:
            data = out.get("data", {})
            texts.append("".join(out.get("text", "")) + "".join(data.get("text/plain", "")))
        shown = "\n".join(texts)
        assert "✓" in shown and "True" in shown, (
            f"{path.name}: {''.join(cell['source'])!r} {shown!r}"
        )
        assert "✗" not in shown


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_answer_cell_is_an_nbgrader_solution_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    ids = []
    for cell in nb.cells:
        has_region = "### BEGIN SOLUTION" in cell.source
        meta = cell.metadata.get("nbgrader", {})
        assert has_region == bool(meta.get("solution")), f"{path.name}: {cell.source[:60]!r}"
        if has_region:
            ids.append(meta["grade_id"])
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade_id in {ids}"


def test_strip_solution_keeps_indentation_and_flags_top_level_stubs() -> None:
    src = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    out, raises = strip_solution(src)
    assert out == (
        "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert not raises
    out, raises = strip_solution("a = None\n### BEGIN SOLUTION\na = 1\n### END SOLUTION")
    assert out == "a = None\n# YOUR CODE HERE\nraise NotImplementedError()" and raises
    assert strip_solution("### BEGIN SOLUTION\nx\n### END SOLUTION", markdown=True)[0] == (
        "YOUR ANSWER HERE"
    )


@pytest.mark.parametrize(
    "src", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION", "### BEGIN SOLUTION\n" * 2]
)
def test_unbalanced_markers_are_an_error(src: str) -> None:
    with pytest.raises(SolutionMarkerError):
        strip_solution(src)


def test_make_exercise_clears_outputs_and_tags_raising_stubs() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "a = None\n### BEGIN SOLUTION\na = 1\n### END SOLUTION",
                execution_count=3,
                outputs=[nbformat.v4.new_output("stream", text="hi")],
            ),
            nbformat.v4.new_markdown_cell("Same text"),
        ]
    )
    ex = make_exercise(nb)
    code, text = ex.cells
    assert code.outputs == [] and code.execution_count is None
    assert code.metadata["tags"] == ["raises-exception"]
    assert text.source == "Same text"
    assert nb.cells[0].execution_count == 3  # the solution is untouched
