"""The course's workloads: a simulated database call and a CPU-bound sum.

These are the seed notebook's ``io_task`` and ``cpu_task``, made fit for teaching:

* **Importable and picklable.** They live in a module, not a notebook cell, so a process
  pool can send them to a child under every start method. A pool pickles a function *by
  reference* (module and name, no code), and the child looks the name up in that
  module, importing it if needed. A child started by ``spawn`` or ``forkserver`` is not a
  copy of your notebook, so a function defined in ``__main__`` (a notebook cell) is not
  there: unpickling fails with ``AttributeError`` in the child.
* **Deterministic.** Task ``3`` always takes the same *nominal* time (1-3 s), on every
  run and every machine, because its duration comes from a random generator seeded by
  the task id. Different ids get different durations, so a timeline still looks lively.
* **Scalable.** The real wait is ``nominal x CONCURRENCY_LAB_SCALE``; prints always show
  the nominal seconds so a test run at scale 0.01 prints the same lines as a lecture.
* **Named for what they are.** They announce ``Task 3 started``: the seed printed
  ``Process 3 started`` even when the task ran in a thread, which misleads.

This module deliberately imports only the standard library: spawned children import it
at every pool start, and ``import matplotlib.pyplot`` alone takes about 0.4 s (measured
on the course's 2-vCPU build machine, Python 3.11, 2026-11-29).
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time

from concurrency_lab.work.scale import scaled_count, scaled_seconds

__all__ = [
    "CPU_TASK_N",
    "cpu_task",
    "io_task",
    "io_task_with_return",
    "nominal_duration",
    "result_of",
    "say",
    "wait_for_response",
]

CPU_TASK_N = 100_000_000
"""The seed's CPU workload: ``sum(range(100_000_000))``.

It keeps one core busy for about a second: 1.16 s of CPU time on the course's 2-vCPU build
machine (Python 3.11, measured 2026-11-29); the seed's own machine needed 4.21 s for two.
Lesson 01 measures it on your machine.
"""


def nominal_duration(task_id: object) -> int:
    """Return how many seconds (1, 2 or 3) task ``task_id`` waits at lecture scale.

    The generator is seeded with the text of the id, so the answer is the same in every
    run, every process and every Python version (string seeds are hashed with SHA-512,
    not with the per-process ``hash()``). Tasks 0-4 take 1, 1, 2, 1, 3 seconds: eight
    seconds in a loop, three when they overlap.
    """
    return random.Random(f"io-task:{task_id}").randint(1, 3)


def say(line: str) -> None:
    """Print ``line`` with a single write, so lines from concurrent workers never merge.

    ``print(x)`` performs two writes, ``x`` and then ``"\\n"``; another thread can write
    in between, which is how the seed's output ended up with two announcements on one
    line. One ``write`` of the whole line (plus a flush, so a child
    process does not hold the line in its buffer until it exits) avoids that.
    """
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def io_task(task_id: object, *, seconds: float | None = None, verbose: bool = True) -> None:
    """Simulate a database call: announce it, wait 1-3 seconds (scaled), announce the end.

    ``seconds`` overrides the seeded nominal duration (used for batches of short
    requests); ``verbose=False`` keeps quiet, for demos whose output must not depend on
    how threads happen to interleave. The CPU is idle during the wait, and other threads
    run meanwhile: on a GIL build ``time.sleep`` releases the GIL, just like waiting on a
    socket does.
    """
    io_task_with_return(task_id, seconds=seconds, verbose=verbose)


def io_task_with_return(
    task_id: object, *, seconds: float | None = None, verbose: bool = True
) -> str:
    """Like :func:`io_task`, but return the "database response": ``'result of task N'``."""
    wait_for_response(task_id, seconds=seconds, verbose=verbose)
    if verbose:
        say(f"Task {task_id} finished")
    return result_of(task_id)


def wait_for_response(
    task_id: object, *, seconds: float | None = None, verbose: bool = True
) -> None:
    """The waiting half of every simulated call: announce it, then sleep nominal × scale.

    ``seconds`` overrides the seeded nominal duration. Shared by :func:`io_task_with_return`
    and :func:`concurrency_lab.work.flaky.flaky_task`, which differ only in how they end.
    """
    nominal = nominal_duration(task_id) if seconds is None else seconds
    if verbose:
        say(f"Task {task_id} started, response in {nominal:g} second(s)")
    time.sleep(scaled_seconds(nominal))


def result_of(task_id: object) -> str:
    """What a successful simulated call returns: ``'result of task N'`` (checks expect it)."""
    return f"result of task {task_id}"


def cpu_task(task_id: object, n: int = CPU_TASK_N, *, verbose: bool = False) -> int:
    """Do CPU work: ``sum(range(n))`` with ``n`` scaled, and return the sum.

    ``sum(range(n))`` is a single call into C: the built-in ``sum`` walks the range in a
    C loop, with no Python bytecode per number. It does not release the GIL, so on a GIL
    build the thread holds it for the whole call and two threads cannot run it at once;
    two *processes* can. On a free-threaded build (3.13t, 3.14t) two threads can run it
    in parallel. At lecture scale ``n`` is the seed's 100 million (about a second of CPU
    on the course's machine; see :data:`CPU_TASK_N`); a smaller ``CONCURRENCY_LAB_SCALE``
    shrinks it. The returned sum depends on the scale, so notebooks show timings, not the
    sum itself.
    """
    if verbose:
        say(f"Task {task_id} started (pid {os.getpid()}, {threading.current_thread().name})")
    total = sum(range(scaled_count(n)))
    if verbose:
        say(f"Task {task_id} finished")
    return total
