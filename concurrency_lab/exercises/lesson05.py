"""Exercises for lesson 05, the file-batching project: split, run in a pool, combine.

``from concurrency_lab.exercises.lesson05 import q1, q2, q3``

* q1 — ``batch_files(file_paths, n_batches)``, the seed's ``# CODE HERE``: split a list of
  files into ``min(n_batches, len(file_paths))`` batches whose lengths differ by at most
  one. Every check draws new cases (seeded from the clock): file names that are neither
  numbered nor sorted, remainders of 2 and 3, more batches than files, one batch, one file
  per batch, an exact division, no files — and bad ``n_batches`` (0, -2, 7.5, ``"3"``,
  ``True``) on a list short enough that an answer without a check returns something
  instead of failing by accident. It names the first broken property: the file dropped or
  duplicated, the number of batches, an empty batch, uneven lengths, a changed input list,
  a missing or wrong exception.
* q2 — ``main(file_paths, n_processes)``, written into ``project_worker.py`` with
  ``%%writefile`` (:mod:`concurrency_lab.exercises.worker_modules` re-imports it from its
  file): batch the files, run each batch with :func:`concurrency_lab.work.project.run` in a
  process pool, combine. The check calls it with ``n_processes`` = 3 and 1 on a small
  seeded dataset (three broken files, a missing one, in a new order each check) and
  judges from data: the result equals ``run_sequential``'s; the returned ``Result``'s
  partials (stamped by ``run`` with the process that made them) came from worker
  processes, one per batch, ``n_processes`` batches; the pool started ``n_processes``
  processes (the check samples this process's children while ``main`` runs); and the
  batches ran at the same time. The paths are :class:`TracedPath` objects that record
  which process opens them, and the first file a worker opens *waits* (up to
  :data:`Q2_HOLD_LIMIT`) until every batch's worker has opened one — so "at the same time"
  is decided by what ran, not by luck. An answer that turns the paths into ``Path``
  objects first is judged the same way, except for the timing rule (plain paths record
  nothing).
* q3 — ``balanced_batches(file_paths, n_batches, size)``: the LPT rule (largest file
  first, into the lightest batch). Cases are drawn anew each check (skewed sizes that
  separate LPT from counting) plus fixed ones with files of size 0 (where "the lightest
  batch" must not leave a batch empty): besides q1's rules 1, 2 and 5, the heaviest batch
  must be within :data:`Q3_TOLERANCE` of a lower bound on the best split (a fair share of
  the bytes, or the largest file).

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
    StudentTimeout,
    Verdict,
    call_student,
    failed,
    passed,
    register,
)
from concurrency_lab.exercises.probing import first_failure
from concurrency_lab.exercises.worker_modules import (
    ChildWatch,
    import_time_problem,
    importable_problem,
    load_fresh,
    pool_size,
    stop_children,
    threads_are_not_processes,
    timeout_verdict,
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


_REGIONS = ("north", "south", "east", "west", "harbour", "airport", "mall", "station")


def _random_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct file names, neither numbered from 0 nor sorted: ``'mall_37.csv'``."""
    names: set[str] = set()
    while len(names) < n:
        names.add(f"{rng.choice(_REGIONS)}_{rng.randrange(10, 100)}.csv")
    ordered = sorted(names)
    rng.shuffle(ordered)
    if ordered == sorted(ordered) and n > 1:  # never hand over a sorted list
        ordered.reverse()
    return ordered


def _rng() -> random.Random:
    """A new seed every check: no answer can fit the cases of one run."""
    return random.Random(time.time_ns())


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


def q1_cases(rng: random.Random) -> list[Case]:
    """The cases of one q1 check: fixed shapes, new names (and one random shape) each time."""
    names = tuple(_random_names(rng, 14))
    n_files = rng.randrange(7, 15)
    n = rng.choice([k for k in range(3, 7) if n_files % k >= 2] or [4])
    return [
        Case(names[:10], 4, "10 files into 4 batches: a remainder of 2 to place"),
        Case(names[:11], 4, "a remainder of 3 to place"),
        Case(names[:3], 5, "more batches than files (the seed returned [] here)"),
        Case(names[:9], 1, "a single batch"),
        Case(names[:12], 4, "an exact division"),
        Case(names[:6], 6, "one file per batch"),
        Case(names[:n_files], n, f"{n_files} files into {n} batches"),
        Case((), 4, "no files at all"),
    ]


