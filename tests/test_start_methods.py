"""Every notebook runs to the end under every multiprocessing start method.

nbval compares the lessons' and solutions' outputs under ``fork`` (see
``concurrency_lab.dev.nbtesting``). Here each of them is executed again under ``spawn``
(macOS, Windows) and ``forkserver`` (Linux from Python 3.14), and each exercise notebook
under all three, with a per-cell timeout: a pool that hangs because a function defined
in a cell cannot be pickled fails the test instead of blocking it.

Outputs are not compared here (lesson 00 prints the start method itself). What is
checked: no cell raised unless it is tagged ``raises-exception``; and in an exercise
notebook, which has only stubs, every check reports "not attempted".
"""

from __future__ import annotations

from pathlib import Path

from concurrency_lab.dev.nbrun import execute_notebook
from concurrency_lab.dev.nbtesting import ROOT, START_METHODS, kernel_env, one_run_at_a_time

CELL_TIMEOUT = 60
RUNS = [
    (path, method)
    for folder, methods in (
        ("notebooks", ("spawn", "forkserver")),
        ("solutions", ("spawn", "forkserver")),
        ("exercises", START_METHODS),
    )
    for path in sorted((ROOT / folder).glob("*.ipynb"))
    for method in methods
]


def test_every_folder_has_notebooks() -> None:
    for folder in ("notebooks", "solutions", "exercises"):
        assert list((ROOT / folder).glob("*.ipynb")), f"{folder}/ has no notebooks"


def _text(output: dict) -> str:
    if output.output_type == "stream":
        return output.text
    return output.get("data", {}).get("text/plain", "")


class _RunsUnderStartMethod:
    """One notebook under one start method (a class each: see the note below)."""

    path: Path
    method: str

    def test_runs_to_the_end(self) -> None:
        path = self.path
        with one_run_at_a_time(path):  # nbval and the other methods run it too, in parallel
            nb = execute_notebook(path, env=kernel_env(self.method), timeout=CELL_TIMEOUT)
        checks = 0
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and "raises-exception" not in cell.metadata.get("tags", []):
                raise AssertionError(f"{path.name} cell {i} raised {errors[0].ename}")
            if path.parent.name == "exercises" and ".check(" in cell.source:
                checks += 1
                shown = "".join(_text(o) for o in cell.outputs)
                assert "Not attempted" in shown, f"{path.name} cell {i}: {shown!r}"
        if path.parent.name == "exercises":
            assert checks >= 3, f"{path.name} has {checks} check cells; a lesson needs 3 or more"


# One test class per (notebook, start method) rather than one parametrized function:
# `make test` spreads tests over workers with `--dist loadscope`, which keeps a class
# together (and keeps each nbval notebook, whose cells share a kernel, on one worker).
# A single parametrized function would be one scope, run by a single worker.
for _path, _method in RUNS:
    _name = f"Test_{_path.parent.name}_{_path.stem}_{_method}"
    globals()[_name] = type(_name, (_RunsUnderStartMethod,), {"path": _path, "method": _method})
