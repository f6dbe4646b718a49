"""Lesson 05 checks: right answers pass in many idioms, wrong ones fail *specifically*.

Every answer runs as notebook cells (:func:`concurrency_lab.dev.cells.run_cells`): functions
defined in a cell, Q2's ``main`` written with ``%%writefile`` and imported, the check called
from a cell. Each check draws new cases, so an answer is judged on inputs it has never seen.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.cells import run_cells
from concurrency_lab.dev.generate import writes_a_file
from concurrency_lab.exercises.core import Verdict, solution_from_notebook
from concurrency_lab.exercises.lesson05 import (
    Q1_BAD_N,
    TracedPath,
    check_dataset,
    lpt,
    q1,
    q3_cases,
    read_records,
)
from concurrency_lab.exercises.worker_modules import import_time_code, writefile_parts

NOTEBOOK = q1.notebook

HANG_GUARD = 15.0
"""Seconds after which a check counts as stuck. Check times are a goal (≤ 2 s on a quiet
machine, measured and reported separately), not something a test may assert: a busy
machine stretches them, and a test must not be flippable by load."""


def judge(question: str, name: str, *cells: str) -> tuple[Verdict, float]:
    """Run ``cells`` as a notebook would, then ``qN.verdict(name)`` in a cell of its own."""
    ns = run_cells(
        f"from concurrency_lab.exercises.lesson05 import {question}",
        *cells,
        f"import time as _t\n_start = _t.perf_counter()\n"
        f"verdict = {question}.verdict({name})\n_took = _t.perf_counter() - _start",
    )
    return ns["verdict"], ns["_took"]


def assert_right(verdict: Verdict) -> None:
    assert verdict.status == "passed", verdict.plain()


def assert_wrong(verdict: Verdict, *phrases: str) -> None:
    text = verdict.plain()
    assert verdict.status == "failed", text
    for phrase in phrases:
        assert phrase.lower() in text.lower(), f"{phrase!r} not in:\n{text}"


# ------------------------------------------------------------------ q1: batch_files
Q1_RIGHT = {
    "model": solution_from_notebook(NOTEBOOK, "q1"),
    "verbose loop": """
        def batch_files(file_paths, n_batches):
            if type(n_batches) is not int:
                raise TypeError("n_batches must be an int")
            if n_batches < 1:
                raise ValueError("n_batches must be at least 1")
            number_of_batches = min(n_batches, len(file_paths))
            batches = []
            for b in range(number_of_batches):
                batches.append([])
            index = 0
            for path in file_paths:
                batches[index].append(path)
                index = index + 1
                if index == number_of_batches:
                    index = 0
            return batches
    """,
    "contiguous, remainder spread": """
        def batch_files(file_paths, n_batches):
            if isinstance(n_batches, bool) or not isinstance(n_batches, int):
                raise TypeError(f"n_batches must be an int, got {n_batches!r}")
            if n_batches < 1:
                raise ValueError(f"n_batches must be at least 1, got {n_batches}")
            n = min(n_batches, len(file_paths))
            if n == 0:
                return []
            base, extra = divmod(len(file_paths), n)
            batches, start = [], 0
            for b in range(n):
                stop = start + base + (1 if b < extra else 0)
                batches.append(file_paths[start:stop])
                start = stop
            return batches
    """,
    "the package's": "from concurrency_lab.work.batching import batch_files",
    "numbers.Integral, tuples inside": """
        import numbers
        def batch_files(file_paths, n_batches):
            if isinstance(n_batches, bool) or not isinstance(n_batches, numbers.Integral):
                raise TypeError("whole number please")
            if n_batches <= 0:
                raise ValueError("at least one batch")
            k = min(int(n_batches), len(file_paths))
            return [tuple(file_paths[i::k]) for i in range(k)]
    """,
    "dict of lists, assert-free": """
        from collections import defaultdict
        def batch_files(file_paths, n_batches):
            if not isinstance(n_batches, int) or isinstance(n_batches, bool):
                raise TypeError("n_batches: int")
            if n_batches < 1:
                raise ValueError("n_batches >= 1")
            groups = defaultdict(list)
            n = min(n_batches, len(file_paths))
            for i, p in enumerate(file_paths):
                groups[i % n].append(p)
            return [groups[i] for i in range(n)]
    """,
    "np.array_split": """
        import numpy as np
        def batch_files(file_paths, n_batches):
            if isinstance(n_batches, bool) or not isinstance(n_batches, int):
                raise TypeError("n_batches must be an int")
            if n_batches < 1:
                raise ValueError("n_batches must be at least 1")
            n = min(n_batches, len(file_paths))
            return [list(part) for part in np.array_split(file_paths, n)] if n else []
    """,
    "the package's check_count": """
        from concurrency_lab.work.batching import check_count
        def batch_files(file_paths, n_batches):
            n = min(check_count("n_batches", n_batches), len(file_paths))
            return [list(file_paths)[i::n] for i in range(n)]
    """,
}

_CHECKS = """
    if isinstance(n_batches, bool) or not isinstance(n_batches, int):
        raise TypeError("n_batches must be an int")
    if n_batches < 1:
        raise ValueError("n_batches must be at least 1")
