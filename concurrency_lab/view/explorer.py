"""An interactive explorer: pick a workload and a runner, press Run, see what ran when.

``explore()`` returns a widget (an ``ipywidgets.VBox``) with the settings a lesson talks
about — IO or CPU tasks, how many tasks, how many workers, which runner (sequential,
threads, processes, asyncio) and a scale — and a Run button. Run measures the sequential
baseline and then the chosen runner at that small scale (about a second in all) and shows
the runner's timeline, both wall times and the speed-up.

The measuring is plain functions (:func:`run_workload`), so it works without a browser;
the widget only wires controls to them. Tests set widget values, call
``explorer.run_button.click()`` and read ``explorer.speedup``, ``explorer.events`` ...

Where the scale goes: the explorer sets ``CONCURRENCY_LAB_SCALE`` for the length of one
run (and restores it after). Threads and coroutines read it at once; a process pool is
created for each run with the ``spawn`` start method, so its children inherit it (a
``forkserver`` server would keep the environment of its first start). The work sent to
processes lives in :mod:`concurrency_lab.work.tasks`; this module imports ipywidgets and is
never imported by a child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from html import escape
from typing import Any

import ipywidgets as widgets

from concurrency_lab.work.machine import usable_cpus
from concurrency_lab.work.scale import ENV_VAR
from concurrency_lab.work.tasks import cpu_task, io_task_with_return, nominal_duration
from concurrency_lab.work.timeline import Event, Timeline, traced
from concurrency_lab.work.timing import Stopwatch, fmt_ratio, fmt_seconds

__all__ = ["KINDS", "RUNNERS", "Explorer", "ExplorerError", "RunResult", "explore", "run_workload"]

KINDS = ("io", "cpu")
RUNNERS = ("sequential", "threads", "processes", "asyncio")
MAX_TASKS = 20
MAX_WORKERS = 20
MIN_SCALE, MAX_SCALE = 0.01, 0.2


class ExplorerError(ValueError):
    """A setting the explorer cannot run, with the reason in words."""


@dataclass
class RunResult:
    """One measured run: its timeline, and the pool start-up it needed (not in the wall)."""

    runner: str
    timeline: Timeline
    startup: float = 0.0

    @property
    def wall(self) -> float:
        """Seconds from the first task submitted to the last result received."""
        return self.timeline.wall


def _check(kind: str, tasks: int, workers: int, runner: str, scale: float) -> None:
    if kind not in KINDS:
        raise ExplorerError(f"kind must be one of {KINDS}, got {kind!r}")
    if runner not in RUNNERS:
        raise ExplorerError(f"runner must be one of {RUNNERS}, got {runner!r}")
    if not 1 <= tasks <= MAX_TASKS:
        raise ExplorerError(f"tasks must be between 1 and {MAX_TASKS}, got {tasks}")
    if not 1 <= workers <= MAX_WORKERS:
        raise ExplorerError(f"workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ExplorerError(f"scale must be between {MIN_SCALE} and {MAX_SCALE}, got {scale}")


@contextlib.contextmanager
def _scale(scale: float) -> Iterator[None]:
    """Set ``CONCURRENCY_LAB_SCALE`` for the length of one run, then restore it."""
    old = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = repr(float(scale))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = old


def _work(kind: str) -> Callable[..., Any]:
    return io_task_with_return if kind == "io" else cpu_task


Watch = Callable[[Timeline], AbstractContextManager[Any]]
"""Something to do while a run's timeline records (the live picture: :mod:`.live`)."""


def _no_watch(_tl: Timeline) -> AbstractContextManager[Any]:
    return contextlib.nullcontext()


def _run_sequential(kind: str, tasks: int, title: str, watch: Watch = _no_watch) -> RunResult:
    with Timeline(title) as tl, watch(tl):
        task = tl.track(_work(kind))
        for i in range(tasks):
            task(i, verbose=False)
    return RunResult("sequential", tl)


def _run_threads(
    kind: str, tasks: int, workers: int, title: str, watch: Watch = _no_watch
) -> RunResult:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explorer")
    with pool, Timeline(title) as tl, watch(tl):
        task = tl.track(_work(kind))
        futures = [pool.submit(task, i, verbose=False) for i in range(tasks)]
        for future in futures:
            future.result()
    return RunResult("threads", tl)


