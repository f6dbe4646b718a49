"""Benchmark the course's own performance targets (``make benchmark``); not a test.

Performance targets belong in a benchmark that prints measurements side by side from
one run, not in timed unit tests that fail on a busy machine. This script prints:

1. how long a new child takes to import all of ``concurrency_lab.work`` (target: ≤ 150 ms;
   every process-pool start pays it), and whether matplotlib came along (it must not);
2. how long each notebook takes to execute at test scale (target: ≤ 5 s each), next to
   the kernel start-up of an empty notebook, measured in the same run;
3. what a :class:`~concurrency_lab.work.timeline.Timeline` adds to each task it records,
   as a fraction of the shortest test-scale task (target: under 1 %).

The whole ``make test`` run (target: ≤ 60 s warm) is timed with ``time make test``.
"""

from __future__ import annotations

import os
import pkgutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import nbformat

import concurrency_lab.work
from concurrency_lab.dev.nbrun import execute_notebook
from concurrency_lab.dev.nbtesting import ROOT, TEST_SCALE


def _run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


# Every module a pool worker may import: the whole of concurrency_lab.work (the room whose
# rule is "standard library only"; tests/test_house.py enforces the rule, this measures it).
WORKER_MODULES = tuple(
    info.name
    for info in pkgutil.iter_modules(concurrency_lab.work.__path__, "concurrency_lab.work.")
)
HEAVY = ("matplotlib", "numpy", "ipywidgets", "IPython", "dask", "distributed")


def child_import_costs(runs: int = 7) -> dict[str, object]:
    """Median wall time of a new interpreter that does nothing / imports every worker module,
    and the imports' own cumulative time as ``-X importtime`` reports it."""
    code = "; ".join(f"import {m}" for m in WORKER_MODULES)
    bare = statistics.median(_run("pass") for _ in range(runs))
    workers = statistics.median(_run(code) for _ in range(runs))
    report = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    top_level = [line for line in report.splitlines() if "|" in line and "| " in line]
    cumulative = sum(
        int(line.split("|")[1])
        for line in top_level
        if line.split("|")[2].startswith(" ")
        and not line.split("|")[2].startswith("  ")
        and line.split("|")[1].strip().isdigit()
    )
    heavy = [m for m in HEAVY if any(line.rstrip().endswith(f" {m}") for line in top_level)]
    return {"bare": bare, "workers": workers, "importtime": cumulative / 1e6, "heavy": heavy}


def notebook_times(env: dict[str, str]) -> list[tuple[str, float]]:
    empty = Path(os.environ.get("TMPDIR", "/tmp")) / "concurrency-lab-empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), empty)
    rows = []
    execute_notebook(empty, env=env, timeout=120)  # warm the disk cache: measure warm runs
    course = sorted(
        p for d in ("notebooks", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb")
    )
    paths = [empty, *course]
    for path in paths:
        start = time.perf_counter()
        try:
            execute_notebook(path, env=env, timeout=120)
        except Exception as exc:  # report and go on: this is a measurement, not a test
            print(f"   {path.name} failed: {type(exc).__name__}", file=sys.stderr)
        label = (
            "(empty notebook: kernel start-up)" if path == empty else str(path.relative_to(ROOT))
        )
        rows.append((label, time.perf_counter() - start))
    empty.unlink()
    return rows


def timeline_overhead(calls: int = 2000, rounds: int = 5) -> tuple[float, float]:
    """Best-of-``rounds`` seconds per call of a trivial function: (plain, recorded)."""
    from concurrency_lab.work.timeline import Timeline

    def plain(i: int) -> int:
        return i

    best = {}
    for name in ("plain", "recorded"):
        times = []
        for _ in range(rounds):
            fn = plain if name == "plain" else Timeline().track(plain)
            start = time.perf_counter()
            for i in range(calls):
                fn(i)
            times.append((time.perf_counter() - start) / calls)
        best[name] = min(times)
    return best["plain"], best["recorded"]


def main() -> None:
    print(
        f"1. a new child process importing the {len(WORKER_MODULES)} worker modules "
        "(target ≤ 150 ms)"
    )
    costs = child_import_costs()
    print(
        f"   python -c pass: {costs['bare'] * 1e3:.0f} ms; python -c 'import <all worker "
        f"modules>': {costs['workers'] * 1e3:.0f} ms (medians); the imports themselves "
        f"(-X importtime): {costs['importtime'] * 1e3:.1f} ms; heavy modules imported: "
        f"{costs['heavy'] or 'none'}"
    )
    env = {**os.environ, "CONCURRENCY_LAB_SCALE": TEST_SCALE}
    print(
        f"\n2. notebooks at CONCURRENCY_LAB_SCALE={env['CONCURRENCY_LAB_SCALE']} "
        "(target ≤ 5 s each, including ~1 s kernel start-up)"
    )
    rows = notebook_times(env)
    for label, seconds in rows:
        print(f"   {seconds:6.2f} s  {label}")
    worst = max(s for _, s in rows[1:])
    print(f"   slowest notebook: {worst:.2f} s = {worst / rows[0][1]:.1f}× an empty kernel run")
    plain, recorded = timeline_overhead()
    shortest = 1.0 * float(TEST_SCALE)  # the shortest io_task, 1 s at lecture scale
    print(
        f"\n3. a Timeline recording a call: {(recorded - plain) * 1e6:.1f} µs per call "
        f"(plain call {plain * 1e6:.2f} µs) = {(recorded - plain) / shortest:.3%} of a "
        f"{shortest * 1e3:.0f} ms task (target < 1 %)"
    )


if __name__ == "__main__":
    main()