"""


def _with_checks(body: str) -> str:
    return "def batch_files(file_paths, n_batches):" + _CHECKS + body


Q1_WRONG = {
    "the seed": (
        """
        def batch_files(file_paths, n_processes):
            if n_processes > len(file_paths):
                return []
            batches = [[] for _ in range(n_processes)]
            for i, path in enumerate(file_paths):
                batches[i % n_processes].append(path)
            return batches
        """,
        ("3 files into 5 batches", "every file was dropped", "seed"),
    ),
    "remainder dropped": (
        _with_checks("""
    n = min(n_batches, len(file_paths))
    size = len(file_paths) // n if n else 0
    return [file_paths[i * size:(i + 1) * size] for i in range(n)]
"""),
        ("10 files into 4 batches", "dropped 2 file(s)", "remainder of 2"),
    ),
    "the last batch takes the rest": (
        _with_checks("""
    n = min(n_batches, len(file_paths))
    if n == 0:
        return []
    size = len(file_paths) // n
    batches = [file_paths[i * size:(i + 1) * size] for i in range(n - 1)]
    return batches + [file_paths[(n - 1) * size:]]
"""),
        ("10 files into 4 batches", "[2, 2, 2, 4]", "differ by more than one"),
    ),
    "empty batches": (
        _with_checks("""
    batches = [[] for _ in range(n_batches)]
    for i, path in enumerate(file_paths):
        batches[i % n_batches].append(path)
    return batches
"""),
        ("3 files into 5 batches", "returned 5 batches, expected 3", "empty"),
    ),
    "ceil-sized chunks": (
        _with_checks("""
    import math
    if not file_paths:
        return []
    size = math.ceil(len(file_paths) / n_batches)
    return [file_paths[i:i + size] for i in range(0, len(file_paths), size)]
"""),
        ("10 files into 4 batches", "[3, 3, 3, 1]", "differ by more than one"),
    ),
    "overlapping slices": (
        _with_checks("""
    n = min(n_batches, len(file_paths))
    if n == 0:
        return []
    base, extra = divmod(len(file_paths), n)
    batches, start = [], 0
    for b in range(n):
        stop = start + base + (1 if b < extra else 0)
        batches.append(file_paths[start:stop + 1])  # one too many: the next batch's first
        start = stop
    return batches