def _run_processes(
    kind: str, tasks: int, workers: int, title: str, watch: Watch = _no_watch
) -> RunResult:
    # A new pool per run, started with spawn: its children inherit this run's scale.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        with Stopwatch() as startup:  # start every worker and import the tasks, then the clock
            list(pool.map(nominal_duration, range(workers)))
        work = traced(_work(kind))
        with Timeline(title) as tl, watch(tl):
            futures = [pool.submit(work, i, verbose=False) for i in range(tasks)]
            for future in futures:
                tl.collect(future.result())
    return RunResult("processes", tl, startup=startup.elapsed)


def _load_aio() -> Any:
    try:
        return importlib.import_module("concurrency_lab.work.aio")
    except ImportError as exc:
        raise ExplorerError(
            "the asyncio runner needs concurrency_lab.work.aio, which could not be imported "
            f"({exc})"
        ) from None


def _run_asyncio(
    kind: str, tasks: int, workers: int, title: str, watch: Watch = _no_watch
) -> RunResult:
    aio = _load_aio() if kind == "io" else None
    label = "io_task (async)" if kind == "io" else "cpu_task"
    errors: list[BaseException] = []

    async def main(tl: Timeline) -> None:
        # `workers` slots = how many tasks may be in progress at once (like a semaphore);
        # each bar is drawn in the lane of the slot it held, all in one thread.
        slots: asyncio.Queue[int] = asyncio.Queue()
        for k in range(workers):
            slots.put_nowait(k)
        thread = threading.current_thread().name

        async def one(i: int) -> None:
            slot = await slots.get()
            start, ok = time.perf_counter(), False
            lane = f"{thread} · slot {slot}"
            tl.begin(i, label, start, thread=lane)  # for the live picture
            try:
                if aio is not None:
                    await aio.io_task(i, verbose=False)
                else:
                    cpu_task(i)  # never awaits: blocks the event loop while it computes
                ok = True
            finally:
                end = time.perf_counter()
                tl.add(Event(i, label, os.getpid(), lane, start, end, ok))
                slots.put_nowait(slot)

        tl.t0 = time.perf_counter()  # the clock starts once the event loop runs
        await asyncio.gather(*(one(i) for i in range(tasks)))
        tl.stop()

    def loop_thread(tl: Timeline) -> None:
        try:
            asyncio.run(main(tl))
        except BaseException as exc:  # handed to the caller's thread below
            errors.append(exc)

    # Jupyter's own event loop already runs in the main thread (asyncio.run() would
    # refuse), so the explorer's event loop gets a thread of its own.
    tl = Timeline(title)
    t = threading.Thread(target=loop_thread, args=(tl,), name="event loop")
    with watch(tl):
        t.start()
        t.join()
    if errors:
        raise errors[0]
    return RunResult("asyncio", tl)


def run_workload(
    kind: str,
    tasks: int,
    workers: int,
    runner: str,
    scale: float,
    title: str = "",
    *,
    watch: Watch = _no_watch,
) -> RunResult:
    """Run ``tasks`` tasks of ``kind`` with ``runner`` at ``scale``; return the timeline.

    ``workers`` is the pool size (threads, processes) or, for asyncio, how many tasks may
    be in progress at once; the sequential runner ignores it. ``watch(timeline)`` is
    entered while the timeline records (the explorer's live picture uses it).
    """
    _check(kind, tasks, workers, runner, scale)
    with _scale(scale):
        if runner == "sequential":
            return _run_sequential(kind, tasks, title, watch)
        if runner == "threads":
            return _run_threads(kind, tasks, workers, title, watch)
        if runner == "processes":
            return _run_processes(kind, tasks, workers, title, watch)
        return _run_asyncio(kind, tasks, workers, title, watch)


def advice(kind: str, tasks: int, workers: int, runner: str) -> str:
    """What to expect from a combination of settings, in a sentence or two."""
    if runner == "sequential":
        return "One task after another in one thread: the baseline (workers are not used)."
    notes = {
        ("io", "threads"): "Threads overlap the waiting: with enough workers the wall time "
        "comes down to about the longest task.",
        ("cpu", "threads"): "Threads take turns holding the GIL: CPU work gains little or "
        "nothing (lesson 04).",
        ("io", "processes"): "Processes overlap the waiting too, but each worker is a whole "
        "Python process: it costs start-up time and memory (shown, not counted).",
        ("cpu", "processes"): "Each process has its own interpreter and GIL, so CPU work runs "
        f"in parallel — on at most {usable_cpus()} CPU(s) that this machine lets us use.",
        ("io", "asyncio"): "One thread, one event loop: while one coroutine awaits, the others "
        "run. Workers = how many tasks may be in progress at once.",
        ("cpu", "asyncio"): "Not what asyncio is for: a coroutine that computes never awaits, so "
        "it blocks the event loop and the tasks run one at a time. Use processes for CPU work.",
    }
    text = notes[(kind, runner)]
    if workers > tasks:
        text += f" Only {tasks} task(s): {workers - tasks} worker(s) will have nothing to do."
    return text


