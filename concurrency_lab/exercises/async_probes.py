"""Instrumented stand-ins for async requests, and a clean way to run a student's coroutine.

The asyncio exercises hand the student's ``async def`` an :class:`AsyncProbe`'s ``fetch``
instead of a real network call. ``await fetch(request_id)`` waits a small, *fixed* time
per id (``asyncio.sleep``, so the event loop stays free), records the request — id,
thread, start, end, whether it succeeded, and *which event loop in which thread* awaited
it — and returns ``'result of task N'`` (or the probe's ``reply``); ids in ``fail_ids``
raise :class:`RequestFailed`, a ``ConnectionError``, after their wait.

From the records a checker reads what ran, on which loop (:func:`other_loops_failure`:
one event loop, judged from loop identities, not names), how many requests were in
flight at once (:meth:`AsyncProbe.max_in_flight`), and where request slots stood idle
while requests were still waiting (:func:`idle_gaps`). A :class:`Heartbeat` is a coroutine
that ticks every few milliseconds: its ticks show when the loop was free — a long gap
between ticks means something froze the loop, and many ticks inside an idle gap mean the
loop was free yet started nothing. The blocking ``parse`` of the third exercise lives in
:mod:`concurrency_lab.work.aio_probes` (child processes may have to import it).

**Running the student's coroutine.** A check is an ordinary call, ``q1.check(fetch_all)``,
but in Jupyter it is made from the kernel's thread, where an event loop is *already*
running — so ``asyncio.run`` there raises. :func:`run_async_student` therefore starts a
*fresh* event loop in the watchdog thread of :func:`~concurrency_lab.exercises.core.call_student`
and awaits the student's coroutine there, with a deadline inside that loop (a hung
coroutine is cancelled and the loop closes cleanly). The same call works in a notebook,
in a plain script and under pytest. Exceptions become the usual ``NotAttempted`` (the
stub's ``NotImplementedError``), ``StudentError`` and :class:`AsyncStudentTimeout`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from concurrency_lab.exercises.core import (
    StudentError,
    StudentTimeout,
    Verdict,
    call_student,
    failed,
)
from concurrency_lab.exercises.probing import ProbeOutcome
from concurrency_lab.work.aio_probes import html_page, page_title
from concurrency_lab.work.probes import RecordedCalls, probe_result
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "AsyncProbe",
    "AsyncRun",
    "AsyncStudentTimeout",
    "Heartbeat",
    "IdleGap",
    "NotAwaitable",
    "RequestFailed",
    "awaitables_failure",
    "awaitables_in",
    "html_page",
    "idle_gaps",
    "labelled_timeline",
    "not_async_failure",
    "other_loops_failure",
    "page_title",
    "request_label",
    "run_async_student",
    "run_with_async_probe",
]


class RequestFailed(ConnectionError):
    """What a probe request raises for the ids it was told to fail: a ``ConnectionError``,
    as a real HTTP client raises when the server drops the connection."""


# --------------------------------------------------------------------------- requests
class _Fetch:
    """The coroutine function the student awaits: ``await fetch(request_id)``."""

    def __init__(self, probe: AsyncProbe) -> None:
        self._probe = probe

    def __call__(self, request_id: Any) -> Coroutine[Any, Any, str]:
        # a plain def returning the coroutine, so the probe can close the ones an answer
        # never awaited (``fetch(i)`` without ``await``) as soon as its check is over,
        # instead of leaving them to whichever later garbage collection finds them
        coroutine = self._probe._request(request_id)
        self._probe._made.append(coroutine)
        return coroutine

    def __repr__(self) -> str:
        return f"<fetch: {len(self._probe.durations)} requests>"


@dataclass(frozen=True)
class _Where:
    """Where one request was awaited: the event loop (by identity) and the thread (ident)."""

    request_id: Any
    loop: int
    thread: int


@dataclass
class AsyncProbe(RecordedCalls):
    """Simulated requests with fixed durations, recording what ran when, and on which loop.

    ``probe.fetch`` is what the student's coroutine receives; ``probe.ids`` the ids in the
    exercise's order. Records live in memory (one process), guarded by a lock, so a
    request awaited on any event loop in any thread is seen. ``home_loop`` and
    ``home_thread`` are the check's own loop and its thread (set by the runner).
    """

    durations: Mapping[Any, float]
    fail_ids: Iterable[Any] = ()
    reply: Callable[[Any], str] = probe_result
    never: str = field(default="never requested", init=False, repr=False)
    repeated: str = field(default="requested more than once", init=False, repr=False)
    fetch: _Fetch = field(init=False, repr=False)
    home_loop: int = field(default=0, init=False, repr=False)
    home_thread: int = field(default=0, init=False, repr=False)
    _events: list[Event] = field(default_factory=list, init=False, repr=False)
    _where: list[_Where] = field(default_factory=list, init=False, repr=False)
    _in_flight: int = field(default=0, init=False, repr=False)
    _max_in_flight: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _made: list[Coroutine[Any, Any, str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.durations = dict(self.durations)
        self.fail_ids = frozenset(self.fail_ids)
        self.fetch = _Fetch(self)

    def close_unawaited(self) -> None:
        """Close the requests the answer made but never awaited (``fetch(i)`` without
        ``await``): at once and quietly, not at some later garbage collection."""
        for coroutine in self._made:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()

    async def _request(self, request_id: Any) -> str:
        if request_id not in self.durations:
            known = list(self.durations)
            raise KeyError(f"there is no request {request_id!r}; the ids given were {known}")
        loop = asyncio.get_running_loop()
        with self._lock:
            self._where.append(_Where(request_id, id(loop), threading.get_ident()))
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        start = time.perf_counter()
        ok = False
        try:
            await asyncio.sleep(self.durations[request_id])
            ok = request_id not in self.fail_ids
        finally:  # cancelled requests are recorded too (ok=False)
            event = Event(
                request_id,
                "request",
                os.getpid(),
                threading.current_thread().name,
                start,
                time.perf_counter(),
                ok,
            )
            with self._lock:
                self._in_flight -= 1
                self._events.append(event)
        if not ok:
            raise RequestFailed(f"request {request_id!r} failed: the connection was reset")
        return self.reply(request_id)

    def events(self) -> list[Event]:
        """Every finished (or cancelled) request so far, ordered by start time."""
        with self._lock:
            return sorted(self._events, key=lambda e: e.start)

    def max_in_flight(self) -> int:
        """The most requests that were running at the same moment (an exact count)."""
        with self._lock:
            return self._max_in_flight

    def away_from_home(self) -> list[_Where]:
        """The requests awaited on a loop other than the check's own (or in another thread)."""
        with self._lock:
            return [
                w for w in self._where if w.loop != self.home_loop or w.thread != self.home_thread
            ]


