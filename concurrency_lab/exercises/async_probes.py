"""Instrumented stand-ins for async requests, and a clean way to run a student's coroutine.

The asyncio exercises hand the student's ``async def`` an :class:`AsyncProbe`'s ``fetch``
instead of a real network call. ``await fetch(request_id)`` waits a small, *fixed* time
per id (``asyncio.sleep``, so the event loop stays free), records the request — id,
thread, start, end, whether it succeeded — and returns ``'result of task N'`` (or the
probe's ``reply``); ids in ``fail_ids`` raise :class:`RequestFailed` after their wait.
From the records a checker reads what ran, how many requests were in flight at once
(:meth:`AsyncProbe.max_in_flight`, :func:`max_concurrency`) and how long request slots
stood idle while requests were still waiting (:func:`idle_slot_time`).

:class:`BlockingCall` is the opposite: an ordinary function that blocks its thread with
``time.sleep`` (a slow parser, a driver without async support) and records which thread
ran it and whether that thread was running an event loop at the time. :class:`Heartbeat`
is a coroutine that should tick every few milliseconds: a long gap between its ticks
means something froze the event loop.

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
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from concurrency_lab.exercises.core import (
    StudentError,
    StudentTimeout,
    Verdict,
    call_student,
    failed,
)
from concurrency_lab.work.probes import (
    ProbeFailure,
    RecordedCalls,
    overlap_verdict,
    probe_result,
)
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "AsyncOutcome",
    "AsyncProbe",
    "AsyncStudentTimeout",
    "BlockingCall",
    "Heartbeat",
    "RequestFailed",
    "awaitables_in",
    "html_page",
    "idle_slot_time",
    "labelled_timeline",
    "max_concurrency",
    "page_title",
    "request_label",
    "run_async_student",
    "run_with_async_probe",
]


class RequestFailed(ProbeFailure):
    """The error an async probe request raises for the ids it was told to fail."""


def html_page(url: Any) -> str:
    """A tiny web page for ``url``: its title is ``Page <last part of the url>``."""
    name = str(url).rstrip("/").rsplit("/", 1)[-1]
    return f"<html><head><title>Page {name}</title></head><body>…</body></html>"


_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def page_title(page: str) -> str:
    """The text between ``<title>`` and ``</title>`` (what :func:`html_page` put there)."""
    if not isinstance(page, str):
        raise TypeError(f"parse expects the page's text (a str), got {type(page).__name__}")
    match = _TITLE.search(page)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- requests
class _Fetch:
    """The coroutine function the student awaits: ``await fetch(request_id)``."""

    def __init__(self, probe: AsyncProbe) -> None:
        self._probe = probe

    async def __call__(self, request_id: Any) -> str:
        return await self._probe._request(request_id)

    def __repr__(self) -> str:
        return f"<fetch: {len(self._probe.durations)} requests>"


@dataclass
class AsyncProbe(RecordedCalls):
    """Simulated requests with fixed durations, recording what ran when.

    ``probe.fetch`` is what the student's coroutine receives; ``probe.ids`` the ids in the
    exercise's order. Records live in memory (one process), guarded by a lock, so a
    request awaited on any event loop in any thread is seen.
    """

    durations: Mapping[Any, float]
    fail_ids: Iterable[Any] = ()
    reply: Callable[[Any], str] = probe_result
    never: str = field(default="never requested", init=False, repr=False)
    repeated: str = field(default="requested more than once", init=False, repr=False)
    fetch: _Fetch = field(init=False, repr=False)
    _events: list[Event] = field(default_factory=list, init=False, repr=False)
    _in_flight: int = field(default=0, init=False, repr=False)
    _max_in_flight: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.durations = dict(self.durations)
        self.fail_ids = frozenset(self.fail_ids)
        self.fetch = _Fetch(self)

    async def _request(self, request_id: Any) -> str:
        if request_id not in self.durations:
            known = list(self.durations)
            raise KeyError(f"there is no request {request_id!r}; the ids given were {known}")
        with self._lock:
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
            raise RequestFailed(f"request {request_id!r} failed: 503 Service Unavailable")
        return self.reply(request_id)

    def events(self) -> list[Event]:
        """Every finished (or cancelled) request so far, ordered by start time."""
        with self._lock:
            return sorted(self._events, key=lambda e: e.start)

    def max_in_flight(self) -> int:
        """The most requests that were running at the same moment."""
        with self._lock:
            return self._max_in_flight


def request_label(request_id: Any) -> str:
    """A short label for a request in a text timeline: ``req 7``, ``req /page/3``."""
    text = str(request_id)
    if "://" in text:
        text = "/" + text.split("://", 1)[1].partition("/")[2]
    return f"req {text}"


def max_concurrency(events: Iterable[Event]) -> int:
    """The largest number of events that overlap in time."""
    edges = sorted([(e.start, 1) for e in events] + [(e.end, -1) for e in events])
    running = best = 0
    for _, step in edges:  # at equal times an end (-1) sorts before a start (+1)
        running += step
        best = max(best, running)
    return best


def idle_slot_time(events: Iterable[Event], limit: int) -> float:
    """Slot-seconds left unused while some request had not started yet.

    Between the first start and the last start, ``limit`` requests could have been in
    flight all the time (there was always one waiting); this sums ``limit - in flight``
    over that span. A semaphore-limited crawler keeps it near zero (a freed slot is
    reused within a loop iteration); batches of ``limit`` that wait for their slowest
    member leave slots idle for most of each batch.
    """
    events = list(events)
    if not events:
        return 0.0
    last_start = max(e.start for e in events)
    edges = sorted([(e.start, 1) for e in events] + [(e.end, -1) for e in events])
    idle, running, previous = 0.0, 0, edges[0][0]
    for when, step in edges:
        if when > last_start:
            when = last_start
        idle += max(0, limit - running) * (when - previous)
        previous = when
        running += step
    return idle


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


# --------------------------------------------------------------------------- blocking code
@dataclass
class BlockingCall:
    """An ordinary function that blocks its thread for ``seconds``, then returns ``fn(arg)``.

    Each call records ``(start, end, thread name, in_loop_thread)``; ``in_loop_thread`` is
    true when the calling thread was running an event loop — the call froze that loop.
    """

    seconds: float
    fn: Callable[[Any], Any] = page_title
    name: str = "parse"
    calls: list[tuple[float, float, str, bool]] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __call__(self, arg: Any) -> Any:
        try:
            asyncio.get_running_loop()
            in_loop = True
        except RuntimeError:
            in_loop = False
        result = self.fn(arg)  # a wrong argument fails at once, before the wait
        start = time.perf_counter()
        time.sleep(self.seconds)
        with self._lock:
            self.calls.append(
                (start, time.perf_counter(), threading.current_thread().name, in_loop)
            )
        return result

    def __repr__(self) -> str:
        return f"<function {self.name}: blocks for a moment>"

    def ran_in_loop_thread(self) -> bool:
        """True if any call ran in a thread that was running an event loop."""
        with self._lock:
            return any(in_loop for *_, in_loop in self.calls)

    def events(self) -> list[Event]:
        """The calls as timeline events (task id = call number)."""
        with self._lock:
            calls = sorted(self.calls)
        return [
            Event(f"{self.name} {n}", self.name, os.getpid(), thread, start, end)
            for n, (start, end, thread, _) in enumerate(calls, start=1)
        ]


@dataclass
class Heartbeat:
    """A coroutine that ticks every ``interval`` seconds until :meth:`stop` is called.

    Run it next to the student's coroutines (``asyncio.ensure_future(heartbeat.run())``):
    while the loop is free the ticks come every ``interval`` or so; while something blocks
    the loop's thread, no tick comes at all.
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
        gaps = [b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False)]
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
        )


