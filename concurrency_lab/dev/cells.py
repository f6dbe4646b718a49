"""Run a student's answer the way a notebook runs it: as cells in an IPython shell.

Checker self-tests must judge answers *as students write them*. A class or function
defined in a notebook cell is not the same object as one defined in a test module: its
``__module__`` is ``'__main__'``, :func:`inspect.getsource` cannot find a class's source,
a spawned pool worker cannot import it, and ``%%writefile`` cells write real files that
workers then import. Defining answers in a test module hides all of that (that is how a
source-reading check once went unnoticed), so the self-tests run every answer through
:func:`run_cells`:

.. code-block:: python

    ns = run_cells(
        "from concurrency_lab.exercises.lesson01 import q2",
        '''
        import time
        class Timer:
            def __enter__(self):
                self.start = time.perf_counter()
                return self
            def __exit__(self, *exc):
                self.elapsed = time.perf_counter() - self.start
        ''',
    )
    assert q2.verdict(ns["Timer"]).ok

Each call gets a fresh shell (its own ``__main__`` namespace) working in a fresh temporary
folder that is first on ``sys.path``, as a notebook's own folder is; files written by
``%%writefile`` land there. A cell that raises makes :func:`run_cells` raise
:class:`CellError` with the cell and its traceback, so a broken *test answer* fails loudly
instead of being judged.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CellError", "answer", "notebook_folder", "run_cells"]


class CellError(RuntimeError):
    """A cell of a self-test answer raised (the answer itself is broken, not judged)."""


@contextlib.contextmanager
def notebook_folder(folder: Path | None = None) -> Iterator[Path]:
    """Work in ``folder`` (default: a new temporary one), first on ``sys.path``, like a kernel."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="answer-")))
        old_cwd = Path.cwd()
        os.chdir(folder)
        sys.path.insert(0, str(folder))
        try:
            yield folder
        finally:
            os.chdir(old_cwd)
            with contextlib.suppress(ValueError):
                sys.path.remove(str(folder))


def _shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no sqlite file per test shell
    shell = InteractiveShell(config=config)
    # Every shell asks to be reset when Python exits, and each reset runs gc.collect():
    # with hundreds of shells that kept a pytest worker busy for over ten seconds after its
    # last test (until xdist killed it). A test shell has nothing to save.
    atexit.unregister(shell.atexit_operations)
    return shell


def run_cells(*cells: str, folder: Path | None = None) -> dict[str, Any]:
    """Run ``cells`` in order in a fresh IPython shell; return the shell's namespace.

    Cells are dedented, so they can be written as indented triple-quoted strings. When
    ``folder`` is given the cells run there (and it stays); otherwise in a temporary folder
    that is removed afterwards — so use ``folder`` when the answer writes a module that a
    pool must import *after* this call returns.
    """
    shell = _shell()
    with notebook_folder(folder):
        for n, cell in enumerate(cells, 1):
            source = textwrap.dedent(cell).strip("\n")
            result = shell.run_cell(source, store_history=False, silent=True)
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                problem = f"cell {n} raised {type(error).__name__}: {error}"
                raise CellError(f"{problem}\n{source}") from error
    return shell.user_ns


def answer(name: str, *cells: str, folder: Path | None = None) -> Any:
    """Run ``cells`` (see :func:`run_cells`) and return the object they named ``name``."""
    namespace = run_cells(*cells, folder=folder)
    try:
        return namespace[name]
    except KeyError:
        raise CellError(f"the cells defined no {name!r}") from None
