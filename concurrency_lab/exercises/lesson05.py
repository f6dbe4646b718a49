"""Exercises for lesson 05, the file-batching project: split, run in a pool, combine.

``from concurrency_lab.exercises.lesson05 import q1, q2, q3``

* q1 — ``batch_files(file_paths, n_batches)``, the seed's ``# CODE HERE``: split a list of
  files into ``min(n_batches, len(file_paths))`` batches whose lengths differ by at most
  one. The check runs it on several cases (more batches than files — the seed returned
  ``[]`` there —, one batch, an empty list, an exact division, nonsense ``n_batches``)
  and names the first broken property: the file that was dropped or duplicated, the
  number of batches against the number expected, an empty batch, uneven batches, a
  changed input list, a missing or wrong exception.
* q2 — ``main(file_paths, n_processes)``, written into ``project_worker.py`` with
  ``%%writefile`` (:mod:`concurrency_lab.exercises.worker_modules` re-imports it from its
  file): batch the files, run each batch with :func:`concurrency_lab.work.project.run` in a
  process pool, combine. The check hands it a small seeded dataset with three broken
  files and a missing one, and compares the result with
  :func:`concurrency_lab.work.project.run_sequential`: nothing lost, every bad file named. The
  paths it hands over are :class:`TracedPath` objects: every time a worker opens one,
  the path records which process and thread asked, and the first one a worker process
  opens *waits* (up to :data:`Q2_HOLD_LIMIT`) until a second worker process has opened
  one too. So "more than one worker process did the work" is decided by what ran, not by
  luck: a pool with two workers always shows two, however slowly the second one starts,
  and an answer with one worker, threads, or a plain loop is named as such.
* q3 — ``balanced_batches(file_paths, n_batches, size)``: the LPT rule (largest file
  first, into the lightest batch). The check uses seeded skewed sizes (no files are
  read: ``size`` is a look-up) and requires, besides q1's properties, that the heaviest
  batch is within :data:`Q3_TOLERANCE` of the best any split could do — round-robin and
  contiguous slices miss it by 25 % or more on these cases, LPT is within 1 %.

Every verdict names files, never folders, and no verdict shows a figure that depends on
the scale (row counts, money): the same text at every scale and on every machine.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import math
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concurrency_lab.exercises.core import (
    STUDENT_THREAD,
    FunctionProblem,
    StudentError,
    Verdict,
    call_student,
    failed,
    passed,
    register,
)
from concurrency_lab.exercises.worker_modules import (
    import_time_problem,
    importable_problem,
    load_fresh,
)

__all__ = [
    "Q2_HOLD_LIMIT",
    "Q2_MODULE",
    "Q2_PROCESSES",
    "Q3_TOLERANCE",
    "TracedPath",
    "q1",
    "q2",
    "q3",
]



def _names(n: int) -> list[str]:
    return [f"sales_{i:02d}.csv" for i in range(n)]


def _listing(items: Sequence[Any], limit: int = 4) -> str:
    shown = ", ".join(repr(x) for x in items[:limit])
    return shown + (", …" if len(items) > limit else "")


def _files_text(files: Sequence[str]) -> str:
    if not files:
        return "no files ([])"
    if len(files) == 1:
        return f"1 file ({files[0]!r})"
    return f"{len(files)} files ({files[0]!r} … {files[-1]!r})"


# ---------------------------------------------------------------------------- q1
@dataclass(frozen=True)
class Case:
    """One call of the student's function: ``fn(files, n_batches)`` (and a size look-up)."""

    files: tuple[str, ...]
    n_batches: Any
    why: str = ""

    @property
    def call(self) -> str:
        return f"{len(self.files)} files into {self.n_batches!r} batches"

    @property
    def expected_batches(self) -> int:
        return min(self.n_batches, len(self.files))