class _LoopDeadline(Exception):
    """Raised inside the check's event loop when the student's coroutine ran too long."""


@dataclass(frozen=True)
class _NotAwaitable:
    """What calling the answer returned when it was not awaitable (a plain ``def``)."""

    value: Any


async def _await_with_deadline(make: Callable[[], Any], timeout: float) -> tuple[Any, float]:
    start = time.perf_counter()
    awaitable = make()
    if not inspect.isawaitable(awaitable):
        return _NotAwaitable(awaitable), time.perf_counter() - start
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    wall = time.perf_counter() - start
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
        raise _LoopDeadline()
    return task.result(), wall


def _run_fresh_loop(make: Callable[[], Any], timeout: float) -> tuple[Any, float]:
    return asyncio.run(_await_with_deadline(make, timeout))


def run_async_student(make: Callable[[], Any], *, timeout: float = 5.0) -> tuple[Any, float, bool]:
    """Await ``make()`` on a fresh event loop in a watchdog thread: ``(value, wall, awaited)``.

    ``make`` calls the student's function (``lambda: fetch_all(fetch, ids)``); it is
    called *inside* the new loop, so the answer may create tasks and semaphores freely.
    ``wall`` is measured inside the loop, from the call to the end of the await.
    ``awaited`` is False when the answer returned something that cannot be awaited (it was
    a plain ``def``): then ``value`` is what it returned.

    Works whether or not the calling thread already runs an event loop (Jupyter does).
    Raises ``NotAttempted`` / ``StudentError`` / :class:`AsyncStudentTimeout`.
    """
    try:
        result, wall = call_student(_run_fresh_loop, make, timeout, timeout=timeout + 2.0)
    except StudentError as error:
        if isinstance(error.exc, _LoopDeadline):
            raise AsyncStudentTimeout(timeout) from None
        raise
    except StudentTimeout:  # the loop itself was blocked: the deadline could not fire
        raise AsyncStudentTimeout(timeout) from None
    if isinstance(result, _NotAwaitable):
        return result.value, wall, False
    return result, wall, True


