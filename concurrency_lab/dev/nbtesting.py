"""The test-suite's notebook set-up, loaded as a pytest plugin (see ``pyproject.toml``).

``make test`` runs every notebook as shipped: lessons and solutions compared cell by cell
with their stored outputs (nbval), and every notebook run again under each multiprocessing
start method (``tests/test_start_methods.py``). This plugin does the three things those
runs need, and nothing else:

1. **The test scale, in one place.** :data:`TEST_SCALE` is put in the environment before
   any test runs (unless ``CONCURRENCY_LAB_SCALE`` is already set), so in-process tests,
   kernels and their children all see it.
2. **A kernel per start method.** :func:`install_kernels` writes three kernelspecs,
   ``concurrency-lab-fork`` / ``-spawn`` / ``-forkserver``, into a private folder on
   ``JUPYTER_PATH`` (your own JupyterLab never lists them). Each starts ipykernel after
   ``multiprocessing.set_start_method(...)`` — the start method a student on Linux before
   3.14 (fork), macOS/Windows (spawn) or Linux from 3.14 (forkserver) gets — and without
   ``PYTEST_CURRENT_TEST``, because ipykernel forwards fd-level output (spawned children,
   ``!cmd``) only when that variable is unset. nbval picks one with
   ``--nbval-kernel-name concurrency-lab-fork``.
3. **A count.** At the end: how many notebook cells nbval compared, ignored and skipped.

It is a plugin rather than a ``conftest.py`` so that it also applies when pytest is
pointed at a single notebook (``pytest --nbval --nbval-kernel-name concurrency-lab-fork
notebooks/02_threads.ipynb``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_SCALE = "0.02"
"""The fraction of lecture scale the tests run at (a 1–3 s wait becomes 20–60 ms)."""
START_METHODS = ("fork", "spawn", "forkserver")


def kernel_name(start_method: str) -> str:
    """The kernelspec name for ``start_method``: ``'concurrency-lab-spawn'``."""
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS}, got {start_method!r}")
    return f"concurrency-lab-{start_method}"


def _launcher(start_method: str) -> str:
    # What `python -m ipykernel_launcher` does, after choosing the start method.
    return (
        "import sys, multiprocessing\n"
        f"multiprocessing.set_start_method({start_method!r}, force=True)\n"
        "if sys.path[0] == '':\n"
        "    del sys.path[0]\n"
        "from ipykernel.kernelapp import launch_new_instance\n"
        "launch_new_instance()\n"
    )


def install_kernels(folder: Path) -> Path:
    """Write the three kernelspecs under ``folder/kernels`` and return ``folder``."""
    for method in START_METHODS:
        spec_dir = folder / "kernels" / kernel_name(method)
        spec_dir.mkdir(parents=True, exist_ok=True)
        argv = ["env", "-u", "PYTEST_CURRENT_TEST", sys.executable, "-c", _launcher(method)]
        spec = {
            "argv": [*argv, "-f", "{connection_file}"],
            "display_name": f"Python (course tests, {method})",
            "language": "python",
            "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return folder


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("CONCURRENCY_LAB_SCALE", TEST_SCALE)
    folder = install_kernels(Path(tempfile.mkdtemp(prefix="concurrency-lab-kernels-")))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(folder), os.environ.get("JUPYTER_PATH", "")) if p
    )


# --------------------------------------------------------------------------- the count
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