Q1_CASES: tuple[Case, ...] = (
    Case(tuple(_names(10)), 3, "the everyday case: a remainder to place"),
    Case(tuple(_names(3)), 5, "more batches than files (the seed returned [] here)"),
    Case(tuple(_names(10)), 1, "a single batch"),
    Case(tuple(_names(12)), 4, "an exact division"),
    Case(tuple(_names(7)), 7, "one file per batch"),
    Case((), 4, "no files at all"),
)
Q1_BAD_N: tuple[tuple[Any, str], ...] = (
    (0, "zero batches cannot hold any file"),
    (-2, "a negative number of batches"),
    (2.5, "half a batch does not exist"),
    ("3", "a string, not a number"),
)


def _batches_shape(got: Any, case: Case, fn: str) -> tuple[list[list[Any]] | None, Verdict | None]:
    """``got`` as a list of lists, or a ✗ verdict if it is not a list of batches."""
    if not isinstance(got, (list, tuple)):
        kind = type(got).__name__
        more = (
            " A generator is used up after one pass: build and return a list."
            if hasattr(got, "__next__")
            else ""
        )
        return None, failed(
            f"{fn}({case.call}) returned {kind}, not a list of batches.{more}",
            "Return a list with one list of file paths per batch: [['a', 'c'], ['b', 'd']].",
        )
    batches = []
    for i, batch in enumerate(got):
        if isinstance(batch, (str, bytes)) or not isinstance(batch, (list, tuple, set, frozenset)):
            return None, failed(
                f"{fn}({case.call}) returned a list whose item {i} is "
                f"{type(batch).__name__} {batch!r}, not a batch (a list of file paths).",
                "Return a list of lists: [['a', 'c'], ['b', 'd']] — a batch is a list even "
                "when it holds a single file.",
            )
        batches.append(list(batch))
    return batches, None


def _where(batches: list[list[Any]], item: Any) -> list[int]:
    return [i for i, batch in enumerate(batches) for x in batch if x == item]


def _membership(batches: list[list[Any]], case: Case, fn: str) -> Verdict | None:
    """Every file exactly once, nothing else: else a ✗ naming the file."""
    files = list(case.files)
    try:
        counts = Counter(x for batch in batches for x in batch)
    except TypeError:
        return failed(
            f"{fn}({case.call}) returned batches holding something that is not a file path.",
            f"first batch: {batches[0]!r}",
        )
    if files and not any(batches):
        return failed(
            f"{fn}({case.call}) returned {batches!r}: every file was dropped.",
            "With more batches than files the seed's version gave up and returned [] — "
            "no work for any process, and no result. Make "
            f"min(n_batches, len(file_paths)) = {case.expected_batches} batches instead: "
            "here one file each.",
        )
    unknown = [x for x in counts if x not in set(files)]
    if unknown:
        return failed(
            f"{fn}({case.call}) returned items that are not in file_paths: {_listing(unknown)}.",
            "Put the paths themselves into the batches, unchanged.",
        )
    dropped = [f for f in files if counts[f] == 0]
    if dropped:
        return failed(
            f"{fn}({case.call}) dropped {len(dropped)} file(s): {_listing(dropped)}.",
            f"files: {_files_text(files)}; your batch lengths: {[len(b) for b in batches]}",
            "A dropped file is lost work, silently: every file must be in exactly one batch. "
            + (
                "Slicing into len(files) // n_batches per batch leaves the remainder out — "
                "give the first len(files) % n_batches batches one file more, or deal the "
                "files round-robin: file_paths[i::n]."
                if len(dropped) < case.expected_batches
                else ""
            ),
        )
    twice = [f for f in files if counts[f] > 1]
    if twice:
        first = twice[0]
        return failed(
            f"{fn}({case.call}) put {len(twice)} file(s) in more than one batch: "
            f"{_listing(twice)}.",
            f"{first!r} is in batches {_where(batches, first)}: it would be processed "
            "(and counted) twice.",
        )
    return None