"""),
        ("in more than one batch", "processed (and counted) twice"),
    ),
    "no checks at all": (
        """
        def batch_files(file_paths, n_batches):
            n = min(n_batches, len(file_paths))
            return [file_paths[i::n] for i in range(n)] if n > 0 else []
        """,
        ("batch_files(6 files, 0) returned []", "instead of raising"),
    ),
    "a bool passes as 1": (
        """
        def batch_files(file_paths, n_batches):
            if not isinstance(n_batches, int):
                raise TypeError("n_batches must be an int")
            if n_batches < 1:
                raise ValueError("n_batches must be at least 1")
            n = min(n_batches, len(file_paths))
            return [file_paths[i::n] for i in range(n)]
        """,
        ("batch_files(6 files, True) returned", "True is a bool", "isinstance(n_batches, bool)"),
    ),
    "7.5 rounded down": (
        """
        def batch_files(file_paths, n_batches):
            if isinstance(n_batches, (bool, str)):
                raise TypeError("n_batches must be a number")
            n_batches = int(n_batches)
            if n_batches < 1:
                raise ValueError("n_batches must be at least 1")
            n = min(n_batches, len(file_paths))
            return [file_paths[i::n] for i in range(n)]
        """,
        ("batch_files(6 files, 7.5) returned", "not a whole number", "instead of raising"),
    ),
    "divmod by zero": (
        """
        def batch_files(file_paths, n_batches):
            base, extra = divmod(len(file_paths), n_batches)
            n = min(n_batches, len(file_paths))
            return [file_paths[i::n] for i in range(n)] if n > 0 else []
        """,
        ("raised ZeroDivisionError", "not TypeError or ValueError"),
    ),
    "pops from the input": (
        _with_checks("""
    n = min(n_batches, len(file_paths))
    batches = [[] for _ in range(n)]
    i = 0
    while file_paths:
        batches[i % n].append(file_paths.pop(0))
        i += 1
    return batches
"""),
        ("changed the list it was given", "now holds 0 items"),
    ),
    "sorts the input in place": (
        _with_checks("""
    file_paths.sort()
    n = min(n_batches, len(file_paths))
    return [file_paths[i::n] for i in range(n)]
"""),
        ("changed the list it was given", "in another order"),
    ),
    "a generator": (
        _with_checks("""
    n = min(n_batches, len(file_paths))
    return (file_paths[i::n] for i in range(n))
"""),
        ("returned generator", "used up"),
    ),
    "Path objects instead of the paths": (
        _with_checks("""
    from pathlib import Path
    n = min(n_batches, len(file_paths))
    return [[Path(p) for p in file_paths[i::n]] for i in range(n)]
"""),
        ("not in file_paths", "PosixPath" if os.name != "nt" else "WindowsPath", "unchanged"),
    ),
}


@pytest.mark.parametrize("name", list(Q1_RIGHT))
def test_q1_right_answers_pass(name: str) -> None:
    verdict, took = judge("q1", "batch_files", Q1_RIGHT[name])
    assert_right(verdict)
    assert "remainders of 2 and 3" in verdict.plain()
    assert took < HANG_GUARD, took


@pytest.mark.parametrize("name", list(Q1_WRONG))
def test_q1_wrong_answers_are_named(name: str) -> None:
    cell, phrases = Q1_WRONG[name]
    verdict, took = judge("q1", "batch_files", cell)
    assert_wrong(verdict, *phrases)
    assert took < HANG_GUARD, took


def test_q1_stub_is_not_attempted() -> None:
    stub = "def batch_files(file_paths, n_batches):\n    raise NotImplementedError()"
    verdict, _ = judge("q1", "batch_files", stub)
    assert verdict.status == "not attempted"


def test_q1_cases_change_between_checks_and_keep_their_shape() -> None:
    import random

    from concurrency_lab.exercises.lesson05 import q1_cases

    a, b = q1_cases(random.Random(1)), q1_cases(random.Random(2))
    assert [c.files for c in a] != [c.files for c in b]
    for case in a:
        assert list(case.files) != sorted(case.files) or len(case.files) < 2
    remainders = {len(c.files) % c.n_batches for c in a if c.files and c.n_batches <= len(c.files)}
    assert {2, 3} <= remainders
    assert True in [n for n, _ in Q1_BAD_N] and 7.5 in [n for n, _ in Q1_BAD_N]


# ------------------------------------------------------------------ q2: main in a module
HEADER = """\
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
import multiprocessing
from pathlib import Path

