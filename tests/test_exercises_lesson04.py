"""Lesson 04 checks: right answers pass in many idioms, wrong ones fail *specifically*.

Answers run as notebook cells (:func:`concurrency_lab.dev.cells.run_cells`): functions
defined in a cell, Q2's ``%%writefile primes_worker.py`` imported from its file, the check
called from a cell. Also the ``%%writefile`` machinery that Q2 introduces (and later lessons
reuse): the generator's handling of ``%%writefile`` cells and
:mod:`concurrency_lab.exercises.worker_modules`. After each pool check, no child process
may be left running.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
    module_writer,
)
from concurrency_lab.dev.cells import run_cells
from concurrency_lab.dev.generate import make_exercise, writes_a_file
from concurrency_lab.exercises.core import Verdict, solution_from_notebook
from concurrency_lab.exercises.lesson04 import count_primes_reference, q1, q2, q2_inputs
from concurrency_lab.exercises.worker_modules import import_time_code, writefile_parts

NOTEBOOK = q1.notebook

HANG_GUARD = 15.0
"""Seconds after which a check counts as stuck. Check times are a goal (≤ 2 s on a quiet
machine, measured and reported separately), not something a test may assert: a busy
machine stretches them, and a test must not be flippable by load."""


def judge(question: str, name: str, *cells: str) -> tuple[Verdict, float]:
    """Run ``cells`` as a notebook would, then ``qN.verdict(name)`` in a cell of its own."""
    ns = run_cells(
        f"from concurrency_lab.exercises.lesson04 import {question}",
        *cells,
        f"import time as _t\n_start = _t.perf_counter()\n"
        f"verdict = {question}.verdict({name})\n_took = _t.perf_counter() - _start",
    )
    no_children_left()
    return ns["verdict"], ns["_took"]


def no_children_left() -> None:
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == [], "a check left processes running"


def assert_right(verdict: Verdict) -> None:
    assert verdict.status == "passed", verdict.plain()


def assert_wrong(verdict: Verdict, *phrases: str) -> None:
    text = verdict.plain()
    assert verdict.status == "failed", text
    for phrase in phrases:
        assert phrase.lower() in text.lower(), f"{phrase!r} not in:\n{text}"


# ------------------------------------------------------------------ q1: process pool
Q1_RIGHT = {
    "model": "from concurrent.futures import ProcessPoolExecutor\n"
    + solution_from_notebook(NOTEBOOK, "q1"),
    "Pool.map": """
        import multiprocessing
        def parallel_map(task, items):
            with multiprocessing.Pool(2) as pool:
                return pool.map(task, items)
    """,
    "spawn, submit, results in order": """
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        def parallel_map(task, items):
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as executor:
                futures = [executor.submit(task, item) for item in items]
                return [f.result() for f in futures]
    """,
    "imap in a list, four workers": """
        from multiprocessing import Pool
        def parallel_map(task, items):
            with Pool(processes=4) as pool:
                return list(pool.imap(task, items))
    """,
    "as_completed, then put back in order": """
        from concurrent.futures import ProcessPoolExecutor, as_completed
        def parallel_map(task, items):
            results = [None] * len(items)
            with ProcessPoolExecutor(max_workers=3) as executor:
                index = {executor.submit(task, item): i for i, item in enumerate(items)}
                for future in as_completed(index):
                    results[index[future]] = future.result()
            return results
    """,
    "verbose, a tuple back": """
        import concurrent.futures
        def parallel_map(task, items):
            executor = concurrent.futures.ProcessPoolExecutor(max_workers=2)
            try:
                results = executor.map(task, items, chunksize=1)
                answer = tuple(results)
            finally:
                executor.shutdown(wait=True)
            return answer
    """,
}

Q1_WRONG = {
    "threads": (
        """
        from concurrent.futures import ThreadPoolExecutor
        def parallel_map(task, items):
            with ThreadPoolExecutor(4) as executor:
                return list(executor.map(task, items))
        """,
        ("threads of this process", "GIL"),
    ),
    "no pool at all": (
        "def parallel_map(task, items):\n    return [task(item) for item in items]",
        ("no pool at all",),
    ),
    "a pool of one": (
        """
        from concurrent.futures import ProcessPoolExecutor
        def parallel_map(task, items):
            with ProcessPoolExecutor(max_workers=1) as executor:
                return list(executor.map(task, items))
        """,
        ("single worker process", "started 1 process"),
    ),
    "one chunk": (
        """
        import multiprocessing
        def parallel_map(task, items):
            with multiprocessing.Pool(2) as pool:
                return pool.map(task, items, chunksize=len(items))
        """,
        ("single worker process", "chunksize=len(items)"),
    ),
    "a new pool per item": (
        """
        import multiprocessing
        def parallel_map(task, items):
            results = []
            for item in items:
                with multiprocessing.Pool(1) as pool:
                    results.append(pool.apply(task, (item,)))
            return results
        """,
        ("never at the same time", "a new pool per item"),
    ),
    "first item computed here": (
        """
        from concurrent.futures import ProcessPoolExecutor
        def parallel_map(task, items):
            first = task(items[0])
            with ProcessPoolExecutor(2) as executor:
                return [first, *executor.map(task, items[1:])]
        """,
        ("ran in your own process", "only 5 of the 6 tasks"),
    ),
    "imap_unordered": (
        """
        import multiprocessing
        def parallel_map(task, items):
            with multiprocessing.Pool(2) as pool:
                return list(pool.imap_unordered(task, items))
        """,
        ("input order", "imap_unordered and as_completed give results as they finish"),
    ),
    "as_completed": (
        """
        from concurrent.futures import ProcessPoolExecutor, as_completed
        def parallel_map(task, items):
            with ProcessPoolExecutor(2) as executor:
                futures = [executor.submit(task, item) for item in items]
                return [f.result() for f in as_completed(futures)]
        """,
        ("input order", "imap_unordered and as_completed give results as they finish"),
    ),
    "the futures themselves": (
        """
        from concurrent.futures import ProcessPoolExecutor
        def parallel_map(task, items):
            with ProcessPoolExecutor(2) as executor:
                return [executor.submit(task, item) for item in items]
        """,
        ("Future objects, not results",),
    ),
    "a lazy iterator": (
        """
        from concurrent.futures import ProcessPoolExecutor
        def parallel_map(task, items):
            with ProcessPoolExecutor(2) as executor:
                return executor.map(task, items)
        """,
        ("an iterator", "list(...)"),
    ),
    "1-tuples": (
        """
        import multiprocessing
        def parallel_map(task, items):
            with multiprocessing.Pool(2) as pool:
                return pool.map(task, [(item,) for item in items])
        """,
        ("KeyError", "1-tuple"),
    ),
}


@pytest.mark.parametrize("name", list(Q1_RIGHT))
def test_q1_right_answers_pass(name: str) -> None:
    verdict, took = judge("q1", "parallel_map", Q1_RIGHT[name])
    assert_right(verdict)
    assert "at the same time" in verdict.plain()
    assert took < HANG_GUARD, took


@pytest.mark.parametrize("name", list(Q1_WRONG))
def test_q1_wrong_answers_are_named(name: str) -> None:
    cell, phrases = Q1_WRONG[name]
    verdict, took = judge("q1", "parallel_map", cell)
    assert_wrong(verdict, *phrases)
    assert took < HANG_GUARD, took


Q1_ONE_AT_A_TIME = """
from concurrent.futures import ProcessPoolExecutor
def parallel_map(task, items):
    with ProcessPoolExecutor(2) as executor:
        return [executor.submit(task, item).result() for item in items]