def _count_and_shape(batches: list[list[Any]], case: Case, fn: str) -> Verdict | None:
    """The number of batches, no empty batch."""
    expected = case.expected_batches
    if len(batches) != expected:
        empty = sum(1 for b in batches if not b)
        details = [f"Case: {case.why}. Expected min(n_batches, len(file_paths)) = {expected}."]
        if empty:
            details.append(
                f"{empty} of your batches are empty: each batch becomes a task for a worker "
                "process, and an empty one starts work for nothing. With more batches than "
                "files, make one batch per file."
            )
        return failed(
            f"{fn}({case.call}) returned {len(batches)} batches, expected {expected}.",
            *details,
            f"your batch lengths: {[len(b) for b in batches]}",
        )
    return None


def _judge_case(fn: Callable[..., Any], case: Case, name: str, *extra: Any) -> Any:
    """Call ``fn(list(files), n, *extra)``; a ✗ verdict or the batches (list of lists)."""
    given = list(case.files)
    got = call_student(fn, given, case.n_batches, *extra)
    if given != list(case.files):
        return failed(
            f"{name}({case.call}) changed the list it was given: it now holds "
            f"{len(given)} items, not {len(case.files)}.",
            "The caller still needs its list (to compare, to retry, to report): read "
            "file_paths, don't pop or remove from it — build new lists.",
        )
    batches, problem = _batches_shape(got, case, name)
    if problem:
        return problem
    assert batches is not None
    return _membership(batches, case, name) or _count_and_shape(batches, case, name) or batches


def _q1_trial(batch_files: Callable[..., Any]) -> Verdict:
    for case in Q1_CASES:
        result = _judge_case(batch_files, case, "batch_files")
        if isinstance(result, Verdict):
            return result
        lengths = [len(b) for b in result]
        if lengths and max(lengths) - min(lengths) > 1:
            return failed(
                f"batch_files({case.call}) made batches of lengths {lengths}: "
                "they differ by more than one file.",
                "The work should be shared evenly: deal the files round-robin "
                "(file_paths[i::n]), or give the first len(files) % n batches one file "
                "more than the others.",
            )
    files = list(_names(6))
    for n, why in Q1_BAD_N:
        try:
            got = call_student(batch_files, list(files), n)
        except StudentError as error:
            if isinstance(error.exc, (TypeError, ValueError)):
                continue
            verdict = error.verdict()
            return failed(
                f"batch_files(files, {n!r}) raised {type(error.exc).__name__}, "
                "not TypeError or ValueError.",
                *verdict.details,
                f"Check n_batches first ({why}): raise ValueError (or TypeError for a value "
                "that is not an int) with a message that says what is wrong.",
                code=verdict.code,
            )
        return failed(
            f"batch_files(files, {n!r}) returned {got!r} instead of raising an error: {why}.",
            "Nonsense in should be an error out, at once, with a clear message — not a "
            "result that silently drops every file. Check n_batches first: "
            "`if not isinstance(n_batches, int): raise TypeError(...)`, "
            "`if n_batches < 1: raise ValueError(...)`.",
        )
    return passed(
        "Every file exactly once, min(n_batches, len(files)) batches, even lengths — in "
        f"all {len(Q1_CASES)} cases, and an error for all {len(Q1_BAD_N)} nonsense "
        "n_batches.",
        "including 3 files into 5 batches: three batches of one, where the seed returned []",
    )


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "Round-robin deals the files like cards: batch i gets files i, i + n, i + 2n, … — "
        "in Python, `file_paths[i::n]`. Make n = min(n_batches, len(file_paths)) batches, so "
        "that no batch is empty.",
        "Check n_batches before anything else: `if not isinstance(n_batches, int): raise "
        "TypeError(...)` and `if n_batches < 1: raise ValueError(...)`. An empty list then "
        "needs no special case: min(n, 0) is 0 batches, `[]`.",
    ],
    solution_note="Contiguous slices work too, if the remainder is spread: the first "
    "len(files) % n batches get one file more (`concurrency_lab.work.batching.batch_files(files, "
    'n, "contiguous")`).',
)


