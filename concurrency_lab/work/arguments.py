"""The one whole-number check, shared by the work code and the exercise checks.

``batch_files(paths, 7.5)``, ``batch_files(paths, True)`` and ``batch_files(paths, 0)`` are
bugs, while ``batch_files(paths, numpy.int64(3))`` is not: any *integral* number type
(``int``, NumPy's integers, anything registered as :class:`numbers.Integral`) is a whole
number; ``bool`` is refused although it is an ``int``, because ``True`` where a count is
expected is always a mistake. :func:`whole_number` raises a ``TypeError``/``ValueError``
naming the argument; :func:`is_whole_number` and :func:`is_real_number` only answer, for
checks that want to explain the problem themselves.

Standard library only: child processes import it.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["is_real_number", "is_whole_number", "whole_number"]


def is_whole_number(value: object) -> bool:
    """True for ``3``, ``numpy.int64(3)``; False for ``True``, ``3.0``, ``7.5``, ``"3"``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real_number(value: object) -> bool:
    """True for a finite real number of any type (``int``, ``float``, NumPy); not ``bool``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except (TypeError, ValueError, OverflowError):
        return False


def whole_number(name: str, value: object, *, minimum: int | None = 1) -> int:
    """``value`` as a plain ``int`` if it is a whole number ≥ ``minimum``; else raise.

    ``TypeError`` for anything that is not a whole number (``7.5``, ``"3"``, ``True``),
    ``ValueError`` for one below ``minimum`` (``None``: no lower bound). The message names
    the argument, so ``whole_number("n_batches", 7.5)`` tells the caller what to fix.
    """
    if not is_whole_number(value):
        raise TypeError(
            f"{name} must be a whole number (int), got {value!r} of type {type(value).__name__}"
        )
    number = int(value)  # type: ignore[call-overload]
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number
