"""concurrency_lab/work/cpu_pool_demo.py runs as a script, under every start method, with its guard.

The script uses the platform's default start method; to try another, the test sets it
first and then runs the file as ``__main__`` (``runpy.run_path``), which is what running
the file does: spawned workers re-import it as ``__mp_main__``, and its
``if __name__ == "__main__":`` guard keeps them from starting pools of their own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from concurrency_lab.dev.nbtesting import ROOT

SCRIPT = ROOT / "concurrency_lab" / "work" / "cpu_pool_demo.py"


def _run(*args: str, method: str = "fork") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONCURRENCY_LAB_SCALE": "0.002"}
    code = (
        "import multiprocessing, runpy, sys\n"
        f"multiprocessing.set_start_method({method!r}, force=True)\n"
        f"sys.argv = [{str(SCRIPT)!r}, *{list(args)!r}]\n"
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.path.dirname(SCRIPT),
    )


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_prints_sequential_pool_and_speedup(method: str) -> None:
    done = _run("--workers", "2", "--tasks", "3", method=method)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "3 cpu_tasks, 2 worker processes"
    assert re.fullmatch(r"sequential: \d+(\.\d+)? (s|ms|µs)", lines[1])
    assert re.fullmatch(
        r"pool: +\d+(\.\d+)? (s|ms|µs) +\(including starting the 2 workers\)", lines[2]
    )
    assert re.fullmatch(r"speed-up: +\d+\.\d\d×", lines[3])
    assert len(lines) == 4


def test_bad_arguments_exit_with_usage() -> None:
    done = _run("--workers", "0")
    assert done.returncode == 2
    assert "must be at least 1" in done.stderr


def test_defaults_to_the_usable_cpus() -> None:
    from concurrency_lab.work.machine import usable_cpus

    done = _run("--tasks", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"1 cpu_tasks, {usable_cpus()} worker processes"
