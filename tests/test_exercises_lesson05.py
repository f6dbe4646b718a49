"""Lesson 05 checks: the model answers pass, realistic wrong answers fail *specifically*.

Q2's answers are modules (``%%writefile project_worker.py``): each test writes one into a
temporary folder and imports it. Checks that start pools mostly wait (for workers to
start; an answer with a single worker waits for a second one that never comes), so the
Q2 cases are judged at the same time, each in its own thread.
"""

from __future__ import annotations

import importlib
import math
import os
import pickle
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
from concurrency_lab.dev.generate import writes_a_file
from concurrency_lab.exercises.lesson05 import (
    Q3_CASES,
    Q3_TOLERANCE,
    TracedPath,
    check_dataset,
    q1,
    q2,
    q3,
    read_records,
)
from concurrency_lab.exercises.worker_modules import (
    import_time_code,
    write_solution_module,
    writefile_parts,
)


def _stub(*args: Any) -> None:
    raise NotImplementedError()


# ------------------------------------------------------------------ q1: batch_files
def round_robin_loop(file_paths, n_batches):
    if type(n_batches) is not int or n_batches < 1:
        raise ValueError("n_batches must be a positive int")
    batches = [[] for _ in range(min(n_batches, len(file_paths)))]
    for i, path in enumerate(file_paths):
        batches[i % len(batches)].append(path)
    return batches


def contiguous_spread(file_paths, n_batches):
    if not isinstance(n_batches, int):
        raise TypeError("n_batches must be an int")
    if n_batches < 1:
        raise ValueError("n_batches must be at least 1")
    n = min(n_batches, len(file_paths))
    base, extra = divmod(len(file_paths), n) if n else (0, 0)
    batches, start = [], 0
    for b in range(n):
        stop = start + base + (b < extra)
        batches.append(file_paths[start:stop])
        start = stop
    return batches


def seed(file_paths, n_processes):  # the seed notebook's behaviour
    if n_processes > len(file_paths):
        return []
    batches = [[] for _ in range(n_processes)]
    for i, path in enumerate(file_paths):
        batches[i % n_processes].append(path)
    return batches


def remainder_dropped(file_paths, n_batches):
    size = len(file_paths) // n_batches
    return [file_paths[i * size : (i + 1) * size] for i in range(n_batches)]


def empty_batches(file_paths, n_batches):
    batches = [[] for _ in range(n_batches)]
    for i, path in enumerate(file_paths):
        batches[i % n_batches].append(path)
    return batches


def ceil_chunks(file_paths, n_batches):
    size = math.ceil(len(file_paths) / n_batches) if file_paths else 1
    return [file_paths[i : i + size] for i in range(0, len(file_paths), size)]


def overlapping(file_paths, n_batches):
    n = min(n_batches, len(file_paths))
    if n == 0:
        return []
    size = len(file_paths) // n
    return [file_paths[i * size : (i + 1) * size + 1] for i in range(n)]


def no_checks(file_paths, n_batches):
    n = min(n_batches, len(file_paths))
    return [file_paths[i::n] for i in range(n)] if n > 0 else []


def divides_by_zero(file_paths, n_batches):
    n = min(n_batches, len(file_paths))
    base, extra = divmod(len(file_paths), n_batches)  # n_batches = 0: ZeroDivisionError
    if n < n_batches:
        return [[p] for p in file_paths]
    return [
        file_paths[b * base + min(b, extra) : (b + 1) * base + min(b + 1, extra)] for b in range(n)
    ]


def pops(file_paths, n_batches):
    if not isinstance(n_batches, int) or n_batches < 1:
        raise ValueError("bad n_batches")
    n = min(n_batches, len(file_paths))
    batches = [[] for _ in range(n)]
    i = 0
    while file_paths:
        batches[i % n].append(file_paths.pop(0))
        i += 1
    return batches


def lazy(file_paths, n_batches):
    if not isinstance(n_batches, int) or n_batches < 1:
        raise ValueError("bad n_batches")
    n = min(n_batches, len(file_paths))
    return (file_paths[i::n] for i in range(n))