def request_label(request_id: Any) -> str:
    """A short label for a request in a text timeline: ``req 7``, ``req /page/3``."""
    text = str(request_id)
    if "://" in text:
        text = "/" + text.split("://", 1)[1].partition("/")[2]
    return f"req {text}"


@dataclass(frozen=True)
class IdleGap:
    """A stretch of time when fewer than ``limit`` requests ran although some had not started."""

    start: float
    end: float
    in_flight: int
    waiting: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def idle_gaps(events: Iterable[Event], limit: int, total: int) -> list[IdleGap]:
    """Every stretch with fewer than ``limit`` requests in flight while some of the ``total``
    requests had not started yet (up to the last start); ``in_flight`` and ``waiting`` are
    how many were running and how many had not started when the stretch began.

    A semaphore-limited crawler closes each such gap within a loop iteration or two (a
    finished request frees its slot, the next one starts); batches of ``limit`` leave slots
    empty while they wait for the slowest request of the batch.
    """
    edges = sorted([(e.start, 1) for e in events] + [(e.end, -1) for e in events])
    gaps: list[IdleGap] = []
    running = started = 0
    opened: tuple[float, int, int] | None = None  # (start, running, waiting)
    for when, step in edges:
        running += step
        started += step == 1
        if opened is not None and (running >= limit or started >= total):
            gaps.append(IdleGap(opened[0], when, opened[1], opened[2]))
            opened = None
        if started >= total:
            break
        if running < limit and opened is None:
            opened = (when, running, total - started)
    return [g for g in gaps if g.end > g.start]


def awaitables_in(value: Any) -> list[Any]:
    """Coroutines and asyncio futures/tasks found in ``value`` (or its items / values).

    Coroutine objects found are closed, so Python does not warn that they were never
    awaited: the verdict already says so.
    """
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        items = [value]
    found = [x for x in items if inspect.iscoroutine(x) or isinstance(x, asyncio.Future)]
    for x in found:
        if inspect.iscoroutine(x):
            x.close()
    return found


