"""Instrumented stand-ins for ``io_task`` that let a check see *how* code ran.

A check hands the student's function a :class:`ProbeTask` instead of the real task. It
behaves like ``io_task_with_return`` (waits, returns ``'result of task N'``) at a small,
fixed duration per id, and it leaves a record of every call — task id, process id,
thread, start, end — in a temporary folder. Records are files, not memory, so calls made
in child processes are seen too; and a ``ProbeTask`` is a frozen dataclass of a
module-level class, so it pickles under every start method.

From the records, :class:`Probe` answers what a checker needs: which ids ran (and how
often), whether all had finished when the student's function returned, how the work
overlapped (:func:`overlap_of`: the most tasks in flight at once, whether every task
overlapped every other, the mean concurrency — the one sweep over events the checks
use), and whether it ran in other processes (:func:`processes_verdict`).
:func:`text_timeline` draws the runs as text for a verdict.

A probe task stops waiting as soon as its record folder is gone (the check has given up
on a hung answer and cleaned up): leftover probe tasks end by themselves, quietly, instead
of sleeping on in the student's kernel.

Imports only the standard library and :mod:`concurrency_lab.work.timeline`: child processes
import this module.
"""

from __future__ import annotations

import json
import numbers
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concurrency_lab.work.tasks import result_of
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "Overlap",
    "Probe",
    "ProbeFailure",
    "ProbeTask",
    "RecordedCalls",
    "idle_slot_time",
    "in_flight_steps",
    "overlap_of",
    "overlap_verdict",
    "probe_result",
    "processes_verdict",
    "text_timeline",
    "write_record",
]


class ProbeFailure(RuntimeError):
    """The error a probe task raises for the ids it was told to fail."""