def as_paths(file_paths, n_batches):
    from pathlib import Path

    return [[Path(p) for p in batch] for batch in contiguous_spread(file_paths, n_batches)]


def test_q1_model_and_alternatives_pass() -> None:
    model = solution_namespace(q1.notebook, "q1")["batch_files"]
    assert_passes(q1, model)
    assert_passes(q1, round_robin_loop)
    assert_passes(q1, contiguous_spread)
    from concurrency_lab.work.batching import batch_files

    assert_passes(q1, batch_files)


def test_q1_stub_is_not_attempted() -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (seed, ("3 files into 5 batches", "returned []", "every file was dropped", "seed")),
        (remainder_dropped, ("10 files into 3 batches", "dropped 1 file", "'sales_09.csv'")),
        (empty_batches, ("3 files into 5 batches", "returned 5 batches, expected 3", "empty")),
        (ceil_chunks, ("10 files into 3 batches", "[4, 4, 2]", "differ by more than one")),
        (overlapping, ("more than one batch", "'sales_03.csv' is in batches [0, 1]")),
        (no_checks, ("batch_files(files, 0) returned []", "instead of raising")),
        (divides_by_zero, ("batch_files(files, 0) raised ZeroDivisionError", "divmod")),
        (pops, ("changed the list it was given", "now holds 0 items")),
        (lazy, ("returned generator", "used up")),
        (as_paths, ("not in file_paths", "Path('sales_00.csv')", "unchanged")),
    ],
)
def test_q1_wrong_answers_are_named(answer: Callable[..., Any], fragments: tuple[str, ...]) -> None:
    assert_fails(q1, answer, *fragments)


# ------------------------------------------------------------------ q2: main in a module
@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``write_module(text, name=None)`` writes a module into tmp_path; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    with module_writer(tmp_path, "project_worker") as write:
        yield write


def _main(module: str, name: str = "main") -> Any:
    return getattr(importlib.import_module(module), name)


HEADER = """
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from concurrency_lab.work.batching import batch_files
from concurrency_lab.work.project import Result, combine, run
"""

POOL_STARMAP = """
import multiprocessing

from concurrency_lab.work.project import combine, run


def batch_files(file_paths, n_batches):
    n = min(n_batches, len(file_paths))
    return [file_paths[i::n] for i in range(n)]


def main(file_paths, n_processes):
    batches = batch_files(list(file_paths), n_processes)
    with multiprocessing.Pool(n_processes) as pool:
        partials = pool.starmap(run, [(batch, i) for i, batch in enumerate(batches)])
    return combine(partials)
"""

SUBMIT_BALANCED = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes, "balanced")
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        futures = [pool.submit(run, batch, i) for i, batch in enumerate(batches)]
        return combine(f.result() for f in futures)
"""
)

THREADS = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ThreadPoolExecutor(max_workers=n_processes) as pool:
        return combine(pool.map(run, batches, range(len(batches))))
"""
)

LOOP = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    return combine([run(batch, i) for i, batch in enumerate(batches)])
"""
)

ONE_WORKER = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=1) as pool:
        return combine(pool.map(run, batches, range(len(batches))))
"""
)

FIRST_BATCH_ONLY = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        futures = [pool.submit(run, batch, i) for i, batch in enumerate(batches)]
    return combine([futures[0].result()])
"""
)

NO_ERRORS = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        partials = list(pool.map(run, batches, range(len(batches))))
    total = Result()
    for p in partials:
        total.files += p.files
        total.rows += p.rows
        for category, cents in p.totals_cents.items():
            total.totals_cents[category] = total.totals_cents.get(category, 0) + cents
        for category, units in p.units.items():
            total.units[category] = total.units.get(category, 0) + units
    total.totals_cents = dict(sorted(total.totals_cents.items()))
    total.units = dict(sorted(total.units.items()))
    return total
"""
)

ONE_AT_A_TIME = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        return combine([pool.submit(run, b, i).result() for i, b in enumerate(batches)])
"""
)

PARTIALS = (
    HEADER
    + """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        return list(pool.map(run, batches, range(len(batches))))
