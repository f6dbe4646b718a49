"""The live timeline: frames while tasks run (threads, processes, coroutines), the same final
picture as ``plot_timeline(tl)``, and nothing live where nobody watches (no kernel, test scale).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.view import live as live_mod
from concurrency_lab.view.live import _ceiling, drawing, frame_svg, live, updates_wanted
from concurrency_lab.view.plotting import plot_timeline
from concurrency_lab.work.scale import ENV_VAR
from concurrency_lab.work.tasks import io_task
from concurrency_lab.work.timeline import Timeline, set_announce_dir, traced

ROOT = Path(__file__).resolve().parents[1]


def _nap(task_id: int, seconds: float = 0.3) -> int:
    time.sleep(seconds)
    return task_id


def test_ceiling_is_a_nice_number_at_or_above() -> None:
    assert [_ceiling(x) for x in (0.3, 1.0, 1.1, 2.2, 4.9, 7.0, 0.0)] == [
        0.5,
        1.0,
        2.0,
        2.5,
        5.0,
        10.0,
        1.0,
    ]


def test_running_tasks_are_noted_and_cleared_by_their_event() -> None:
    with Timeline("t") as tl:
        task = tl.track(_nap)
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(task, i, 0.2) for i in range(2)]
            time.sleep(0.05)
            assert sorted(e.task_id for e in tl.running()) == [0, 1]
            svg, text = frame_svg(tl)
            assert "2 running" in text and svg.count("<rect") == 3  # background + 2 bars
            for f in futures:
                f.result()
    assert tl.running() == [] and len(tl.events) == 2
    svg, text = frame_svg(tl)
    assert "2 done · 0 running" in text and 'fill-opacity="1.0"' in svg


def test_traced_carries_the_announce_folder_only_while_live(tmp_path: Path) -> None:
    import pickle

    plain = pickle.loads(pickle.dumps(traced(_nap)))
    assert plain.announce is None
    old = set_announce_dir(str(tmp_path))
    try:
        carried = pickle.loads(pickle.dumps(traced(_nap)))
    finally:
        set_announce_dir(old)
    assert carried.announce == str(tmp_path)
    carried(7, 0.0)
    kinds = sorted(name.rsplit(".", 1)[1] for name in os.listdir(tmp_path))
    assert kinds == ["end", "start"]


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_process_bars_appear_while_the_tasks_run(method: str) -> None:
    frames: list[str] = []
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method)) as pool:
        list(pool.map(_nap, range(2), [0.0, 0.0]))  # workers started before the block
        with (
            Timeline("pool") as tl,
            drawing(tl, lambda svg, text: frames.append(text), interval=0.05),
        ):
            results = tl.collect_all(pool.map(traced(_nap), range(2), [0.6, 0.6]))
    assert results == [0, 1]
    assert any("2 running" in f for f in frames), frames  # announced from the workers
    assert set_announce_dir(None) is None  # the block restored "not announcing"


def test_outside_a_kernel_live_only_draws_the_final_picture() -> None:
    assert updates_wanted() is False and updates_wanted(on=True) is False
    view = live(Timeline("no kernel"))
    with view as tl:
        task = tl.track(io_task)
        task(0, seconds=0.01, verbose=False)
    assert view.updating is False and view.frames == 0
    assert view.picture is not None and view.picture.text == plot_timeline(tl).text
    assert tl.t_end is not None  # live started and stopped the timeline's clock


def test_switch_follows_scale_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_mod, "_in_kernel", lambda: True)
    monkeypatch.delenv(live_mod.ENV_VAR, raising=False)
    monkeypatch.setenv(ENV_VAR, "1")
    assert updates_wanted() is True
    monkeypatch.setenv(ENV_VAR, "0.02")  # the test scale: no frames
    assert updates_wanted() is False and updates_wanted(on=True) is True
    monkeypatch.setenv(live_mod.ENV_VAR, "1")
    assert updates_wanted() is True
    monkeypatch.setenv(live_mod.ENV_VAR, "0")
    monkeypatch.setenv(ENV_VAR, "1")
    assert updates_wanted() is False and updates_wanted(on=False) is False


LIVE_CELLS = [
    """
import asyncio, functools, threading, time
from concurrent.futures import ProcessPoolExecutor
from concurrency_lab.view.live import live
from concurrency_lab.view.plotting import plot_timeline
from concurrency_lab.work.aio import io_task as aio_task, track
from concurrency_lab.work.tasks import io_task, io_task_with_return
from concurrency_lab.work.timeline import Timeline, traced
""",
    """