def _plain_json(value: Any) -> Any:
    """JSON for ids that are numbers of other types (``numpy.int64`` from ``array_split``)."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def probe_result(task_id: Any) -> str:
    """What a probe task returns for ``task_id`` (the same text as ``io_task_with_return``)."""
    return result_of(task_id)


def write_record(log_dir: str, task_id: Any, start: float, ok: bool = True) -> None:
    """Record one call (this process and thread, ``start`` to now) as a file in ``log_dir``.

    Files work across processes under every start method; the write is atomic, so a
    reader never sees half a record.
    """
    record = {
        "task_id": task_id,
        "pid": os.getpid(),
        "thread": threading.current_thread().name,
        "start": start,
        "end": time.perf_counter(),
        "ok": ok,
    }
    path = Path(log_dir) / f"{uuid.uuid4().hex}.json"
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(record, default=_plain_json), encoding="utf-8")
    tmp.replace(path)  # readers never see half a record


@dataclass(frozen=True)
class ProbeTask:
    """A picklable task: sleeps ``durations[task_id]`` seconds, records the call, returns.

    Ids in ``fail_ids`` raise :class:`ProbeFailure` after their wait (like a database call
    that times out on the server side). Unknown ids raise ``KeyError`` naming the id.
    """

    log_dir: str
    durations: Mapping[Any, float]
    fail_ids: frozenset[Any] = frozenset()

    def __call__(self, task_id: Any) -> str:
        if task_id not in self.durations:
            known = sorted(self.durations, key=repr)
            raise KeyError(f"the task has no id {task_id!r}; the ids given were {known}")
        start = time.perf_counter()
        if not _wait(self.durations[task_id], self.log_dir):
            return probe_result(task_id)  # the check has ended: stop quietly, record nothing
        ok = task_id not in self.fail_ids
        try:
            write_record(self.log_dir, task_id, start, ok)
        except FileNotFoundError:  # the check ended during this last moment
            return probe_result(task_id)
        if not ok:
            raise ProbeFailure(f"task {task_id} failed")
        return probe_result(task_id)

    def __repr__(self) -> str:
        return f"<task: {len(self.durations)} ids>"


def _wait(seconds: float, log_dir: str, step: float = 0.02) -> bool:
    """Sleep ``seconds`` in short steps; ``False`` as soon as ``log_dir`` is gone.

    A check removes the folder when it gives up on a hung answer: the task then ends at
    once, quietly (no traceback printed into a later cell by a thread of the answer's).
    """
    end = time.perf_counter() + seconds
    while (left := end - time.perf_counter()) > 0:
        if not os.path.isdir(log_dir):
            return False
        time.sleep(min(step, left))
    return True


class RecordedCalls:
    """What :class:`Probe` and the async probe share: fixed durations, and calls counted.

    A subclass has ``durations`` (id → seconds, in the exercise's order) and ``events()``;
    ``never``/``repeated`` word the verdict for its kind of call.
    """

    durations: Mapping[Any, float]
    never: str = "task ids never run"
    repeated: str = "task ids run more than once"

    def events(self) -> list[Event]:
        raise NotImplementedError

    @property
    def ids(self) -> list[Any]:
        """The ids, in the order the exercise gives them."""
        return list(self.durations)

    def calls(self) -> Counter[Any]:
        """How many times each id has finished so far."""
        return Counter(e.task_id for e in self.events())

    def calls_verdict(self, finished: Counter[Any] | None = None) -> str | None:
        """What is wrong with the set of calls (missing / repeated ids), or ``None``."""
        finished = self.calls() if finished is None else finished
        missing = [i for i in self.ids if finished[i] == 0]
        repeated = [i for i in self.ids if finished[i] > 1]
        if missing:
            return f"{self.never}: {missing}"
        if repeated:
            return f"{self.repeated}: {repeated}"
        return None

    @property
    def busy(self) -> float:
        """Sum of the durations: the wall time of a run one after another."""
        return sum(self.durations.values())

    @property
    def longest(self) -> float:
        return max(self.durations.values())


@dataclass
class Probe(RecordedCalls):
    """One instrumented run: make the task, let the student's code call it, read records.

    Use it as a ``with`` block; the record folder is removed at the end::

        with Probe({0: 0.05, 1: 0.1}) as probe:
            got = call_student(run_all, probe.task, probe.ids)
            finished_at_return = probe.calls()
    """

    durations: Mapping[Any, float]
    fail_ids: Iterable[Any] = ()
    log_dir: str = field(default="", init=False)
    task: ProbeTask = field(init=False)
    t0: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.log_dir = tempfile.mkdtemp(prefix="concurrency-lab-probe-")
        self.task = ProbeTask(self.log_dir, dict(self.durations), frozenset(self.fail_ids))
        self.t0 = time.perf_counter()

    def __enter__(self) -> Probe:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def events(self) -> list[Event]:
        """Every finished call so far, ordered by start time."""
        events = []
        for path in Path(self.log_dir).glob("*.json"):
            try:
                r = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # a record being written right now
            events.append(
                Event(r["task_id"], "probe", r["pid"], r["thread"], r["start"], r["end"], r["ok"])
            )
        return sorted(events, key=lambda e: e.start)


def text_timeline(
    events: list[Event], width: int = 40, label: Callable[[Any], str] | None = None
) -> str:
    """Draw runs as text, one row per run: ``task 2  ·····██████······``.

    ``label(task_id)`` names a row (default ``task <id>``; e.g. ``req /page/3`` for requests).
    """
    if not events:
        return "(no task ran)"
    name = label or (lambda task_id: f"task {task_id!s}")
    names = [name(e.task_id) for e in sorted(events, key=lambda e: e.start)]
    pad = max(10, *(len(n) + 1 for n in names))
    t0 = min(e.start for e in events)
    span = max(e.end for e in events) - t0 or 1e-9
    rows = []
    for n, e in zip(names, sorted(events, key=lambda e: e.start), strict=True):
        a = round((e.start - t0) / span * width)
        b = max(a + 1, round((e.end - t0) / span * width))
        rows.append(f"{n:<{pad}}{'·' * a}{'█' * (b - a)}{'·' * (width - b)}")
    rows.append(f"{'':{pad}}0 s{'':{width - 8}}{fmt_seconds(span):>6}")
    return "\n".join(rows)


def in_flight_steps(events: Iterable[Event]) -> list[tuple[float, int]]:
    """``(time, tasks running just after it)`` at every start and end, in time order.

    The one sweep over events that the overlap measures share. A task that ends exactly
    when another starts does not overlap it (at equal times, ends come first).
    """
    edges = sorted([(e.start, 1) for e in events] + [(e.end, -1) for e in events])
    steps, running = [], 0
    for when, step in edges:
        running += step
        steps.append((when, running))
    return steps


@dataclass(frozen=True)
class Overlap:
    """How a set of runs overlapped in time (from :func:`overlap_of`).

    ``max_in_flight``: the most tasks running at one instant. ``apart``: two tasks that
    did *not* overlap — the one that started last and the one that ended first — or
    ``None`` when every task overlapped every other (for intervals on a line, all pairs
    intersect exactly when the latest start comes before the earliest end). ``busy``: the
    sum of the task times; ``wall``: the time they are compared with (the answer's wall
    time, or from the first start to the last end).
    """

    count: int
    max_in_flight: int
    apart: tuple[Event, Event] | None
    busy: float
    wall: float

    @property
    def all_at_once(self) -> bool:
        """True when every task overlapped every other task (at least two tasks)."""
        return self.count >= 2 and self.apart is None

    @property
    def mean_concurrency(self) -> float:
        """Tasks running at a time on average: ``busy / wall``."""
        return self.busy / self.wall if self.wall > 0 else 0.0


def overlap_of(events: Iterable[Event], wall: float | None = None) -> Overlap:
    """Measure how ``events`` overlapped; ``wall`` defaults to first start → last end."""
    events = list(events)
    if not events:
        return Overlap(0, 0, None, 0.0, wall or 0.0)
    last_start = max(events, key=lambda e: e.start)
    first_end = min(events, key=lambda e: e.end)
    apart = None if last_start.start < first_end.end else (first_end, last_start)
    if wall is None:
        wall = max(e.end for e in events) - min(e.start for e in events)
    return Overlap(
        count=len(events),
        max_in_flight=max(running for _, running in in_flight_steps(events)),
        apart=apart if len(events) >= 2 else None,
        busy=sum(e.duration for e in events),
        wall=wall,
    )


def idle_slot_time(events: Iterable[Event], limit: int) -> float:
    """Slot-seconds left unused while some task had not started yet.

    Between the first start and the last start, ``limit`` tasks could have been in flight
    all the time (one was always waiting); this sums ``limit - in flight`` over that span.
    A semaphore-limited crawler keeps it near zero; batches of ``limit`` that wait for
    their slowest member leave slots idle for most of each batch.
    """
    events = list(events)
    if not events:
        return 0.0
    last_start = max(e.start for e in events)
    steps = in_flight_steps(events)
    idle, running, previous = 0.0, 0, steps[0][0]
    for when, now_running in steps:
        when = min(when, last_start)
        idle += max(0, limit - running) * (when - previous)
        previous, running = when, now_running
    return idle


def overlap_verdict(
    events: list[Event], wall: float, *, min_concurrency: float = 1.6, noun: str = "task"
) -> str | None:
    """``None`` if the runs overlapped enough on average; else the reason, with the times.

    ``min_concurrency`` is the sum of task times divided by the wall time that counts
    as "ran concurrently"; the probe's durations make the concurrent answer reach about
    (sum / longest) and a sequential one about 1.0, so a threshold in between decides
    the same way on a busy machine. (Where a question says "all at the same time",
    judge :attr:`Overlap.all_at_once` instead.)
    """
    o = overlap_of(events, wall)
    if o.mean_concurrency >= min_concurrency:
        return None
    return (
        f"measured wall time {fmt_seconds(wall)} against a sum of {noun} times of "
        f"{fmt_seconds(o.busy)}: only {o.mean_concurrency:.1f} {noun}(s) ran at a time "
        "on average"
    )


def processes_verdict(events: list[Event], parent_pid: int | None = None) -> str | None:
    """``None`` if the tasks ran in child processes; else why not (all in the parent)."""
    parent_pid = os.getpid() if parent_pid is None else parent_pid
    pids = {e.pid for e in events}
    if pids and pids <= {parent_pid}:
        threads = sorted({e.thread for e in events})
        return (
            f"all {len(events)} tasks ran in this process (pid {parent_pid}), in thread(s) "
            f"{', '.join(threads)}: that is threads, not processes"
        )
    return None