# ---------------------------------------------------------------------------- q2
Q2_MODULE = "project_worker"
Q2_PROCESSES = 2
Q2_GOOD_FILES = 10
Q2_ROWS = 200  # mean rows per good file at lecture scale (× CONCURRENCY_LAB_SCALE)
Q2_HOLD_LIMIT = 3.0  # seconds a worker's first file waits for a second worker process
Q2_TIMEOUT = 30.0

_dataset_lock = threading.Lock()
_dataset: list[str] = []
_first_open: set[tuple[str, int]] = set()  # (log dir, pid) pairs that have opened a file


def check_dataset() -> list[str]:
    """The q2 check's files (as strings): good ones, three broken ones and a missing one.

    Written once per process into a private temporary folder (removed at exit), so checks
    at different scales, run at the same time, never share files.
    """
    with _dataset_lock:
        if not _dataset:
            from concurrency_lab.work.data import make_dataset, missing_path, write_bad_files

            folder = Path(tempfile.mkdtemp(prefix="concurrency_lab_ex05_"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            good = make_dataset(folder, n_files=Q2_GOOD_FILES, rows=Q2_ROWS, skew=0.5, seed=5)
            bad = sorted(write_bad_files(folder))
            paths = list(good)
            for i, path in enumerate([*bad, missing_path(folder)]):
                paths.insert(1 + 3 * i, path)  # spread over the list, not all in one batch
            _dataset.extend(str(p) for p in paths)
        return list(_dataset)


@dataclass(frozen=True, order=True)
class TracedPath:
    """A file path that records where it is opened, for the q2 check (``os.PathLike``).

    ``open(path)`` calls ``os.fspath(path)``, which calls :meth:`__fspath__`: that writes a
    record (process id, thread name) into ``log_dir``. In a process other than
    ``parent_pid``, the first call waits until a second process has made one too (at most
    ``hold_limit`` seconds): a worker that got a batch cannot race through every batch
    before its sibling has started. Picklable, and importable by name from this module,
    so it reaches workers under every start method; compares and sorts by ``path``.
    """

    path: str
    log_dir: str = field(compare=False)
    parent_pid: int = field(compare=False)
    hold_limit: float = field(default=Q2_HOLD_LIMIT, compare=False)

    def __fspath__(self) -> str:
        pid = os.getpid()
        thread = threading.current_thread().name
        folder = Path(self.log_dir)
        with contextlib.suppress(OSError):  # the check has finished and removed the folder
            (folder / f"{pid}.{uuid.uuid4().hex}.rec").write_text(thread, encoding="utf-8")
            if pid != self.parent_pid and (self.log_dir, pid) not in _first_open:
                _first_open.add((self.log_dir, pid))
                (folder / f"{pid}.worker").touch()
                deadline = time.monotonic() + self.hold_limit
                while time.monotonic() < deadline and len(list(folder.glob("*.worker"))) < 2:
                    time.sleep(0.005)
        return self.path

    def __str__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"TracedPath({Path(self.path).name!r})"


def read_records(log_dir: str | os.PathLike[str]) -> list[tuple[int, str]]:
    """``(pid, thread name)`` for every time a :class:`TracedPath` in ``log_dir`` was opened."""
    records = []
    for rec in Path(log_dir).glob("*.rec"):
        with contextlib.suppress(OSError, ValueError):
            records.append((int(rec.name.split(".")[0]), rec.read_text(encoding="utf-8")))
    return records


def _module_problem(main: Any) -> Verdict | None:
    """A ✗ if ``main`` is not a function from a module file (written with %%writefile)."""
    problem = importable_problem(
        main,
        module=Q2_MODULE,
        why_module="This exercise builds the project as a module: a module can be imported by "
        "a script, by a test, and by a spawned worker process — a notebook cell cannot. (Any "
        "function of your own that main sends to the pool must live there too.)",
    )
    if problem is not None:
        return problem
    return import_time_problem(
        main,
        why="A module runs its top-level code every time it is imported — by the check, by "
        "a script, and by every spawned worker that needs a function from it: a pool "
        "started there would start pools of its own.",
        fix="Keep only imports and definitions at the top level (or put the code under "
        '`if __name__ == "__main__":`), and call main from the notebook.',
    )


def _ran_where(
    records: list[tuple[int, str]], result: Any, parent: int
) -> tuple[set[int], set[str]]:
    """Worker pids (not ``parent``), and the threads of ``parent`` other than the check's."""
    seen = set(records)
    for partial in getattr(result, "partials", None) or []:
        pid, thread = getattr(partial, "pid", 0), getattr(partial, "thread", "")
        if pid:
            seen.add((pid, thread))
    workers = {pid for pid, _ in seen if pid != parent}
    threads = {t for pid, t in seen if pid == parent and t != STUDENT_THREAD}
    return workers, threads


def _result_problem(got: Any, expected: Any, n_paths: int) -> Verdict | None:
    """Compare the student's Result with the sequential one; name what is missing."""
    if got == expected:
        return None
    bad_expected = [e.name for e in expected.errors]
    bad_got = {e.name for e in got.errors}
    unreported = [n for n in bad_expected if n not in bad_got]
    extra = sorted(bad_got - set(bad_expected))
    details = [
        f"files counted: {got.files} of {expected.files}; bad files reported: "
        f"{len(got.errors)} of {len(expected.errors)}"
    ]
    if unreported:
        details.append("not reported: " + ", ".join(unreported))
    if extra:
        details.append("reported as bad but fine: " + ", ".join(extra))
    accounted = got.files + len(got.errors)
    if accounted < n_paths and got.files < expected.files:
        return failed(
            f"main lost files: of the {n_paths} paths, {n_paths - accounted} were neither "
            "counted nor reported as bad.",
            *details,
            "Every batch's partial result must be combined: collect one Partial per batch "
            "(list(pool.map(run, batches, range(len(batches))))) and return "
            "combine(partials) — not only the first one, not only some.",
        )
    if got.files == expected.files and unreported:
        return failed(
            "main counted every good file, but did not report the bad ones: "
            + ", ".join(unreported)
            + ".",
            *details,
            "Each Partial carries its batch's errors (Partial.errors); combine(partials) "
            "gathers them into Result.errors. A combine of your own must keep them too — "
            "a bad file nobody hears about is a silent error.",
        )
    if accounted > n_paths:
        return failed(
            f"main counted more than there is: {accounted} files counted or reported, for "
            f"{n_paths} paths.",
            *details,
            "Some file was processed twice: is it in two batches?",
        )
    differ = [
        k
        for k in sorted(set(got.totals_cents) | set(expected.totals_cents))
        if got.totals_cents.get(k) != expected.totals_cents.get(k)
    ]
    return failed(
        "main's result differs from the sequential one.",
        *details,
        *(["totals differ for: " + ", ".join(differ)] if differ else []),
        *(["the row counts differ"] if got.rows != expected.rows else []),
        "Return combine(partials) with one partial per batch, as run() made them.",
    )


def _q2_trial(main: Callable[..., Any]) -> Verdict:
    from concurrency_lab.work.project import Partial, Result, run_sequential

    problem = _module_problem(main)
    if problem:
        return problem
    fresh = load_fresh(main, timeout=Q2_TIMEOUT)
    if isinstance(fresh, Verdict):
        return fresh
    paths = check_dataset()
    expected = run_sequential(paths)
    parent = os.getpid()
    with tempfile.TemporaryDirectory(prefix="concurrency_lab_ex05_log_") as log_dir:
        traced = [TracedPath(p, log_dir, parent) for p in paths]
        start = time.perf_counter()
        got = call_student(fresh, traced, Q2_PROCESSES, timeout=Q2_TIMEOUT)
        wall = time.perf_counter() - start
        records = read_records(log_dir)
    if isinstance(got, (list, tuple)) and got and all(isinstance(p, Partial) for p in got):
        return failed(
            f"main returned {len(got)} partial results, not one combined Result.",
            "Add them up before returning: `return combine(partials)`.",
        )
    if not isinstance(got, Result):
        return failed(
            f"main returned {type(got).__name__} {got!r:.80}, not a Result.",
            "Return what combine(partials) gives: one Result with the totals, the row and "
            "file counts, and the bad files.",
        )
    problem = _result_problem(got, expected, len(paths))
    if problem:
        return problem
    workers, threads = _ran_where(records, got, parent)
    if not workers:
        if threads:
            return failed(
                "The result is right, but the batches ran in threads of this process, not "
                "in worker processes.",
                f"threads seen: {', '.join(sorted(threads))}",
                "Parsing the files is CPU work: threads take turns holding the GIL, so they "
                "do not make it faster (lesson 05, section 5). Use ProcessPoolExecutor — the "
                "same API as ThreadPoolExecutor.",
            )
        return failed(
            "The result is right, but every batch ran right here, in the process and thread "
            "that called main: there was no pool.",
            "Calling run(batch, i) yourself runs it at once, in this process. Hand the calls "
            "to a pool: pool.map(run, batches, range(len(batches))).",
        )
    if len(workers) < 2:
        return failed(
            "The result is right, but all the batches ran in a single worker process: one "
            "process parses one file at a time, no faster than a loop.",
            f"main({len(paths)} paths, n_processes={Q2_PROCESSES}) should run its "
            f"{Q2_PROCESSES} batches in {Q2_PROCESSES} worker processes at the same time.",
            "Give the pool n_processes workers (ProcessPoolExecutor(max_workers=n_processes)) "
            "and submit every batch before waiting for any result — pool.map does both.",
        )
    batches = [p for p in got.partials if isinstance(p, Partial) and p.pid in workers]
    together = any(
        a.start < b.end and b.start < a.end for a, b in itertools.combinations(batches, 2)
    )
    if len(batches) >= 2 and not together:
        return failed(
            f"The result is right and {len(workers)} worker processes took part, but never "
            "at the same time: each batch finished before the next one started.",
            "Waiting for a batch's result right after submitting it — "
            "pool.submit(run, batch, i).result() inside the loop — makes the pool a slow "
            "loop. Submit every batch before waiting for any result: pool.map does both.",
        )
    n_bad = len(expected.errors)
    return passed(
        f"main gave exactly the sequential result, computed by {len(workers)} worker processes.",
        f"{expected.files} good files counted, {n_bad} bad ones reported by name: "
        + ", ".join(e.name for e in expected.errors),
        f"wall time {_fmt(wall)} (including starting the pool)",
    )


def _fmt(seconds: float) -> str:
    from concurrency_lab.work.timing import fmt_seconds

    return fmt_seconds(seconds)


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "Three steps, one line each: split the paths with batch_files(file_paths, "
        "n_processes); in a `with ProcessPoolExecutor(max_workers=n_processes) as pool:` "
        "block, let the pool call run(batch, batch_id) for every batch and collect the "
        "partial results; return combine(partials).",
        "`partials = list(pool.map(run, batches, range(len(batches))))` calls "
        "run(batches[0], 0), run(batches[1], 1), … in the workers — map takes one iterable "
        "per argument — and keeps the results in order. run and combine are imported at the "
        "top of the file, from concurrency_lab.work.project.",
    ],
    solution_note="main itself runs in the notebook's process; only run (a function of the "
    "concurrency_lab package, importable by name) travels to the workers. A worker function "
    "of your own would have to live in this file too.",
)