def labelled_timeline(
    rows: list[tuple[str, float, float]], ticks: Iterable[float] = (), width: int = 40
) -> str:
    """Draw ``(label, start, end)`` runs as text, and optionally a row of loop ticks.

    ``ticks`` (a :class:`Heartbeat`'s) become a ``loop ticks`` row with ``|`` where the
    event loop was free to run the heartbeat: a stretch of ``·`` is a frozen loop.
    """
    ticks = list(ticks)
    if not rows:
        return "(nothing ran)"
    t0 = min(start for _, start, _ in rows)
    t1 = max([end for _, _, end in rows] + ticks)
    span = t1 - t0 or 1e-9
    pad = max(len(label) for label, _, _ in rows)
    pad = max(pad, len("loop ticks")) if ticks else pad
    lines = []
    for label, start, end in sorted(rows, key=lambda r: r[1]):
        a = round((start - t0) / span * width)
        b = max(a + 1, round((end - t0) / span * width))
        lines.append(f"{label:<{pad}}  {'·' * a}{'█' * (b - a)}{'·' * (width - b)}")
    if ticks:
        marks = ["·"] * width
        for t in ticks:
            if t >= t0:
                marks[min(width - 1, round((t - t0) / span * width))] = "|"
        lines.append(f"{'loop ticks':<{pad}}  {''.join(marks)}")
    lines.append(f"{'':<{pad}}  0 s{'':{width - 8}}{fmt_seconds(span):>6}")
    return "\n".join(lines)


@dataclass
class Heartbeat:
    """A coroutine that ticks every ``interval`` seconds until :meth:`stop` is called.

    Run it next to the student's coroutines (``asyncio.ensure_future(heartbeat.run())``):
    while the loop is free the ticks come every ``interval`` or so; while something blocks
    the loop's thread, no tick comes at all. The loop runs the heartbeat at most once per
    iteration, so ``n`` ticks inside a stretch of time mean the loop went round at least
    ``n`` times in it.
    """

    interval: float = 0.01
    ticks: list[float] = field(default_factory=list)
    _stopped: bool = field(default=False, init=False, repr=False)

    async def run(self) -> None:
        while not self._stopped:
            self.ticks.append(time.perf_counter())
            await asyncio.sleep(self.interval)

    def stop(self) -> None:
        self._stopped = True
        self.ticks.append(time.perf_counter())

    def ticks_between(self, start: float, end: float) -> int:
        """How many ticks came strictly between ``start`` and ``end``."""
        return sum(start < t < end for t in self.ticks)

    def longest_gap(self) -> float:
        """The longest time between two ticks (the longest the loop was unavailable)."""
        gaps = [b - a for a, b in itertools.pairwise(self.ticks)]
        return max(gaps, default=0.0)


# --------------------------------------------------------------------------- running
class AsyncStudentTimeout(StudentTimeout):
    """The student's coroutine did not finish within the check's time limit."""

    def verdict(self) -> Verdict:
        return failed(
            f"Your coroutine did not finish within {self.seconds:g} seconds (the model answer "
            "needs a fraction of a second).",
            "Look for an await that can never complete: a Semaphore acquired and never "
            "released, an Event never set, a Queue.get() with nothing left to get, or a task "
            "awaiting itself.",
            "The check cancelled your coroutine and closed its event loop; a thread your "
            "code started and left blocked keeps running until you restart the kernel.",
        )


class _LoopDeadline(Exception):
    """Raised inside the check's event loop when the student's coroutine ran too long."""


@dataclass(frozen=True)
class NotAwaitable:
    """What calling the answer returned when it was not awaitable (a plain ``def``)."""

    value: Any


@dataclass(frozen=True)
class AsyncRun:
    """One await of the student's coroutine on the check's own fresh event loop.

    ``value`` is what it returned (a :class:`NotAwaitable` when the answer was a plain
    ``def``); ``wall`` runs from the call to the end of the await; ``returned_at`` is the
    ``perf_counter`` time it returned; ``loop`` and ``thread`` identify the check's loop
    (``id`` of the loop object) and the thread that ran it (``threading.get_ident()``).
    """

    value: Any
    wall: float
    returned_at: float
    loop: int
    thread: int

    @property
    def awaited(self) -> bool:
        return not isinstance(self.value, NotAwaitable)


async def _await_with_deadline(make: Callable[[], Any], timeout: float) -> AsyncRun:
    loop, thread = id(asyncio.get_running_loop()), threading.get_ident()
    start = time.perf_counter()
    awaitable = make()
    if not inspect.isawaitable(awaitable):
        now = time.perf_counter()
        return AsyncRun(NotAwaitable(awaitable), now - start, now, loop, thread)
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    now = time.perf_counter()
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
        raise _LoopDeadline()
    return AsyncRun(task.result(), now - start, now, loop, thread)


def _run_fresh_loop(make: Callable[[], Any], timeout: float) -> AsyncRun:
    return asyncio.run(_await_with_deadline(make, timeout))


