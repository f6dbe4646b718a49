"""Lesson 04 checks: the model answers pass, realistic wrong answers fail *specifically*.

Also the ``%%writefile`` machinery that Q2 introduces (and later lessons reuse): the
exercise generator's handling of ``%%writefile`` cells and
:mod:`concurrency_lab.exercises.worker_modules`.

Checks that start pools mostly wait (for workers to start, for a held task), so the slow
cases of a question are judged at the same time, each in its own thread.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import nbformat
import pytest

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
    module_writer,
    solution_namespace,
)
from concurrency_lab.dev.generate import make_exercise, writes_a_file
from concurrency_lab.exercises.lesson04 import count_primes_reference, q1, q2, q3
from concurrency_lab.exercises.worker_modules import (
    import_time_code,
    write_solution_module,
    writefile_parts,
)

SETUP: dict[str, Any] = {"ProcessPoolExecutor": ProcessPoolExecutor}


def _stub(*args: Any) -> None:
    raise NotImplementedError()


def _judge_all(cases: list[tuple[Callable[..., Any], Any, tuple[str, ...]]]) -> None:
    """Run ``check(problem, answer, *fragments)`` for every case at the same time."""
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {pool.submit(check, *args): i for i, (check, *args) in enumerate(cases)}
    for future, i in futures.items():
        assert future.exception() is None, f"case {i}: {future.exception()}"


def _fails(problem: Any, answer: Any, *fragments: str) -> tuple[Any, ...]:
    return (assert_fails, problem, answer, *fragments)


# ------------------------------------------------------------------ q1: process pool
def pool_map(task, items):
    with multiprocessing.Pool(2) as pool:
        return pool.map(task, items)


def spawn_executor(task, items):
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as executor:
        futures = [executor.submit(task, item) for item in items]
        return [f.result() for f in futures]


def threads(task, items):
    with ThreadPoolExecutor() as executor:
        return list(executor.map(task, items))


def unordered(task, items):
    with multiprocessing.Pool(2) as pool:
        return list(pool.imap_unordered(task, items))


def as_they_finish(task, items):
    with ProcessPoolExecutor(max_workers=2) as executor:
        futures = [executor.submit(task, item) for item in items]
        return [f.result() for f in as_completed(futures)]


def one_tuples(task, items):
    with multiprocessing.Pool(2) as pool:
        return pool.map(task, [(item,) for item in items])


def one_worker(task, items):
    with ProcessPoolExecutor(max_workers=1) as executor:
        return list(executor.map(task, items))


def plain_loop(task, items):
    return [task(item) for item in items]


def lazy(task, items):
    with multiprocessing.Pool(2) as pool:
        return pool.imap(task, items)


def test_q1_model_and_alternatives_pass_wrong_answers_are_named() -> None:
    model = solution_namespace(q1.notebook, "q1", **SETUP)["parallel_map"]
    _judge_all(
        [
            (assert_passes, q1, model),
            (assert_passes, q1, pool_map),
            (assert_passes, q1, spawn_executor),
            _fails(q1, threads, "threads of this process", "GIL"),
            _fails(q1, unordered, "input order", "imap_unordered"),
            _fails(q1, as_they_finish, "finishing order", "as_completed"),
            _fails(q1, one_tuples, "KeyError", "has no id (", "starmap", "[(item,) for"),
            _fails(q1, one_worker, "single worker process"),
            _fails(q1, plain_loop, "no pool at all"),
            _fails(q1, lazy, "iterator", "list("),
        ]
    )


def test_q1_stub_is_not_attempted() -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


# ------------------------------------------------------------------ q2: a module for spawn
STUB_BODY = '''
def count_primes(limit):
    """How many primes are smaller than `limit`."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``write_module(text, name=None)`` writes a module into tmp_path; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    with module_writer(tmp_path, "primes_worker") as write:
        yield write


def _function(module: str, name: str = "count_primes") -> Any:
    return getattr(importlib.import_module(module), name)


