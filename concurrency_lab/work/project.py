"""Lesson 05's project: total the sales in many CSV files, batch by batch, in a process pool.

The pieces, in the order the work flows:

* :func:`run` - one worker's job: read, check and total one *batch* of files, and return
  a :class:`Partial` (totals per category, rows, files, and a :class:`FileError` for
  every file it could not use), stamped with when and where it ran.
* :func:`combine` - add the partials up into one :class:`Result`.
* :func:`main` - the whole project, ``main(file_paths, n_processes, strategy="balanced")``:
  split the files into batches (:func:`concurrency_lab.work.batching.batch_files`), run
  the batches in a new ``ProcessPoolExecutor``, combine. :func:`run_sequential` is the
  same work in one loop: ``main(...) == run_sequential(...)`` for any batching.

To *measure* the project, lesson 05 and ``benchmarks/batching.py`` use the same ``run`` and
``combine`` through three small helpers that take a pool you started (so its start-up is
not charged to whatever runs first, and threads can run the same batches):
:func:`run_batches` (one task per batch, with a timeline and CPU seconds: a
:class:`Measured`), :func:`run_per_file` (one task per file) and :func:`warm_up` (start
the workers now). :func:`read_only` reads the files and parses nothing: the IO alone.

**Nothing is lost silently.** A missing, empty or malformed file becomes a
:class:`FileError` (its path and the reason: ``"line 4: units 'two' is not a whole
number"``) and every good file still counts. A file is all or nothing: if any row is
malformed, the file is reported and *none* of its rows are counted - counting the rows
before the bad one would make the totals depend on where in the file the damage is, and
a half-counted file is exactly the silent error we want to avoid.

**Exact in any order.** Money is kept in integer cents, so adding partials in any order
gives the same totals to the cent (floats would not: ``0.1 + 0.2 + 0.3 != 0.3 + 0.2 +
0.1``).

Everything sent to a pool (:func:`run`, :func:`_pause`) is a module-level function, so it
pickles under every start method. This module imports only the standard library and the
course's light modules: worker processes import it at every pool start.
"""

from __future__ import annotations

import csv
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Union

from concurrency_lab.work.batching import batch_files, check_count
from concurrency_lab.work.data import COLUMNS
from concurrency_lab.work.timeline import Event, Timeline

__all__ = [
    "BadFile",
    "FileError",
    "Measured",
    "Partial",
    "Result",
    "combine",
    "format_cents",
    "main",
    "read_only",
    "read_sales_file",
    "run",
    "run_batches",
    "run_per_file",
    "run_sequential",
    "warm_up",
]

PathLike = Union[str, "os.PathLike[str]"]

_HEADER = list(COLUMNS)
_N_FIELDS = len(COLUMNS)


# -- results ---------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class FileError:
    """A file that could not be used, and why (``path`` as given, as a string)."""

    path: str
    reason: str

    @property
    def name(self) -> str:
        """The file name without its folder (the same on every machine)."""
        return Path(self.path).name

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass
class Partial:
    """What one call of :func:`run` found in its batch of files.

    ``totals_cents`` and ``units`` map category → sum; ``files`` counts the files whose
    rows were counted, ``errors`` lists the others in the order they were met. ``pid``,
    ``thread``, ``start`` and ``end`` (``time.perf_counter()``) say where and when the
    batch ran: :meth:`event` turns them into a timeline event. ``cpu`` is the CPU time
    the batch used (``time.thread_time()``: this thread only, so it is right in a thread
    pool too), which unlike wall time does not grow while the batch waits for a CPU.
    """

    batch_id: int
    files: int = 0
    rows: int = 0
    totals_cents: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)
    pid: int = 0
    thread: str = ""
    start: float = 0.0
    end: float = 0.0
    cpu: float = 0.0

    @property
    def duration(self) -> float:
        """Seconds (wall time) from the start of this batch to its end in its worker."""
        return self.end - self.start

    def event(self, label: str = "batch") -> Event:
        """This batch's run as a :class:`~concurrency_lab.work.timeline.Event` (task id = batch id).

        A batch with a bad file is drawn red (``ok=False``).
        """
        return Event(
            task_id=self.batch_id,
            label=label,
            pid=self.pid,
            thread=self.thread,
            start=self.start,
            end=self.end,
            ok=not self.errors,
        )