Q1_BAD_N: tuple[tuple[Any, str], ...] = (
    (0, "zero batches cannot hold any file"),
    (-2, "a negative number of batches"),
    (7.5, "half a batch does not exist: 7.5 is not a whole number"),
    ("3", "a string, not a number"),
    (True, "True is a bool, not a count — Python treats it as 1, which hides the bug"),
)
Q1_BAD_N_FILES = 6  # fewer files than 7.5: min(7.5, 6) is 6, so no accidental TypeError


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
        if hasattr(batch, "tolist") and not isinstance(batch, (str, bytes)):
            batch = batch.tolist()  # a NumPy array (np.array_split): its items as Python str
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
            "here one file each."
            if case.n_batches > len(files)
            else f"Case: {case.why}. Every file must be in exactly one batch.",
        )
    unknown = [x for x in counts if x not in set(files)]
    if unknown:
        return failed(
            f"{fn}({case.call}) returned items that are not in file_paths: {_listing(unknown)}.",
            "Put the paths themselves into the batches, unchanged.",
        )
    dropped = [f for f in files if counts[f] == 0]
    if dropped:
        remainder = len(files) % case.expected_batches if case.expected_batches else 0
        return failed(
            f"{fn}({case.call}) dropped {len(dropped)} file(s): {_listing(dropped)}.",
            f"Case: {case.why}. Your batch lengths: {[len(b) for b in batches]}.",
            "A dropped file is lost work, silently: every file must be in exactly one batch. "
            + (
                f"Here {len(files)} files leave a remainder of {remainder} after "
                f"{len(files)} // {case.expected_batches}: slices of len(files) // n_batches "
                "leave it out — give the first len(files) % n batches one file more, or "
                "deal the files round-robin: file_paths[i::n]."
                if 0 < len(dropped) <= remainder
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
    empty = sum(1 for b in batches if not b)
    if len(batches) != expected:
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
    if empty:
        return failed(
            f"{fn}({case.call}) returned {empty} empty batch(es): lengths "
            f"{[len(b) for b in batches]}.",
            f"Case: {case.why}. Each batch becomes a task for a worker process: an empty one "
            "starts work for nothing, while another batch holds one file too many.",
        )
    return None


def _judge_case(fn: Callable[..., Any], case: Case, name: str, *extra: Any) -> Any:
    """Call ``fn(list(files), n, *extra)``; a ✗ verdict or the batches (list of lists)."""
    given = list(case.files)
    got = call_student(fn, given, case.n_batches, *extra)
    if given != list(case.files):
        return failed(
            f"{name}({case.call}) changed the list it was given: it now holds "
            f"{len(given)} items"
            + (" in another order" if len(given) == len(case.files) else "")
            + f", not the {len(case.files)} it was given.",
            "The caller still needs its list (to compare, to retry, to report): read "
            "file_paths, don't pop, remove or sort it in place — build new lists.",
        )
    batches, problem = _batches_shape(got, case, name)
    if problem:
        return problem
    assert batches is not None
    return _membership(batches, case, name) or _count_and_shape(batches, case, name) or batches


def _uneven(batches: list[list[Any]], case: Case) -> Verdict | None:
    lengths = [len(b) for b in batches]
    if lengths and max(lengths) - min(lengths) > 1:
        return failed(
            f"batch_files({case.call}) made batches of lengths {lengths}: "
            "they differ by more than one file.",
            f"Case: {case.why}. The work should be shared evenly: deal the files "
            "round-robin (file_paths[i::n]), or give the first len(files) % n batches one "
            "file more than the others — not the whole remainder to the last batch.",
        )
    return None


def _bad_n_failure(
    batch_files: Callable[..., Any], n: Any, why: str, files: list[str]
) -> Verdict | None:
    try:
        got = call_student(batch_files, list(files), n)
    except StudentError as error:
        if isinstance(error.exc, (TypeError, ValueError)):
            return None
        verdict = error.verdict()
        return failed(
            f"batch_files(files, {n!r}) raised {type(error.exc).__name__}, "
            "not TypeError or ValueError.",
            *verdict.details,
            f"Check n_batches first ({why}): raise TypeError for a value that is not an "
            "int, ValueError for one below 1, with a message that says what is wrong.",
            code=verdict.code,
        )
    if isinstance(n, bool):
        advice = (
            "isinstance(True, int) is True in Python, so test for bool first: "
            "`if isinstance(n_batches, bool) or not isinstance(n_batches, int): "
            "raise TypeError(...)`."
        )
    else:
        advice = (
            "Check n_batches first: `if isinstance(n_batches, bool) or not "
            "isinstance(n_batches, int): raise TypeError(...)`, `if n_batches < 1: "
            "raise ValueError(...)`."
        )
    return failed(
        f"batch_files({len(files)} files, {n!r}) returned {got!r:.120} instead of raising an "
        f"error: {why}.",
        "Nonsense in should be an error out, at once, with a clear message — not a result "
        "that silently does something else.",
        advice,
    )


def _q1_trial(batch_files: Callable[..., Any]) -> Verdict:
    rng = _rng()
    cases = q1_cases(rng)
    for case in cases:
        result = _judge_case(batch_files, case, "batch_files")
        if isinstance(result, Verdict):
            return result
        problem = _uneven(result, case)
        if problem:
            return problem
    files = _random_names(rng, Q1_BAD_N_FILES)
    for n, why in Q1_BAD_N:
        problem = _bad_n_failure(batch_files, n, why, files)
        if problem:
            return problem
    return passed(
        "Every file exactly once, min(n_batches, len(files)) batches, lengths within one — in "
        f"all {len(cases)} cases (remainders of 2 and 3 included), and an error for each of "
        + ", ".join(repr(n) for n, _ in Q1_BAD_N)
        + ".",
        "including 3 files into 5 batches: three batches of one, where the seed returned []",
    )


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "Round-robin deals the files like cards: batch i gets files i, i + n, i + 2n, … — "
        "in Python, `file_paths[i::n]`. Make n = min(n_batches, len(file_paths)) batches, so "
        "that no batch is empty.",
        "Check n_batches before anything else: `if isinstance(n_batches, bool) or not "
        "isinstance(n_batches, int): raise TypeError(...)` (a bool is an int in Python, so "
        "it needs its own test) and `if n_batches < 1: raise ValueError(...)`. An empty "
        "list then needs no special case: min(n, 0) is 0 batches, `[]`.",
    ],
    solution_note="Contiguous slices work too, if the remainder is spread: the first "
    "len(files) % n batches get one file more (`concurrency_lab.work.batching.batch_files(files, "
    'n, "contiguous")`).',
)