"""


def test_q1_waiting_for_each_result_is_named() -> None:
    """The slowest check: the first item waits Q1_HOLD_LIMIT s for a sibling that never runs."""
    verdict, took = judge(
        "q1",
        "parallel_map",
        Q1_ONE_AT_A_TIME,
    )
    # fork starts both workers (no overlap seen); spawn/forkserver start one on demand
    assert verdict.status == "failed", verdict.plain()
    text = verdict.plain()
    assert "never at the same time" in text or "single worker process" in text, text
    assert "submit" in text
    assert took < HANG_GUARD, took


def test_q1_stub_is_not_attempted() -> None:
    verdict, _ = judge(
        "q1", "parallel_map", "def parallel_map(task, items):\n    raise NotImplementedError()"
    )
    assert verdict.status == "not attempted"


# ------------------------------------------------------------------ q2: a module for spawn
Q2_RIGHT = {
    "model": None,
    "a sieve": """
def count_primes(limit):
    flags = [True] * max(limit, 2)
    flags[0] = flags[1] = False
    for n in range(2, int(limit**0.5) + 1):
        if flags[n]:
            flags[n * n :: n] = [False] * len(range(n * n, limit, n))
    return sum(flags[:limit])
""",
    "a helper in the module": """
import math


def is_prime(n):
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