from concurrency_lab.work.batching import batch_files
from concurrency_lab.work.project import Result, combine, run, run_sequential
"""


def _module(body: str) -> str:
    return HEADER + "\n\n" + body.strip("\n") + "\n"


Q2_RIGHT = {
    "model": None,  # the solutions notebook's cell, as it is
    "Pool.starmap, own batch_files": """
def my_batches(file_paths, n):
    n = min(n, len(file_paths))
    return [file_paths[i::n] for i in range(n)]


def main(file_paths, n_processes):
    batches = my_batches(list(file_paths), n_processes)
    with multiprocessing.Pool(n_processes) as pool:
        partials = pool.starmap(run, [(batch, i) for i, batch in enumerate(batches)])
    return combine(partials)
""",
    "submit and as_completed, balanced": """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes, "balanced")
    partials = []
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        futures = [pool.submit(run, batch, i) for i, batch in enumerate(batches)]
        for future in as_completed(futures):
            partials.append(future.result())
    return combine(partials)
""",
    "paths normalised with Path(p)": """
def main(file_paths, n_processes):
    paths = [Path(p) for p in file_paths]
    batches = batch_files(paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        partials = list(pool.map(run, batches, range(len(batches))))
    return combine(partials)
""",
    "an explicit spawn context": """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_processes, mp_context=context) as pool:
        return combine(pool.map(run, batches, range(len(batches))))
""",
    "verbose, str(p) and a results list": """
def main(file_paths, n_processes):
    names = []
    for p in file_paths:
        names.append(str(p))
    batches = batch_files(names, n_processes)
    results = []
    with ProcessPoolExecutor(max_workers=len(batches)) as executor:
        futures = []
        for batch_id in range(len(batches)):
            futures.append(executor.submit(run, batches[batch_id], batch_id))
        for future in futures:
            results.append(future.result())
    total = combine(results)
    return total
""",
}

Q2_WRONG = {
    "threads": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ThreadPoolExecutor(max_workers=n_processes) as pool:
        return combine(pool.map(run, batches, range(len(batches))))
""",
        ("ran in threads of this process", "GIL"),
    ),
    "a plain loop": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    return combine([run(batch, i) for i, batch in enumerate(batches)])
""",
        ("every batch ran right here", "not in a worker process"),
    ),
    "results thrown away, then run_sequential": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        list(pool.map(run, batches, range(len(batches))))
    return run_sequential(file_paths)
""",
        ("computed right here", "thrown away", "run_sequential"),
    ),
    "first batch in the notebook, the rest in the pool": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    first = run(batches[0], 0)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        rest = list(pool.map(run, batches[1:], range(1, len(batches))))
    return combine([first, *rest])
""",
        ("computed right here", "1 of the 3 partial results"),
    ),
    "n_processes ignored: always 2 batches": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, 2)
    with ProcessPoolExecutor(max_workers=2) as pool:
        return combine(pool.map(run, batches, range(len(batches))))
""",
        ("n_processes=3) ran 2 batch(es)", "use the n_processes"),
    ),
    "a pool of one": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=1) as pool:
        return combine(pool.map(run, batches, range(len(batches))))
""",
        ("n_processes=3)", "worker process", "max_workers=n_processes"),
    ),
    "a pool of two for any n_processes": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with multiprocessing.Pool(2) as pool:
        return combine(pool.starmap(run, [(b, i) for i, b in enumerate(batches)]))
""",
        ("started only 2 worker process(es) for 3 batches", "max_workers=n_processes"),
    ),
    "first batch only": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        futures = [pool.submit(run, batch, i) for i, batch in enumerate(batches)]
    return combine([futures[0].result()])
