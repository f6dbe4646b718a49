"""N concurrent waits as N threads or N asyncio tasks: wall time, CPU time and peak memory.

Lesson 06 compares the two for 10, 1 000 and 10 000 waits. Each measurement runs in a
**fresh Python process** (:func:`measure_waits`): memory freed by an earlier run is kept
by the allocator for reuse and would hide the cost of the next, and a thread limit must
not hurt the caller. The child imports asyncio only when it measures asyncio, so that a
threads run starts quickly. Import what you need from here (:mod:`concurrency_lab.work.aio`
does not re-export it).
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from concurrency_lab.work.tasks import io_task_with_return
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "COUNTS",
    "KINDS",
    "WaitsMeasurement",
    "compare_threads_asyncio",
    "fmt_bytes",
    "max_overlap",
    "measure_waits",
]

KINDS = ("threads", "asyncio")
"""The two ways :func:`measure_waits` can wait: one thread per wait, or one asyncio task."""

COUNTS = (10, 1_000, 10_000)
"""How many concurrent waits lesson 06 compares."""


def max_overlap(spans: Iterable[tuple[float, float] | Event]) -> int:
    """The largest number of ``(start, end)`` spans (or events) running at the same instant.

    A span that ends exactly when another starts does not overlap it. Use it to check a
    semaphore's cap (``max_overlap(tl.events) <= 3``).
    """
    points: list[tuple[float, int]] = []
    for span in spans:
        start, end = (span.start, span.end) if isinstance(span, Event) else span
        points += [(start, 1), (end, -1)]
    running = best = 0
    for _, step in sorted(points):  # at equal times, -1 sorts first: ends before starts
        running += step
        best = max(best, running)
    return best


def fmt_bytes(n: float) -> str:
    """Format a memory size for people, always in binary units: ``'0.8 KiB'``, ``'158 MiB'``."""
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if abs(n) < 100 else f"{n:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class WaitsMeasurement:
    """What one run of N concurrent waits cost, as measured in its own Python process.

    ``wall``: seconds from creating the first waiter to the end of the last one.
    ``peak_memory``: the process's peak resident memory (bytes) during the run minus its
    size just before (see :func:`measure_waits`). ``in_flight``: the most waits that were
    waiting at the same instant (``n`` if they all overlapped). ``started``: how many
    waiters could be started; ``error`` says why, if not all of them. ``cpu``: CPU seconds
    the process used during the run, in all its threads (``time.process_time``): the work
    of creating, switching and ending the waiters, which another busy program cannot
    inflate the way it inflates ``wall``.
    """

    kind: str
    n: int
    seconds: float
    wall: float
    peak_memory: int
    in_flight: int
    started: int
    error: str | None = None
    cpu: float = 0.0

    @property
    def memory_per_wait(self) -> float:
        """Peak memory divided by the number of waits, in bytes."""
        return self.peak_memory / self.n if self.n else 0.0

    def __str__(self) -> str:
        text = (
            f"{self.n} waits with {self.kind}: wall {fmt_seconds(self.wall)}, "
            f"peak memory +{fmt_bytes(self.peak_memory)}"
        )
        return text if self.error is None else f"{text} ({self.error})"


def _peak_rss() -> int:
    """This process's peak resident set size so far, in bytes (the same way for both kinds).

    Linux: ``VmHWM`` from ``/proc/self/status``. Not ``getrusage``: there ``ru_maxrss`` also
    carries the peak of the process that started this one (the Jupyter kernel, ~100 MiB),
    inherited through ``exec``, which would hide everything smaller. macOS: ``getrusage``
    (bytes). Windows: ``psutil``'s peak working set.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # the line reads "VmHWM:  1234 kB"
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        import psutil

        return int(psutil.Process().memory_info().peak_wset)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # other Unix: KiB


