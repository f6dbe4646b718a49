"""Every notebook runs to the end under every multiprocessing start method.

nbval compares outputs under ``fork`` (see conftest). Here each lesson, solution and
exercise notebook is executed again under ``spawn`` (macOS, Windows) and ``forkserver``
(Linux from Python 3.14), with a per-cell timeout: a pool that hangs because a function
defined in a cell cannot be pickled fails the test instead of blocking it. Outputs are
not compared (lesson 00 prints the start method itself); what is checked is that no
cell raised unless it is tagged ``raises-exception``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from concurrency_lab.nbrun import execute_notebook
from concurrency_lab.nbtesting import ROOT, kernel_env

NOTEBOOKS = sorted(
    p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).glob("*.ipynb")
)
CELL_TIMEOUT = 60


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2, "no notebooks found: the course folders are empty"


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_runs_under_start_method(path: Path, method: str) -> None:
    nb = execute_notebook(path, env=kernel_env(method), timeout=CELL_TIMEOUT)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors and "raises-exception" not in cell.metadata.get("tags", []):
            raise AssertionError(
                f"{path.name} cell {i} raised {errors[0].ename}: {errors[0].evalue}"
            )
