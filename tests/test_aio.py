"""concurrency_lab.work.aio: the async io_task, coroutine timelines, threads vs asyncio."""

from __future__ import annotations

import asyncio
import threading

import pytest

from concurrency_lab.work import aio, waits
from concurrency_lab.work.scale import ENV_VAR
from concurrency_lab.work.tasks import io_task_with_return
from concurrency_lab.work.timeline import Event, Timeline


@pytest.fixture(autouse=True)
def _small_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.01")


def test_io_task_prints_and_returns_like_the_threaded_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert asyncio.run(aio.io_task(3)) == "result of task 3"
    async_lines = capsys.readouterr().out.splitlines()
    assert io_task_with_return(3) == "result of task 3"
    thread_lines = capsys.readouterr().out.splitlines()
    assert (
        async_lines
        == thread_lines
        == [
            "Task 3 started, response in 1 second(s)",
            "Task 3 finished",
        ]
    )
    assert asyncio.run(aio.io_task(7, seconds=0.5, verbose=False)) == "result of task 7"
    assert capsys.readouterr().out == ""


def test_gathered_io_tasks_overlap_on_one_thread() -> None:
    async def main() -> list[str]:
        task = aio.track(tl, aio.io_task)
        return await asyncio.gather(*(task(i, verbose=False) for i in range(5)))

    with Timeline("gather") as tl:
        results = asyncio.run(main())
    assert results == [f"result of task {i}" for i in range(5)]
    assert sorted(e.task_id for e in tl.events) == [0, 1, 2, 3, 4]
    thread = threading.current_thread().name
    assert all(e.ok and e.thread.startswith(f"{thread} · ") for e in tl.events)
    assert len(tl.workers()) == 5  # one lane per task, even though one thread ran them all
    # all five waited at once (8 s of tasks in ≈ 3 s). Counted, not timed: every task starts
    # before the loop looks at its timers, however busy the machine is.
    assert waits.max_overlap(tl.events) == 5


def test_track_names_lanes_after_named_tasks_and_marks_failures() -> None:
    async def boom(task_id: int) -> None:
        await asyncio.sleep(0)
        raise ValueError(task_id)

    async def main() -> None:
        ok = asyncio.create_task(aio.track(tl, aio.io_task)(1, verbose=False), name="request-1")
        bad = asyncio.create_task(aio.track(tl, boom)(2), name="request-2")
        await ok
        with pytest.raises(ValueError):
            await bad
        await aio.track(tl, aio.io_task, label="plain")(3, verbose=False)

    with Timeline() as tl:
        asyncio.run(main())
    by_id = {e.task_id: e for e in tl.events}
    assert by_id[1].thread.endswith("· request-1") and by_id[1].ok
    assert by_id[2].thread.endswith("· request-2") and not by_id[2].ok
    assert by_id[3].thread.endswith("· plain 3") and by_id[3].label == "plain"


def test_blocking_io_task_serialises_and_offloaded_fixes_it() -> None:
    async def run(fn: object) -> Timeline:
        with Timeline() as tl:
            await asyncio.gather(*(aio.track(tl, fn)(i, verbose=False) for i in range(5)))
        return tl

    blocked = asyncio.run(run(aio.blocking_io_task))
    fixed = asyncio.run(run(aio.offloaded_io_task))
    assert waits.max_overlap(blocked.events) == 1  # the loop was blocked: one at a time
    assert blocked.summary().concurrency < 1.3  # cannot exceed 1, however busy the machine
    assert waits.max_overlap(fixed.events) >= 2  # in threads, while the loop ran the others


def test_max_overlap_counts_spans_and_events() -> None:
    assert waits.max_overlap([]) == 0
    assert waits.max_overlap([(0, 1), (1, 2), (2, 3)]) == 1  # touching is not overlapping
    assert waits.max_overlap([(0, 3), (1, 2), (1.5, 4), (3.5, 5)]) == 3
    events = [Event(i, "t", 1, "x", start, end) for i, (start, end) in enumerate([(0, 2), (1, 3)])]
    assert waits.max_overlap(events) == 2


def test_fmt_bytes_uses_binary_units() -> None:
    assert waits.fmt_bytes(800) == "0.8 KiB"
    assert waits.fmt_bytes(15.5 * 2**20) == "15.5 MiB"
    assert waits.fmt_bytes(158 * 2**20) == "158 MiB"
    assert waits.fmt_bytes(3 * 2**30) == "3.0 GiB"


def test_measure_waits_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        waits.measure_waits("processes", 10)
    with pytest.raises(ValueError, match="at least 1"):
        waits.measure_waits("threads", 0)


def test_threads_vs_asyncio_each_in_a_child_process() -> None:
    runs = waits.compare_threads_asyncio([200], seconds=30)  # 0.3 s waits at scale 0.01
    assert list(runs) == list(waits.KINDS)
    threads, tasks = runs["threads"][0], runs["asyncio"][0]
    for m in (threads, tasks):
        assert (m.n, m.started, m.error) == (200, 200, None)
        assert m.wall >= 0.3 and m.in_flight >= 1 and "200 waits with" in str(m)
        assert 0 < m.cpu < m.wall + 1  # CPU seconds of the run, all threads together
    assert tasks.in_flight == 200  # all tasks start before the first timer fires
    # CPU work, which another busy program cannot inflate as it inflates wall times
    assert tasks.cpu < threads.cpu
    # Memory is comparable only if all 200 threads existed at once; on a machine so busy that
    # starting them took longer than the wait, fewer did (and used less memory).
    if threads.in_flight == threads.n:
        assert threads.peak_memory > 2 * tasks.peak_memory