# ---------------------------------------------------------------------------- q3
Q3_TOLERANCE = 0.05  # the heaviest batch may be 5 % above the best possible


def _skewed_sizes(n: int, seed: int, sigma: float = 1.4) -> dict[str, int]:
    """Seeded log-normal sizes in bytes (a few big files, many small), one per name."""
    rng = random.Random(f"lesson05-q3:{seed}")
    return {name: 200 + int(2_000 * math.exp(sigma * rng.gauss(0, 1))) for name in _names(n)}


@dataclass(frozen=True)
class SizedCase(Case):
    sizes: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def best_possible(self) -> float:
        """A lower bound on the heaviest batch: a fair share, or the largest file."""
        total = sum(self.sizes.values())
        k = self.expected_batches
        return max(total / k, max(self.sizes.values())) if k else 0.0


def _sized(sizes: dict[str, int], n: int, why: str) -> SizedCase:
    return SizedCase(tuple(sizes), n, why, sizes)


Q3_CASES: tuple[SizedCase, ...] = (
    _sized(_skewed_sizes(40, 1), 4, "40 files of skewed sizes into 4 batches"),
    _sized(_skewed_sizes(24, 2), 2, "24 files of skewed sizes into 2 batches"),
    _sized(
        {**_skewed_sizes(15, 3), "sales_15.csv": 60_000},
        3,
        "one file bigger than a fair share: it decides the time alone",
    ),
    _sized(_skewed_sizes(3, 4), 5, "more batches than files"),
    _sized({}, 3, "no files at all"),
)


