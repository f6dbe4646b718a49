"""The test-suite's notebook set-up, loaded as a pytest plugin (see ``pyproject.toml``).

``make test`` runs every notebook as shipped: lessons and solutions compared cell by cell
with their stored outputs (nbval, under ``fork``), and run again under the other
multiprocessing start methods (``tests/test_start_methods.py``). This plugin does the
six things those runs need, and nothing else:

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
3. **Notebooks that start no process run once.** :data:`STARTS_NO_PROCESS` lists them
   (lessons, with their solutions and exercises); ``test_start_methods`` runs them under
   ``fork`` only, and their kernel there refuses to start a process (:func:`no_process`,
   used here for nbval's run), so the list cannot go stale.
4. **Check cells judged.** In a solutions notebook nbval runs each check cell (the
   nbgrader ``qN_check`` cell) but ignores its message, whose inputs change every run;
   :func:`pytest_runtest_makereport` fails that cell unless the message is a ✓ (or, on a
   starved machine, says it was too busy to judge).
5. **A notebook stays on one worker.** ``make test`` uses ``--dist loadscope``, and here
   a scope is a notebook (its cells share one kernel) or else a single test, which goes
   to whichever worker is free: :func:`scope_of`. (xdist's own scopes are modules and
   classes, which kept each checker's ~60 self-tests on one worker.) Long runs start
   first (:func:`run_order`), so that no worker is left with one at the end.
6. **A count.** At the end: how many notebook cells nbval compared, ignored and skipped,
   and how many notebooks ran under each start method.

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

# nbformat imports jsonschema, whose optional IRI checker rfc3987_syntax builds ~35 Lark
# parsers at import: about 1 s of CPU in every pytest process, for a format no notebook
# schema uses (python-jsonschema/jsonschema#1428). Test processes go without it; students'
# JupyterLab is unaffected.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

ROOT = Path(__file__).resolve().parents[2]
TEST_SCALE = "0.02"
"""The fraction of lecture scale the tests run at (a 1–3 s wait becomes 20–60 ms)."""
START_METHODS = ("fork", "spawn", "forkserver")
STARTS_NO_PROCESS = (
    "01_sequential_io.ipynb",
    "02_threads.ipynb",
    "03_futures.ipynb",
    "06_asyncio.ipynb",
)
"""Notebooks that start no ``multiprocessing`` process (threads, asyncio, ``subprocess``):
these lessons, their solutions and their exercises.

A start method only decides how a ``multiprocessing`` child is made, so these notebooks
run the same under all three and are run under ``fork`` only. That is enforced: under
``fork`` such a notebook gets a kernel in which starting a process raises."""
NO_PROCESS_ENV = "CONCURRENCY_LAB_STARTS_NO_PROCESS"


def kernel_name(start_method: str) -> str:
    """The kernelspec name for ``start_method``: ``'concurrency-lab-spawn'``."""
    if start_method not in START_METHODS:
        raise ValueError(f"start_method must be one of {START_METHODS}, got {start_method!r}")
    return f"concurrency-lab-{start_method}"


def refuse_processes(notebook: str) -> None:
    """Make starting a ``multiprocessing`` process raise (a kernel for ``notebook``)."""
    from multiprocessing.process import BaseProcess

    def start(self: BaseProcess) -> None:
        raise RuntimeError(
            f"{notebook} started a process, but it is listed in STARTS_NO_PROCESS "
            "(concurrency_lab/dev/nbtesting.py), so it is tested under fork only: "
            "take it off that list"
        )

    BaseProcess.start = start  # type: ignore[method-assign]


def _launcher(start_method: str) -> str:
    # What `python -m ipykernel_launcher` does, after choosing the start method.
    return (
        "import os, sys, multiprocessing\n"
        f"multiprocessing.set_start_method({start_method!r}, force=True)\n"
        f"if os.environ.get({NO_PROCESS_ENV!r}):\n"
        "    from concurrency_lab.dev.nbtesting import refuse_processes\n"
        f"    refuse_processes(os.environ[{NO_PROCESS_ENV!r}])\n"
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
    config.addinivalue_line("markers", "long: a test of 10 s or more, started early")


def scope_of(nodeid: str) -> str:
    """What must run on one worker: a notebook's cells (one kernel), else the test alone."""
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else nodeid