def _reset_peak_rss() -> None:
    """Make the peak so far equal the current resident size (Linux only; else a no-op).

    Without it, a peak reached earlier in the process (importing modules, say) could hide
    a smaller run's peak. Writing ``5`` to ``/proc/self/clear_refs`` resets it (Linux 4.0+).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _run_threads(
    n: int, seconds: float, spans: list[tuple[float, float]]
) -> tuple[int, str | None]:
    def wait(i: int) -> None:
        start = time.perf_counter()
        io_task_with_return(i, seconds=seconds, verbose=False)
        spans.append((start, time.perf_counter()))

    threads: list[threading.Thread] = []
    error = None
    for i in range(n):
        thread = threading.Thread(target=wait, args=(i,), name=f"wait-{i}")
        try:
            thread.start()
        except RuntimeError as exc:  # "can't start new thread": an OS or container limit
            error = f"{type(exc).__name__} after {i} threads: {exc}"
            break
        threads.append(thread)
    for thread in threads:
        thread.join()
    return len(threads), error


async def _run_tasks(n: int, seconds: float, spans: list[tuple[float, float]]) -> int:
    import asyncio

    from concurrency_lab.work.aio import io_task

    async def wait(i: int) -> None:
        start = time.perf_counter()
        await io_task(i, seconds=seconds, verbose=False)
        spans.append((start, time.perf_counter()))

    tasks = [asyncio.create_task(wait(i), name=f"wait-{i}") for i in range(n)]
    await asyncio.gather(*tasks)
    return len(tasks)


def _measure_here(kind: str, n: int, seconds: float) -> WaitsMeasurement:
    """Run the N waits in *this* process (the child started by :func:`measure_waits`)."""
    spans: list[tuple[float, float]] = []
    error = None
    gc.collect()
    _reset_peak_rss()
    before = _peak_rss()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if kind == "threads":
        started, error = _run_threads(n, seconds, spans)
    else:
        import asyncio

        started = asyncio.run(_run_tasks(n, seconds, spans))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return WaitsMeasurement(
        kind=kind,
        n=n,
        seconds=seconds,
        wall=wall,
        peak_memory=max(0, _peak_rss() - before),
        in_flight=max_overlap(spans),
        started=started,
        error=error,
        cpu=cpu,
    )


def measure_waits(kind: str, n: int, *, seconds: float = 1.0) -> WaitsMeasurement:
    """Start ``n`` concurrent waits of ``seconds`` (nominal, scaled) as threads or tasks.

    ``kind='threads'``: one ``threading.Thread`` per wait, each running the blocking
    :func:`~concurrency_lab.work.tasks.io_task_with_return`. ``kind='asyncio'``: one asyncio
    task per wait, each awaiting :func:`io_task`. All are started as fast as possible,
    then all are waited for.

    Each measurement runs in a **fresh Python process**, so that memory freed by an
    earlier run (which the allocator keeps for reuse) cannot hide the cost of the next,
    and a thread limit cannot hurt the caller. Memory is the peak resident set size of
    that process during the run minus its size before (Linux: ``VmHWM``, reset first;
    macOS: ``getrusage``; Windows: ``psutil``'s peak working set): the same measure for both
    kinds. ``cpu`` is the process's CPU time during the run. Memory counts the pages
    actually touched — for threads, the touched part of each 8 MiB stack, not the
    reserved address space, and not the kernel's own per-thread memory.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    code = (
        "import sys; from concurrency_lab.work.waits import _child_main; "
        "_child_main(sys.argv[1:])"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, kind, str(n), repr(float(seconds))],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(
            f"measuring {n} waits with {kind} failed (exit code {child.returncode}):\n"
            f"{child.stderr.strip()[-2000:]}"
        )
    return WaitsMeasurement(**json.loads(child.stdout.strip().splitlines()[-1]))


def compare_threads_asyncio(
    counts: Sequence[int] = COUNTS, *, seconds: float = 1.0
) -> dict[str, list[WaitsMeasurement]]:
    """Measure every count with threads, then with asyncio; ``{'threads': [...], ...}``.

    The measurements run one after the other, each in its own process (see
    :func:`measure_waits`), so they do not compete for the CPU.
    """
    return {kind: [measure_waits(kind, n, seconds=seconds) for n in counts] for kind in KINDS}


def _child_main(argv: list[str]) -> None:
    kind, n, seconds = argv[0], int(argv[1]), float(argv[2])
    if kind == "asyncio":  # import before measuring: the import is not the tasks' cost
        import concurrency_lab.work.aio  # noqa: F401
    print(json.dumps(asdict(_measure_here(kind, n, seconds))))