@dataclass
class AsyncOutcome:
    """What happened when the student's coroutine ran against an :class:`AsyncProbe`."""

    value: Any
    wall: float
    awaited: bool
    events: list[Event]
    probe: AsyncProbe

    @property
    def busy(self) -> float:
        """Sum of the measured request times (the wall time of a one-by-one run)."""
        return sum(e.duration for e in self.events)

    @property
    def max_in_flight(self) -> int:
        return max_concurrency(self.events)

    def describe(self) -> str:
        """A text timeline of the requests, for a verdict's code block."""
        return labelled_timeline([(request_label(e.task_id), e.start, e.end) for e in self.events])

    def not_async_failure(self, function_name: str) -> Verdict | None:
        """A ✗ verdict if the answer was a plain function (nothing to await)."""
        if self.awaited:
            return None
        awaitables_in(self.value)
        return failed(
            f"{function_name} is a plain `def`, not an `async def`: it returned "
            f"{type(self.value).__name__}, which cannot be awaited.",
            f"Write `async def {function_name}(...)`: only a coroutine function can use "
            "`await` inside, and the check awaits what it returns.",
        )

    def awaitables_failure(self, function_name: str) -> Verdict | None:
        """A ✗ verdict if the answer returned coroutines or tasks instead of results."""
        value = self.value
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

    def wrong_calls_failure(self, function_name: str) -> Verdict | None:
        """A ✗ verdict if some id was never requested or requested twice."""
        problem = self.probe.calls_verdict()
        if problem is None:
            return None
        return failed(
            f"Not every request was made exactly once: {problem}.",
            f"{function_name} was given ids {self.probe.ids}; await fetch(i) once for each.",
            code=self.describe(),
        )

    def overlap_failure(
        self, headline: str, why: str, *, min_concurrency: float = 1.6
    ) -> Verdict | None:
        """A ✗ verdict (measured times, ``why``, text timeline) if the requests did not overlap."""
        problem = overlap_verdict(self.events, self.wall, min_concurrency=min_concurrency)
        if problem is None:
            return None
        problem = problem.replace("task(s)", "request(s)").replace("task times", "request times")
        return failed(headline, problem, why, code=self.describe())


def run_with_async_probe(
    answer: Callable[..., Any],
    durations: Mapping[Any, float],
    *,
    fail_ids: Iterable[Any] = (),
    reply: Callable[[Any], str] = probe_result,
    call: Callable[[Callable[..., Any], AsyncProbe], Awaitable[Any]] | None = None,
    timeout: float = 5.0,
) -> AsyncOutcome:
    """Await ``answer(probe.fetch, probe.ids)`` (or ``call(answer, probe)``) on a fresh loop.

    Requests still running when the answer returns are not waited for: the check's loop
    is closed right after, which cancels them (they are recorded, ``ok=False``).
    """
    probe = AsyncProbe(durations, fail_ids, reply)
    if call is None:
        value, wall, awaited = run_async_student(
            lambda: answer(probe.fetch, probe.ids), timeout=timeout
        )
    else:
        value, wall, awaited = run_async_student(lambda: call(answer, probe), timeout=timeout)
    return AsyncOutcome(value, wall, awaited, probe.events(), probe)
