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

import contextlib
import hashlib
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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


@contextlib.contextmanager
def one_run_at_a_time(notebook: Path) -> Iterator[None]:
    """Hold a lock for ``notebook``: no two test runs execute the same notebook at once.

    ``make test`` runs a notebook up to three times in parallel workers (nbval under fork,
    then spawn and forkserver). A notebook that writes a module with ``%%writefile`` writes
    it next to itself; one run truncating the file while another imports it would see an
    empty module. The lock (an ``flock`` on a file in the temp folder) makes the runs of
    one notebook take turns; different notebooks still run side by side, and so do the runs
    of a notebook that writes no file.
    """
    try:
        import fcntl
    except ImportError:  # Windows: the tests use Linux/macOS tools anyway (README)
        yield
        return
    if "%%writefile" not in notebook.read_text(encoding="utf-8"):
        yield  # writes nothing next to itself: its runs may overlap
        return
    key = hashlib.sha1(str(notebook.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"concurrency_lab-{key}.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_held: dict[Path, contextlib.ExitStack] = {}


def _nbval_file(item: pytest.Item | None) -> Path | None:
    if item is None or type(item).__name__ != "IPyNbCell":
        return None
    return Path(item.parent.path)  # type: ignore[union-attr]


def pytest_runtest_setup(item: pytest.Item) -> None:
    path = _nbval_file(item)
    if path is not None and path not in _held:  # the notebook's first cell
        stack = contextlib.ExitStack()
        stack.enter_context(one_run_at_a_time(path))
        _held[path] = stack


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    path = _nbval_file(item)
    if path is not None and _nbval_file(nextitem) != path and path in _held:
        _held.pop(path).close()  # the notebook's last cell


def pytest_configure(config: pytest.Config) -> None:
    _wrap_nbval_kernel()


def _run_order(item: pytest.Item) -> tuple[int, int, int]:
    """Longest first: whole-notebook runs, then nbval's notebooks, then the unit tests.

    ``pytest -n 4 --dist loadscope`` hands out test scopes (a notebook, a class, a module)
    in collection order. With the longest first, the short ones fill the gaps at the end
    instead of one long notebook starting last and keeping the others waiting — the
    longest-processing-time-first rule of lesson 05, applied to the test suite. Within a
    group, later lessons first: they start pools and clusters, the early ones only sleep.
    """
    nodeid = item.nodeid
    found = re.search(r"(?:^|[/_])(\d\d)_[a-z]", nodeid)
    later_first = -int(found.group(1)) if found else 0
    # runs of the same notebook apart: all spawn runs, then all forkserver runs, ...
    method = next((i for i, m in enumerate(START_METHODS) if nodeid.count(f"_{m}::")), 0)
    groups = (
        "test_start_methods.py::Test_notebooks_",
        "notebooks/",
        "test_start_methods.py::Test_solutions_",
        "test_start_methods.py::Test_exercises_",
        "solutions/",
    )
    for rank, prefix in enumerate(groups):
        if prefix in nodeid if "::" in prefix else nodeid.startswith(prefix):
            return rank, method, later_first
    return len(groups), 0, 0


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    items.sort(key=_run_order)  # stable: the order within each group is kept


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
