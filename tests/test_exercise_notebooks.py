"""Exercises are generated from solutions, and every stored solution check shows ✓.

(That exercise notebooks run to the end with every check saying "not attempted" is
tested under every start method in ``test_start_methods.py``, on exercises generated from
``solutions/`` — never on ``exercises/`` as it is in a checkout, where a student may have
answered them.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
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


def _committed(path: Path) -> str:
    """The exercise as committed (HEAD), not as a student may have answered it since."""
    relative = path.relative_to(ROOT).as_posix()
    shown = subprocess.run(
        ["git", "show", f"HEAD:{relative}"], cwd=ROOT, capture_output=True, text=True
    )
    if shown.returncode == 0:
        return shown.stdout
    return path.read_text(encoding="utf-8")  # not a git checkout (a zip): the files as they are


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_committed_exercises_match_their_solutions(path: Path) -> None:
    generated = nbformat.writes(make_exercise(nbformat.read(path, as_version=4))) + "\n"
    assert _committed(ROOT / "exercises" / path.name) == generated, (
        f"exercises/{path.name} is out of sync with solutions/: run `make exercises`"
    )


def test_generate_check_reports_out_of_sync_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "solutions").mkdir()
    (tmp_path / "exercises").mkdir()
    shutil.copy(SOLUTIONS[0], tmp_path / "solutions" / SOLUTIONS[0].name)
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert "out of sync" in capsys.readouterr().err
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--root", str(tmp_path), "--check"]) == 0


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
