"""Every notebook that starts a process runs to the end under every start method.

nbval runs the lessons and solutions under ``fork``, compares their outputs with the
stored ones and requires every check cell of a solution to pass (``dev/nbtesting.py``).
Here they run again under ``spawn`` (macOS, Windows) and ``forkserver`` (Linux from
Python 3.14), with a per-cell timeout: a pool that hangs because a function defined in a
cell cannot reach a worker fails the test instead of blocking it.

Each exercise notebook — generated from ``solutions/``, as a new student gets it — runs
under ``fork`` and ``spawn``, and every check must say "not attempted". An exercise is
its solution with the answer cells replaced by stubs, and every other cell already runs
under all three methods above; what is left is the stubs, which a check may call in a
worker process. ``spawn`` is the strict case for that (the stub reaches the worker by
name, in a fresh interpreter), and ``forkserver`` passes a function to its workers the
same way, so a third run would test nothing new.

A notebook that starts no ``multiprocessing`` process behaves the same under every start
method: the lessons in ``STARTS_NO_PROCESS``, their solutions and their exercises run
under ``fork`` only, in a kernel that refuses to start a process (so the list cannot go
stale).

Each run works in its own copy of the course (:func:`concurrency_lab.dev.stage.stage`),
so files a notebook writes (``%%writefile`` modules) never meet another run's.

Outputs are not compared (lesson 00 prints the start method itself). What is checked: no
cell raised unless it is tagged ``raises-exception``; in an exercise notebook every check
reports "not attempted"; in a solutions notebook every check passes (✓), or says the
machine was too busy to judge it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from concurrency_lab.dev.nbrun import execute_notebook
from concurrency_lab.dev.nbtesting import (
    ROOT,
    STARTS_NO_PROCESS,
    check_message,
    judged_right,
    kernel_name,
    no_process,
)
from concurrency_lab.dev.stage import stage

CELL_TIMEOUT = 60
# a notebook that starts no process runs the same under every start method (its fork runs
# enforce that it starts none)
LESSONS = sorted(
    p.name for p in (ROOT / "notebooks").glob("*.ipynb") if p.name not in STARTS_NO_PROCESS
)
EXERCISES = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
STARTING = [name for name in EXERCISES if name not in STARTS_NO_PROCESS]


def run_to_the_end(
    folder: str, name: str, method: str, tmp_path: Path, record_property: Callable
) -> None:
    """Run ``folder/name`` from a fresh copy under ``method``; fail on any unexpected error."""
    record_property("notebook_run", f"{folder}/{name} {method}")  # for the summary
    copy = stage(tmp_path, (folder,)) / folder / name
    refuse = no_process(copy) if method == "fork" else {}
    with pytest.MonkeyPatch.context() as env:  # the kernel inherits this environment
        for key, value in refuse.items():
            env.setenv(key, value)
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
            shown = check_message(cell.outputs)
            if folder == "exercises":  # only stubs: every check says so
                assert "Not attempted" in shown, f"{name} cell {i}: {shown!r}"
            else:  # the model answers: every check passes (or, starved, says it could not judge)
                assert judged_right(shown), f"{name} cell {i}: {shown!r}"
    if folder in ("exercises", "solutions"):
        assert checks >= 3, f"{folder}/{name} has {checks} check cells; a lesson needs 3 or more"


# One class per (folder, start method), so that `-k Spawn` or `TestExercisesFork` picks a
# set; `make test` gives each run to whichever worker is free.
class TestLessonsSpawn:
    @pytest.mark.parametrize("name", LESSONS)
    def test_runs(self, name: str, tmp_path: Path, record_property: Callable) -> None:
        run_to_the_end("notebooks", name, "spawn", tmp_path, record_property)


class TestLessonsForkserver:
    @pytest.mark.parametrize("name", LESSONS)
    def test_runs(self, name: str, tmp_path: Path, record_property: Callable) -> None:
        run_to_the_end("notebooks", name, "forkserver", tmp_path, record_property)


class TestSolutionsSpawn:
    @pytest.mark.parametrize("name", STARTING)
    def test_runs(self, name: str, tmp_path: Path, record_property: Callable) -> None:
        run_to_the_end("solutions", name, "spawn", tmp_path, record_property)


class TestSolutionsForkserver:
    @pytest.mark.parametrize("name", STARTING)
    def test_runs(self, name: str, tmp_path: Path, record_property: Callable) -> None:
        run_to_the_end("solutions", name, "forkserver", tmp_path, record_property)


class TestExercisesFork:
    @pytest.mark.parametrize("name", EXERCISES)
    def test_runs(self, name: str, tmp_path: Path, record_property: Callable) -> None:
        run_to_the_end("exercises", name, "fork", tmp_path, record_property)


class TestExercisesSpawn:
    @pytest.mark.parametrize("name", STARTING)
    def test_runs(self, name: str, tmp_path: Path, record_property: Callable) -> None:
        run_to_the_end("exercises", name, "spawn", tmp_path, record_property)