def count_primes(limit):
    return sum(1 for n in range(limit) if is_prime(n))
""",
    "verbose loops": """
def count_primes(limit):
    count = 0
    for n in range(2, limit):
        prime = True
        d = 2
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count
""",
    "with a main guard": """
def count_primes(limit):
    return len([n for n in range(2, limit) if all(n % d for d in range(2, int(n**0.5) + 1))])


if __name__ == "__main__":
    print(count_primes(100))
""",
    "numpy ints are fine": """
def count_primes(limit):
    import numpy as np
    flags = np.ones(max(limit, 2), dtype=bool)
    flags[:2] = False
    for n in range(2, int(limit**0.5) + 1):
        if flags[n]:
            flags[n * n :: n] = False
    return int(flags[:limit].sum())
""",
}

Q2_WRONG = {
    "counts the limit too": (
        """
def count_primes(limit):
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit + 1))
""",
        ("wrong counts", "count_primes(10) == 4"),
    ),
    "counts 1 as a prime": (
        """
def count_primes(limit):
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(1, limit))
""",
        ("wrong counts",),
    ),
    "a table for the old inputs": (
        """
KNOWN = {2000: 303, 503: 96, 1500: 239, 997: 167, 3000: 430}


def count_primes(limit):
    return KNOWN.get(limit, 0)
""",
        ("wrong counts",),
    ),
    "the primes, not their count": (
        """
def count_primes(limit):
    return [n for n in range(2, limit) if all(n % d for d in range(2, int(n**0.5) + 1))]
""",
        ("wrong counts",),
    ),
    "crashes in the worker": (
        """
def count_primes(limit):
    primes = [n for n in range(2, limit) if all(n % d for d in range(2, n))]
    return len(primes) // (limit - limit)
""",
        ("ZeroDivisionError in a worker process", "return len(primes) // (limit - limit)"),
    ),
    "a pool started on import": (
        """
from concurrent.futures import ProcessPoolExecutor


def count_primes(limit):
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit))


with ProcessPoolExecutor() as executor:
    print(list(executor.map(count_primes, [2_000, 500])))
""",
        ("does work when it is imported", "with ProcessPoolExecutor()"),
    ),
    "prints on import": (
        """
def count_primes(limit):
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit))


print(count_primes(100))
""",
        ("does work when it is imported", "print(count_primes(100))"),
    ),
    "the wrong name": (
        """
def count_the_primes(limit):
    return sum(all(n % d for d in range(2, int(n**0.5) + 1)) for n in range(2, limit))


