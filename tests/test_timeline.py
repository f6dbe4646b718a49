"""Timelines: events from threads and from child processes, summaries and pictures."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from concurrency_lab.view.plotting import Picture, plot_timeline, plot_walltimes
from concurrency_lab.work.scale import ENV_VAR
from concurrency_lab.work.tasks import cpu_task, io_task, io_task_with_return
from concurrency_lab.work.timeline import Event, Summary, Timeline, Traced, traced


@pytest.fixture(autouse=True)
def _small_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.01")


def test_track_records_one_event_per_call_from_threads() -> None:
    with Timeline("threads") as tl:
        task = tl.track(io_task)
        threads = [
            threading.Thread(target=task, args=(i,), kwargs={"verbose": False}) for i in range(5)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(e.task_id for e in tl.events) == [0, 1, 2, 3, 4]
    assert {e.pid for e in tl.events} == {os.getpid()}
    assert len({e.thread for e in tl.events}) == 5
    for e in tl.events:
        assert e.ok and e.label == "io_task" and e.start < e.end
        assert tl.t0 <= e.start and e.end <= tl.t_end


def test_summary_measures_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.05")  # 50-150 ms tasks: overlap shows on a busy machine
    with Timeline() as seq:
        task = seq.track(io_task)
        for i in range(5):
            task(i, verbose=False)
    with Timeline() as par, ThreadPoolExecutor(5) as pool:
        task = par.track(io_task_with_return)
        futures = [pool.submit(task, i, verbose=False) for i in range(5)]
        assert [f.result() for f in futures] == [f"result of task {i}" for i in range(5)]
    s, p = seq.summary(), par.summary()
    assert s.tasks == p.tasks == 5
    assert s.concurrency == pytest.approx(1.0, abs=0.15)  # one at a time
    assert p.concurrency > 1.5  # 8 units of work in about 3 units of time (ideal 2.67)
    assert p.wall < s.wall


def test_track_keeps_the_event_of_a_call_that_raises() -> None:
    tl = Timeline()

    def boom(task_id: int) -> None:
        raise ValueError(task_id)

    with pytest.raises(ValueError):
        tl.track(boom)(7)
    (event,) = tl.events
    assert event.task_id == 7 and not event.ok


def test_track_numbers_calls_without_arguments() -> None:
    tl = Timeline()
    f = tl.track(lambda: None, label="noop")
    f()
    f()
    assert [e.task_id for e in tl.events] == [0, 1]
    assert {e.label for e in tl.events} == {"noop"}


def test_traced_pickles_and_returns_value_with_event() -> None:
    fn = pickle.loads(pickle.dumps(traced(io_task_with_return)))
    out = fn(3, verbose=False)
    assert isinstance(out, Traced)
    assert out.value == "result of task 3"
    assert out.event.task_id == 3 and out.event.label == "io_task_with_return"


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_events_come_back_from_child_processes(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    with Timeline() as tl, ProcessPoolExecutor(2, mp_context=ctx) as pool:
        results = tl.collect_all(pool.map(traced(cpu_task), range(4), timeout=60))
    # not compared with cpu_task(0) here: a forkserver started by an earlier test keeps the
    # environment (and so the scale) it had then, and its children inherit that
    assert len(set(results)) == 1 and results[0] > 0
    assert sorted(e.task_id for e in tl.events) == [0, 1, 2, 3]
    pids = {e.pid for e in tl.events}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    for e in tl.events:  # child clocks line up with the parent's
        assert tl.t0 <= e.start <= e.end <= tl.t_end


def _fails(task_id: int) -> None:
    raise RuntimeError(f"task {task_id} failed")


def test_a_failure_in_a_child_carries_its_event() -> None:
    tl = Timeline()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        future = pool.submit(traced(_fails), 5)
        with pytest.raises(RuntimeError) as info:
            future.result(timeout=60)
    tl.collect_error(info.value)
    (event,) = tl.events
    assert event.task_id == 5 and not event.ok and event.pid != os.getpid()


def test_collect_rejects_untraced_results() -> None:
    with pytest.raises(TypeError, match="traced"):
        Timeline().collect("result of task 1")  # type: ignore[arg-type]


def test_summary_text() -> None:
    s = Summary(tasks=5, wall=3.0, busy=8.0)
    assert s.concurrency == pytest.approx(8 / 3)
    assert str(s) == "5 tasks · wall 3.00 s · sum of task times 8.00 s · overlap 2.67×"


def _events() -> list[Event]:
    return [
        Event(0, "io", 1, "A", 10.0, 11.0),
        Event(1, "io", 1, "B", 10.0, 13.0),
        Event(2, "cpu", 2, "MainThread", 11.0, 12.0, ok=False),
    ]


def test_plot_timeline_one_lane_per_worker(tmp_path: Path) -> None:
    pic = plot_timeline(_events(), title="demo")
    assert isinstance(pic, Picture)
    ax = pic.figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "pid 1 · A",
        "pid 1 · B",
        "pid 2 · MainThread",
    ]
    assert pic.text == "demo: 3 tasks · wall 3.00 s · sum of task times 5.00 s · overlap 1.67×"
    bundle = pic._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG") and bundle["text/plain"] == pic.text
    pic.save(str(tmp_path / "t.png"))
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_plot_timeline_adds_the_cpu_seconds_received() -> None:
    # 4 tasks of 2 s each on 2 cores: overlap 4x, but the CPU received is 2 cores' worth
    events = [Event(i, "cpu", i, "MainThread", 0.0, 2.0) for i in range(4)]
    pic = plot_timeline(events, title="4 on 2", cpu_seconds=4.0)
    assert pic.text == (
        "4 on 2: 4 tasks · wall 2.00 s · sum of task times 8.00 s · overlap 4.00× · "
        "CPU received 4.00 s · cores 2.00×"
    )
    title = pic.figure.axes[0].get_title()
    assert "overlap 4.00×" in title and "cores 2.00×" in title and "concurrency" not in title


def test_plot_timeline_rejects_other_things() -> None:
    with pytest.raises(TypeError, match="Timeline or an iterable of Event"):
        plot_timeline([1, 2, 3])  # type: ignore[list-item]


def test_plot_walltimes() -> None:
    pic = plot_walltimes([1, 5], [10.0, 2.0], title="threads", xlabel="n", reference=0.1)
    assert pic.text == "threads: 1: 10.00 s, 5: 2.00 s"
    with pytest.raises(ValueError, match="2 values but seconds has 1"):
        plot_walltimes([1, 5], [10.0], title="t", xlabel="n")
