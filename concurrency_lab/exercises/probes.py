"""Instrumented stand-ins for ``io_task`` that let a check see *how* code ran.

A check hands the student's function a :class:`ProbeTask` instead of the real task. It
behaves like ``io_task_with_return`` (waits, returns ``'result of task N'``) at a small,
fixed duration per id, and it leaves a record of every call — task id, process id,
thread, start, end — in a temporary folder. Records are files, not memory, so calls made
in child processes are seen too; and a ``ProbeTask`` is a frozen dataclass of a
module-level class, so it pickles under every start method.

From the records, :class:`Probe` answers what a checker needs: which ids ran (and how
often), whether all had finished when the student's function returned, whether the work
overlapped (:func:`overlap_verdict`), and whether it ran in other processes
(:func:`processes_verdict`). :func:`text_timeline` draws the runs as text for a verdict.

Imports only the standard library and :mod:`concurrency_lab.timeline`: child processes
import this module.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concurrency_lab.exercises.core import (
    STUDENT_THREAD,
    Verdict,
    call_student,
    failed,
    first_difference,
)
from concurrency_lab.tasks import result_of
from concurrency_lab.timeline import Event
from concurrency_lab.timing import fmt_seconds

__all__ = [
    "Probe",
    "ProbeFailure",
    "ProbeTask",
    "RecordedCalls",
    "order_verdict",
    "overlap_verdict",
    "probe_result",
    "processes_verdict",
    "results_verdict",
    "text_timeline",
    "write_record",
]


class ProbeFailure(RuntimeError):
    """The error a probe task raises for the ids it was told to fail."""


def probe_result(task_id: Any) -> str:
    """What a probe task returns for ``task_id`` (the same text as ``io_task_with_return``)."""
    return result_of(task_id)


def order_verdict(
    got: list[Any],
    expected: list[Any],
    ids: list[Any],
    events: Iterable[Event],
    *,
    advice: str,
    noun: str = "task",
    code: str | None = None,
) -> Verdict | None:
    """``None`` if ``got == expected``; else a ✗ naming what is wrong with the results.

    Three cases, most specific first: the right results in *finishing* order (the order of
    the probe's recorded end times — ``as_completed``, ``imap_unordered``, appending as
    tasks finish), the right results in some other order, or results that are not the
    expected ones. ``advice`` says how to keep input order with the lesson's tools; ``code``
    (a text timeline) is shown with the order verdicts.
    """
    if got == expected:
        return None
    same_items = Counter(map(repr, got)) == Counter(map(repr, expected))
    if not same_items:
        return failed(
            "The results are not the ones expected.",
            first_difference(got, expected),
            f"expected one result per id, in the order of ids {ids}",
        )
    finishing = [probe_result(e.task_id) for e in sorted(events, key=lambda e: e.end)]
    if got == finishing:
        return failed(
            "All the results are there, but in finishing order, not input order.",
            f"ids given: {ids}; the first result should be {expected[0]!r}, the result of "
            f"the first id — you returned {got[0]!r} first, the {noun} that finished first.",
            advice,
            code=code,
        )
    return failed(
        "All the results are there, but not in input order.",
        first_difference(got, expected),
        advice,
        code=code,
    )


def results_verdict(
    outcome: Any,
    expected: list[Any],
    ids: list[Any],
    *,
    name: str,
    advice: str,
    noun: str = "task",
) -> Verdict | None:
    """What every "return the results in input order" answer is checked for, in order.

    ``outcome`` is a probe outcome (threads, processes or coroutines): its value must be a
    list, every id must have run exactly once, and the results must be ``expected``, in
    order (:func:`order_verdict`, with ``advice``). ``None`` when all of that holds.
    """
    value = outcome.value
    if not isinstance(value, (list, tuple)):
        return failed(
            f"{name} should return a list of results, got {type(value).__name__} {value!r}."
        )
    return outcome.wrong_calls_failure(name) or order_verdict(
        list(value),
        expected,
        ids,
        outcome.events,
        advice=advice,
        noun=noun,
        code=outcome.describe(),
    )


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
    tmp.write_text(json.dumps(record), encoding="utf-8")
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
        time.sleep(self.durations[task_id])
        ok = task_id not in self.fail_ids
        write_record(self.log_dir, task_id, start, ok)
        if not ok:
            raise ProbeFailure(f"task {task_id} failed")
        return probe_result(task_id)

    def __repr__(self) -> str:
        return f"<task: {len(self.durations)} ids>"


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


def text_timeline(events: list[Event], width: int = 40) -> str:
    """Draw runs as text, one row per task: ``task 2  ·····██████······``."""
    if not events:
        return "(no task ran)"
    t0 = min(e.start for e in events)
    span = max(e.end for e in events) - t0 or 1e-9
    rows = []
    for e in sorted(events, key=lambda e: e.start):
        a = round((e.start - t0) / span * width)
        b = max(a + 1, round((e.end - t0) / span * width))
        rows.append(f"task {e.task_id!s:<4} {'·' * a}{'█' * (b - a)}{'·' * (width - b)}")
    rows.append(f"{'':9} 0 s{'':{width - 8}}{fmt_seconds(span):>6}")
    return "\n".join(rows)


def overlap_verdict(
    events: list[Event], wall: float, *, min_concurrency: float = 1.6
) -> str | None:
    """``None`` if the runs overlapped enough; else the reason, with the measured times.

    ``min_concurrency`` is the sum of task times divided by the wall time that counts
    as "ran concurrently"; the probe's durations make the concurrent answer reach about
    (sum / longest) and a sequential one about 1.0, so a threshold in between decides
    the same way on a busy machine.
    """
    busy = sum(e.duration for e in events)
    achieved = busy / wall if wall > 0 else 0.0
    if achieved >= min_concurrency:
        return None
    return (
        f"measured wall time {fmt_seconds(wall)} against a sum of task times of "
        f"{fmt_seconds(busy)}: only {achieved:.1f} task(s) ran at a time on average"
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


@dataclass
class ProbeOutcome:
    """What happened when the student's function ran against a :class:`Probe`."""

    value: Any
    wall: float
    finished_at_return: Counter[Any]
    events: list[Event]
    probe: Probe

    @property
    def busy(self) -> float:
        """Sum of the measured task times (the wall time a one-at-a-time run needs)."""
        return sum(e.duration for e in self.events)

    def ran_in_caller(self) -> bool:
        """True if every task ran in the thread that called the answer: no worker at all."""
        return bool(self.events) and {e.thread for e in self.events} == {STUDENT_THREAD}

    @property
    def unfinished_at_return(self) -> list[Any]:
        """Ids that had not finished when the student's function returned."""
        return [i for i in self.probe.ids if self.finished_at_return[i] == 0]

    def calls_verdict(self) -> str | None:
        """Ids never run or run more than once (counting calls that finished late too)."""
        return self.probe.calls_verdict(Counter(e.task_id for e in self.events))

    def describe(self) -> str:
        """A text timeline of the runs, for a verdict's code block."""
        return text_timeline(self.events)

    def wrong_calls_failure(self, function_name: str) -> Verdict | None:
        """A ✗ verdict if some id never ran or ran twice (``function_name`` was the answer)."""
        problem = self.calls_verdict()
        if problem is None:
            return None
        return failed(
            f"Not every task ran exactly once: {problem}.",
            f"{function_name} was given ids {self.probe.ids}; run task(i) once for each of them.",
            code=self.describe(),
        )

    def overlap_failure(
        self, headline: str, why: str, *, min_concurrency: float = 1.6
    ) -> Verdict | None:
        """A ✗ verdict (measured times, ``why``, text timeline) if the tasks did not overlap."""
        problem = overlap_verdict(self.events, self.wall, min_concurrency=min_concurrency)
        if problem is None:
            return None
        return failed(headline, problem, why, code=self.describe())


