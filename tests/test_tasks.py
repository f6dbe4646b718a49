"""The workloads: seeded durations, scaled waits, the seed's prints, picklability."""

from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from concurrency_lab.work import tasks
from concurrency_lab.work.scale import ENV_VAR
from concurrency_lab.work.tasks import (
    cpu_task,
    io_task,
    io_task_with_return,
    nominal_duration,
)


def test_durations_are_seeded_by_task_id() -> None:
    first = [nominal_duration(i) for i in range(50)]
    assert first == [nominal_duration(i) for i in range(50)]
    assert set(first) == {1, 2, 3}
    # the story the lessons tell: five tasks, eight seconds in a loop, three overlapped
    assert first[:5] == [1, 1, 2, 1, 3]


def test_durations_are_the_same_in_another_process() -> None:
    code = (
        "from concurrency_lab.work.tasks import nominal_duration as d; "
        "print([d(i) for i in range(20)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str([nominal_duration(i) for i in range(20)])


def test_io_task_prints_the_seeds_lines_with_nominal_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_VAR, "0.001")
    io_task(4)
    assert capsys.readouterr().out == (
        "Task 4 started, response in 3 second(s)\nTask 4 finished\n"
    )


def test_io_task_waits_nominal_times_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.02")
    start = time.perf_counter()
    result = io_task_with_return(4, verbose=False)  # 3 s nominal -> 0.06 s
    elapsed = time.perf_counter() - start
    assert result == "result of task 4"
    assert 0.06 <= elapsed < 0.06 + 0.5


def test_io_task_seconds_override_and_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_VAR, "0.01")
    assert io_task(7, seconds=0.5, verbose=False) is None
    assert capsys.readouterr().out == ""
    io_task_with_return("x", seconds=0.1)
    assert "Task x started, response in 0.1 second(s)" in capsys.readouterr().out


def test_io_task_accepts_the_pool_map_tuple_pitfall(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # pool.map(io_task, [(0,), (1,)]) passes tuples: the seed printed "Process (0,) started"
    monkeypatch.setenv(ENV_VAR, "0.001")
    io_task((0,))
    assert capsys.readouterr().out.startswith("Task (0,) started")


def test_cpu_task_sums_a_scaled_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.0001")
    assert cpu_task(0) == sum(range(10_000))
    assert cpu_task(0, n=1000) == sum(range(1))  # scaled to at least one number


@pytest.mark.parametrize("fn", [io_task, io_task_with_return, cpu_task, nominal_duration])
def test_tasks_pickle_by_reference(fn: object) -> None:
    assert pickle.loads(pickle.dumps(fn)) is fn


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_every_task_runs_in_a_pool_under(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.001")
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        assert pool.submit(io_task, 1, verbose=False).result(timeout=30) is None
        assert pool.submit(io_task_with_return, 2, verbose=False).result(timeout=30) == (
            "result of task 2"
        )
        # (a forkserver keeps the environment it started with: check the type, not the sum)
        assert isinstance(pool.submit(cpu_task, 3).result(timeout=30), int)
        assert list(pool.map(nominal_duration, range(5), timeout=30)) == [1, 1, 2, 1, 3]


def test_say_writes_each_line_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[str] = []

    class Recorder:
        def write(self, text: str) -> None:
            writes.append(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", Recorder())
    tasks.say("Task 1 started")
    assert writes == ["Task 1 started\n"]
