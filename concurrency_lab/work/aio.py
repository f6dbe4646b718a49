"""asyncio twins of the course's workloads, a timeline for coroutines, threads vs asyncio.

* :func:`io_task` is :func:`concurrency_lab.work.tasks.io_task_with_return` as a coroutine: the
  same seeded durations, the same printed lines, the same return value, but it waits with
  ``await asyncio.sleep(...)``, which hands control back to the event loop so that other
  coroutines run meanwhile.
* :func:`blocking_io_task` is the classic mistake (an ordinary, blocking call inside a
  coroutine: it freezes the loop) and :func:`offloaded_io_task` the fix
  (``asyncio.to_thread``).
* :func:`track` records coroutine runs into a :class:`~concurrency_lab.work.timeline.Timeline`,
  one lane per asyncio task, so the existing Gantt charts draw them.
* :func:`measure_waits` / :func:`compare_threads_asyncio` start N concurrent waits as N
  threads or N asyncio tasks, each in a fresh Python process, and report wall time, CPU time and
  peak memory measured the same way for both. They live in :mod:`concurrency_lab.work.waits`
  (so that a child measuring threads need not import asyncio); import them from there.

Only the standard library is imported here, so importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from concurrency_lab.work.scale import scaled_seconds
from concurrency_lab.work.tasks import io_task_with_return, nominal_duration, result_of, say
from concurrency_lab.work.timeline import Event, Timeline

__all__ = [
    "blocking_io_task",
    "io_task",
    "offloaded_io_task",
    "track",
]

T = TypeVar("T")


# -- the workloads ------------------------------------------------------------------------
async def io_task(task_id: object, *, seconds: float | None = None, verbose: bool = True) -> str:
    """Simulate a database call without blocking: the async twin of ``io_task_with_return``.

    Prints ``Task 3 started, response in 1 second(s)`` and ``Task 3 finished`` (one
    write per line), waits ``nominal_duration(task_id)`` seconds (or ``seconds``) times the
    scale with ``await asyncio.sleep``, and returns ``'result of task 3'``. While it waits,
    the event loop runs other coroutines. If the wait is cancelled (a timeout, a failing
    ``TaskGroup``), ``CancelledError`` is raised at the ``await`` and nothing more is printed.
    """
    nominal = nominal_duration(task_id) if seconds is None else seconds
    if verbose:
        say(f"Task {task_id} started, response in {nominal:g} second(s)")
    await asyncio.sleep(scaled_seconds(nominal))
    if verbose:
        say(f"Task {task_id} finished")
    return result_of(task_id)


async def blocking_io_task(
    task_id: object, *, seconds: float | None = None, verbose: bool = True
) -> str:
    """The mistake: a coroutine that calls the *blocking* ``io_task_with_return``.

    ``time.sleep`` inside does not give control back to the event loop: nothing else runs
    until it returns, so N of these run one after the other however you gather them.
    """
    return io_task_with_return(task_id, seconds=seconds, verbose=verbose)


async def offloaded_io_task(
    task_id: object, *, seconds: float | None = None, verbose: bool = True
) -> str:
    """The fix: run the blocking call in a worker thread with ``asyncio.to_thread``.

    The coroutine awaits the thread's result, so the loop stays free meanwhile.
    """
    return await asyncio.to_thread(io_task_with_return, task_id, seconds=seconds, verbose=verbose)


# -- timelines of coroutines ----------------------------------------------------------------
_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")


def _lane(label: str, task_id: Any) -> str:
    """``'MainThread · request-3'``: the thread, then the asyncio task's name.

    asyncio names unnamed tasks ``Task-1``, ``Task-2``, ... counting through the session
    (useless in a picture), so such a task is shown as ``'<label> <task_id>'`` instead.
    """
    task = asyncio.current_task()
    name = task.get_name() if task is not None else ""
    if not name or _DEFAULT_TASK_NAME.fullmatch(name):
        name = f"{label} {task_id}"
    return f"{threading.current_thread().name} · {name}"


def track(
    timeline: Timeline,
    fn: Callable[..., Awaitable[T]],
    label: str | None = None,
) -> Callable[..., Coroutine[Any, Any, T]]:
    """Return the coroutine function ``fn`` wrapped to record one event per call.

    The async counterpart of :meth:`Timeline.track`: the first positional argument is the
    task id (a running number if there is none), the event's lane is the thread plus the
    asyncio task (``'MainThread · request-3'``), and a call that raises or is cancelled is
    kept as a failed (red) event. Use it wherever you would await ``fn``::

        with Timeline("gather") as tl:
            task = track(tl, io_task)
            await asyncio.gather(*(task(i) for i in range(5)))
        plot_timeline(tl)
    """
    name = label if label is not None else getattr(fn, "__name__", "task")
    ids = itertools.count()

    @functools.wraps(fn)
    async def tracked(*args: Any, **kwargs: Any) -> T:
        task_id = args[0] if args else next(ids)
        start = time.perf_counter()
        timeline.begin(task_id, name, start, thread=_lane(name, task_id))  # for live pictures
        ok = False
        try:
            result = await fn(*args, **kwargs)
            ok = True
            return result
        finally:
            timeline.add(
                Event(
                    task_id=task_id,
                    label=name,
                    pid=os.getpid(),
                    thread=_lane(name, task_id),
                    start=start,
                    end=time.perf_counter(),
                    ok=ok,
                )
            )

    return tracked


# -- threads vs asyncio: N concurrent waits (measured in concurrency_lab.work.waits) -----------