def test_q2_answers_run_in_spawned_workers(write_module, tmp_path: Path) -> None:
    model = write_solution_module(q1.notebook, "q2", tmp_path, module_name="primes_worker_model")
    sieve = write_module(
        """
        def count_primes(limit):
            flags = [True] * max(limit, 2)
            flags[0] = flags[1] = False
            for n in range(2, int(limit**0.5) + 1):
                if flags[n]:
                    flags[n * n :: n] = [False] * len(range(n * n, limit, n))
            return sum(flags[:limit])
        """
    )
    stub = write_module(STUB_BODY)
    off_by_one = write_module(
        """
        def count_primes(limit):
            return sum(
                all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit + 1)
            )
        """
    )
    crashes = write_module(
        """
        def count_primes(limit):
            primes = [n for n in range(2, limit) if all(n % d for d in range(2, n))]
            return len(primes) // (limit - limit)
        """
    )
    try:
        _judge_all(
            [
                (assert_passes, q2, _function(model)),
                (assert_passes, q2, _function(sieve)),
                # the NotImplementedError comes back from a spawned worker
                (assert_not_attempted, q2, _function(stub)),
                _fails(q2, _function(off_by_one), "wrong counts", "position 1"),
                _fails(
                    q2,
                    _function(crashes),
                    "ZeroDivisionError in a worker process",
                    "return len(primes) // (limit - limit)",
                ),
            ]
        )
    finally:
        sys.modules.pop(model, None)


def test_q2_a_stub_that_raises_on_import_is_not_attempted(write_module) -> None:
    name = write_module("def count_primes(limit):\n    return 0\n")
    fn = _function(name)
    # the student replaced the whole file by the top-level stub and ran the cell again
    write_module("# YOUR CODE HERE\nraise NotImplementedError()\n", name=name)
    assert_not_attempted(q2, fn)


def test_q2_the_check_reads_the_edited_file(write_module) -> None:
    name = write_module(STUB_BODY)
    stale = _function(name)  # `from primes_worker import count_primes`, run once
    assert_not_attempted(q2, stale)
    # The student edits the %%writefile cell, runs it again, re-runs only the check cell.
    write_module(solution_namespace_source(), name=name)
    assert_passes(q2, stale)


def solution_namespace_source() -> str:
    from concurrency_lab.exercises.core import solution_from_notebook

    return writefile_parts(solution_from_notebook(q1.notebook, "q2"))[1]


def test_q2_a_function_defined_in_a_cell_is_named_without_starting_a_pool() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(  # how a notebook cell defines it: in module __main__
        "def count_primes(limit):\n    return sum(range(limit))\n", namespace
    )
    cell_function = namespace["count_primes"]
    assert cell_function.__module__ == "__main__"
    verdict = assert_fails(
        q2, cell_function, "defined in a notebook cell", "'__main__'", "BrokenProcessPool"
    )
    assert "%%writefile primes_worker.py" in verdict.plain()
    assert "from primes_worker import count_primes" in verdict.plain()
    assert_fails(q2, lambda limit: 0, "lambda")

    def nested(limit):
        return 0

    assert_fails(q2, nested, "inside another function")


def test_q2_a_module_that_starts_a_pool_on_import_is_refused(write_module) -> None:
    name = write_module("def count_primes(limit):\n    return 0\n")
    fn = _function(name)
    # The student pasted the whole failing cell into the file, pool and all.
    write_module(
        """
        from concurrent.futures import ProcessPoolExecutor


        def count_primes(limit):
            return 0


        with ProcessPoolExecutor() as executor:
            print(list(executor.map(count_primes, [2_000, 500])))
        """,
        name=name,
    )
    assert_fails(q2, fn, "does work when it is imported", "line 9: with ProcessPoolExecutor()")


def test_q2_a_renamed_function_is_named(write_module) -> None:
    name = write_module("def count_primes(limit):\n    return 0\n")
    fn = _function(name)
    write_module("def count_the_primes(limit):\n    return 0\n", name=name)
    assert_fails(q2, fn, "no longer defines count_primes")
    # Renamed back: the check cell's `from ... import count_primes` must find it again.
    write_module("def count_primes(limit):\n    return 1\n", name=name)
    assert _function(name)(10) == 1