view = live(Timeline("threads"), on=True, interval=0.1)
with view as tl:
    task = tl.track(io_task)
    kwargs = {"verbose": False}
    threads = [threading.Thread(target=task, args=(i,), kwargs=kwargs) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
""",
    """
print(view.frames >= 3, view.picture.png() == plot_timeline(tl).png())
""",
    """
pool = ProcessPoolExecutor(2)
view = live(Timeline("processes"), on=True, interval=0.1)
with view as tl:
    quiet = functools.partial(io_task_with_return, verbose=False)
    tl.collect_all(pool.map(traced(quiet, "io_task"), range(2)))
pool.shutdown()
""",
    """
print(view.frames >= 3, view.picture.png() == plot_timeline(tl).png())
""",
    """
view = live(Timeline("coroutines"), on=True, interval=0.1)
with view as tl:
    task = track(tl, aio_task)
    await asyncio.gather(*(task(i, verbose=False) for i in range(5)))
""",
    """
print(view.frames >= 3, view.picture.png() == plot_timeline(tl).png())
""",
    """
view = live(Timeline("frames off"), on=False)
with view as tl:
    tl.track(io_task)(0, verbose=False)
""",
    """
from concurrent.futures import ThreadPoolExecutor
from concurrency_lab.view.live import live_server
from concurrency_lab.work.http_client import get
from concurrency_lab.work.service import start_service

service = start_service(limit=2)  # 6 requests of 0.3 s at a time: 4 turned away
urls = [service.item_url(i, seconds=1) for i in range(6)]
view = live_server(service, "the server, live", on=True, interval=0.1)
with view, ThreadPoolExecutor(6) as pool:
    futures = [pool.submit(get, url) for url in urls]
    for _ in range(500):  # until the server serves two (or 5 s)
        if service.in_flight == 2:
            break
        time.sleep(0.01)
    middle = view.frame()[1]  # "the server, live: live · 4 done · 2 running · 0.1 s"
    replies = [f.result() for f in futures]
service.close()
""",
    """
counts = view.stats.status_counts()
print(view.frames >= 2, view.picture.png() == plot_timeline(view.timeline).png(),
      counts[200] + counts[429] == 6, "· 2 running" in middle)
""",
]


@pytest.mark.long
def test_in_a_kernel_frames_update_one_output_that_ends_as_the_picture() -> None:
    """Run the three kinds live in a real kernel (nbclient), and the HTTP server's view:
    one output per live cell, the final PNG with plot_timeline's text, and several frames
    sent meanwhile."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in LIVE_CELLS]
    env_scale = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = "0.3"  # io tasks of 0.3-0.9 s: a few frames each
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3", resources={}).execute()
    finally:
        if env_scale is None:
            os.environ.pop(ENV_VAR)
        else:
            os.environ[ENV_VAR] = env_scale
    for index in (1, 3, 5, 7, 8):
        outputs = [o for o in nb.cells[index].outputs if o.output_type != "stream"]
        assert len(outputs) == 1, outputs
        data = outputs[0]["data"]
        assert set(data) == {"image/png", "text/plain"}, set(data)
        assert "wall" in data["text/plain"] and "running" not in data["text/plain"]
    for index in (2, 4, 6):
        assert nb.cells[index].outputs[0]["text"] == "True True\n", nb.cells[index].outputs
    assert nb.cells[9].outputs[0]["text"] == "True True True True\n", nb.cells[9].outputs


def test_threads_started_by_live_are_joined() -> None:
    before = set(threading.enumerate())
    with drawing(Timeline(), lambda svg, text: None, interval=0.01):
        time.sleep(0.05)
    assert set(threading.enumerate()) == before


@pytest.mark.parametrize("runner", ["threads", "processes", "asyncio"])
def test_explorer_live_draws_frames_then_the_png(runner: str) -> None:
    from concurrency_lab.view.explorer import explore

    explorer = explore(kind="io", tasks=3, workers=3, runner=runner, scale=0.2, live=True)
    assert repr(explorer).endswith("live=True)")
    formats: list[str] = []
    explorer.picture.observe(lambda change: formats.append(change["new"]), names="format")
    explorer.run_button.click()
    assert explorer.error is None, explorer.error
    assert explorer.frames >= 2  # the baseline and the run were drawn while they ran
    assert "svg+xml" in formats and explorer.picture.format == "png"
    assert bytes(explorer.picture.value).startswith(b"\x89PNG")


def test_explorer_without_live_is_unchanged() -> None:
    from concurrency_lab.view.explorer import explore

    explorer = explore(kind="io", tasks=2, workers=2, runner="threads", scale=0.01)
    assert "live" not in repr(explorer)
    explorer.run_button.click()
    assert explorer.frames == 0 and explorer.picture.format == "png"
