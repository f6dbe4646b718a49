"""Copy the course *as shipped* into a folder, so tests run it without touching the checkout.

``python -m concurrency_lab.dev.stage build/nbtest`` writes::

    build/nbtest/notebooks/   the lessons, as committed
    build/nbtest/solutions/   the answered exercises, as committed
    build/nbtest/exercises/   generated afresh from solutions/ (what a new student gets)

Two reasons. A student's checkout has *answered* exercises — ``make test`` must test the
course, not their answers, so exercises come from ``solutions/``. And notebooks that write
modules with ``%%writefile`` write them next to themselves: in a copy, the source tree
stays clean, and each run can have its own copy (:func:`stage` into a temporary folder),
so two runs of one notebook never share a half-written file.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Iterable
from pathlib import Path

import nbformat

from concurrency_lab.dev.generate import make_exercise
from concurrency_lab.dev.nbtesting import ROOT

FOLDERS = ("notebooks", "solutions", "exercises")


def stage(dest: Path, folders: Iterable[str] = FOLDERS, *, root: Path = ROOT) -> Path:
    """Copy ``folders`` of the shipped course under ``dest`` (replacing what was there)."""
    dest.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        if folder not in FOLDERS:
            raise ValueError(f"unknown folder {folder!r}; expected some of {FOLDERS}")
        target = dest / folder
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        if folder == "exercises":
            for solution in sorted((root / "solutions").glob("*.ipynb")):
                nb = make_exercise(nbformat.read(solution, as_version=4))
                nbformat.write(nb, target / solution.name)
        else:
            for path in sorted((root / folder).glob("*.ipynb")):
                shutil.copy2(path, target / path.name)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write (e.g. build/nbtest)")
    args = parser.parse_args(argv)
    stage(args.dest)
    print(f"staged {', '.join(FOLDERS)} into {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