def test_q2_after_a_syntax_error_the_fixed_file_imports(write_module) -> None:
    name = write_module("def count_primes(limit):\n    return 0\n")
    fn = _function(name)
    write_module("def count_primes(limit):\n    return 0 +\n", name=name)
    assert_fails(q2, fn, "SyntaxError")
    write_module("def count_primes(limit):\n    return 2\n", name=name)
    assert _function(name)(10) == 2


def test_reference_counts() -> None:
    assert [count_primes_reference(n) for n in (0, 2, 3, 10, 100, 1_000)] == [
        0,
        0,
        1,
        4,
        25,
        168,
    ]


# ------------------------------------------------------------------ q3: chunksize
def test_q3_model_answer_and_another_good_choice() -> None:
    answer = solution_namespace(q1.notebook, "q3")["chunksize"]
    verdict = assert_passes(q3, answer)
    assert "first 5 000 items" in verdict.plain() and "scaled" in verdict.plain()
    assert_passes(q3, 1_000)
    assert_not_attempted(q3, None)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (1, ("slow baseline itself",)),
        (0, ("at least 1",)),
        (-5, ("at least 1",)),
        (1000.0, ("whole number", "float")),
        ("1000", ("whole number", "str")),
        (True, ("whole number", "bool")),
        (100_001, ("bigger than the whole list",)),
        (100_000, ("1 chunk", "idle")),
    ],
)
def test_q3_nonsense_and_the_baseline_are_refused_without_timing(
    answer: Any, fragments: tuple[str, ...]
) -> None:
    assert_fails(q3, answer, *fragments)


# ------------------------------------------------------------------ the %%writefile machinery
def test_generate_never_tags_a_writefile_cell() -> None:
    assert writes_a_file("%%writefile a_worker.py\nx = 1")
    assert writes_a_file("\n%%file -a a_worker.py\nx = 1")
    assert not writes_a_file("%%time\nx = 1") and not writes_a_file("")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "%%writefile a_worker.py\n### BEGIN SOLUTION\nX = 1\n### END SOLUTION"
            ),
            nbformat.v4.new_code_cell(
                "%%writefile b_worker.py\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n"
                "    ### END SOLUTION"
            ),
        ]
    )
    top, inside = make_exercise(nb).cells
    assert top.source == "%%writefile a_worker.py\n# YOUR CODE HERE\nraise NotImplementedError()"
    assert inside.source == (
        "%%writefile b_worker.py\ndef f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert "tags" not in top.metadata and "tags" not in inside.metadata


def test_the_exercise_writes_a_stub_module() -> None:
    from concurrency_lab.dev.nbtesting import ROOT

    exercise = nbformat.read(ROOT / "exercises" / f"{q1.notebook}.ipynb", as_version=4)
    cells = [c for c in exercise.cells if c.cell_type == "code" and writes_a_file(c.source)]
    assert len(cells) == 1
    filename, body = writefile_parts(cells[0].source)
    assert filename == "primes_worker.py"
    assert "def count_primes(limit):" in body and "raise NotImplementedError()" in body
    assert import_time_code(body) == []


def test_import_time_code() -> None:
    fine = '''
"""doc"""
import math
from os import path

LIMITS = [1, 2, 3]
VOWELS = set("aeiou")


def f(x):
    return x


class C:
    pass


if __name__ == "__main__":
    print(f(2))
'''
    assert import_time_code(fine) == []
    bad = """
import multiprocessing

pool = multiprocessing.Pool()
for x in range(3):
    pass
print("loaded")
if True:
    results = pool.map(abs, [1])
"""
    assert import_time_code(bad) == [
        "line 4: pool = multiprocessing.Pool()",
        "line 5: for x in range(3):",
        'line 7: print("loaded")',
        "line 9: results = pool.map(abs, [1])",
    ]
    assert import_time_code("def broken(:\n") == []  # importing it reports the error
