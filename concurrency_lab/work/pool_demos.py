"""Small worker functions that lesson 04 sends to process pools.

A process pool sends each task to another Python process by *pickling* it: the function
travels as its module and name (``concurrency_lab.work.pool_demos.tiny_task``), and the child
imports that module to find it. So every function here is defined at module level in an
importable module, and this module imports only the standard library: a spawned child
imports it at every pool start, and matplotlib or numpy would cost it a few hundred
milliseconds each time.

What each one demonstrates:

* :func:`report_argument` - what argument a task really received (the seed's ``(0,)`` bug).
* :func:`cpu_seconds` - CPU time a task used: how many cores a pool really got.
* :func:`worker_pid` - which process ran a task (the lesson counts them; it never prints pids).
* :func:`fragile_task` - an exception raised in a worker, re-raised in the parent.
* :func:`kill_worker` - a worker that dies without a word (``os._exit``).
* :func:`load_table` + :func:`lookup_shared` vs :func:`lookup_in` - shared read-only data
  loaded once per worker by an ``initializer``, versus sent along with every task.
* :func:`tiny_task` - a task so small that sending it costs more than running it (chunksize).
* :func:`running_slices` - CPU work that records *when* it really ran (threads take turns).
* :func:`quiet` - a pool ``initializer`` that silences a worker's stderr (deterministic pages).
* :func:`fork_context` - the fork start method where the system has it, ``None`` elsewhere.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import sys
import time
import zlib
from multiprocessing.context import BaseContext

from concurrency_lab.work.scale import scaled_count
from concurrency_lab.work.tasks import CPU_TASK_N, cpu_task

__all__ = [
    "cpu_seconds",
    "crc_of_mapped_slice",
    "crc_of_slice",
    "fork_context",
    "fragile_task",
    "kill_worker",
    "load_table",
    "lookup_in",
    "lookup_shared",
    "make_table",
    "quiet",
    "report_argument",
    "running_slices",
    "tiny_task",
    "worker_pid",
]


def report_argument(task_id: object, n: int = 1000) -> str:
    """Do a little work and return the line the seed printed: ``'Process 0 started'``.

    Returned, not printed, so the parent prints it: lines printed by workers arrive in a
    different order on every run. Called as ``report_argument((0,))`` it says
    ``'Process (0,) started'`` - which is what ``pool.map(f, [(0,), (1,)])`` does.
    """
    sum(range(n))
    return f"Process {task_id} started"


def cpu_seconds(task_id: int) -> float:
    """Run ``cpu_task(task_id)`` and return the CPU time this process spent on it (seconds).

    Summed over a pool run and divided by the run's wall time, this says how many cores
    the pool really got: about 2.0 on two free cores, about 1.0 while another program
    keeps one of them busy. A speed-up can be no larger than that.
    """
    start = time.process_time()
    cpu_task(task_id)
    return time.process_time() - start


def worker_pid(_: object = None) -> int:
    """Return the id of the process that ran this call (count them; don't print them)."""
    return os.getpid()


def _check_record(task_id: int) -> None:
    if task_id == 3:
        raise ValueError(f"record {task_id} is corrupt")


def fragile_task(task_id: int) -> str:
    """Return ``'record N ok'``, except for task 3, which raises ``ValueError`` in the worker.

    The error comes from a helper one call deeper, so the traceback the parent shows has
    the worker's own frames in it.
    """
    _check_record(task_id)
    return f"record {task_id} ok"


def kill_worker(task_id: object = None, exit_code: int = 1) -> None:
    """End the worker process at once, as a crash or the out-of-memory killer would.

    ``os._exit`` skips every ``finally`` and ``except``: the worker cannot report back.
    """
    os._exit(exit_code)


def quiet() -> None:
    """Pool ``initializer``: send this worker's stderr (Python's and the file's) to devnull.

    A worker that fails before it can run a task (it cannot import the function, say)
    prints its traceback to stderr, where it mixes into a notebook's output at an
    unpredictable moment. The lesson shows that failure with this initializer so that its
    page reads the same on every run; the parent still gets ``BrokenProcessPool``.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker


def fork_context() -> BaseContext | None:
    """Return ``multiprocessing.get_context("fork")``, or ``None`` where there is no fork.

    Windows has no fork. A lesson that shows what fork does asks for it explicitly (an
    executor's ``mp_context=``), so the demonstration is the same whatever the default start
    method is (spawn on macOS, forkserver on Linux from Python 3.14).
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork")


def make_table(size: int) -> list[int]:
    """Build a read-only lookup table of ``size`` integers (big enough to be costly to send)."""
    return [(i * 7919) % 10_007 for i in range(size)]


_table: list[int] | None = None
_loads = 0


def load_table(size: int) -> None:
    """Pool ``initializer``: build the table once, in each worker, as a module global."""
    global _table, _loads
    _table = make_table(size)
    _loads += 1


def lookup_shared(i: int) -> tuple[int, int]:
    """Look up entry ``i`` in the table :func:`load_table` built in this worker.

    Returns ``(value, loads)``: ``loads`` is how many times this worker built the table
    (1 with an initializer: once per worker, not once per task).
    """
    if _table is None:
        raise RuntimeError("no table in this worker: start the pool with initializer=load_table")
    return _table[i % len(_table)], _loads


def lookup_in(i: int, table: list[int]) -> int:
    """Look up entry ``i`` in ``table``, which was pickled and sent along with this task."""
    return table[i % len(table)]


def tiny_task(x: int) -> int:
    """Square ``x``: far less work than sending the task to another process."""
    return x * x


def running_slices(
    task_id: object = None,
    n: int = CPU_TASK_N,
    *,
    chunk: int = 10_000,
    gap: float = 0.5e-3,
) -> list[tuple[float, float]]:
    """Sum ``range(n)`` (scaled, like ``cpu_task``) and return the slices of time it ran in.

    The work is done in chunks of ``chunk`` numbers (about a tenth of a millisecond each).
    After every chunk the clock is read: when more than ``gap`` seconds passed since the
    previous reading, something else ran meanwhile (another thread holding the GIL, or
    another process on the core), so the current slice ends and a new one begins. Times
    are ``time.perf_counter()`` values, comparable across threads and processes.
    """
    total = scaled_count(n)
    slices: list[tuple[float, float]] = []
    start = last = time.perf_counter()
    fastest = float("inf")
    for lo in range(0, total, chunk):
        sum(range(lo, min(lo + chunk, total)))
        now = time.perf_counter()
        step = now - last
        if step > gap and fastest < step:
            # paused: the slice ended at `last`; the new one began one chunk before `now`
            # (until one chunk has been timed there is no yardstick, so no pause is seen)
            slices.append((start, last))
            start = now - fastest
        else:
            fastest = min(fastest, step)
        last = now
    slices.append((start, last))
    return [(a, b) for a, b in slices if b > a]


# -- a large array: sent pickled with every task, or mapped once (lesson 04) -----------------
def crc_of_slice(data: bytes, start: int, stop: int) -> int:
    """CRC-32 of ``data[start:stop]``; the whole ``data`` travelled here pickled."""
    return zlib.crc32(memoryview(data)[start:stop])


def crc_of_mapped_slice(path: str, start: int, stop: int) -> int:
    """CRC-32 of bytes ``start:stop`` of the file ``path``, read through a memory map: only
    a path and two numbers travelled here; the operating system shares the file's pages
    between every process that maps it, so the array is in memory once, not once per task."""
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
        return zlib.crc32(view[start:stop])
