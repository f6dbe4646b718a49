"""The one function a check sends to a spawned worker along with the student's function.

It imports only :mod:`os`: every spawned worker imports this module before it can run
anything, so keeping it bare keeps the worker's start-up short.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["call_in_worker"]


def call_in_worker(fn: Callable[[Any], Any], arg: Any) -> tuple[int, Any]:
    """Return ``(process id, fn(arg))``: the result, and which process computed it."""
    return os.getpid(), fn(arg)