"""
)

STUB = (
    HEADER
    + """
def main(file_paths, n_processes):
    # YOUR CODE HERE
    raise NotImplementedError()
"""
)


def _judge_all(cases: list[tuple[Any, ...]]) -> None:
    """Run ``check(problem, answer, *fragments)`` for every case at the same time."""
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = [pool.submit(check, *args) for check, *args in cases]
    for i, future in enumerate(futures):
        assert future.exception() is None, f"case {i}: {future.exception()}"


def test_q2_answers(write_module, tmp_path: Path) -> None:
    model = write_solution_module(q1.notebook, "q2", tmp_path, module_name="project_worker_model")
    texts = [POOL_STARMAP, SUBMIT_BALANCED, THREADS, LOOP, ONE_WORKER, FIRST_BATCH_ONLY]
    texts += [NO_ERRORS, ONE_AT_A_TIME, PARTIALS, STUB]
    m = {text: write_module(text) for text in texts}
    try:
        _judge_all(
            [
                (assert_passes, q2, _main(model)),
                (assert_passes, q2, _main(m[POOL_STARMAP])),
                (assert_passes, q2, _main(m[SUBMIT_BALANCED])),
                (assert_not_attempted, q2, _main(m[STUB])),
                (assert_fails, q2, _main(m[THREADS]), "threads of this process", "GIL"),
                (assert_fails, q2, _main(m[LOOP]), "there was no pool"),
                (assert_fails, q2, _main(m[ONE_WORKER]), "single worker process"),
                (
                    assert_fails,
                    q2,
                    _main(m[FIRST_BATCH_ONLY]),
                    "main lost files",
                    "neither counted nor reported",
                    "not only the first one",
                ),
                (
                    assert_fails,
                    q2,
                    _main(m[NO_ERRORS]),
                    "did not report the bad ones",
                    "broken_empty.csv",
                    "no_such_file.csv",
                    "Partial.errors",
                ),
                (
                    assert_fails,
                    q2,
                    _main(m[ONE_AT_A_TIME]),
                    "The result is right",
                    "before waiting for any result",
                ),
                (assert_fails, q2, _main(m[PARTIALS]), "2 partial results", "combine(partials)"),
            ]
        )
    finally:
        sys.modules.pop(model, None)


def test_q2_a_main_defined_in_a_cell_is_refused() -> None:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec("def main(file_paths, n_processes):\n    return None\n", namespace)
    verdict = assert_fails(q2, namespace["main"], "defined in a notebook cell", "project_worker.py")
    assert "%%writefile project_worker.py" in verdict.plain()
    assert_fails(q2, lambda paths, n: None, "lambda", "project_worker.py")


def test_q2_a_module_that_runs_main_on_import_is_refused(write_module) -> None:
    name = write_module(LOOP)
    fn = _main(name)
    write_module(LOOP + "\nprint(main(['a.csv'], 2))\n", name=name)
    assert_fails(q2, fn, "does work when it is imported", "print(main(['a.csv'], 2))")


def test_q2_the_check_reads_the_edited_file(write_module) -> None:
    name = write_module(STUB)
    stale = _main(name)
    assert_not_attempted(q2, stale)
    write_module(SUBMIT_BALANCED, name=name)
    assert_passes(q2, stale)
    write_module(HEADER + "\ndef run_all(file_paths, n):\n    return None\n", name=name)
    assert_fails(q2, stale, "no longer defines main")


def test_traced_path_records_and_pickles(tmp_path: Path) -> None:
    path = TracedPath("/somewhere/sales_00.csv", str(tmp_path), os.getpid())
    assert os.fspath(path) == "/somewhere/sales_00.csv" == str(path)
    assert repr(path) == "TracedPath('sales_00.csv')"  # never a folder
    assert pickle.loads(pickle.dumps(path)) == path
    assert sorted([TracedPath("b", "x", 1), TracedPath("a", "y", 2)])[0].path == "a"
    assert read_records(tmp_path) == [(os.getpid(), "MainThread")]


def test_check_dataset_has_bad_files_spread_out() -> None:
    paths = check_dataset()
    names = [Path(p).name for p in paths]
    assert len(names) == 14 and names[1].startswith("broken_") and names[-1].startswith("sales_")
    assert "no_such_file.csv" in names and not Path(paths[names.index("no_such_file.csv")]).exists()
    assert check_dataset() == paths  # made once


# ------------------------------------------------------------------ q3: balanced_batches
def lpt_heap(file_paths, n_batches, size=os.path.getsize):
    import heapq

    n = min(n_batches, len(file_paths))
    heap = [(0, b) for b in range(n)]
    batches = [[] for _ in range(n)]
    for path in sorted(file_paths, key=size, reverse=True):
        load, b = heapq.heappop(heap)
        batches[b].append(path)
        heapq.heappush(heap, (load + size(path), b))
    return batches


def round_robin_sized(file_paths, n_batches, size=os.path.getsize):
    n = min(n_batches, len(file_paths))
    return [file_paths[i::n] for i in range(n)]


def sorted_then_dealt(file_paths, n_batches, size=os.path.getsize):
    n = min(n_batches, len(file_paths))
    ordered = sorted(file_paths, key=size, reverse=True)
    return [ordered[i::n] for i in range(n)]


def smallest_first(file_paths, n_batches, size=os.path.getsize):
    n = min(n_batches, len(file_paths))
    batches, loads = [[] for _ in range(n)], [0] * n
    for path in sorted(file_paths, key=size):
        b = loads.index(min(loads))
        batches[b].append(path)
        loads[b] += size(path)
    return batches


def all_batches(file_paths, n_batches, size=os.path.getsize):
    batches, loads = [[] for _ in range(n_batches)], [0] * n_batches
    for path in sorted(file_paths, key=size, reverse=True):
        b = loads.index(min(loads))
        batches[b].append(path)
        loads[b] += size(path)
    return batches


def test_q3_model_and_alternatives_pass() -> None:
    model = solution_namespace(q1.notebook, "q3", os=os)["balanced_batches"]
    verdict = assert_passes(q3, model)
    assert "round-robin on the same files" in verdict.plain()
    assert_passes(q3, lpt_heap)
    from concurrency_lab.work.batching import batch_files

    assert_passes(q3, lambda paths, n, size: batch_files(paths, n, "balanced", size=size))
    assert_not_attempted(q3, _stub)


@pytest.mark.parametrize(
    ("answer", "fragments"),
    [
        (round_robin_sized, ("the heaviest batch holds", "times the best possible", "largest")),
        (sorted_then_dealt, ("times the best possible", "Bytes per batch")),
        (smallest_first, ("times the best possible",)),
        (all_batches, ("3 files into 5 batches", "returned 5 batches, expected 3", "empty")),
    ],
)
def test_q3_wrong_answers_are_named(answer: Callable[..., Any], fragments: tuple[str, ...]) -> None:
    assert_fails(q3, answer, *fragments)


def test_q3_cases_separate_lpt_from_counting() -> None:
    from concurrency_lab.work.batching import batch_files

    for strategy in ("round_robin", "contiguous"):
        worst = max(
            max(sum(c.sizes[f] for f in b) for b in batch_files(c.files, c.n_batches, strategy))
            / c.best_possible
            for c in Q3_CASES
            if c.files
        )
        assert worst > 1.2 + Q3_TOLERANCE, (strategy, worst)


# ------------------------------------------------------------------ the notebooks
def test_the_exercise_writes_a_stub_module() -> None:
    from concurrency_lab.dev.nbtesting import ROOT

    exercise = nbformat.read(ROOT / "exercises" / f"{q1.notebook}.ipynb", as_version=4)
    cells = [c for c in exercise.cells if c.cell_type == "code" and writes_a_file(c.source)]
    assert len(cells) == 1
    filename, body = writefile_parts(cells[0].source)
    assert filename == "project_worker.py"
    assert "def main(file_paths, n_processes):" in body and "raise NotImplementedError()" in body
    assert import_time_code(body) == []
