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

Pure Python, no imports beyond the standard library: cheap to import anywhere, and the
plots in :mod:`concurrency_lab.view.plotting` use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "amdahl_speedup",
    "efficiencies",
    "efficiency",
    "fit_serial_fraction",
    "speedup",
    "speedups",
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
