"""How long the autograder takes for a class: ``python -m benchmarks.grading``.

A benchmark, not a test: it prints measurements. It grades 30 copies of a lesson's model
answers (each one a student's submission, in a folder per student) with the default
settings of ``python -m concurrency_lab.grade`` and prints the wall time, the time per
submission and whether every submission got full marks. Target (issue: grade a class):
30 submissions of one lesson in at most 3 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path

from concurrency_lab.dev.nbtesting import ROOT
from concurrency_lab.grade.__main__ import main as grade

TARGET_SECONDS = 180.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="03_futures")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    solution = ROOT / "solutions" / f"{args.lesson}.ipynb"
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        submissions = Path(tmp) / "class"
        for n in range(args.students):
            folder = submissions / f"student{n:02d}"
            folder.mkdir(parents=True)
            shutil.copy(solution, folder / solution.name)
        start = time.perf_counter()
        grade([str(submissions), "--out", str(Path(tmp) / "out"), "--workers", str(args.workers)])
        wall = time.perf_counter() - start
        rows = list(csv.DictReader((Path(tmp) / "out" / "grades.csv").open(encoding="utf-8")))
    full = sum(r["total"] == r["out_of"] for r in rows)
    print(
        f"{args.students} submissions of {args.lesson}, {args.workers} at a time: "
        f"{wall:.1f} s ({wall / args.students:.2f} s each); full marks: {full}/{len(rows)}; "
        f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if wall <= TARGET_SECONDS else 'MISSED'}"
    )
    return 0 if wall <= TARGET_SECONDS and full == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