count_primes = lambda limit: count_the_primes(limit)  # noqa: E731
""",
        ("lambda",),
    ),
}


def judge_module(body: str | None, *, imported_first: str | None = None) -> tuple[Verdict, float]:
    """``%%writefile`` a module of its own name, import count_primes from it, check it.

    ``imported_first``: the file as it was when the import cell ran (then ``body`` is
    written by running the ``%%writefile`` cell again, and only the check cell re-runs).
    """
    module = f"primes_worker_{uuid.uuid4().hex[:8]}"
    if body is None:
        filename, body = writefile_parts(solution_from_notebook(NOTEBOOK, "q2"))
        assert filename == "primes_worker.py"
    cells = [
        f"%%writefile {module}.py\n{imported_first or body}",
        f"from {module} import count_primes",
    ]
    if imported_first is not None:
        cells.append(f"%%writefile {module}.py\n{body}")
    try:
        return judge("q2", "count_primes", *cells)
    finally:
        sys.modules.pop(module, None)


@pytest.mark.parametrize("name", list(Q2_RIGHT))
def test_q2_right_answers_pass(name: str) -> None:
    if name == "numpy ints are fine":
        pytest.importorskip("numpy")
    verdict, took = judge_module(Q2_RIGHT[name])
    assert_right(verdict)
    assert "spawned worker" in verdict.plain()
    assert took < HANG_GUARD, took


@pytest.mark.parametrize("name", list(Q2_WRONG))
def test_q2_wrong_answers_are_named(name: str) -> None:
    body, phrases = Q2_WRONG[name]
    # a module that does work on import: the notebook imported it before that line was added
    first = Q2_RIGHT["verbose loops"] if "on import" in name else None
    verdict, took = judge_module(body, imported_first=first)
    assert_wrong(verdict, *phrases)
    assert took < HANG_GUARD, took


def test_q2_the_notebooks_own_function_is_refused_without_a_pool() -> None:
    verdict, took = judge(
        "q2",
        "count_primes",
        "def count_primes(limit):\n    return sum(all(n % d for d in range(2, int(n**0.5) + 1))"
        " for n in range(2, limit))",
    )
    assert_wrong(
        verdict, "defined in a notebook cell", "'__main__'", "%%writefile primes_worker.py"
    )
    assert took < HANG_GUARD / 5, took  # no pool started


def test_q2_stub_is_not_attempted() -> None:
    verdict, _ = judge_module(
        'def count_primes(limit):\n    """How many primes."""\n    raise NotImplementedError()\n'
    )
    assert verdict.status == "not attempted"


def test_q2_inputs_change_and_include_primes() -> None:
    import random

    a, b = q2_inputs(random.Random(1)), q2_inputs(random.Random(2))
    assert a != b and {2, 3} <= set(a)
    assert any(count_primes_reference(n + 1) > count_primes_reference(n) for n in a)


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``write_module(text, name=None)`` writes a module into tmp_path; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    with module_writer(tmp_path, "primes_worker") as write:
        yield write


def _function(module: str, name: str = "count_primes") -> Any:
    return getattr(importlib.import_module(module), name)


STUB_BODY = '''
def count_primes(limit):
    """How many primes are smaller than `limit`."""
    # YOUR CODE HERE
    raise NotImplementedError()
'''


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
    write_module(solution_module_source(), name=name)
    assert_passes(q2, stale)


def solution_module_source() -> str:
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
Q3_RIGHT = {
    "model": solution_from_notebook(NOTEBOOK, "q3"),
    "a thousand": "chunksize = 1_000",
    "five hundred": "chunksize = 500",
    "ten, the smallest allowed": "chunksize = 10",
    "half the list": "chunksize = 50_000",
    "a numpy int": "import numpy as np\nchunksize = np.int64(2_000)",
    "computed": "n_items, workers = 100_000, 2\nchunksize = n_items // (workers * 10)",
}

Q3_WRONG = {
    "1": ("chunksize = 1", ("slow baseline itself",)),
    "0": ("chunksize = 0", ("at least 1",)),
    "-5": ("chunksize = -5", ("at least 1",)),
    "a float": ("chunksize = 1000.0", ("whole number", "float")),
    "a string": ('chunksize = "1000"', ("whole number", "str")),
    "True": ("chunksize = True", ("whole number", "bool")),
    "bigger than the list": ("chunksize = 100_001", ("bigger than the whole list",)),
    "the whole list": ("chunksize = 100_000", ("1 chunk", "idles")),
    "four": ("chunksize = 4", ("25 000 messages each way", "at least 10 items")),
    "two": ("chunksize = 2", ("50 000 messages each way",)),
}


@pytest.mark.parametrize("name", list(Q3_RIGHT))
def test_q3_right_answers_pass(name: str) -> None:
    if "numpy" in name:
        pytest.importorskip("numpy")
    verdict, took = judge("q3", "chunksize", Q3_RIGHT[name])
    assert_right(verdict)
    assert "chunksize 1:" in verdict.plain()
    assert took < HANG_GUARD, took


@pytest.mark.parametrize("name", list(Q3_WRONG))
def test_q3_wrong_answers_are_refused_without_timing(name: str) -> None:
    cell, phrases = Q3_WRONG[name]
    verdict, took = judge("q3", "chunksize", cell)
    assert_wrong(verdict, *phrases)
    assert took < HANG_GUARD / 5, took  # no pool started


def test_q3_not_attempted() -> None:
    verdict, _ = judge("q3", "chunksize", "chunksize = None")
    assert verdict.status == "not attempted"


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
    from concurrency_lab.dev.generate import make_exercise
    from concurrency_lab.dev.nbtesting import ROOT

    solution = nbformat.read(ROOT / "solutions" / f"{q1.notebook}.ipynb", as_version=4)
    exercise = make_exercise(solution)  # as shipped, not a student's working copy
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


def test_q1_a_hanging_answer_is_reported_and_its_pool_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import concurrency_lab.exercises.lesson04 as lesson04

    monkeypatch.setattr(lesson04, "Q1_TIMEOUT", 3.0)
    verdict, took = judge(
        "q1",
        "parallel_map",
        """
        import threading
        from concurrent.futures import ProcessPoolExecutor
        def parallel_map(task, items):
            executor = ProcessPoolExecutor(2)
            futures = [executor.submit(task, item) for item in items]
            threading.Event().wait(20)  # forgot to collect the results: waits for nothing
            return [f.result() for f in futures]
        """,
    )
    assert_wrong(verdict, "did not finish within 3 seconds", "stopped the 2 worker process(es)")
    assert took < HANG_GUARD, took


def test_q1_a_machine_too_busy_to_judge_is_said_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hold that always runs out stands for a second worker too slow to start: after one
    retry, a passing answer gets ○ "too busy to judge", never a ✓ it did not earn."""
    import concurrency_lab.exercises.lesson04 as lesson04

    monkeypatch.setattr(lesson04, "Q1_HOLD_LIMIT", 0.0)
    monkeypatch.setattr(lesson04, "Q1_RETRY_HOLD", 0.0)
    verdict, _ = judge("q1", "parallel_map", Q1_RIGHT["Pool.map"])
    text = verdict.plain()
    if verdict.status == "not attempted":
        assert "too busy to judge" in text and "run the check again" in text
    else:  # with no hold, the results may also come back in another order
        assert verdict.status == "failed" and "very busy machine" in text, text


