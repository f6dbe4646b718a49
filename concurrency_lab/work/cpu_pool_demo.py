"""Sequential loop vs process pool for CPU-bound work: try it on your own machine.

    python -m concurrency_lab.work.cpu_pool_demo              # 4 tasks, a worker per usable CPU
    python -m concurrency_lab.work.cpu_pool_demo --workers 4  # the seed's 4 processes
    python -m concurrency_lab.work.cpu_pool_demo --tasks 8 --workers 2

Each task is the course's ``cpu_task``: a pure-Python sum that keeps one CPU busy for about
a second at lecture scale (``CONCURRENCY_LAB_SCALE`` shrinks it). The script runs the tasks
one after another, then in a ``multiprocessing.Pool``, and prints both wall times and the
speed-up. Run it with the Python that has the course installed (``.venv/bin/python`` in a
checkout); it lives in the package so that it is there wherever the course is installed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys

from concurrency_lab.work.machine import usable_cpus
from concurrency_lab.work.tasks import cpu_task
from concurrency_lab.work.timing import Stopwatch, fmt_ratio


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=None, help="pool size (default: the usable CPUs)"
    )
    parser.add_argument("--tasks", type=int, default=4, help="how many cpu_tasks (default: 4)")
    args = parser.parse_args(argv)
    if args.workers is None:
        args.workers = usable_cpus()
    if args.workers < 1 or args.tasks < 1:
        parser.error("--workers and --tasks must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ids = range(args.tasks)
    print(f"{args.tasks} cpu_tasks, {args.workers} worker processes")

    with Stopwatch() as sequential:
        expected = [cpu_task(i) for i in ids]
    print(f"sequential: {sequential}")

    with Stopwatch() as pooled, multiprocessing.Pool(args.workers) as pool:
        results = pool.map(cpu_task, ids)
    print(f"pool:       {pooled}  (including starting the {args.workers} workers)")

    if results != expected:
        print("the pool's results differ from the loop's!", file=sys.stderr)
        return 1
    print(f"speed-up:   {fmt_ratio(sequential.elapsed / pooled.elapsed)}")
    return 0


# The guard: under the "spawn" start method (Windows, macOS) and "forkserver" (Linux from
# Python 3.14) every worker process starts a fresh Python that *imports this file* to find
# the functions it must run. Without the `if`, that import would run main() again, and each
# worker would try to start a pool of its own: multiprocessing stops that with a
# RuntimeError ("An attempt has been made to start a new process before the current process
# has finished its bootstrapping phase"). With the guard, importing this file only defines
# functions; main() runs only when you run the file as a script.
if __name__ == "__main__":
    sys.exit(main())
