"""What drawing a live timeline costs the tasks: the same demo with and without frames.

Runs in a real Jupyter kernel (through nbclient, so every frame really travels as a
display update), at lecture scale unless ``CONCURRENCY_LAB_SCALE`` says otherwise:

* 5 ``io_task`` s in 5 threads (lesson 02's "start all, then join all");
* 2 ``cpu_task`` s in a pool of 2 processes (lesson 04), the case where drawing competes
  with the workers for the cores;
* 500 requests of 0.1 s from 50 threads to the course's HTTP server (limit 50), drawn by
  ``live_server`` (lesson 06's server view): every frame reads the server's records.

Each pair is run ``--rounds`` times, alternating, and the best wall time of each is kept
(the box is shared: the best run is the one least disturbed). Prints per demo: best wall
without frames, with frames, the difference in percent, the frames drawn, and the CPU time
the drawing thread used (a load-independent figure: what drawing takes from the tasks).

    .venv/bin/python -m concurrency_lab.dev.live_overhead --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os

import nbformat

SETUP = """
import json, threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrency_lab.view.live import live, live_server
from concurrency_lab.work.http_client import get
from concurrency_lab.work.service import start_service
from concurrency_lab.work.tasks import cpu_task, io_task
from concurrency_lab.work.timeline import Timeline, traced
from concurrency_lab.work.timing import Stopwatch

def io_demo(tl):
    task = tl.track(io_task)
    threads = [threading.Thread(target=task, args=(i,), kwargs={"verbose": False})
               for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

pool = ProcessPoolExecutor(2)
list(pool.map(cpu_task, range(2), [10, 10]))  # start the workers before anything is timed

def cpu_demo(tl):
    tl.collect_all(pool.map(traced(cpu_task), range(2)))

service = start_service(limit=50)
urls = [service.item_url(i, seconds=0.1) for i in range(500)]
fetchers = ThreadPoolExecutor(50)
list(fetchers.map(get, urls[:50]))  # start the threads before anything is timed

walls = {demo: {"off": [], "on": []} for demo in ("io", "cpu", "http")}
frames = {"io": 0, "cpu": 0, "http": 0}
draw_cpu = {"io": 0.0, "cpu": 0.0, "http": 0.0}
on_wall = {"io": 0.0, "cpu": 0.0, "http": 0.0}
"""

ROUND = """
for demo, run in (("io", io_demo), ("cpu", cpu_demo)):
    for mode in ("off", "on"):
        view = live(Timeline(f"{demo} {mode}"), on=(mode == "on"))
        with view as tl:
            run(tl)
        walls[demo][mode].append(tl.wall)
        frames[demo] += view.frames
        if mode == "on":
            draw_cpu[demo] += view.stats.cpu_seconds
            on_wall[demo] += tl.wall
for mode in ("off", "on"):
    service.reset_stats()
    view = live_server(service, f"http {mode}", on=(mode == "on"))
    with Stopwatch() as sw, view:
        replies = list(fetchers.map(get, urls))
    assert all(reply.ok for reply in replies)
    walls["http"][mode].append(sw.elapsed)
    frames["http"] += view.frames
    if mode == "on":
        draw_cpu["http"] += view.draw_stats.cpu_seconds
        on_wall["http"] += sw.elapsed
"""

REPORT = """
pool.shutdown()
fetchers.shutdown()
service.close()
print(json.dumps({"walls": walls, "frames": frames, "draw_cpu": draw_cpu, "on_wall": on_wall}))
"""


def measure(rounds: int) -> dict[str, object]:
    """Run the demos ``rounds`` times each in a fresh kernel; return walls and frame counts."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    cells = [SETUP] + [ROUND] * rounds + [REPORT]
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in cells]
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    scale = os.environ.get("CONCURRENCY_LAB_SCALE", "1")
    result = measure(args.rounds)
    walls, frames = result["walls"], result["frames"]  # type: ignore[index]
    draw_cpu, on_wall = result["draw_cpu"], result["on_wall"]  # type: ignore[index]
    print(f"scale {scale}, best of {args.rounds} alternating rounds, frames every 0.2 s")
    demos = (
        ("io", "5 io_tasks, 5 threads"),
        ("cpu", "2 cpu_tasks, 2 processes"),
        ("http", "500 requests, server view"),
    )
    for demo, name in demos:
        off, on = min(walls[demo]["off"]), min(walls[demo]["on"])
        print(
            f"{name:<26} without frames {off:.3f} s · with frames {on:.3f} s · "
            f"overhead {100 * (on - off) / off:+.1f} % · {frames[demo]} frames drawn"
        )
        every = {mode: ", ".join(f"{w:.2f}" for w in walls[demo][mode]) for mode in walls[demo]}
        print(f"{'':<26} every run: without [{every['off']}] · with [{every['on']}]")
        share = draw_cpu[demo] / on_wall[demo] if on_wall[demo] else 0.0
        print(
            f"{'':<26} CPU used by drawing: {draw_cpu[demo] * 1e3:.1f} ms in "
            f"{on_wall[demo]:.1f} s of live runs = {100 * share:.2f} % of one core"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