class Explorer(widgets.VBox):
    """The explorer widget: controls, a Run button, the results and the timeline picture.

    Controls (all ipywidgets, set them from code too): ``kind_picker``, ``tasks_slider``,
    ``workers_slider``, ``runner_picker``, ``scale_slider``, ``run_button``. After a run:
    ``baseline`` and ``result`` (:class:`RunResult`), ``speedup``, ``events`` (the
    runner's timeline events), ``error`` (the message of a failed run, else ``None``);
    ``note``, ``report`` and ``picture`` are what the student sees.

    ``live=True`` draws the timeline while each run goes (bars grow as tasks run, about
    five frames a second, see :mod:`concurrency_lab.view.live`); ``frames`` counts them.
    """

    def __init__(
        self,
        kind: str = "io",
        tasks: int = 5,
        workers: int = 5,
        runner: str = "threads",
        scale: float = 0.05,
        live: bool = False,
    ) -> None:
        _check(kind, tasks, workers, runner, scale)
        self._initial = (kind, tasks, workers, runner, scale)
        self.live = live
        self.frames = 0
        wide = {"description_width": "initial"}
        self.kind_picker = widgets.ToggleButtons(
            options=[("IO (waiting)", "io"), ("CPU (computing)", "cpu")],
            value=kind,
            description="tasks are",
            style=wide,
        )
        self.runner_picker = widgets.ToggleButtons(
            options=list(RUNNERS), value=runner, description="runner", style=wide
        )
        self.tasks_slider = widgets.IntSlider(
            value=tasks, min=1, max=MAX_TASKS, description="tasks", continuous_update=False
        )
        self.workers_slider = widgets.IntSlider(
            value=workers, min=1, max=MAX_WORKERS, description="workers", continuous_update=False
        )
        self.scale_slider = widgets.FloatSlider(
            value=scale,
            min=MIN_SCALE,
            max=MAX_SCALE,
            step=0.01,
            readout_format=".2f",
            description="scale",
            tooltip="fraction of lecture-scale durations (1 = the lessons' full 1-3 s waits)",
            continuous_update=False,
        )
        self.run_button = widgets.Button(
            description="Run", button_style="primary", icon="play", tooltip="run and measure"
        )
        self.note = widgets.HTML()
        self.report = widgets.HTML(value="<i>Press Run to measure these settings.</i>")
        self.picture = widgets.Image(  # natural size (a VBox would stretch it); hidden until Run
            format="png",
            layout=widgets.Layout(display="none", align_self="flex-start", max_width="100%"),
        )
        self.baseline: RunResult | None = None
        self.result: RunResult | None = None
        self.speedup: float | None = None
        self.error: str | None = None

        for control in (
            self.kind_picker,
            self.runner_picker,
            self.tasks_slider,
            self.workers_slider,
        ):
            control.observe(self._settings_changed, names="value")
        self.run_button.on_click(lambda _button: self.run())
        self._settings_changed()
        super().__init__(
            children=[
                widgets.HTML("<b>Concurrency explorer</b> — choose, press Run, compare."),
                self.kind_picker,
                self.runner_picker,
                widgets.HBox([self.tasks_slider, self.workers_slider]),
                widgets.HBox([self.scale_slider, self.run_button]),
                self.note,
                self.report,
                self.picture,
            ]
        )

    # -- reading the settings -------------------------------------------------------------
    @property
    def settings(self) -> tuple[str, int, int, str, float]:
        """(kind, tasks, workers, runner, scale) as the controls show them now."""
        return (
            self.kind_picker.value,
            self.tasks_slider.value,
            self.workers_slider.value,
            self.runner_picker.value,
            round(self.scale_slider.value, 4),
        )

    @property
    def events(self) -> list[Event]:
        """The events of the last run of the chosen runner (empty before the first run)."""
        return list(self.result.timeline.events) if self.result else []

    def _settings_changed(self, _change: Any = None) -> None:
        kind, tasks, workers, runner, _ = self.settings
        self.workers_slider.disabled = runner == "sequential"
        self.note.value = escape(advice(kind, tasks, workers, runner))

    # -- running ----------------------------------------------------------------------
    def run(self) -> None:
        """Measure the sequential baseline and the chosen runner; show what happened.

        Never raises: a failed run shows its message in the widget (and in ``error``).
        """
        kind, tasks, workers, runner, scale = self.settings
        self.run_button.disabled = True
        self.run_button.description = "Running…"
        self.error = None
        watch = self._live_watch if self.live else _no_watch
        try:
            self.report.value = "<i>Running the sequential baseline…</i>"
            baseline = run_workload(
                kind, tasks, workers, "sequential", scale, "sequential", watch=watch
            )
            if runner == "sequential":
                result = baseline
            else:
                self.report.value = f"<i>Running {escape(runner)}…</i>"
                title = f"{runner} · {workers} worker(s)"
                result = run_workload(kind, tasks, workers, runner, scale, title, watch=watch)
            self.baseline, self.result = baseline, result
            self.speedup = baseline.wall / result.wall if result.wall > 0 else None
            self._show(kind, tasks, scale)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.report.value = (
                f"<b>Could not run {escape(runner)} with these settings.</b> {escape(self.error)}"
            )
        finally:
            self.run_button.description = "Run"
            self.run_button.disabled = False

    def _live_watch(self, tl: Timeline) -> AbstractContextManager[Any]:
        """While ``tl`` records: show a growing SVG frame in the picture, five a second."""
        from concurrency_lab.view.live import drawing

        def show_frame(svg: str, _text: str) -> None:
            self.picture.format = "svg+xml"
            self.picture.value = svg.encode()
            self.picture.layout.display = None
            self.frames += 1

        return drawing(tl, show_frame)

    def _show(self, kind: str, tasks: int, scale: float) -> None:
        from concurrency_lab.view.plotting import plot_timeline

        assert self.baseline is not None and self.result is not None
        base, res = self.baseline, self.result
        lines = [f"sequential: <b>{fmt_seconds(base.wall)}</b>"]
        if res is not base:
            lines.append(f"{escape(res.runner)}: <b>{fmt_seconds(res.wall)}</b>")
            if self.speedup is not None:
                lines.append(f"speed-up: <b>{fmt_ratio(self.speedup)}</b>")
        text = " · ".join(lines)
        summary = escape(str(res.timeline.summary()))
        extra = ""
        if res.startup:
            extra = f"<br>pool start-up (before the clock started): {fmt_seconds(res.startup)}"
        self.report.value = f"{text}<br><small>{summary}{extra}</small>"

        title = f"{tasks} {kind.upper()} task(s) at scale {scale:g} · {res.timeline.title}"
        picture = plot_timeline(res.timeline, title=title)
        if res is not base:  # same time axis as the baseline: the speed-up is the gap
            ax = picture.figure.axes[0]
            ax.set_xlim(0, max(base.wall, res.wall) * 1.02)
            ax.axvline(base.wall, color="grey", linestyle="--", linewidth=1)
            ax.annotate(
                "sequential",
                (base.wall, 0),
                xycoords=("data", "axes fraction"),
                xytext=(-3, 3),
                textcoords="offset points",
                ha="right",
                fontsize=8,
                color="grey",
            )
        self.picture.format = "png"
        self.picture.value = picture.png()
        self.picture.layout.display = None

    def __repr__(self) -> str:
        # The text a notebook stores for this cell (nbval compares it): the settings the
        # explorer was created with, never anything measured.
        kind, tasks, workers, runner, scale = self._initial
        live = ", live=True" if self.live else ""
        return (
            f"Explorer(kind={kind!r}, tasks={tasks}, workers={workers}, "
            f"runner={runner!r}, scale={scale:g}{live})"
        )


def explore(
    kind: str = "io",
    tasks: int = 5,
    workers: int = 5,
    runner: str = "threads",
    scale: float = 0.05,
    live: bool = False,
) -> Explorer:
    """Return an :class:`Explorer` widget preset to these settings; press Run in it.

    ``kind`` is ``"io"`` or ``"cpu"``; ``runner`` one of ``sequential``, ``threads``,
    ``processes``, ``asyncio``; ``scale`` the fraction of lecture-scale durations
    (0.05: the five lecture tasks' 8 s become 0.4 s). ``live=True`` draws each run's
    timeline while it runs (for a lecture: pick a larger scale, e.g. 0.2, to watch it grow).
    """
    return Explorer(kind=kind, tasks=tasks, workers=workers, runner=runner, scale=scale, live=live)
