"""The worker functions lesson 04 sends to process pools (concurrency_lab.work.pool_demos)."""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from concurrency_lab.work import build, pool_demos
from concurrency_lab.work.pool_demos import (
    cpu_seconds,
    fork_context,
    fragile_task,
    kill_worker,
    load_table,
    lookup_in,
    lookup_shared,
    make_table,
    quiet,
    report_argument,
    running_slices,
    tiny_task,
    worker_pid,
)


def test_every_demo_function_pickles_by_reference() -> None:
    for fn in (
        fragile_task,
        kill_worker,
        load_table,
        lookup_in,
        quiet,
        lookup_shared,
        report_argument,
        running_slices,
        tiny_task,
        worker_pid,
    ):
        assert pickle.loads(pickle.dumps(fn)) is fn


def test_report_argument_shows_the_tuple_bug() -> None:
    assert report_argument(0) == "Process 0 started"
    assert report_argument((0,)) == "Process (0,) started"
    assert list(map(report_argument, [(0,), (1,)])) == [
        "Process (0,) started",
        "Process (1,) started",
    ]


def test_fragile_task_fails_for_task_3_only() -> None:
    assert fragile_task(2) == "record 2 ok"
    with pytest.raises(ValueError, match="record 3 is corrupt"):
        fragile_task(3)


def test_table_shared_by_initializer_vs_sent_as_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_demos, "_table", None)
    monkeypatch.setattr(pool_demos, "_loads", 0)
    with pytest.raises(RuntimeError, match="initializer"):
        lookup_shared(1)
    table = make_table(100)
    load_table(100)
    assert [lookup_shared(i) for i in (1, 150)] == [(table[1], 1), (table[50], 1)]
    assert lookup_in(150, table) == table[50]


def test_tiny_task_and_pid() -> None:
    import os

    assert tiny_task(7) == 49
    assert worker_pid() == os.getpid()


def test_initializer_runs_once_per_worker_in_a_pool() -> None:
    with multiprocessing.get_context("fork").Pool(
        2, initializer=load_table, initargs=(50,)
    ) as pool:
        out = pool.map(lookup_shared, range(20), chunksize=1)
    table = make_table(50)
    assert [v for v, _ in out] == [table[i % 50] for i in range(20)]
    assert {loads for _, loads in out} == {1}


def test_kill_worker_breaks_an_executor() -> None:
    ctx = multiprocessing.get_context("fork")
    with (
        ProcessPoolExecutor(max_workers=1, mp_context=ctx) as executor,
        pytest.raises(BrokenProcessPool),
    ):
        executor.submit(kill_worker, 0).result(timeout=60)


def test_running_slices_cover_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCURRENCY_LAB_SCALE", "0.1")
    slices = running_slices(0, n=1_000_000, chunk=10_000)  # 10 chunks
    assert slices and all(b > a for a, b in slices)
    assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(slices))


@pytest.mark.skipif(not build.gil_enabled(), reason="no GIL: threads run Python code in parallel")
def test_two_threads_take_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the GIL, two CPU-bound threads run one at a time: their slices barely overlap."""
    monkeypatch.setenv("CONCURRENCY_LAB_SCALE", "0.02")
    out: dict[int, list[tuple[float, float]]] = {}

    def run(i: int) -> None:
        out[i] = running_slices(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    overlap = sum(max(0.0, min(b1, b2) - max(a1, a2)) for a1, b1 in out[0] for a2, b2 in out[1])
    busy = sum(b - a for s in out.values() for a, b in s)
    assert overlap < 0.2 * busy


def test_quiet_silences_a_spawned_workers_stderr() -> None:
    """The lesson's pickling failure: BrokenProcessPool in the parent, nothing on stderr."""
    import subprocess

    code = (
        "import multiprocessing as mp\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from concurrent.futures.process import BrokenProcessPool\n"
        "from concurrency_lab.work.pool_demos import quiet\n"
        "def square(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn')\n"
        "    try:\n"
        "        with ProcessPoolExecutor(1, mp_context=ctx, initializer=quiet) as ex:\n"
        "            ex.submit(square, 3).result(timeout=60)\n"
        "    except BrokenProcessPool:\n"
        "        print('broken')\n"
    )
    # run as a -c program: its __main__ has no file, so a spawned child cannot find square
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout == "broken\n"
    assert done.stderr == ""


def test_cpu_seconds_counts_the_cpu_time_of_the_task_not_the_wait(monkeypatch) -> None:
    monkeypatch.setenv("CONCURRENCY_LAB_SCALE", "0.05")
    busy = cpu_seconds(0)
    assert busy > 0
    monkeypatch.setattr("concurrency_lab.work.pool_demos.cpu_task", lambda _: time.sleep(0.05))
    assert cpu_seconds(0) < 0.01  # sleeping uses no CPU


def test_fork_context_is_fork_where_the_system_has_it() -> None:
    ctx = fork_context()
    if "fork" in multiprocessing.get_all_start_methods():
        assert ctx is not None and ctx.get_start_method() == "fork"
    else:
        assert ctx is None


def test_fork_context_is_none_without_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    # what a Windows student gets: the lesson's cell then prints instead of forking
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert fork_context() is None


@pytest.mark.skipif(fork_context() is None, reason="needs the fork start method")
def test_under_fork_a_lambda_fails_to_pickle_and_a_late_function_breaks_the_pool() -> None:
    # the lesson's claim: fork pickles tasks too, and looks functions up by name in its copy
    with ProcessPoolExecutor(1, mp_context=fork_context(), initializer=quiet) as ex:
        assert ex.submit(tiny_task, 3).result(timeout=60) == 9  # the worker is forked now
        # a notebook's lambda lives in __main__ (PicklingError on 3.11-3.15); this one is local
        # to a function, which 3.11-3.13 report as AttributeError
        with pytest.raises((pickle.PicklingError, AttributeError)):
            ex.submit(lambda x: x * x, 3).result(timeout=60)
        assert ex.submit(tiny_task, 4).result(timeout=60) == 16  # a pickling error breaks nothing

        def cube(x: int) -> int:  # local: its pickled name cannot be found in the worker
            return x**3

        module = sys.modules[__name__]
        module.late_cube = cube  # type: ignore[attr-defined]  # defined after the fork
        cube.__qualname__ = "late_cube"
        try:
            with pytest.raises(BrokenProcessPool):
                ex.submit(cube, 3).result(timeout=60)
        finally:
            del module.late_cube  # type: ignore[attr-defined]


def test_a_mapped_array_gives_the_same_checksums_as_a_sent_one(tmp_path: Path) -> None:
    import zlib

    data = bytes(range(256)) * 64
    path = tmp_path / "array.bin"
    path.write_bytes(data)
    cuts = [(0, 100), (100, 5000), (5000, len(data))]
    for start, stop in cuts:
        expected = zlib.crc32(data[start:stop])
        assert pool_demos.crc_of_slice(data, start, stop) == expected
        assert pool_demos.crc_of_mapped_slice(str(path), start, stop) == expected
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        got = pool.submit(pool_demos.crc_of_mapped_slice, str(path), 0, len(data)).result(60)
    assert got == zlib.crc32(data)
