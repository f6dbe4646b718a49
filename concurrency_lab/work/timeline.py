"""Record what ran when — in threads and in child processes.

A timeline is a list of :class:`Event` s: which task, which worker (process id and thread
name), when it started and when it ended. Two ways to record them:

* **Threads** share the parent's memory, so a wrapped function can append its event
  straight into the :class:`Timeline` (:meth:`Timeline.track`).
* **Processes** do not share memory: an event appended in a child would stay in the
  child. :class:`traced` wraps an importable function so that it *returns* its event
  together with its result (a :class:`Traced` pair), and the parent hands that pair to
  :meth:`Timeline.collect`, which files the event and gives back the plain result.

Times come from ``time.perf_counter()``, a system-wide monotonic clock on Linux, macOS
and Windows, so events from different processes line up on one axis. Recording costs a
couple of microseconds per task: nothing next to a task that runs for milliseconds.

This module imports only the standard library (children import it). Drawing lives one room
up, in :func:`concurrency_lab.view.plotting.plot_timeline`: ``plot_timeline(tl)``.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

from concurrency_lab.work.timing import fmt_ratio, fmt_seconds

__all__ = ["Event", "Summary", "Timeline", "Traced", "traced"]

T = TypeVar("T")


@dataclass(frozen=True)
class Event:
    """One task's run: what, where (pid + thread) and when (``perf_counter`` seconds)."""

    task_id: Any
    label: str
    pid: int
    thread: str
    start: float
    end: float
    ok: bool = True

    @property
    def duration(self) -> float:
        """How long the task ran, in seconds."""
        return self.end - self.start

    @property
    def worker(self) -> str:
        """The lane this event belongs to: ``'pid 4242 · ThreadPoolExecutor-0_1'``."""
        return f"pid {self.pid} · {self.thread}"


def _event_now(task_id: Any, label: str, start: float, ok: bool) -> Event:
    return Event(
        task_id=task_id,
        label=label,
        pid=os.getpid(),
        thread=threading.current_thread().name,
        start=start,
        end=time.perf_counter(),
        ok=ok,
    )


@dataclass(frozen=True)
class Traced(Generic[T]):
    """A result that travelled back from a worker together with the event that made it."""

    value: T
    event: Event


# -- announcing starts, for pictures that draw while the tasks run --------------------------
# An Event exists only once its task has ended. A live picture (concurrency_lab.view.live)
# wants a bar from the moment a task starts, so while one is drawing it sets a folder here,
# and every traced(...) wrapper pickled meanwhile carries that folder to the worker
# process, which drops a small file there when a task starts and another when it ends.
# Files work under fork, spawn and forkserver alike: no queue or manager to hand over.
_announce_dir: str | None = None


def set_announce_dir(folder: str | None) -> str | None:
    """Make traced wrappers pickled from now on announce starts in ``folder``; return the old one.

    ``None`` turns announcing off. Used by :mod:`concurrency_lab.view.live`.
    """
    global _announce_dir
    old, _announce_dir = _announce_dir, folder
    return old


def _announce(folder: str, kind: str, record: dict[str, Any]) -> None:
    """Write ``record`` as ``folder/<pid>-<ns>.<kind>`` in one step (no half-written files)."""
    name = f"{os.getpid()}-{threading.get_ident()}-{time.perf_counter_ns()}.{kind}"
    tmp = os.path.join(folder, f".{name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(folder, name))
    except OSError:
        pass  # the live picture is a nicety: never let it break the task


class traced:  # noqa: N801 - used like a decorator, so lower case reads naturally
    """Wrap an *importable* function so each call returns ``Traced(result, event)``.

    The wrapper is an instance of a module-level class holding a module-level function,
    so it pickles under ``spawn`` and ``forkserver``: send it to a process pool, then give
    every returned pair to :meth:`Timeline.collect`. The first positional argument is
    taken as the task id.

    If the function raises, the exception travels back as usual and carries its event in
    the attribute ``timeline_event`` (exception attributes survive pickling), so
    :meth:`Timeline.collect_error` can still draw the failed run.
    """

    def __init__(
        self, fn: Callable[..., T], label: str | None = None, announce: str | None = None
    ) -> None:
        self.fn = fn
        self.label = label if label is not None else getattr(fn, "__name__", "task")
        self.announce = announce  # a live picture's folder (set when pickled meanwhile)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Traced[T]:
        task_id = args[0] if args else None
        start = time.perf_counter()
        if self.announce:
            _announce(self.announce, "start", self._record(task_id, start))
        try:
            value = self.fn(*args, **kwargs)
        except BaseException as exc:
            event = _event_now(task_id, self.label, start, ok=False)
            exc.timeline_event = event  # type: ignore[attr-defined]
            if self.announce:
                _announce(self.announce, "end", self._record(task_id, start, event))
            raise
        event = _event_now(task_id, self.label, start, ok=True)
        if self.announce:
            _announce(self.announce, "end", self._record(task_id, start, event))
        return Traced(value, event)

    def _record(self, task_id: Any, start: float, event: Event | None = None) -> dict[str, Any]:
        record = {
            "task_id": task_id if isinstance(task_id, (int, str)) else repr(task_id),
            "label": self.label,
            "pid": os.getpid(),
            "thread": threading.current_thread().name,
            "start": start,
        }
        if event is not None:
            record.update(end=event.end, ok=event.ok)
        return record

    def __reduce__(self) -> tuple[type[traced], tuple[Callable[..., T], str, str | None]]:
        # update_wrapper copied __wrapped__ etc. into __dict__; pickle just the essentials,
        # plus the folder of a live picture drawing right now (None almost always).
        return (type(self), (self.fn, self.label, _announce_dir))

    def __repr__(self) -> str:
        return f"traced({getattr(self.fn, '__qualname__', self.fn)!r})"


@dataclass(frozen=True)
class Summary:
    """Wall time, total task time, and how many tasks ran at once on average."""

    tasks: int
    wall: float
    busy: float

    @property
    def concurrency(self) -> float:
        """Sum of task times divided by wall time: 1.0 means one task at a time."""
        return self.busy / self.wall if self.wall > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.tasks} tasks · wall {fmt_seconds(self.wall)} · "
            f"sum of task times {fmt_seconds(self.busy)} · "
            f"overlap {fmt_ratio(self.concurrency)}"
        )