class _Sizes:
    """``size(path)`` for a q3 case: a dictionary look-up, with a clear error for strangers."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def __call__(self, path: Any) -> int:
        if path not in self.sizes:
            raise KeyError(f"size() knows only the file paths it was given, not {path!r}")
        return self.sizes[path]

    def __repr__(self) -> str:
        return "<size: bytes per file>"


def _q3_trial(balanced_batches: Callable[..., Any]) -> Verdict:
    worst = 0.0
    for case in Q3_CASES:
        result = _judge_case(balanced_batches, case, "balanced_batches", _Sizes(case.sizes))
        if isinstance(result, Verdict):
            return result
        if not case.files:
            continue
        loads = [sum(case.sizes[f] for f in batch) for batch in result]
        heaviest = max(loads)
        ratio = heaviest / case.best_possible
        worst = max(worst, ratio)
        if ratio > 1 + Q3_TOLERANCE:
            return failed(
                f"balanced_batches({case.call}): the heaviest batch holds {heaviest:,} "
                f"bytes, {ratio:.2f} times the best possible "
                f"({math.ceil(case.best_possible):,}).",
                f"Case: {case.why}. Bytes per batch: {loads}.",
                "The job takes as long as its heaviest batch. Balance by size, not by count: "
                "take the files largest first (sorted(file_paths, key=size, reverse=True)) "
                "and put each into the batch with the fewest bytes so far.",
            )
    return passed(
        f"Balanced: in every case the heaviest batch is within {Q3_TOLERANCE:.0%} of the "
        "best any split could do — and every file is there exactly once.",
        f"worst case {worst:.3f}× the best possible; round-robin on the same files: "
        f"{_round_robin_worst():.2f}×",
    )


def _round_robin_worst() -> float:
    worst = 0.0
    for case in Q3_CASES:
        if case.files:
            k = case.expected_batches
            loads = [sum(case.sizes[f] for f in case.files[i::k]) for i in range(k)]
            worst = max(worst, max(loads) / case.best_possible)
    return worst


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "LPT, longest processing time first: go through the files from largest to smallest "
        "(`sorted(file_paths, key=size, reverse=True)`) and put each into the batch that has "
        "the fewest bytes so far. Keep a list of bytes per batch next to the batches.",
        "`lightest = loads.index(min(loads))` finds the batch to fill next; then "
        "`batches[lightest].append(path)` and `loads[lightest] += size(path)`. Make "
        "min(n_batches, len(file_paths)) batches, as in Q1.",
    ],
    solution_note='`concurrency_lab.work.batching.batch_files(files, n, "balanced")` is the same '
    "rule, with a heap instead of min() — it matters only for many batches.",
)

PROBLEMS = register(globals())