def run_async_student(make: Callable[[], Any], *, timeout: float = 5.0) -> AsyncRun:
    """Await ``make()`` on a fresh event loop in a watchdog thread; return an :class:`AsyncRun`.

    ``make`` calls the student's function (``lambda: fetch_all(fetch, ids)``); it is
    called *inside* the new loop, so the answer may create tasks and semaphores freely.
    Works whether or not the calling thread already runs an event loop (Jupyter does).
    Raises ``NotAttempted`` / ``StudentError`` / :class:`AsyncStudentTimeout`.
    """
    try:
        return call_student(_run_fresh_loop, make, timeout, timeout=timeout + 2.0)
    except StudentError as error:
        if isinstance(error.exc, _LoopDeadline):
            raise AsyncStudentTimeout(timeout) from None
        raise
    except StudentTimeout:  # the loop itself was blocked: the deadline could not fire
        raise AsyncStudentTimeout(timeout) from None


def run_with_async_probe(
    answer: Callable[..., Any],
    durations: Mapping[Any, float],
    *,
    fail_ids: Iterable[Any] = (),
    reply: Callable[[Any], str] = probe_result,
    call: Callable[[Callable[..., Any], AsyncProbe], Awaitable[Any]] | None = None,
    timeout: float = 5.0,
) -> ProbeOutcome:
    """Await ``answer(probe.fetch, probe.ids)`` (or ``call(answer, probe)``) on a fresh loop.

    Returns the one outcome type of the checks (``noun="request"``); its ``value`` is a
    :class:`NotAwaitable` when the answer was a plain ``def``. Requests still running when
    the answer returns are not waited for: the check's loop is closed right after, which
    cancels them (they are recorded, ``ok=False``).
    """
    probe = AsyncProbe(durations, fail_ids, reply)
    try:
        if call is None:
            run = run_async_student(lambda: answer(probe.fetch, probe.ids), timeout=timeout)
        else:
            run = run_async_student(lambda: call(answer, probe), timeout=timeout)
    finally:
        probe.close_unawaited()
    return outcome_of(run, probe)


def outcome_of(run: AsyncRun, probe: AsyncProbe) -> ProbeOutcome:
    """The :class:`ProbeOutcome` of one run against ``probe`` (which learns its home loop)."""
    probe.home_loop, probe.home_thread = run.loop, run.thread
    probe.close_unawaited()
    events = probe.events()
    finished = [e.task_id for e in events if e.end <= run.returned_at]
    return ProbeOutcome(
        run.value,
        run.wall,
        events,
        probe,
        finished_at_return=Counter(finished),
        returned_at=run.returned_at,
        noun="request",
        label=request_label,
        awaited=run.awaited,
    )


# --------------------------------------------------------------------------- rules
def not_async_failure(outcome: ProbeOutcome, function_name: str) -> Verdict | None:
    """A ✗ verdict if the answer was a plain function (nothing to await)."""
    if outcome.awaited:
        return None
    value = outcome.value.value if isinstance(outcome.value, NotAwaitable) else outcome.value
    awaitables_in(value)
    return failed(
        f"{function_name} is a plain `def`, not an `async def`: it returned "
        f"{type(value).__name__}, which cannot be awaited.",
        f"Write `async def {function_name}(...)`: only a coroutine function can use "
        "`await` inside, and the check awaits what it returns.",
    )


def awaitables_failure(outcome: ProbeOutcome, function_name: str) -> Verdict | None:
    """A ✗ verdict if the answer returned coroutines or tasks instead of results."""
    value = outcome.value
    found = awaitables_in(value)
    if not found and isinstance(value, tuple):
        found = [x for part in value for x in awaitables_in(part)]
    if not found:
        return None
    kind = "coroutine" if inspect.iscoroutine(found[0]) else type(found[0]).__name__
    return failed(
        f"{function_name} returned {kind} objects, not results.",
        "Calling a coroutine function only creates the coroutine; nothing runs until it is "
        "awaited. `await` each one — or all of them at once with "
        "`await asyncio.gather(...)` — and return what the awaits give back.",
    )


def other_loops_failure(outcome: ProbeOutcome, function_name: str) -> Verdict | None:
    """A ✗ verdict if some request was awaited on another event loop than the check's own.

    Judged from data: each request records the identity of the loop that awaited it and
    the ident of that loop's thread. ``asyncio.run(fetch(i))`` per request in a thread
    pool gives one loop per request, in other threads — concurrency by threads, with the
    loop that awaited the answer blocked meanwhile.
    """
    probe: AsyncProbe = outcome.probe
    away = probe.away_from_home()
    if not away:
        return None
    loops = {w.loop for w in away}
    threads = {w.thread for w in away}
    total = len(probe._where)
    return failed(
        f"{len(away)} of {total} requests ran on another event loop than the one awaiting "
        f"{function_name}: {len(loops)} other loop(s), in {len(threads)} other thread(s).",
        "`asyncio.run(...)` (or a new event loop) per request, run from threads, starts one "
        "loop per request and makes the concurrency come from threads — while the loop "
        f"that awaits {function_name} sits blocked. Await the requests right here, on the "
        "running loop: that is what `async def` is for.",
        code=outcome.describe(),
    )