""",
        ("main lost files", "neither counted nor reported"),
    ),
    "own combine without the errors": (
        """
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
""",
        ("did not report the bad ones", "Partial.errors"),
    ),
    "one batch at a time": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        return combine([pool.submit(run, b, i).result() for i, b in enumerate(batches)])
""",
        ("never at the same time", "submit every batch before waiting"),
    ),
    "the partials, not combined": (
        """
def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    with ProcessPoolExecutor(max_workers=n_processes) as pool:
        return list(pool.map(run, batches, range(len(batches))))
""",
        ("partial results, not one combined Result", "combine(partials)"),
    ),
    "starts a pool on import": (
        """
pool = ProcessPoolExecutor(2)


def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    return combine(pool.map(run, batches, range(len(batches))))
""",
        ("does work when it is imported", "pool = ProcessPoolExecutor(2)"),
    ),
}


def judge_main(body: str | None) -> tuple[Verdict, float]:
    """Write ``body`` with %%writefile (a module name of its own), import main, check it."""
    module = f"project_worker_{uuid.uuid4().hex[:8]}"
    if body is None:
        filename, text = writefile_parts(solution_from_notebook(NOTEBOOK, "q2"))
        assert filename == "project_worker.py"
    else:
        text = _module(body)
    try:
        verdict, took = judge(
            "q2", "main", f"%%writefile {module}.py\n{text}", f"from {module} import main"
        )
    finally:
        sys.modules.pop(module, None)
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == [], "the check left processes running"
    return verdict, took


@pytest.mark.parametrize("name", list(Q2_RIGHT))
def test_q2_right_answers_pass(name: str) -> None:
    verdict, took = judge_main(Q2_RIGHT[name])
    assert_right(verdict)
    assert "n_processes=3: 3 batch(es)" in verdict.plain()
    assert "n_processes=1: 1 batch(es)" in verdict.plain()
    assert took < HANG_GUARD, took


@pytest.mark.parametrize("name", list(Q2_WRONG))
def test_q2_wrong_answers_are_named(name: str) -> None:
    body, phrases = Q2_WRONG[name]
    verdict, took = judge_main(body)
    if name == "one batch at a time" and "only 1 worker" in verdict.plain():
        # under spawn/forkserver a pool starts workers on demand: waiting for each result
        # before submitting the next leaves it one worker, and the check says that (true too)
        phrases = ("only 1 worker",)
    assert_wrong(verdict, *phrases)
    assert took < HANG_GUARD, took


def test_q2_a_main_defined_in_a_cell_is_refused_without_a_pool() -> None:
    verdict, took = judge(
        "q2",
        "main",
        HEADER,
        """
        def main(file_paths, n_processes):
            batches = batch_files(file_paths, n_processes)
            with ProcessPoolExecutor(max_workers=n_processes) as pool:
                return combine(pool.map(run, batches, range(len(batches))))
        """,
    )
    assert_wrong(verdict, "defined in a notebook cell", "project_worker.py")
    assert took < HANG_GUARD / 5, took  # no pool started


