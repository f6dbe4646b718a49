"""The test-suite's notebook machinery, loaded as a pytest plugin (see pyproject.toml).

Three things happen here, for every pytest run in this repository:

1. **Kernels see fd-level output.** ipykernel forwards output written straight to file
   descriptor 1/2 (spawned children, ``!cmd``) only when ``PYTEST_CURRENT_TEST`` is unset.
   nbval's kernel would inherit it from pytest, so outputs under test would differ from
   what JupyterLab shows. :func:`kernel_env` builds a kernel environment without it, and
   nbval's ``start_new_kernel`` is wrapped to use that environment.
2. **One start method per kernel.** :func:`kernel_env` puts ``_startmethod/`` (a
   ``sitecustomize``) on ``PYTHONPATH`` and names the method. nbval's comparison run uses
   ``fork``; ``tests/test_start_methods.py`` runs every notebook under spawn and forkserver.
3. **A report.** At the end: how many notebook cells nbval compared, ignored and skipped.

It is a plugin rather than a ``conftest.py`` so that it also applies when pytest is
pointed at a single notebook (``pytest --nbval notebooks/02_threads.ipynb``).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTMETHOD_DIR = Path(__file__).resolve().parent / "_startmethod"
TEST_SCALE = "0.02"
START_METHODS = ("fork", "spawn", "forkserver")
NBVAL_START_METHOD = "fork"


def kernel_env(start_method: str) -> dict[str, str]:
    """The environment for a notebook kernel under test, forcing ``start_method``."""
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS}, got {start_method!r}")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.setdefault("CONCURRENCY_LAB_SCALE", TEST_SCALE)
    env["CONCURRENCY_LAB_START_METHOD"] = start_method
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(STARTMETHOD_DIR), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _wrap_nbval_kernel() -> None:
    try:
        import nbval.kernel as nbval_kernel
    except ImportError:  # nbval not installed: an nbval run would say so itself
        return
    original = nbval_kernel.start_new_kernel
    if getattr(original, "_concurrency_lab", False):
        return

    def start_new_kernel(*args, **kwargs):
        kwargs.setdefault("env", kernel_env(NBVAL_START_METHOD))
        return original(*args, **kwargs)

    start_new_kernel._concurrency_lab = True  # type: ignore[attr-defined]
    nbval_kernel.start_new_kernel = start_new_kernel


def nbval_mode(item: pytest.Item) -> str | None:
    """'compared', 'ignored' or 'skipped' for an nbval cell item; None for other items."""
    if type(item).__name__ != "IPyNbCell":
        return None
    options, cell = item.options, item.cell  # type: ignore[attr-defined]
    if options.get("skip"):
        return "skipped"
    # nbval silently compares nothing for a cell stored without an execution count
    if not options.get("check") or cell.get("execution_count") is None:
        return "ignored"
    return "compared"


_counts: Counter[str] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    _wrap_nbval_kernel()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    mode = nbval_mode(item)
    if mode is not None and report.when == "call":
        report.user_properties.append(("nbval_mode", mode))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == "nbval_mode":
            _counts["failed" if report.failed else value] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if getattr(config, "workerinput", None) is not None or not _counts:
        return  # an xdist worker (the controller reports), or no notebook ran
    terminalreporter.write_sep("-", "notebook cells")
    terminalreporter.write_line(
        f"nbval: {_counts['compared']} code cells compared with stored outputs, "
        f"{_counts['ignored']} run with output ignored, {_counts['skipped']} skipped, "
        f"{_counts['failed']} failed"
    )
