"""One knob for every workload: the ``CONCURRENCY_LAB_SCALE`` environment variable.

Lecture scale is ``1`` (the default): an IO task waits its full 1-3 seconds and a CPU
task sums a hundred million numbers, so the timings an instructor shows are real.
A small scale (the test suite uses ``0.02``) shrinks every wait and every CPU workload;
the *shape* of every result stays the same, only the durations shrink. Fixed costs do
not shrink: starting Python processes and thousands of threads, importing modules,
drawing plots. So a notebook runs several times faster, not 50 times: lesson 06 took
48 s at lecture scale and 4.3 s at 0.02, about 11x (claims audit, 2026-11-29, on the
course's 2-vCPU build machine).

The value is read every time you ask for it (not once at import), so a test can change
the environment and a notebook can be re-run without restarting Python.
"""

from __future__ import annotations

import math
import os

ENV_VAR = "CONCURRENCY_LAB_SCALE"
DEFAULT_SCALE = 1.0


class ScaleError(ValueError):
    """Raised when ``CONCURRENCY_LAB_SCALE`` holds something that is not a positive number."""


def parse_scale(raw: str | None) -> float:
    """Turn the raw text of the environment variable into a scale factor.

    ``None`` or an empty string means "not set" and gives the default, 1.0.
    Anything else must be a finite number greater than zero; otherwise a
    :class:`ScaleError` names the variable and the offending value.

    >>> parse_scale("0.01")
    0.01
    >>> parse_scale(None)
    1.0
    """
    if raw is None or raw.strip() == "":
        return DEFAULT_SCALE
    try:
        value = float(raw)
    except ValueError:
        raise ScaleError(
            f"{ENV_VAR}={raw!r} is not a number; use a positive number such as 1 "
            f"(lecture scale) or 0.01 (quick test run)"
        ) from None
    if not math.isfinite(value) or value <= 0:
        raise ScaleError(
            f"{ENV_VAR}={raw!r} must be a finite number greater than 0; use 1 for "
            f"lecture scale or e.g. 0.01 for a quick test run"
        )
    return value


def get_scale() -> float:
    """Return the current scale factor read from ``CONCURRENCY_LAB_SCALE`` (default 1.0)."""
    return parse_scale(os.environ.get(ENV_VAR))


def scaled_seconds(seconds: float) -> float:
    """Return ``seconds`` multiplied by the current scale: how long to really wait."""
    return seconds * get_scale()


def scaled_count(n: int, minimum: int = 1) -> int:
    """Return the work size ``n`` multiplied by the current scale, never below ``minimum``."""
    return max(minimum, round(n * get_scale()))