def run_with_probe(
    student_fn: Any,
    durations: Mapping[Any, float],
    *,
    fail_ids: Iterable[Any] = (),
    call: Any = None,
    timeout: float = 5.0,
    probe_factory: Any = None,
) -> ProbeOutcome:
    """Call ``student_fn(probe.task, probe.ids)`` (or ``call(student_fn, probe)``), timed.

    Exceptions, the stub's ``NotImplementedError`` and timeouts propagate as
    :mod:`~concurrency_lab.exercises.core`'s ``StudentError`` / ``NotAttempted`` /
    ``StudentTimeout`` (``Problem.verdict`` turns them into verdicts). After the function
    returns, stragglers are given time to finish, so the outcome also knows which tasks
    were still running at return (a function that did not wait for its threads).

    ``probe_factory(durations, fail_ids)`` makes the probe (default :class:`Probe`); e.g.
    :class:`~concurrency_lab.exercises.pool_probes.CpuProbe` for CPU-bound tasks.
    """
    factory = Probe if probe_factory is None else probe_factory
    with factory(durations, fail_ids) as probe:
        start = time.perf_counter()
        if call is None:
            value = call_student(student_fn, probe.task, probe.ids, timeout=timeout)
        else:
            value = call_student(call, student_fn, probe, timeout=timeout)
        wall = time.perf_counter() - start
        at_return = probe.calls()
        if sum(at_return.values()) < len(probe.ids):
            deadline = time.perf_counter() + probe.longest + 0.5
            while time.perf_counter() < deadline and len(probe.calls()) < len(probe.ids):
                time.sleep(0.01)
        return ProbeOutcome(value, wall, at_return, probe.events(), probe)