def test_q2_stub_and_edited_file() -> None:
    module = f"project_worker_{uuid.uuid4().hex[:8]}"
    stub = _module("def main(file_paths, n_processes):\n    raise NotImplementedError()\n")
    fixed = _module(Q2_RIGHT["paths normalised with Path(p)"])
    try:
        ns = run_cells(
            "from concurrency_lab.exercises.lesson05 import q2",
            f"%%writefile {module}.py\n{stub}",
            f"from {module} import main",
            "first = q2.verdict(main)",
            f"%%writefile {module}.py\n{fixed}",
            "second = q2.verdict(main)  # the same imported name: the check reads the file",
        )
    finally:
        sys.modules.pop(module, None)
    assert ns["first"].status == "not attempted"
    assert_right(ns["second"])


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
Q3_RIGHT = {
    "model": "import os\n" + solution_from_notebook(NOTEBOOK, "q3"),
    "a heap, ties by count": """
        import heapq, os
        def balanced_batches(file_paths, n_batches, size=os.path.getsize):
            n = min(n_batches, len(file_paths))
            heap = [(0, 0, b) for b in range(n)]
            batches = [[] for _ in range(n)]
            for path in sorted(file_paths, key=size, reverse=True):
                load, count, b = heapq.heappop(heap)
                batches[b].append(path)
                heapq.heappush(heap, (load + size(path), count + 1, b))
            return batches
    """,
    "the package's balanced strategy": """
        import os
        from concurrency_lab.work.batching import batch_files
        def balanced_batches(file_paths, n_batches, size=os.path.getsize):
            return batch_files(file_paths, n_batches, "balanced", size=size)
    """,
    "verbose, a dict of loads": """
        import os
        def balanced_batches(file_paths, n_batches, size=os.path.getsize):
            n = min(n_batches, len(file_paths))
            batches = {}
            loads = {}
            for b in range(n):
                batches[b] = []
                loads[b] = 0
            largest_first = sorted(file_paths, key=lambda p: -size(p))
            for path in largest_first:
                best = None
                for b in range(n):
                    if best is None:
                        best = b
                    elif loads[b] < loads[best]:
                        best = b
                    elif loads[b] == loads[best] and len(batches[b]) < len(batches[best]):
                        best = b
                batches[best].append(path)
                loads[best] += size(path)
            return [batches[b] for b in range(n)]
    """,
    "one file each first, then LPT": """
        import os
        def balanced_batches(file_paths, n_batches, size=os.path.getsize):
            ordered = sorted(file_paths, key=size, reverse=True)
            n = min(n_batches, len(ordered))
            batches = [[p] for p in ordered[:n]]
            loads = [size(p) for p in ordered[:n]]
            for path in ordered[n:]:
                i = loads.index(min(loads))
                batches[i].append(path)
                loads[i] += size(path)
            return batches
    """,
    "sizes looked up once, tuples": """
        import os
        def balanced_batches(file_paths, n_batches, size=os.path.getsize):
            sized = sorted(((size(p), p) for p in file_paths), key=lambda t: t[0], reverse=True)
            n = min(n_batches, len(sized))
            batches = [[] for _ in range(n)]
            loads = [0] * n
            for s, p in sized:
                i = min(range(n), key=lambda b: (loads[b], len(batches[b])))
                batches[i].append(p)
                loads[i] += s
            return [tuple(b) for b in batches]
    """,
}

_LPT_HEAD = """
import os
def balanced_batches(file_paths, n_batches, size=os.path.getsize):
    n = min(n_batches, len(file_paths))
    batches, loads = [[] for _ in range(n)], [0] * n
"""

Q3_WRONG = {
    "the old model: index of the lightest, no tie rule": (
        _LPT_HEAD
        + """
    for path in sorted(file_paths, key=size, reverse=True):
        b = loads.index(min(loads))
        batches[b].append(path)
        loads[b] += size(path)
    return batches
""",
        ("empty batch", "size 0"),
    ),
    "a heap on (load, batch)": (
        """
import heapq, os
def balanced_batches(file_paths, n_batches, size=os.path.getsize):
    n = min(n_batches, len(file_paths))
    heap = [(0, b) for b in range(n)]
    batches = [[] for _ in range(n)]
    for path in sorted(file_paths, key=size, reverse=True):
        load, b = heapq.heappop(heap)
        batches[b].append(path)
        heapq.heappush(heap, (load + size(path), b))
    return batches
""",
        ("empty batch", "size 0"),
    ),
    "round-robin": (
        _LPT_HEAD + "    return [file_paths[i::n] for i in range(n)]\n",
        ("the heaviest batch holds", "times a lower bound", "largest first"),
    ),
    "sorted, then dealt round-robin": (
        _LPT_HEAD
        + """
    ordered = sorted(file_paths, key=size, reverse=True)
    return [ordered[i::n] for i in range(n)]
""",
        ("times a lower bound", "Bytes per batch"),
    ),
    "smallest first": (
        _LPT_HEAD
        + """
    for path in sorted(file_paths, key=size):
        b = min(range(n), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches
""",
        ("times a lower bound",),
    ),
    "lightest batch, in the given order": (
        _LPT_HEAD
        + """
    for path in file_paths:
        b = min(range(n), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches
""",
        ("times a lower bound",),
    ),
    "n_batches batches, always": (
        """
import os
def balanced_batches(file_paths, n_batches, size=os.path.getsize):
    batches, loads = [[] for _ in range(n_batches)], [0] * n_batches
    for path in sorted(file_paths, key=size, reverse=True):
        b = min(range(n_batches), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches
""",
        ("returned 5 batches, expected 3", "empty"),
    ),
    "empty files left out": (
        _LPT_HEAD
        + """
    for path in sorted(file_paths, key=size, reverse=True):
        if size(path) == 0:
            continue
        b = min(range(n), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches
""",
        ("dropped", "file(s)"),
    ),
    "sorts the caller's list": (
        _LPT_HEAD
        + """
    file_paths.sort(key=size, reverse=True)
    for path in file_paths:
        b = min(range(n), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches
""",
        ("changed the list it was given", "in another order"),
    ),
}