@dataclass
class Timeline:
    """A thread-safe collection of :class:`Event` s, with a clock that starts at creation.

    Use it as a ``with`` block to fix the wall time to the block's duration::

        with Timeline("start all, then join all") as tl:
            task = tl.track(io_task)
            ...
        plot_timeline(tl)
    """

    title: str = ""
    events: list[Event] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)
    t_end: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ids: itertools.count = field(default_factory=itertools.count, repr=False)
    # tasks started and not yet ended, keyed by (pid, thread, start): what a live picture
    # draws as growing bars (see begin); add() removes a task's entry when its event arrives
    _running: dict[tuple[int, str, float], Event] = field(
        default_factory=dict, repr=False, compare=False
    )

    # -- the wall-clock frame -------------------------------------------------------
    def __enter__(self) -> Timeline:
        self.t0 = time.perf_counter()
        self.t_end = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Freeze the wall time now (a ``with`` block does this for you)."""
        self.t_end = time.perf_counter()

    # -- recording ------------------------------------------------------------------
    def add(self, event: Event) -> None:
        """File one event (thread-safe)."""
        with self._lock:
            self.events.append(event)
            self._running.pop((event.pid, event.thread, event.start), None)

    def begin(self, task_id: Any, label: str, start: float, thread: str | None = None) -> None:
        """Note that a task started (its event comes later, through :meth:`add`).

        Only a live picture reads these (:meth:`running`); :meth:`track` and
        :func:`concurrency_lab.work.aio.track` call it for you.
        """
        name = threading.current_thread().name if thread is None else thread
        with self._lock:
            self._running[(os.getpid(), name, start)] = Event(
                task_id, label, os.getpid(), name, start, start
            )

    def running(self) -> list[Event]:
        """Tasks started and not ended yet, each as an Event whose ``end`` is its start."""
        with self._lock:
            return list(self._running.values())

    def track(self, fn: Callable[..., T], label: str | None = None) -> Callable[..., T]:
        """Return ``fn`` wrapped so that every call, in any thread, records an event here.

        The wrapper returns ``fn``'s result unchanged, so it drops into ``Thread(target=)``
        or ``executor.submit`` as is. Its first positional argument is the task id (a
        running number if there is none). Events of calls that raise are kept, marked
        ``ok=False``. Use :class:`traced` instead for process pools.
        """
        name = label if label is not None else getattr(fn, "__name__", "task")

        @functools.wraps(fn)
        def tracked(*args: Any, **kwargs: Any) -> T:
            task_id = args[0] if args else next(self._ids)
            start = time.perf_counter()
            self.begin(task_id, name, start)
            ok = False
            try:
                result = fn(*args, **kwargs)
                ok = True
                return result
            finally:
                self.add(_event_now(task_id, name, start, ok))

        return tracked

    def collect(self, item: Traced[T]) -> T:
        """File the event of a :class:`Traced` pair and return its plain value."""
        if not isinstance(item, Traced):
            raise TypeError(
                f"Timeline.collect expects what a traced(...) function returns, got "
                f"{type(item).__name__}; wrap the function with traced() before sending it"
            )
        self.add(item.event)
        return item.value

    def collect_all(self, items: Iterable[Traced[T]]) -> list[T]:
        """Collect every pair (for example the results of ``executor.map``); keep order."""
        return [self.collect(item) for item in items]

    def collect_error(self, exc: BaseException) -> BaseException:
        """File the event carried by an exception from a :class:`traced` call; return it."""
        event = getattr(exc, "timeline_event", None)
        if isinstance(event, Event):
            self.add(event)
        return exc

    # -- reading --------------------------------------------------------------------
    @property
    def wall(self) -> float:
        """Seconds from the start of the timeline to its end (or to the last event)."""
        if self.t_end is not None:
            return self.t_end - self.t0
        with self._lock:
            last = max((e.end for e in self.events), default=self.t0)
        return last - self.t0

    def summary(self) -> Summary:
        """Wall time, sum of task times, and achieved concurrency (sum / wall)."""
        with self._lock:
            busy = sum(e.duration for e in self.events)
            n = len(self.events)
        return Summary(tasks=n, wall=self.wall, busy=busy)

    def workers(self) -> list[str]:
        """The distinct worker lanes, in the order they first started a task."""
        with self._lock:
            ordered = sorted(self.events, key=lambda e: e.start)
        return list(dict.fromkeys(e.worker for e in ordered))
