"""Lesson 04's demos of where the GIL does *not* stop threads: C code, and subinterpreters.

"Threads don't speed up CPU work" is true of **Python bytecode** on a GIL build. Two cases
where it is not:

* **C code that releases the GIL.** ``hashlib`` lets go of the GIL while it hashes a
  buffer larger than 2 KiB (``zlib``, ``bz2``, ``lzma`` and NumPy's array loops do the same),
  so two threads hashing two big buffers use two cores. :func:`hash_buffers` measures it:
  wall time, and the CPU seconds the whole process received (``time.process_time()``
  counts every thread), whose ratio says how many cores were busy at once.
* **Subinterpreters** (Python 3.14, PEP 734): ``concurrent.futures.InterpreterPoolExecutor``
  runs each task in an interpreter of its own, with its own GIL, inside *one* process.
  :func:`run_in_interpreters` times two ``cpu_task`` s there; each task reports the CPU
  seconds of its own thread (:func:`thread_cpu_seconds`), because ``process_time()`` would
  count the other interpreters too.

Standard library only, and importable from a subinterpreter: an interpreter pool sends a
function by its module and name, and each interpreter imports this module.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from concurrency_lab.work.scale import scaled_count
from concurrency_lab.work.tasks import cpu_task

__all__ = [
    "HashRun",
    "InterpreterRun",
    "hash_buffers",
    "interpreters_available",
    "make_buffers",
    "run_in_interpreters",
    "thread_cpu_seconds",
]

BUFFER_BYTES = 16 * 2**20
"""Each demo buffer holds 16 MiB: big enough that hashing it is all C code, small in memory."""

HASH_ROUNDS = 32
"""How many times each buffer is hashed at lecture scale (scaled, at least 2): half a GiB."""


def make_buffers(count: int = 2, size: int = BUFFER_BYTES) -> list[bytes]:
    """``count`` different buffers of ``size`` bytes (their content does not change the speed)."""
    return [bytes([i % 256]) * size for i in range(count)]


@dataclass(frozen=True)
class HashRun:
    """One way of hashing the buffers: how long it took and how much CPU it received."""

    wall: float
    cpu: float
    digests: tuple[str, ...]

    @property
    def cores(self) -> float:
        """CPU seconds per wall second: how many cores were hashing at once, on average."""
        return self.cpu / self.wall if self.wall > 0 else 0.0


def _sha256(buffer: bytes, rounds: int, out: list[str], slot: int) -> None:
    digest = hashlib.sha256()
    for _ in range(rounds):
        digest.update(buffer)  # one C call over 16 MiB, with the GIL released
    out[slot] = digest.hexdigest()


def hash_buffers(buffers: Sequence[bytes], *, threads: bool, rounds: int | None = None) -> HashRun:
    """sha256 each buffer ``rounds`` times over: one after the other, or one thread each.

    ``rounds`` defaults to :data:`HASH_ROUNDS` scaled by ``CONCURRENCY_LAB_SCALE``.
    ``hashlib`` releases the GIL while it hashes a large buffer, so with ``threads=True``
    the hashing runs on as many cores as there are buffers (and free cores). The CPU
    seconds are the whole process's (``time.process_time()`` counts every thread).
    """
    n = scaled_count(HASH_ROUNDS, minimum=2) if rounds is None else rounds
    digests = [""] * len(buffers)
    cpu0, t0 = time.process_time(), time.perf_counter()
    if threads:
        workers = [
            threading.Thread(target=_sha256, args=(b, n, digests, i)) for i, b in enumerate(buffers)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    else:
        for i, b in enumerate(buffers):
            _sha256(b, n, digests, i)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return HashRun(wall=wall, cpu=cpu, digests=tuple(digests))


def thread_cpu_seconds(task_id: int) -> float:
    """Run ``cpu_task(task_id)``; return the CPU seconds *this thread* spent on it.

    ``time.thread_time()`` counts only the calling thread, which is what a task in an
    interpreter pool (one thread per interpreter, all in one process) needs.
    """
    start = time.thread_time()
    cpu_task(task_id)
    return time.thread_time() - start


def interpreters_available() -> bool:
    """Whether this Python has ``concurrent.futures.InterpreterPoolExecutor`` (3.14+)."""
    return hasattr(concurrent.futures, "InterpreterPoolExecutor")


@dataclass(frozen=True)
class InterpreterRun:
    """Two ``cpu_task`` s in a loop, then in an interpreter pool of two."""

    loop: float
    pool: float
    cpu: float

    @property
    def cores(self) -> float:
        """The interpreters' CPU seconds per wall second of the pool run."""
        return self.cpu / self.pool if self.pool > 0 else 0.0


def run_in_interpreters(tasks: int = 2, workers: int = 2) -> InterpreterRun:
    """Time ``tasks`` ``cpu_task`` s in a loop, then in ``InterpreterPoolExecutor(workers)``.

    The pool's interpreters are started (by a first small task each) before the clock
    runs. Raises ``RuntimeError`` on a Python without interpreter pools.
    """
    if not interpreters_available():
        raise RuntimeError("InterpreterPoolExecutor needs Python 3.14 or newer")
    pool_cls = concurrent.futures.InterpreterPoolExecutor  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    for i in range(tasks):
        cpu_task(i)
    loop = time.perf_counter() - t0
    with pool_cls(max_workers=workers) as pool:
        list(pool.map(time.sleep, [0.05] * workers))  # start every interpreter now
        t0 = time.perf_counter()
        cpu = sum(pool.map(thread_cpu_seconds, range(tasks)))
        wall = time.perf_counter() - t0
    return InterpreterRun(loop=loop, pool=wall, cpu=cpu)
