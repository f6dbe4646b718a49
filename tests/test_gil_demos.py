"""Lesson 04's demos of C code that releases the GIL, and of subinterpreters (work.gil_demos)."""

from __future__ import annotations

import hashlib
import pickle

import pytest

from concurrency_lab.work import gil_demos
from concurrency_lab.work.gil_demos import (
    HashRun,
    InterpreterRun,
    hash_buffers,
    make_buffers,
    run_in_interpreters,
    thread_cpu_seconds,
)


def test_buffers_differ_and_have_the_asked_size() -> None:
    a, b = make_buffers(2, size=1000)
    assert len(a) == len(b) == 1000 and a != b


@pytest.mark.parametrize("threads", [False, True])
def test_hash_buffers_gives_the_real_digests(threads: bool) -> None:
    buffers = make_buffers(2, size=4096)
    run = hash_buffers(buffers, threads=threads, rounds=3)
    expected = tuple(hashlib.sha256(b * 3).hexdigest() for b in buffers)
    assert run.digests == expected
    assert run.wall > 0 and run.cpu >= 0


def test_cores_is_cpu_seconds_per_wall_second() -> None:
    assert HashRun(wall=2.0, cpu=3.0, digests=()).cores == 1.5
    assert HashRun(wall=0.0, cpu=1.0, digests=()).cores == 0.0
    assert InterpreterRun(loop=2.0, pool=1.0, cpu=1.9).cores == 1.9


def test_thread_cpu_seconds_counts_the_task() -> None:
    assert thread_cpu_seconds(0) >= 0.0


def test_worker_functions_pickle_by_reference() -> None:
    # an interpreter pool pickles the function it sends: it must be importable by name
    assert pickle.loads(pickle.dumps(thread_cpu_seconds)) is thread_cpu_seconds


@pytest.mark.skipif(gil_demos.interpreters_available(), reason="this Python has interpreters")
def test_without_interpreter_pools_the_demo_says_so() -> None:
    with pytest.raises(RuntimeError, match=r"3\.14"):
        run_in_interpreters()


@pytest.mark.skipif(not gil_demos.interpreters_available(), reason="needs Python 3.14+")
def test_interpreter_pool_runs_the_tasks() -> None:  # pragma: no cover - 3.14+ only
    run = run_in_interpreters(tasks=2, workers=2)
    assert run.loop > 0 and run.pool > 0 and run.cpu > 0
