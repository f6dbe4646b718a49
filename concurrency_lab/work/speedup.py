"""Speed-up, efficiency and Amdahl's law: the arithmetic behind "how much faster?".

* **Speed-up** with ``n`` workers is ``sequential wall time / wall time with n workers``:
  ``2.0`` means twice as fast.
* **Efficiency** is ``speed-up / n``: the share of each worker that did useful work.
  ``1.0`` is perfect; ``0.5`` means half of the workers' time was wasted (waiting for a
  core, for data, for each other).
* **Amdahl's law**: if a fraction ``f`` of the work is serial (cannot be split), ``n``
  workers give at most ``1 / (f + (1 - f) / n)``, which never exceeds ``1 / f`` however
  many workers you add. :func:`fit_serial_fraction` finds the ``f`` that explains measured
  speed-ups best.
* **Judging a timing claim honestly.** A wall-time comparison ("the pool was faster than
  the loop") can be flipped by any other program that takes a core. :func:`when_given`
  judges such a claim only when the measurement shows the work really received the cores
  it needed (CPU seconds per wall second), and otherwise says, in words, why it was
  skipped. :func:`gil_check` judges "two threads compute on one core at a time" - true on
  a GIL build whatever the load, not a claim at all on a free-threaded build.

Pure Python, no imports beyond the standard library: cheap to import anywhere, and the
plots in :mod:`concurrency_lab.view.plotting` use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from concurrency_lab.work import build

__all__ = [
    "Check",
    "amdahl_speedup",
    "efficiencies",
    "efficiency",
    "fit_serial_fraction",
    "gil_check",
    "speedup",
    "speedups",
    "when_given",
]


def _positive_time(value: float, what: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of seconds, got {value!r}")
    return value


def _positive_workers(n: float) -> float:
    if isinstance(n, bool) or not isinstance(n, (int, float)):
        raise TypeError(f"a worker count must be a number, got {type(n).__name__}")
    if not math.isfinite(n) or n < 1:
        raise ValueError(f"a worker count must be at least 1, got {n!r}")
    return float(n)


def speedup(sequential: float, parallel: float) -> float:
    """How many times faster ``parallel`` seconds are than ``sequential`` seconds.

    >>> speedup(4.0, 2.0)
    2.0
    """
    return _positive_time(sequential, "the sequential wall time") / _positive_time(
        parallel, "a parallel wall time"
    )


def speedups(sequential: float, walltimes: Sequence[float]) -> list[float]:
    """The speed-up of each wall time in ``walltimes`` against ``sequential``."""
    if len(walltimes) == 0:
        raise ValueError("walltimes is empty: measure at least one run")
    return [speedup(sequential, w) for w in walltimes]


def efficiency(workers: float, speedup_value: float) -> float:
    """Speed-up per worker: ``1.0`` means every worker was busy with useful work.

    >>> efficiency(4, 3.0)
    0.75
    """
    return float(speedup_value) / _positive_workers(workers)


def efficiencies(workers: Sequence[float], speedup_values: Sequence[float]) -> list[float]:
    """:func:`efficiency` for each (worker count, speed-up) pair."""
    _check_pairs(workers, speedup_values)
    return [efficiency(n, s) for n, s in zip(workers, speedup_values, strict=True)]


def amdahl_speedup(n: float, serial_fraction: float) -> float:
    """Amdahl's law: the speed-up ``n`` workers give when ``serial_fraction`` cannot be split.

    >>> amdahl_speedup(2, 0.0)
    2.0
    >>> round(amdahl_speedup(1_000_000, 0.1), 3)  # never more than 1 / serial_fraction
    10.0
    """
    n = _positive_workers(n)
    f = float(serial_fraction)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"serial_fraction must be between 0 and 1, got {serial_fraction!r}")
    return 1.0 / (f + (1.0 - f) / n)


def fit_serial_fraction(workers: Sequence[float], speedup_values: Sequence[float]) -> float:
    """The serial fraction ``f`` for which Amdahl's law best fits the measured speed-ups.

    Amdahl's law, turned around, is linear in ``f``:
    ``1/S - 1/n = f * (1 - 1/n)``. This returns the least-squares ``f`` of that line,
    clipped to ``[0, 1]`` (a measurement slightly better than ideal gives ``0``). Points
    with one worker say nothing about ``f`` (both sides are 0), so at least one point
    must have more than one worker.

    Fit only the worker counts up to the number of cores: beyond that, workers wait for
    a core, which is not what Amdahl's law describes (:func:`~concurrency_lab.view.plotting.
    plot_speedup` does this for you when you tell it ``cores``).

    >>> round(fit_serial_fraction([1, 2, 4], [1.0, amdahl_speedup(2, 0.1),
    ...                                        amdahl_speedup(4, 0.1)]), 6)
    0.1
    """
    _check_pairs(workers, speedup_values)
    num = den = 0.0
    for n, s in zip(workers, speedup_values, strict=True):
        n = _positive_workers(n)
        s = float(s)
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"a speed-up must be a positive number, got {s!r}")
        x = 1.0 - 1.0 / n
        y = 1.0 / s - 1.0 / n
        num += x * y
        den += x * x
    if den == 0.0:
        raise ValueError("every point has 1 worker: measure at least one run with 2 or more")
    return min(1.0, max(0.0, num / den))


def _check_pairs(workers: Sequence[float], values: Sequence[float]) -> None:
    if len(workers) == 0:
        raise ValueError("workers is empty: give at least one worker count")
    if len(workers) != len(values):
        raise ValueError(
            f"workers has {len(workers)} values but there are {len(values)} measurements; "
            f"give one measurement per worker count"
        )


# -- judging timing claims on a machine that may be busy -----------------------------------


@dataclass(frozen=True)
class Check:
    """A claim about a measurement, and whether it could be judged on this run.

    ``str(check)`` is the sentence a lesson prints: ``'✓ claim (why it could be judged)'``,
    ``'✗ claim: not so, although ...'``, or, when the claim could not be judged, ``note``
    (why not, in words a student understands). ``ok`` is what a lesson asserts: false only
    when the claim was judged and failed - never because the machine was busy.
    """

    claim: str
    holds: bool
    judged: bool
    note: str

    @property
    def ok(self) -> bool:
        """True unless the claim was judged and did not hold."""
        return self.holds or not self.judged

    def __str__(self) -> str:
        if not self.judged:
            return self.note
        if self.holds:
            return f"✓ {self.claim} ({self.note})"
        return f"✗ {self.claim}: not so, although {self.note}"


def when_given(
    claim: str,
    holds: bool,
    *,
    cores_got: float,
    cores_needed: float = 1.6,
    who: str = "the pool",
    pace: float | None = None,
    pace_needed: float = 0.8,
) -> Check:
    """Judge a timing ``claim`` only if ``who`` really received ``cores_needed`` cores.

    ``cores_got`` is measured, not assumed: the CPU seconds the workers used divided by
    the wall time they took (``sum(cpu_seconds) / wall``). On a machine where another
    program holds a core it drops, and any speed-up with it - that is the machine's doing,
    not the code's, so the claim is then *skipped*, and the returned :class:`Check` says so::

        >>> print(when_given("the pool beat the loop", True, cores_got=1.9))
        ✓ the pool beat the loop (the pool got 1.9 cores)
        >>> print(when_given("the pool beat the loop", False, cores_got=1.1))
        your machine was busy: the pool got 1.1 cores, so this comparison is skipped \
— close other programs and re-run to see it

    ``pace``, when given, is how much work each of ``who``'s CPU seconds did, against a
    CPU second of the same task run alone in this process (the loop): 1.0 when the
    workers computed at full speed. CPU seconds are not all equal: on a shared machine (a
    virtual one, or cores shared with another program's threads) a worker can be charged
    a whole core while the hardware gives it much less, and then no code could show the
    speed-up. Below ``pace_needed`` the claim is skipped too, and the text says why.

    Use it as ``check = when_given(...); print(check); assert check.ok, check``.
    """
    got = float(cores_got)
    if math.isnan(got) or got < 0:
        raise ValueError(f"cores_got must be a number of cores (>= 0), got {cores_got!r}")
    if got >= cores_needed and pace is not None and pace < pace_needed:
        return Check(
            claim,
            bool(holds),
            False,
            f"your machine was busy: {who} got {got:.1f} cores, but each of its CPU seconds "
            f"did {pace:.2f} of the work one did in the loop (another program shared the "
            "cores), so this comparison is skipped — close other programs and re-run to see it",
        )
    if got >= cores_needed:
        return Check(claim, bool(holds), True, f"{who} got {got:.1f} cores")
    return Check(
        claim,
        bool(holds),
        False,
        f"your machine was busy: {who} got {got:.1f} cores, so this comparison is skipped "
        f"— close other programs and re-run to see it",
    )


def gil_check(threads_got: float, *, limit: float = 1.3, threads: int = 2) -> Check:
    """Judge "CPU-bound threads compute on one core at a time" - where it is a claim at all.

    ``threads_got`` is the CPU seconds the process used while ``threads`` threads ran
    Python code, divided by the wall time: how many cores they were computing on at once.

    * **GIL on** (:func:`concurrency_lab.work.build.gil_enabled`): only one thread runs
      Python bytecode at a time, so the figure stays at about 1 however quiet or busy
      the machine is (load can only lower it). Judged: it must stay below ``limit``.
    * **GIL off** (a free-threaded build, 3.13t/3.14t): the threads may run on several
      cores at once, so there is nothing to assert; the check is not judged and its text
      says what was measured and what that means.
    """
    got = float(threads_got)
    claim = f"{threads} threads computed on at most one core at a time"
    if build.gil_enabled():
        return Check(claim, got < limit, True, f"the GIL is on; they got {got:.2f} cores")
    return Check(
        claim,
        got < limit,
        False,
        f"no GIL in this Python ({build.describe_build()}): the {threads} threads got "
        f"{got:.2f} cores — they ran Python code in parallel, as threads do on a "
        f"free-threaded build, so the GIL claim does not apply here",
    )
