"""Which CPython build is running: one with the GIL, or a free-threaded one?

Since Python 3.13 CPython comes in two builds (PEP 703; PEP 779 made the free-threaded
one officially supported in 3.14):

* **The GIL build** (what ``python.org`` installers, distributions and ``pyenv`` give by
  default). One global interpreter lock lets only one thread run Python bytecode at a
  time, so threads overlap *waiting* but not *Python computing*.
* **The free-threaded build** (``python3.13t``, ``python3.14t``). No GIL: threads run
  Python bytecode on several cores at once. Races that the GIL made rare become common.
  An extension module that has not declared itself safe without the GIL makes the
  interpreter switch the GIL back on when it is imported (so does ``PYTHON_GIL=1`` or
  ``-X gil=1``).

``sys._is_gil_enabled()`` (3.13+) tells whether the GIL is on *right now*; the build
itself is recorded in ``sysconfig.get_config_var("Py_GIL_DISABLED")``. The lessons call
:func:`gil_enabled`, :func:`free_threaded_build` and :func:`describe_build` so every cell
can say which case the student is in and stay correct in both.

Standard library only: worker processes may import this module.
"""

from __future__ import annotations

import platform
import sys
import sysconfig

__all__ = ["describe_build", "free_threaded_build", "gil_enabled"]


def gil_enabled() -> bool:
    """Return whether the GIL is enabled in this process right now.

    Uses ``sys._is_gil_enabled()`` where it exists (3.13+). Before 3.13 every CPython
    had a GIL, so the answer is ``True``.
    """
    probe = getattr(sys, "_is_gil_enabled", None)
    if probe is None:
        return True
    return bool(probe())


def free_threaded_build() -> bool:
    """Return whether this interpreter was built free-threaded (``Py_GIL_DISABLED``).

    ``True`` for ``python3.13t`` / ``python3.14t`` even when the GIL was switched back on
    at run time; see :func:`gil_enabled` for the current state.
    """
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def describe_build() -> str:
    """One line naming the interpreter, its build and the state of the GIL.

    For example ``'CPython 3.14.10, GIL build (the GIL is on)'``, or on a free-threaded
    interpreter ``'CPython 3.14.0, free-threaded build, GIL off'``.
    """
    who = f"{platform.python_implementation()} {platform.python_version()}"
    if not free_threaded_build():
        return f"{who}, GIL build (the GIL is on)"
    if gil_enabled():
        return (
            f"{who}, free-threaded build, but the GIL was re-enabled "
            "(an extension module, PYTHON_GIL=1 or -X gil=1 asked for it)"
        )
    return f"{who}, free-threaded build, GIL off"
