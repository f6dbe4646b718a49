"""Run a command while other processes keep some CPU cores busy: ``make test-busy``.

Students run the course on laptops with a browser and a video call open; CI machines
share their cores. Nothing the course asserts or judges may depend on a quiet machine, so
the suite must also pass like this::

    python -m concurrency_lab.dev.busy --cores 1 -- make test

Each busy process is a plain ``while True`` loop in its own interpreter, bounded twice: it
stops after ``--limit`` seconds whatever happens, and it is terminated as soon as the
command ends (or fails, or is interrupted). The exit status is the command's.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

LOOP = (
    "import time\n"
    "end = time.monotonic() + {limit}\n"
    "while time.monotonic() < end:\n"
    "    pass\n"
)


def run_busy(command: list[str], *, cores: int = 1, limit: float = 1800.0) -> int:
    """Run ``command`` with ``cores`` busy loops beside it; return its exit status."""
    if cores < 0:
        raise ValueError(f"cores must be 0 or more, got {cores}")
    if not command:
        raise ValueError("no command to run")
    code = LOOP.format(limit=float(limit))
    loops = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(cores)]
    start = time.perf_counter()
    try:
        print(f"busy: {cores} busy loop(s) running beside: {' '.join(command)}", flush=True)
        return subprocess.call(command)
    finally:
        for loop in loops:
            loop.terminate()
        for loop in loops:
            loop.wait(timeout=10)
        print(f"busy: stopped the busy loop(s) after {time.perf_counter() - start:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=1, help="busy loops to run (default 1)")
    parser.add_argument(
        "--limit", type=float, default=1800.0, help="each loop stops after this many seconds"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        return run_busy(command, cores=args.cores, limit=args.limit)
    except ValueError as exc:
        parser.error(str(exc))
    return 2  # unreachable: parser.error exits


if __name__ == "__main__":
    raise SystemExit(main())