def run_order(item: pytest.Item) -> int:
    """Long runs first, so that no worker is left with one at the end: a notebook's cells
    (nbval), then the notebook runs of ``test_start_methods`` and tests marked ``long``,
    then the rest (each group in collection order)."""
    if nbval_mode(item) is not None:
        return 0
    if item.path.name == "test_start_methods.py" or item.get_closest_marker("long"):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=run_order)  # stable


@pytest.hookimpl(optionalhook=True)  # xdist's hook: absent under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # test tools only

    class NotebookScopes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return NotebookScopes(config, log)


def no_process(path: Path) -> dict[str, str]:
    """The environment a kernel for ``path`` needs: refuse processes if it is listed."""
    if path.name in STARTS_NO_PROCESS:
        return {NO_PROCESS_ENV: f"{path.parent.name}/{path.name}"}
    return {}


@pytest.hookimpl(tryfirst=True)  # before nbval starts the notebook's kernel
def pytest_runtest_setup(item: pytest.Item) -> None:
    os.environ.pop(NO_PROCESS_ENV, None)
    if nbval_mode(item) is not None:
        os.environ.update(no_process(item.path))


# --------------------------------------------------------------------------- check cells
def is_check_cell(item: pytest.Item) -> bool:
    """True for an nbval item that is a check cell (``qN_check``) of a solutions notebook."""
    if nbval_mode(item) is None or item.path.parent.name != "solutions":
        return False
    grade_id = item.cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")  # type: ignore[attr-defined]
    return grade_id.endswith("_check")


def check_message(outputs: list) -> str:
    """The plain text a check cell showed."""
    texts = []
    for output in outputs or ():
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        else:
            texts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def judged_right(message: str) -> bool:
    """A model answer's check: a ✓, or a machine too busy to judge it; never a ✗."""
    return ("✓" in message or "too busy" in message) and "✗" not in message


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
_runs: set[str] = set()


def _where(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    mode = nbval_mode(item)
    if mode is not None and report.when == "call":
        report.user_properties.append(("nbval_mode", mode))
        report.user_properties.append(("notebook_run", f"{_where(item.path)} fork"))
        if report.passed and is_check_cell(item):
            message = check_message(item.test_outputs)  # type: ignore[attr-defined]
            if not judged_right(message):
                report.outcome = "failed"
                report.longrepr = f"the model answer's check did not pass:\n{message}"
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == "nbval_mode":
            _counts["failed" if report.failed else value] += 1
        if key == "notebook_run":  # "notebooks/04_multiprocessing.ipynb spawn"
            _runs.add(value)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if getattr(config, "workerinput", None) is not None or not (_counts or _runs):
        return  # an xdist worker (the controller reports), or no notebook ran
    terminalreporter.write_sep("-", "notebooks")
    terminalreporter.write_line(
        f"nbval: {_counts['compared']} code cells compared with stored outputs, "
        f"{_counts['ignored']} run with output ignored, {_counts['skipped']} skipped, "
        f"{_counts['failed']} failed"
    )
    for method in START_METHODS:
        ran = Counter(run.split("/")[0] for run in _runs if run.endswith(f" {method}"))
        listed = ", ".join(f"{n} {folder}" for folder, n in sorted(ran.items()))
        terminalreporter.write_line(f"under {method}: {listed or 'none'}")
    terminalreporter.write_line(
        "start no process, so run under fork only (with their solutions and exercises): "
        + ", ".join(STARTS_NO_PROCESS)
    )