def test_q1_tasks_sent_together_that_never_overlapped_are_too_busy_not_wrong(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A starved machine can run a right answer's tasks one after another although the
    answer sent them to the pool all at once (seen once on this box with six test workers on
    two cores: the worker holding the first item got no CPU until the others had finished).
    Pretending no two tasks ever overlapped: the right answer is "too busy to judge" (never
    ✗, never ✓), and a loop that waits for each result, which never has two tasks out at
    once, is still ✗."""
    import concurrency_lab.exercises.lesson04 as lesson04

    def never_together(run: Any) -> Verdict:
        return lesson04.failed("2 worker processes took part, but never at the same time.")

    monkeypatch.setattr(lesson04, "_together_problem", never_together)
    verdict, _ = judge("q1", "parallel_map", Q1_RIGHT["Pool.map"])
    text = verdict.plain()
    assert verdict.status == "not attempted", text
    assert "too busy to judge" in text and "sent several tasks to the pool at once" in text

    monkeypatch.setattr(lesson04, "Q1_HOLD_LIMIT", 0.0)  # the loop's hold runs out at once
    monkeypatch.setattr(lesson04, "Q1_RETRY_HOLD", 0.0)
    verdict, _ = judge(
        "q1",
        "parallel_map",
        Q1_ONE_AT_A_TIME,
    )
    assert verdict.status == "failed", verdict.plain()


def test_q1_a_task_sent_to_a_worker_is_noted_only_by_the_checking_process(
    tmp_path: Path,
) -> None:
    import os
    import pickle

    from concurrency_lab.work.pool_probes import CpuProbeTask, sent_times

    here = CpuProbeTask(str(tmp_path), {1: 0.0}, parent_pid=os.getpid())
    copy = pickle.loads(pickle.dumps(here))
    assert copy == here and len(sent_times(str(tmp_path))) == 1
    elsewhere = CpuProbeTask(str(tmp_path), {1: 0.0}, parent_pid=os.getpid() + 1)
    pickle.dumps(elsewhere)  # as a worker would, sending it on: not a send of the check's
    assert len(sent_times(str(tmp_path))) == 1


def test_q1_out_at_once_counts_sends_before_the_first_end() -> None:
    from concurrency_lab.exercises.lesson04 import out_at_once
    from concurrency_lab.work.timeline import Event

    events = [Event(1, "probe", 11, "t", 1.0, 2.0), Event(2, "probe", 12, "t", 2.0, 3.0)]
    assert out_at_once([0.5, 0.6], events, parent=10)
    assert not out_at_once([0.5, 2.5], events, parent=10)  # the second sent after one ended
    assert not out_at_once([0.5, 0.6], [], parent=10)  # nothing ran in a worker
    in_parent = [Event(1, "probe", 10, "t", 1.0, 1.1), *events]
    assert out_at_once([0.5, 0.6], in_parent, parent=10)  # the parent's own task not counted
