"""flaky_task: deterministic failures (ids 2, 5, 8, ...), same waiting as io_task."""

from __future__ import annotations

import pickle

import pytest

from concurrency_lab.work.flaky import flaky_task, will_fail


@pytest.fixture(autouse=True)
def _tiny_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCURRENCY_LAB_SCALE", "0.001")


def test_every_third_integer_id_fails() -> None:
    assert [i for i in range(12) if will_fail(i)] == [2, 5, 8, 11]
    assert not will_fail("2")
    assert not will_fail(True)


def test_success_returns_the_same_result_as_io_task() -> None:
    assert flaky_task(0) == "result of task 0"
    assert flaky_task("x", seconds=0.5) == "result of task x"


def test_failure_raises_connection_error_naming_the_task() -> None:
    with pytest.raises(ConnectionError, match="task 5: the database hung up"):
        flaky_task(5)


def test_quiet_by_default_and_verbose_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    flaky_task(1)
    assert capsys.readouterr().out == ""
    flaky_task(1, verbose=True)
    with pytest.raises(ConnectionError):
        flaky_task(2, verbose=True)
    assert capsys.readouterr().out.splitlines() == [
        "Task 1 started, response in 1 second(s)",
        "Task 1 finished",
        "Task 2 started, response in 2 second(s)",
        "Task 2 failed",
    ]


def test_picklable_for_process_pools() -> None:
    assert pickle.loads(pickle.dumps(flaky_task)) is flaky_task
