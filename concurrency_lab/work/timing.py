"""Measuring wall time honestly, and writing durations the same way everywhere.

``time.perf_counter()`` is the clock for measuring *durations*: monotonic (it never jumps
back when the system clock is adjusted) and high resolution. ``time.time()`` tells the
date, not durations. :class:`Stopwatch` wraps ``perf_counter`` in a ``with`` block.

Every duration the course prints goes through :func:`fmt_seconds` (and every ratio
through :func:`fmt_ratio`), so one sanitize rule (``tests/sanitize.cfg``) can mask timing
figures when notebooks are compared at test scale, and nothing else.
"""

from __future__ import annotations

import time
from types import TracebackType


def fmt_seconds(seconds: float) -> str:
    """Format a duration for people: ``'8.01 s'``, ``'15.3 ms'``, ``'42 µs'``.

    The unit sets the precision, not a number of significant digits: from 0.1 s up,
    hundredths of a second (``'0.10 s'``, ``'12.34 s'``); from 1 ms, tenths of a
    millisecond (``'1.0 ms'``); below that, whole microseconds.
    """
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_ratio(ratio: float) -> str:
    """Format a ratio of two timings (a speed-up, a concurrency): ``'2.67×'``."""
    return f"{ratio:.2f}×"


class Stopwatch:
    """Measure the wall time of a ``with`` block using ``time.perf_counter``.

    >>> with Stopwatch() as sw:
    ...     pass
    >>> sw.elapsed >= 0
    True

    ``elapsed`` is live while the block runs and frozen when it ends.
    """

    def __init__(self) -> None:
        self.start: float | None = None
        self.end: float | None = None

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.end = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.end = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since the block started (or its total, once it has ended)."""
        if self.start is None:
            raise RuntimeError("Stopwatch has not been started: use it in a `with` block")
        end = time.perf_counter() if self.end is None else self.end
        return end - self.start

    def __str__(self) -> str:
        return fmt_seconds(self.elapsed)