@pytest.mark.parametrize("name", list(Q3_RIGHT))
def test_q3_right_answers_pass(name: str) -> None:
    verdict, took = judge("q3", "balanced_batches", Q3_RIGHT[name])
    assert_right(verdict)
    assert "empty files (size 0) included" in verdict.plain()
    assert took < HANG_GUARD, took


@pytest.mark.parametrize("name", list(Q3_WRONG))
def test_q3_wrong_answers_are_named(name: str) -> None:
    cell, phrases = Q3_WRONG[name]
    verdict, took = judge("q3", "balanced_batches", cell)
    assert_wrong(verdict, *phrases)
    assert took < HANG_GUARD, took


def test_q3_cases_separate_lpt_from_counting_every_time() -> None:
    import random

    for seed in range(20):
        for case in q3_cases(random.Random(seed)):
            if not case.files or not case.best_possible:
                continue
            assert case.ratio(lpt(list(case.files), case.n_batches, case.sizes.get)) <= 1.05
        skewed = q3_cases(random.Random(seed))[:3]
        for case in skewed:
            k = case.expected_batches
            round_robin = [list(case.files)[i::k] for i in range(k)]
            assert case.ratio(round_robin) > 1.1


# ------------------------------------------------------------------ the notebooks
def test_the_exercise_writes_a_stub_module() -> None:
    from concurrency_lab.dev.generate import make_exercise
    from concurrency_lab.dev.nbtesting import ROOT

    solution = nbformat.read(ROOT / "solutions" / f"{NOTEBOOK}.ipynb", as_version=4)
    exercise = make_exercise(solution)  # as shipped, not a student's working copy
    cells = [c for c in exercise.cells if c.cell_type == "code" and writes_a_file(c.source)]
    assert len(cells) == 1
    filename, body = writefile_parts(cells[0].source)
    assert filename == "project_worker.py"
    assert "def main(file_paths, n_processes):" in body and "raise NotImplementedError()" in body
    assert import_time_code(body) == []


def test_q2_a_hanging_main_is_reported_and_its_pool_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import concurrency_lab.exercises.lesson05 as lesson05

    monkeypatch.setattr(lesson05, "Q2_TIMEOUT", 3.0)
    verdict, _ = judge_main(
        """
import threading


def main(file_paths, n_processes):
    batches = batch_files(file_paths, n_processes)
    pool = ProcessPoolExecutor(max_workers=n_processes)
    futures = [pool.submit(run, b, i) for i, b in enumerate(batches)]
    threading.Event().wait(20)  # waits for nothing
    return combine(f.result() for f in futures)
"""
    )
    assert_wrong(verdict, "did not finish within 3 seconds", "stopped the 3 worker process(es)")
