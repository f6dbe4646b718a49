"""Generate ``exercises/`` from ``solutions/``: the solutions notebooks are the source.

``make exercises`` runs ``python -m concurrency_lab.dev.generate``. For every
``solutions/NN_topic.ipynb`` it writes ``exercises/NN_topic.ipynb`` where, following
nbgrader's convention,

* each region between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a code cell
  becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` (same indentation);
  a cell whose stub raises at top level is tagged ``raises-exception`` so the exercise
  notebook still runs top to bottom (each check then reports "not attempted");
* a ``%%writefile module.py`` cell (an answer written as a module, for a process pool
  whose spawned workers must import it) is stubbed the same way but never tagged: running
  the cell only writes the file. Put the region inside a function body, so the file
  imports and the stub's ``NotImplementedError`` is raised where the function is called
  (the check reports "not attempted"; see :mod:`concurrency_lab.exercises.worker_modules`);
* the same region in a Markdown cell becomes ``YOUR ANSWER HERE``;
* outputs and execution counts are cleared; everything else is copied unchanged.

``--check`` writes nothing and exits 1 if a committed exercise differs from what would
be generated (the test-suite runs this, so exercises never drift from their solutions).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from concurrency_lab.exercises.core import BEGIN_SOLUTION, END_SOLUTION

ROOT = Path(__file__).resolve().parent.parent.parent
STUB_CODE = ("# YOUR CODE HERE", "raise NotImplementedError()")
STUB_MARKDOWN = "YOUR ANSWER HERE"
RAISES_TAG = "raises-exception"
WRITEFILE_MAGICS = ("%%writefile", "%%file")


class SolutionMarkerError(ValueError):
    """A ``BEGIN SOLUTION`` without its ``END SOLUTION`` (or the reverse)."""


def strip_solution(source: str, markdown: bool = False) -> tuple[str, bool]:
    """Replace solution regions in ``source``; return (new source, stub raises at top level)."""
    out: list[str] = []
    top_level_stub = False
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            if inside:
                raise SolutionMarkerError(f"line {number}: nested {BEGIN_SOLUTION}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if markdown:
                out.append(STUB_MARKDOWN)
            else:
                out.extend(indent + stub for stub in STUB_CODE)
                top_level_stub = top_level_stub or indent == ""
        elif stripped == END_SOLUTION:
            if not inside:
                raise SolutionMarkerError(f"line {number}: {END_SOLUTION} without a BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkerError(f"{BEGIN_SOLUTION} without {END_SOLUTION}")
    return "\n".join(out), top_level_stub


def writes_a_file(source: str) -> bool:
    """True for a ``%%writefile`` cell: running it saves its body to a file, runs nothing."""
    first = source.lstrip().split(maxsplit=1)
    return bool(first) and first[0] in WRITEFILE_MAGICS


def make_exercise(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the exercise notebook for one solution notebook."""
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        try:
            if cell.cell_type == "code":
                raises_possible = not writes_a_file(cell.source)
                cell.source, raises = strip_solution(cell.source)
                raises = raises and raises_possible
                cell.outputs = []
                cell.execution_count = None
                tags = list(cell.metadata.get("tags", []))
                if raises and RAISES_TAG not in tags:
                    tags.append(RAISES_TAG)
                if tags:
                    cell.metadata["tags"] = tags
            elif cell.cell_type == "markdown":
                cell.source, _ = strip_solution(cell.source, markdown=True)
        except SolutionMarkerError as exc:
            raise SolutionMarkerError(f"cell {index}: {exc}") from None
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate exercises/ from solutions/.")
    parser.add_argument("--check", action="store_true", help="only report out-of-sync files")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    stale = []
    sources = sorted((args.root / "solutions").glob("*.ipynb"))
    if not sources:
        print(f"no solution notebooks in {args.root / 'solutions'}", file=sys.stderr)
        return 1
    for src in sources:
        target = args.root / "exercises" / src.name
        text = nbformat.writes(make_exercise(nbformat.read(src, as_version=4))) + "\n"
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(target)
        if not args.check:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(args.root)}")
    if args.check and stale:
        names = ", ".join(str(p.relative_to(args.root)) for p in stale)
        print(f"out of sync with solutions/ (run `make exercises`): {names}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