# ---------------------------------------------------------------------------- q2
Q2_MODULE = "project_worker"
Q2_PROCESSES: tuple[int, ...] = (3, 1)
"""The ``n_processes`` main is called with, in this order (never only 2: a main that
ignores ``n_processes`` must show it)."""
Q2_GOOD_FILES = 10
Q2_ROWS = 200  # mean rows per good file at lecture scale (× CONCURRENCY_LAB_SCALE)
Q2_HOLD_LIMIT = 1.5  # seconds a worker's first file waits for the other batches' workers
Q2_RETRY_HOLD = 2.5  # the second try, when the first showed one worker (busy machine?)
BUSY_NOTE = (
    "(On a very busy machine a second worker may simply not have started in time: if your "
    "pool has n_processes workers and submits every batch at once, close other programs "
    "and run the check again.)"
)
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
    ``parent_pid``, the first call waits until ``wait_for`` processes have made one (at
    most ``hold_limit`` seconds): a worker that got a batch cannot race through every batch
    before its siblings have started, so batches that *can* run at the same time *do*.
    Picklable, and importable by name from this module, so it reaches workers under every
    start method; compares and sorts by ``path``.
    """

    path: str
    log_dir: str = field(compare=False)
    parent_pid: int = field(compare=False)
    wait_for: int = field(default=2, compare=False)
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
                while (
                    time.monotonic() < deadline
                    and len(list(folder.glob("*.worker"))) < self.wait_for
                    and pool_size(folder) != 1  # a pool of one: no sibling will come
                ):
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


def _result_problem(got: Any, expected: Any, n_paths: int, call: str) -> Verdict | None:
    """Compare the student's Result with the sequential one; name what is missing."""
    if got == expected:
        return None
    bad_expected = [e.name for e in expected.errors]
    bad_got = {e.name for e in got.errors}
    unreported = [n for n in bad_expected if n not in bad_got]
    extra = sorted(bad_got - set(bad_expected))
    details = [
        f"{call}: files counted: {got.files} of {expected.files}; bad files reported: "
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


@dataclass
class MainRun:
    """One call ``main(paths, n)``: what it returned and what the check saw happen."""

    n: int
    n_paths: int
    got: Any
    wall: float
    records: list[tuple[int, str]]
    children: set[int]
    parent: int

    @property
    def call(self) -> str:
        return f"main({self.n_paths} paths, n_processes={self.n})"

    @property
    def batches(self) -> int:
        """How many batches the question asks for: ``min(n_processes, len(file_paths))``."""
        return min(self.n, self.n_paths)

    @property
    def read_by_workers(self) -> set[int]:
        """Pids other than the caller's that opened a traced path."""
        return {pid for pid, _ in self.records if pid != self.parent}

    def partials(self) -> list[Any]:
        from concurrency_lab.work.project import Partial

        return [p for p in getattr(self.got, "partials", None) or [] if isinstance(p, Partial)]


class _Stuck(Exception):
    """main hung: carries the timeout verdict (after stopping the processes it started)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.headline)
        self.verdict = verdict


def _call_main(
    main: Callable[..., Any], paths: list[str], n: int, hold: float = Q2_HOLD_LIMIT
) -> MainRun:
    parent = os.getpid()
    wait_for = min(2, n, len(paths))  # two workers at once show "at the same time"
    with tempfile.TemporaryDirectory(prefix="concurrency_lab_ex05_log_") as log_dir:
        traced = [TracedPath(p, log_dir, parent, wait_for, hold) for p in paths]
        with ChildWatch(report_to=log_dir) as watch:
            start = time.perf_counter()
            try:
                got = call_student(main, traced, n, timeout=Q2_TIMEOUT)
            except StudentTimeout as timeout:
                stopped = stop_children(watch.seen)
                raise _Stuck(timeout_verdict(timeout.seconds, stopped)) from None
            wall = time.perf_counter() - start
        records = read_records(log_dir)
    return MainRun(n, len(paths), got, wall, records, watch.seen, parent)


def _shape_problem(run: MainRun, expected: Any) -> Verdict | None:
    from concurrency_lab.work.project import Partial, Result

    got = run.got
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
    return _result_problem(got, expected, run.n_paths, run.call)


def _where_problem(run: MainRun) -> Verdict | None:
    """Were the returned totals made by worker processes — the partials of *this* Result?"""
    parts = run.partials()
    if not parts:
        return failed(
            "main returned a Result without the partial results it was combined from "
            "(its .partials is empty), so the check cannot see which processes computed it.",
            "Return combine(partials): it keeps every batch's Partial, stamped by run with "
            "the process that made it.",
        )
    here = [p for p in parts if p.pid == run.parent]
    if not here:
        return None
    if run.read_by_workers or run.children:
        return failed(
            "The Result main returned was computed right here, in the notebook's process: "
            "the worker processes' work was thrown away.",
            f"{run.call}: worker processes ran, but "
            + (
                "the partial results your Result was combined from were"
                if len(here) == len(parts)
                else f"{len(here)} of the {len(parts)} partial results in your Result were"
            )
            + " made in this process (by run_sequential, or by calling run yourself).",
            "Combine the partials the pool returned — partials = list(pool.map(run, batches, "
            "range(len(batches)))); return combine(partials) — and nothing computed here.",
        )
    threads = sorted({p.thread for p in here if p.thread != STUDENT_THREAD})
    if threads and len(here) == len(parts):
        return failed(
            "The result is right, but the batches ran in threads of this process, not "
            "in worker processes.",
            f"threads seen: {', '.join(threads)}",
            threads_are_not_processes(),
            "Use ProcessPoolExecutor — the same submit/map/shutdown as ThreadPoolExecutor.",
        )
    return failed(
        "The result is right, but "
        + ("every batch" if len(here) == len(parts) else f"{len(here)} of the batches")
        + " ran right here, in the process that called main: not in a worker process.",
        "Calling run(batch, i) yourself runs it at once, in this process. Hand the calls "
        "to a pool: pool.map(run, batches, range(len(batches))).",
    )


def _batches_problem(run: MainRun) -> Verdict | None:
    parts = run.partials()
    if len(parts) == run.batches:
        return None
    return failed(
        f"{run.call} ran {len(parts)} batch(es); with n_processes={run.n} there should be "
        f"{run.batches}, one per worker process.",
        "Split the files with batch_files(file_paths, n_processes) — use the n_processes "
        "main is given, not a number of your own (nor os.cpu_count()).",
    )


def _single_worker_problem(run: MainRun) -> Verdict | None:
    workers = {p.pid for p in run.partials()} | run.read_by_workers
    if run.batches >= 2 and run.read_by_workers and len(workers) < 2:
        # Only with traced paths in the workers: their first file waits for a second
        # worker, so a pool of two or more always shows two. (Plain paths, Path(p): a
        # worker that starts first may take every batch; the pool's size then counts.)
        return failed(
            f"The result is right, but {run.call} ran all {run.batches} batches in a single "
            "worker process: one process parses one file at a time, no faster than a loop.",
            f"main should run its {run.batches} batches in {run.batches} worker processes at "
            "the same time.",
            "Give the pool n_processes workers (ProcessPoolExecutor(max_workers=n_processes)) "
            "and submit every batch before waiting for any result — pool.map does both.",
        )
    return None


def _pool_problem(run: MainRun) -> Verdict | None:
    """The pool's size: n_processes workers (counted as the answer started them)."""
    started = len(run.children)
    if started > run.n:
        return failed(
            f"{run.call} started {started} worker processes: n_processes={run.n} asks for {run.n}.",
            "Give the pool n_processes workers: ProcessPoolExecutor(max_workers=n_processes) "
            "(ProcessPoolExecutor() starts one per CPU, whatever n_processes says).",
        )
    if 0 < started < run.batches:
        return failed(
            f"{run.call} started only {started} worker process(es) for {run.batches} batches.",
            "Give the pool n_processes workers: ProcessPoolExecutor(max_workers=n_processes), "
            "so every batch has a process of its own.",
        )
    return None


def _together_problem(run: MainRun) -> Verdict | None:
    """With traced paths in the workers, batches that can overlap do: so they must have."""
    if run.batches < 2 or not run.read_by_workers:
        return None  # one batch; or plain paths (Path(p)): no hold, overlap is luck
    parts = [p for p in run.partials() if p.pid != run.parent]
    together = any(
        a.pid != b.pid and a.start < b.end and b.start < a.end
        for a, b in itertools.combinations(parts, 2)
    )
    if together:
        return None
    return failed(
        f"The result is right and {len({p.pid for p in parts})} worker processes took part, "
        "but never at the same time: each batch finished before the next one started.",
        f"{run.call}: the first file a worker opened was held (up to {Q2_HOLD_LIMIT:g} s, "
        f"then {Q2_RETRY_HOLD:g} s on a second try) until a batch started in another "
        "worker, and none did.",
        "Waiting for a batch's result right after submitting it — "
        "pool.submit(run, batch, i).result() inside the loop — makes the pool a slow "
        "loop. Submit every batch before waiting for any result: pool.map does both.",
    )


def _q2_trial(main: Callable[..., Any]) -> Verdict:
    from concurrency_lab.work.project import run_sequential

    problem = _module_problem(main)
    if problem:
        return problem
    fresh = load_fresh(main, timeout=Q2_TIMEOUT)
    if isinstance(fresh, Verdict):
        return fresh
    paths = check_dataset()
    _rng().shuffle(paths)  # a new order each check
    expected = run_sequential(paths)
    runs = []
    for n in Q2_PROCESSES:
        for hold in (Q2_HOLD_LIMIT, Q2_RETRY_HOLD):
            try:
                run = _call_main(fresh, paths, n, hold)
            except _Stuck as stuck:
                return stuck.verdict
            timing = first_failure(
                lambda run=run: _single_worker_problem(run),
                lambda run=run: _together_problem(run),
            )
            problem = first_failure(
                lambda run=run: _shape_problem(run, expected),
                lambda run=run: _where_problem(run),
                lambda run=run: _batches_problem(run),
                lambda run=run: _pool_problem(run),
                lambda timing=timing: timing,
            )
            # Only "one worker did it all" and "never at the same time" depend on a second
            # worker starting within the hold: with two or more processes started, try once
            # more with a longer hold before blaming the answer rather than a busy machine.
            if problem is None or problem is not timing or len(run.children) < 2:
                break
            if hold == Q2_RETRY_HOLD:
                problem = failed(problem.headline, *problem.details, BUSY_NOTE)
        if problem:
            return problem
        runs.append(run)
    n_bad = len(expected.errors)
    shown = "; ".join(
        f"n_processes={r.n}: {r.batches} batch(es) in a pool of {len(r.children) or '?'} "
        f"process(es), {_fmt(r.wall)} including the pool's start"
        for r in runs
    )
    return passed(
        "main gave exactly the sequential result, combined from the partial results of "
        "worker processes: n_processes batches, in a pool of n_processes.",
        f"{expected.files} good files counted, {n_bad} bad ones reported by name: "
        + ", ".join(e.name for e in expected.errors),
        shown,
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
Q3_TOLERANCE = 0.05  # the heaviest batch may be 5 % above a lower bound on the best split


@dataclass(frozen=True)
class SizedCase(Case):
    sizes: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def best_possible(self) -> float:
        """A lower bound on the heaviest batch: a fair share, or the largest file."""
        total = sum(self.sizes.values())
        k = self.expected_batches
        return max(total / k, max(self.sizes.values())) if k else 0.0

    def loads(self, batches: Sequence[Sequence[str]]) -> list[int]:
        return [sum(self.sizes[f] for f in batch) for batch in batches]

    def ratio(self, batches: Sequence[Sequence[str]]) -> float:
        """Heaviest batch ÷ a lower bound on the best split (1.0 when every file is empty)."""
        best = self.best_possible
        return max(self.loads(batches)) / best if best else 1.0


def lpt(files: Sequence[str], n: int, size: Callable[[str], int]) -> list[list[str]]:
    """The reference LPT: largest first, into the lightest batch (ties: fewer files)."""
    k = min(n, len(files))
    batches: list[list[str]] = [[] for _ in range(k)]
    loads = [0] * k
    for path in sorted(files, key=size, reverse=True):
        b = min(range(k), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches


def _in_given_order(files: Sequence[str], n: int, size: Callable[[str], int]) -> list[list[str]]:
    """Greedy without sorting: each file, as given, into the lightest batch."""
    k = min(n, len(files))
    batches: list[list[str]] = [[] for _ in range(k)]
    loads = [0] * k
    for path in files:
        b = min(range(k), key=lambda i: (loads[i], len(batches[i])))
        batches[b].append(path)
        loads[b] += size(path)
    return batches


def _counting_splits(case: SizedCase) -> list[list[list[str]]]:
    """Splits that balance counts, not bytes: round-robin and contiguous slices."""
    k = case.expected_batches
    files = list(case.files)
    base, extra = divmod(len(files), k)
    contiguous, start = [], 0
    for b in range(k):
        stop = start + base + (b < extra)
        contiguous.append(files[start:stop])
        start = stop
    return [[files[i::k] for i in range(k)], contiguous]


def _skewed_case(rng: random.Random, n_files: int, n: int, why: str) -> SizedCase:
    """Skewed sizes on which LPT is within 3 % of the bound and counting is ≥ 10 % off."""
    for _ in range(200):
        names = _random_names(rng, n_files)
        sizes = {name: 200 + int(2_000 * math.exp(1.4 * rng.gauss(0, 1))) for name in names}
        case = SizedCase(tuple(names), n, why, sizes)
        size = sizes.__getitem__
        if case.ratio(lpt(names, n, size)) > 1.03:
            continue
        if min(case.ratio(b) for b in _counting_splits(case)) < 1 + 2 * Q3_TOLERANCE:
            continue
        return case
    raise RuntimeError("no separating case found")  # pragma: no cover - seeds always find one


def q3_cases(rng: random.Random) -> list[SizedCase]:
    """The cases of one q3 check: new skewed sizes each time, and fixed zero-size shapes."""
    names = _random_names(rng, 12)
    small = {name: 100 + 10 * i for i, name in enumerate(names[:9])}  # 100 … 180 bytes
    ascending = SizedCase(
        (*names[:9], names[9]),
        3,
        "small files first, one big file last",
        {**small, names[9]: 1_500},
    )
    zero_a, zero_b, zero_c, big, mid = names[:5]
    return [
        _skewed_case(rng, 40, 4, "40 files of skewed sizes into 4 batches"),
        _skewed_case(rng, 24, 2, "24 files of skewed sizes into 2 batches"),
        _skewed_case(rng, 15, 3, "15 files of skewed sizes into 3 batches"),
        ascending,
        SizedCase(
            (zero_a, big, zero_b),
            3,
            "one file of 5 000 bytes and two empty files (size 0) into 3 batches",
            {zero_a: 0, big: 5_000, zero_b: 0},
        ),
        SizedCase(
            (mid, zero_a, big, zero_b, zero_c),
            4,
            "two files with data and three empty ones into 4 batches",
            {mid: 3_000, zero_a: 0, big: 4_000, zero_b: 0, zero_c: 0},
        ),
        SizedCase(
            (zero_a, zero_b, zero_c, big),
            3,
            "only empty files (size 0) into 3 batches",
            {zero_a: 0, zero_b: 0, zero_c: 0, big: 0},
        ),
        SizedCase(tuple(names[:3]), 5, "more batches than files", dict.fromkeys(names[:3], 700)),
        SizedCase((), 3, "no files at all", {}),
    ]


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
    cases = q3_cases(_rng())
    for case in cases:
        result = _judge_case(balanced_batches, case, "balanced_batches", _Sizes(case.sizes))
        if isinstance(result, Verdict):
            return result
        if not case.files or not case.best_possible:
            continue
        loads = case.loads(result)
        heaviest = max(loads)
        ratio = case.ratio(result)
        worst = max(worst, ratio)
        if ratio > 1 + Q3_TOLERANCE:
            return failed(
                f"balanced_batches({case.call}): the heaviest batch holds {heaviest:,} "
                f"bytes, {ratio:.2f} times a lower bound on the best split "
                f"({math.ceil(case.best_possible):,}).",
                f"Case: {case.why}. Bytes per batch: {loads}.",
                "The job takes as long as its heaviest batch. Balance by size, not by count: "
                "take the files largest first (sorted(file_paths, key=size, reverse=True)) "
                "and put each into the batch with the fewest bytes so far.",
            )
    rr = max(
        case.ratio(_counting_splits(case)[0]) for case in cases if case.files and case.best_possible
    )
    return passed(
        f"Balanced: in all {len(cases)} cases the heaviest batch is within {Q3_TOLERANCE:.0%} "
        "of a lower bound on the best split, every file is there exactly once, and no batch is "
        "empty — empty files (size 0) included.",
        f"worst case {worst:.3f}× that lower bound; round-robin on the same files: {rr:.2f}×",
    )


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "LPT, longest processing time first: go through the files from largest to smallest "
        "(`sorted(file_paths, key=size, reverse=True)`) and put each into the batch that has "
        "the fewest bytes so far. Keep a list of bytes per batch next to the batches.",
        "Among batches with the same bytes, pick the one with the fewest files: "
        "`lightest = min(range(n), key=lambda b: (loads[b], len(batches[b])))`. Otherwise "
        "empty files (size 0) all pile into one batch with 0 bytes and another batch stays "
        "empty. Then `batches[lightest].append(path)` and `loads[lightest] += size(path)`; "
        "make n = min(n_batches, len(file_paths)) batches, as in Q1.",
    ],
    solution_note='`concurrency_lab.work.batching.batch_files(files, n, "balanced")` is the same '
    "rule, with a heap instead of min() — it matters only for many batches.",
)

PROBLEMS = register(globals())
