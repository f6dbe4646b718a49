"""What the test plugin (``concurrency_lab/dev/nbtesting.py``) adds to nbval, shown failing.

* A solution's check cells: nbval ignores their messages (their inputs change every run),
  so without the plugin a model answer whose check says ✗ would pass ``make test``.
* A lesson in ``STARTS_NO_PROCESS`` is tested under fork only, so its kernel refuses to
  start a process: the list cannot go stale.
* A notebook's cells share a worker (one kernel); other tests go wherever there is room.

The notebooks here are tiny, run by nbval in a child pytest exactly as ``make test`` runs
the course's own.
"""

from __future__ import annotations

import nbformat
import pytest

from concurrency_lab.dev.nbtesting import STARTS_NO_PROCESS, judged_right, scope_of

pytest_plugins = ["pytester"]


def _check_cell(source: str, grade_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = {
        "tags": ["nbval-ignore-output"],
        "nbgrader": {
            "grade": True,
            "grade_id": grade_id,
            "locked": True,
            "points": 1,
            "schema_version": 3,
            "solution": False,
            "task": False,
        },
    }
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ stored\n")]
    return cell


@pytest.mark.long
def test_what_nbval_alone_would_pass_fails(pytester: pytest.Pytester) -> None:
    # a solution whose checks say ✓, ✗ and "not attempted"
    nb = nbformat.v4.new_notebook(
        cells=[
            _check_cell('print("✓ q1: All 5 tasks ran at the same time.")', "q1_check"),
            _check_cell('print("✗ q2: Only 1 worker process ran your tasks.")', "q2_check"),
            _check_cell('print("○ q3: Not attempted yet.")', "q3_check"),
        ]
    )
    nbformat.write(nb, pytester.mkdir("solutions") / "99_demo.ipynb")
    # a lesson listed as starting no process that starts one, and one not listed
    starts = (
        "import multiprocessing as mp\np = mp.Process(target=len, args=([],))\np.start()\np.join()"
    )
    lessons = pytester.mkdir("notebooks")
    for name in (STARTS_NO_PROCESS[0], "04_multiprocessing.ipynb"):
        one_cell = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(starts)])
        nbformat.write(one_cell, lessons / name)
    result = pytester.runpytest_subprocess(
        "-p",
        "concurrency_lab.dev.nbtesting",
        "-p",
        "no:cacheprovider",
        "--nbval",
        "--nbval-kernel-name",
        "concurrency-lab-fork",
        "solutions",
        "notebooks",
    )
    result.assert_outcomes(passed=2, failed=3)  # ✓ and the unlisted lesson pass
    result.stdout.fnmatch_lines(
        ["*the model answer's check did not pass*", "*✗ q2: Only 1*"], consecutive=False
    )
    result.stdout.fnmatch_lines([f"*{STARTS_NO_PROCESS[0]} started a process*"])


@pytest.mark.parametrize(
    "message, right",
    [
        ("✓ q1: All 5 tasks ran at the same time.\n  tasks of 0.18 s", True),
        ("○ q1: Your machine was too busy to judge this answer: twice, …", True),
        ("✗ q1: Only 1 worker process ran your tasks.", False),
        ("○ q1: Not attempted yet.", False),
        ("", False),
    ],
)
def test_judged_right(message: str, right: bool) -> None:
    assert judged_right(message) is right


def test_a_notebooks_cells_share_a_worker_and_other_tests_do_not() -> None:
    nb = "build/nbtest/notebooks/02_threads.ipynb"
    assert scope_of(f"{nb}::Cell 0") == scope_of(f"{nb}::Cell 7") == nb
    one = "tests/test_exercises_lesson02.py::test_q1_wrong[a long sleep instead of join]"
    two = "tests/test_start_methods.py::TestLessonsSpawn::test_runs[02_threads.ipynb]"
    assert scope_of(one) == one and scope_of(two) == two