def format_cents(cents: int) -> str:
    """Money for people: ``123456`` → ``'$1,234.56'`` (``'-$0.05'`` below zero)."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars:,}.{rest:02d}"


@dataclass
class Result:
    """The combined answer: totals per category (sorted), rows, files, sorted errors.

    Two results are equal (``==``) when these agree exactly; ``partials`` (how the work
    was split, and when it ran) is kept for timelines but not compared.
    """

    files: int = 0
    rows: int = 0
    totals_cents: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    errors: list[FileError] = field(default_factory=list)
    partials: list[Partial] = field(default_factory=list, compare=False, repr=False)

    @property
    def total_cents(self) -> int:
        """All categories together, in cents."""
        return sum(self.totals_cents.values())

    @property
    def bad_files(self) -> dict[str, str]:
        """File name → reason, for every file that was not counted (sorted by path)."""
        return {e.name: e.reason for e in self.errors}

    @property
    def busy(self) -> list[float]:
        """Seconds each batch (or task) ran, in batch order: ``max(busy)`` is the makespan."""
        return [p.duration for p in self.partials]

    @property
    def cpu(self) -> list[float]:
        """CPU seconds each batch (or task) used, in batch order (see :attr:`Partial.cpu`)."""
        return [p.cpu for p in self.partials]

    def events(self, label: str = "batch") -> list[Event]:
        """One timeline event per batch (or per file, for :func:`run_per_file`)."""
        return [p.event(label) for p in self.partials]

    def report(self, *, totals: bool = True) -> str:
        """A short human summary; ``totals=False`` leaves out every figure that depends on
        the scale (rows and money), keeping the file counts and the bad files."""
        lines = []
        bad = f" · {len(self.errors)} bad" if self.errors else ""
        if totals:
            lines.append(f"{self.rows:,} rows from {self.files} files{bad}")
            width = max((len(c) for c in self.totals_cents), default=5)
            width = max(width, len("total"))
            money = [format_cents(v) for v in self.totals_cents.values()]
            mwidth = max((len(m) for m in [*money, format_cents(self.total_cents)]), default=0)
            for category, m in zip(self.totals_cents, money, strict=True):
                lines.append(f"  {category:<{width}}  {m:>{mwidth}}")
            lines.append(f"  {'total':<{width}}  {format_cents(self.total_cents):>{mwidth}}")
        else:
            lines.append(f"{self.files} files counted{bad}")
        for error in self.errors:
            lines.append(f"  ✗ {error}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def differences(self, other: Result) -> list[str]:
        """What differs between two results, one line each (empty if they are equal)."""
        diffs = []
        for name in ("files", "rows"):
            a, b = getattr(self, name), getattr(other, name)
            if a != b:
                diffs.append(f"{name}: {a} vs {b}")
        for name in ("totals_cents", "units"):
            a, b = getattr(self, name), getattr(other, name)
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    diffs.append(f"{name}[{key!r}]: {a.get(key)} vs {b.get(key)}")
        mine, theirs = set(self.errors), set(other.errors)
        diffs += [f"only in the first: {e}" for e in sorted(mine - theirs)]
        diffs += [f"only in the second: {e}" for e in sorted(theirs - mine)]
        if not diffs and self.errors != other.errors:
            diffs.append("errors: same set, different counts or order")
        return diffs


# -- one file ----------------------------------------------------------------------------------
class BadFile(Exception):
    """Raised inside :func:`read_sales_file` with the reason a file cannot be counted."""


def _whole(text: str, column: str, line: int, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadFile(f"line {line}: {column} {text!r} is not a whole number") from None
    if value < minimum:
        raise BadFile(f"line {line}: {column} is {value}, must be at least {minimum}")
    return value


def read_sales_file(path: PathLike) -> tuple[int, dict[str, int], dict[str, int]]:
    """Read one sales file, check every row, and total it: ``(rows, cents, units)``.

    ``cents`` and ``units`` map category → sum. Raises :class:`BadFile` with a reason that
    names the line for the first problem found (wrong header or field count, a number
    that is not a whole number or is out of range, a date that is not ``YYYY-MM-DD``, an
    empty name); ``OSError`` if the file cannot be opened.
    """
    cents: dict[str, int] = {}
    units: dict[str, int] = {}
    rows = 0
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise BadFile("empty file: no header, no rows")
        if header != _HEADER:
            raise BadFile(f"line 1: header is {','.join(header)!r}, expected {','.join(_HEADER)!r}")
        for row in reader:
            line = reader.line_num
            if len(row) != _N_FIELDS:
                raise BadFile(f"line {line}: row has {len(row)} fields, expected {_N_FIELDS}")
            day, store, category, product, units_text, price_text = row
            n = _whole(units_text, "units", line, 1)
            price = _whole(price_text, "unit_price_cents", line, 0)
            try:
                if len(day) != 10:
                    raise ValueError
                date.fromisoformat(day)
            except ValueError:
                raise BadFile(f"line {line}: date {day!r} is not a date (YYYY-MM-DD)") from None
            if not (store and category and product):
                raise BadFile(f"line {line}: store, category and product must not be empty")
            cents[category] = cents.get(category, 0) + n * price
            units[category] = units.get(category, 0) + n
            rows += 1
    return rows, cents, units


def _reason(exc: BaseException) -> str:
    """Why a file could not be used, in words that do not depend on the OS or locale."""
    if isinstance(exc, BadFile):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, csv.Error):
        return f"not valid CSV: {exc}"
    return f"cannot read it: {type(exc).__name__}"


# -- one batch, and the whole job ---------------------------------------------------------------
def run(file_paths: Iterable[PathLike], batch_id: int = 0) -> Partial:
    """Read, check and total one batch of files (the worker's job); return a :class:`Partial`.

    A file that is missing, unreadable, empty or malformed is recorded in ``errors`` with
    its reason and contributes nothing; every other file's rows are counted.
    """
    start = time.perf_counter()
    cpu_start = time.thread_time()
    partial = Partial(
        batch_id=batch_id, pid=os.getpid(), thread=threading.current_thread().name, start=start
    )
    cents, units = partial.totals_cents, partial.units
    for path in file_paths:
        try:
            rows, file_cents, file_units = read_sales_file(path)
        except (BadFile, OSError, UnicodeDecodeError, csv.Error) as exc:
            partial.errors.append(FileError(os.fspath(path), _reason(exc)))
            continue
        partial.files += 1
        partial.rows += rows
        for category, value in file_cents.items():
            cents[category] = cents.get(category, 0) + value
        for category, value in file_units.items():
            units[category] = units.get(category, 0) + value
    partial.cpu = time.thread_time() - cpu_start
    partial.end = time.perf_counter()
    return partial


def combine(partials: Iterable[Partial]) -> Result:
    """Add partial results up: sums per category (sorted by name), all errors (sorted).

    Integer sums, so the order of ``partials`` does not change the result.
    """
    parts = sorted(partials, key=lambda p: p.batch_id)
    cents: dict[str, int] = {}
    units: dict[str, int] = {}
    for p in parts:
        for category, value in p.totals_cents.items():
            cents[category] = cents.get(category, 0) + value
        for category, value in p.units.items():
            units[category] = units.get(category, 0) + value
    return Result(
        files=sum(p.files for p in parts),
        rows=sum(p.rows for p in parts),
        totals_cents=dict(sorted(cents.items())),
        units=dict(sorted(units.items())),
        errors=sorted(e for p in parts for e in p.errors),
        partials=parts,
    )


def run_sequential(file_paths: Iterable[PathLike]) -> Result:
    """The baseline: every file in one loop in this process, no pool."""
    return combine([run(list(file_paths), 0)])


def _check_paths(file_paths: Iterable[PathLike]) -> list[PathLike]:
    """``file_paths`` as a list; a clear ``TypeError`` for one path or a non-list."""
    if isinstance(file_paths, (str, bytes, os.PathLike)):
        raise TypeError("file_paths must be a list of paths, not a single path; write [path]")
    try:
        return list(file_paths)
    except TypeError:
        raise TypeError(
            f"file_paths must be a list of paths, got {type(file_paths).__name__}"
        ) from None


def main(file_paths: Iterable[PathLike], n_processes: int, strategy: str = "balanced") -> Result:
    """The whole project: split the files into ``n_processes`` batches, run each batch in a
    worker process, combine. Equal to :func:`run_sequential` for every strategy.

    ``strategy`` goes to :func:`~concurrency_lab.work.batching.batch_files`. The default,
    ``"balanced"`` (largest files first, each into the lightest batch), is usually the best
    of the three on files of unequal size, but it is a rule of thumb, not a guarantee: on
    sizes ``[2, 3, 2, 3, 2]`` in two batches, round-robin splits 6 | 6 and balanced 7 | 5
    (lesson 05 shows both). The pool has one worker per batch (never more workers than
    files) and uses the default start method (the platform's, unless the program changed
    it); it is started for this call and shut
    down after it. ``n_processes`` must be an ``int`` of at least 1 (``TypeError`` /
    ``ValueError`` otherwise, ``True`` included). To run batches in a pool you keep, or in
    threads, use :func:`run_batches`.
    """
    paths = _check_paths(file_paths)
    check_count("n_processes", n_processes)
    batches = batch_files(paths, n_processes, strategy)  # split
    if not batches:
        return combine([])
    with ProcessPoolExecutor(max_workers=len(batches)) as pool:
        partials = list(pool.map(run, batches, range(len(batches))))  # run(batch, batch_id)
    return combine(partials)  # add the partial results up


# -- measuring it (lesson 05) -------------------------------------------------------------------
@dataclass(frozen=True)
class Measured:
    """The combined result of one run in a pool, its timeline (one event per task), and the
    CPU seconds this process spent meanwhile."""

    result: Result
    timeline: Timeline
    parent_cpu: float = 0.0
    """CPU seconds this process used from the first task handed out to the last result
    back (``time.process_time()``, every thread): pickling tasks, unpickling results. In a
    thread pool it includes the threads' own work."""

    @property
    def wall(self) -> float:
        """Seconds from the first task handed to the pool to the last result back."""
        return self.timeline.wall

    @property
    def tasks(self) -> int:
        """How many tasks (batches, or files) went to the pool."""
        return len(self.timeline.events)

    @property
    def title(self) -> str:
        """The timeline's title: what was run."""
        return self.timeline.title

    @property
    def cores(self) -> float:
        """The tasks' CPU seconds per wall second: how many cores' worth the work got.

        About 2 for two processes on two free cores; about 1 or less for two threads on a
        GIL build (the GIL lets one compute at a time). Lower when other programs hold a
        core, when the files must come from a slow disk, or when a worker idles (waiting
        for a straggler): a wall-time comparison is fair only when this is near the
        number of workers. ``0.0`` for an empty run.
        """
        return sum(self.result.cpu) / self.wall if self.wall > 0 else 0.0


def run_batches(
    executor: Executor,
    batches: Iterable[Iterable[PathLike]],
    title: str = "",
    *,
    label: str = "batch",
) -> Measured:
    """Run each batch as one task, ``run(batch, i)``, in ``executor``; combine; measure.

    The same work as :func:`main`, in a pool you started (and may reuse: no start-up cost
    per call) - a ``ProcessPoolExecutor`` or a ``ThreadPoolExecutor`` alike. Task ``i`` is
    batch ``i``; each batch's event (which worker, when; red if it met a bad file) lands in
    the returned timeline, whose wall time runs from the first task handed out to the last
    result back.
    """
    if isinstance(batches, (str, bytes, os.PathLike)):
        raise TypeError("batches must be a list of batches (lists of paths), not a path")
    work = [_check_paths(batch) for batch in batches]
    cpu_start = time.process_time()
    with Timeline(title) as tl:
        partials = list(executor.map(run, work, range(len(work))))
    parent_cpu = time.process_time() - cpu_start
    for partial in partials:
        tl.add(partial.event(label))
    return Measured(combine(partials), tl, parent_cpu)


def run_per_file(executor: Executor, file_paths: Iterable[PathLike], title: str = "") -> Measured:
    """One task per file: the same work as :func:`run_batches`, in batches of one file."""
    return run_batches(executor, [[path] for path in _check_paths(file_paths)], title, label="file")


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def warm_up(executor: Executor, workers: int, seconds: float = 0.05) -> None:
    """Make a process pool start its ``workers`` processes now, before anything is timed.

    A ``ProcessPoolExecutor`` starts processes when tasks arrive: under ``fork`` all
    ``max_workers`` at the first task; under ``spawn`` and ``forkserver`` one per task
    submitted while no worker is idle, up to ``max_workers``. ``workers`` short
    pauses at once start every worker and make it import this module. Returns when every
    pause is over.
    """
    check_count("workers", workers)
    for future in [executor.submit(_pause, seconds) for _ in range(workers)]:
        future.result()


def read_only(file_paths: Iterable[PathLike]) -> int:
    """Read every file's bytes and do nothing else: the IO part of the work, alone.

    Returns the number of bytes read; a file that cannot be read counts as none (the
    real run reports it, this only measures reading).
    """
    total = 0
    for path in _check_paths(file_paths):
        try:
            total += len(Path(path).read_bytes())
        except OSError:
            continue
    return total
