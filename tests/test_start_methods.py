"""Every notebook runs to the end under every multiprocessing start method.

nbval compares the lessons' and solutions' outputs under ``fork``. Here each of them runs
again under ``spawn`` (macOS, Windows) and ``forkserver`` (Linux from Python 3.14), and
each exercise notebook — generated from ``solutions/``, as a new student gets it — under
all three, with a per-cell timeout: a pool that hangs because a function defined in a
cell cannot reach a worker fails the test instead of blocking it.

Each run works in its own copy of the course (:func:`concurrency_lab.dev.stage.stage`),
so files a notebook writes (``%%writefile`` modules) never meet another run's.

Outputs are not compared (lesson 00 prints the start method itself). What is checked: no
cell raised unless it is tagged ``raises-exception``; and in an exercise notebook, which
has only stubs, every check reports "not attempted"; in a solutions notebook every check
passes (✓) — under fork too, since nbval ignores those cells' messages, whose inputs change
every run.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.nbrun import execute_notebook
from concurrency_lab.dev.nbtesting import ROOT, kernel_name
from concurrency_lab.dev.stage import stage

CELL_TIMEOUT = 60
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))


def _text(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return output.text
    return output.get("data", {}).get("text/plain", "")


def run_to_the_end(folder: str, name: str, method: str, tmp_path: Path) -> None:
    """Run ``folder/name`` from a fresh copy under ``method``; fail on any unexpected error."""
    copy = stage(tmp_path, (folder,)) / folder / name
    nb = execute_notebook(copy, kernel_name=kernel_name(method), timeout=CELL_TIMEOUT)
    checks = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors and "raises-exception" not in cell.metadata.get("tags", []):
            raise AssertionError(f"{folder}/{name} cell {i} raised {errors[0].ename}")
        if folder in ("exercises", "solutions") and ".check(" in cell.source:
            checks += 1
            shown = "".join(_text(o) for o in cell.outputs)
            if folder == "exercises":  # only stubs: every check says so
                assert "Not attempted" in shown, f"{name} cell {i}: {shown!r}"
            else:  # the model answers: every check passes (or, starved, says it could not judge)
                judged = "✓" in shown or "too busy" in shown
                assert judged and "✗" not in shown, f"{name} cell {i}: {shown!r}"
    if folder in ("exercises", "solutions"):
        assert checks >= 3, f"{folder}/{name} has {checks} check cells; a lesson needs 3 or more"


# One class per (folder, start method): `make test` spreads tests over workers with
# `--dist loadscope`, which keeps a class on one worker, so the classes run side by side.
class TestLessonsSpawn:
    @pytest.mark.parametrize("name", LESSONS)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("notebooks", name, "spawn", tmp_path)


class TestLessonsForkserver:
    @pytest.mark.parametrize("name", LESSONS)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("notebooks", name, "forkserver", tmp_path)


class TestSolutionsFork:  # nbval runs them under fork too, but ignores the checks' messages
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("solutions", name, "fork", tmp_path)


class TestSolutionsSpawn:
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("solutions", name, "spawn", tmp_path)


class TestSolutionsForkserver:
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("solutions", name, "forkserver", tmp_path)


class TestExercisesFork:
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("exercises", name, "fork", tmp_path)


class TestExercisesSpawn:
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("exercises", name, "spawn", tmp_path)


class TestExercisesForkserver:
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path) -> None:
        run_to_the_end("exercises", name, "forkserver", tmp_path)
