"""A timeline that draws itself while the tasks run: for demos in a lecture hall.

``plot_timeline(tl)`` draws what happened, once the block is over. ``live(tl)`` draws it
*while it happens*: a bar appears when a task starts and stretches until the task ends,
several times a second, in threads, in process pools and in coroutines alike::

    with live(Timeline("start all, then join all")) as tl:
        task = tl.track(io_task)
        ...                      # the picture grows under the cell while this runs

When the block ends, the growing picture is replaced by exactly what ``plot_timeline(tl)``
draws, so the cell needs no ``plot_timeline(tl)`` of its own.

How the bars learn that a task started
    * threads (:meth:`Timeline.track`) and coroutines (:func:`concurrency_lab.work.aio.track`)
      note each start in the timeline (:meth:`Timeline.begin`), in this process;
    * a process pool's worker is another process: while the picture is live, every
      ``traced(fn)`` wrapper sent to a worker carries a folder, and the worker drops a tiny
      file there when a task starts and one when it ends (see
      :func:`concurrency_lab.work.timeline.set_announce_dir`). Files work under ``fork``,
      ``spawn`` and ``forkserver``, and whether the pool was started before the block or in it.

What draws, and when
    The frames are small SVG pictures written as text (no matplotlib: a frame costs well
    under a millisecond, so drawing five a second takes nothing measurable from the tasks).
    They update one output in place (a Jupyter *display id*), from a background thread
    started and joined in the cell. Frames are drawn only where someone can watch:

    * in a Jupyter kernel at a scale of at least :data:`LIVE_MIN_SCALE` (lecture scale is 1;
      the test runs use 0.02, where a whole demo lasts a fraction of a second);
    * ``CONCURRENCY_LAB_LIVE=0`` turns frames off everywhere, ``=1`` on at any scale;
      ``live(tl, on=True)`` / ``on=False`` decide for one block.

    Without frames, the block just shows the final picture at its end. Either way the cell's
    output is that one picture, ``plot_timeline(tl)``'s, byte for byte.

This module is the notebook's side (IPython display, matplotlib for the final picture); the
workers only ever import :mod:`concurrency_lab.work.timeline`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html import escape
from types import TracebackType
from typing import Any

from concurrency_lab.view.plotting import _FAIL_COLOR, _OK_COLORS, Picture, plot_timeline
from concurrency_lab.work.scale import get_scale
from concurrency_lab.work.service import IN_PROGRESS, ServerStats, Service
from concurrency_lab.work.timeline import Event, Timeline, set_announce_dir

__all__ = [
    "ENV_VAR",
    "LIVE_MIN_SCALE",
    "DrawStats",
    "Live",
    "LiveServer",
    "drawing",
    "frame_svg",
    "live",
    "live_server",
    "updates_wanted",
]

ENV_VAR = "CONCURRENCY_LAB_LIVE"
LIVE_MIN_SCALE = 0.1
"""Below this scale a demo is over before anyone could watch it grow: no frames."""
DEFAULT_INTERVAL = 0.2
"""Seconds between frames: five a second."""

Sink = Callable[[str, str], None]
"""Where a frame goes: ``sink(svg_text, one_line_text)``."""


# -- deciding ---------------------------------------------------------------------------------
def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a display id can be updated), else False."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the course
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def updates_wanted(on: bool | None = None) -> bool:
    """Whether to draw frames while the block runs (see the module's docstring)."""
    if on is False or not _in_kernel():
        return False
    if on is True:
        return True
    setting = os.environ.get(ENV_VAR, "").strip().lower()
    if setting in {"0", "off", "no", "false"}:
        return False
    if setting in {"1", "on", "yes", "true"}:
        return True
    return get_scale() >= LIVE_MIN_SCALE


# -- what a frame shows -------------------------------------------------------------------------
@dataclass
class _Remote:
    """Starts and ends announced by worker processes through files (see the module doc)."""

    folder: str
    seen: set[str] = field(default_factory=set)
    # (pid, thread, start) -> (the task as an Event, whether its end is known)
    bars: dict[tuple[int, str, float], tuple[Event, bool]] = field(default_factory=dict)

    def poll(self) -> None:
        """Read the files that appeared since the last poll (cheap: one directory listing)."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        # a name ends in .start or .end; sorted, every .end comes after .start of its pid
        for name in sorted(n for n in names if not n.startswith(".") and n not in self.seen):
            try:
                with open(os.path.join(self.folder, name), encoding="utf-8") as f:
                    record = json.load(f)
            except (OSError, ValueError):
                continue  # try again at the next poll
            self.seen.add(name)
            key = (record["pid"], record["thread"], record["start"])
            ended = "end" in record
            event = Event(
                record["task_id"],
                record["label"],
                record["pid"],
                record["thread"],
                record["start"],
                record.get("end", record["start"]),
                record.get("ok", True),
            )
            if ended or key not in self.bars:  # never let a late start hide an end
                self.bars[key] = (event, ended)


@dataclass(frozen=True)
class _Bar:
    lane: str
    task_id: Any
    label: str
    start: float
    end: float
    ok: bool
    running: bool


def _bars(
    tl: Timeline, remote: _Remote | None, now: float, running: list[Event] | None = None
) -> list[_Bar]:
    """Every bar to draw now: finished events, tasks still running, announced ones."""
    events = list(tl.events)  # a copy: other threads append meanwhile
    done_keys = {(e.pid, e.thread, e.start) for e in events}
    bars = [_Bar(e.worker, e.task_id, e.label, e.start, e.end, e.ok, False) for e in events]
    for e in tl.running() if running is None else running:
        bars.append(_Bar(e.worker, e.task_id, e.label, e.start, now, True, True))
    if remote is not None:
        for key, (e, ended) in list(remote.bars.items()):
            if key not in done_keys:
                end = e.end if ended else now
                bars.append(_Bar(e.worker, e.task_id, e.label, e.start, end, e.ok, not ended))
    return bars


def _ceiling(seconds: float) -> float:
    """The next 'nice' axis length (1, 2, 2.5, 5 × 10^k) at or above ``seconds``."""
    if seconds <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(seconds))
    for step in (1, 2, 2.5, 5, 10):
        if seconds <= step * power * 1.0000001:
            return step * power
    return 10 * power  # pragma: no cover


def frame_svg(
    tl: Timeline,
    *,
    now: float | None = None,
    remote: _Remote | None = None,
    running: list[Event] | None = None,
    width: int = 900,
) -> tuple[str, str]:
    """One frame of the live picture: ``(svg_text, one_line_text)``.

    Finished tasks are solid bars, running ones lighter bars that reach ``now``; lanes and
    colours follow :func:`~concurrency_lab.view.plotting.plot_timeline` (one lane per worker,
    in the order they started; one colour per label; red for a failure). The time axis
    grows in nice steps so the bars visibly stretch. ``running``: the tasks still running,
    if not the timeline's own (a server's requests in progress).
    """
    now = time.perf_counter() if now is None else now
    bars = _bars(tl, remote, now, running)
    elapsed = max(now - tl.t0, 1e-9)
    axis = _ceiling(elapsed)
    lanes = list(dict.fromkeys(b.lane for b in sorted(bars, key=lambda b: b.start)))
    labels = sorted({b.label for b in bars})
    color_of = {lab: _OK_COLORS[i % len(_OK_COLORS)] for i, lab in enumerate(labels)}
    left, right, top, lane_h = 230, 20, 52, 30
    plot_w = width - left - right
    height = top + lane_h * max(1, len(lanes)) + 40
    n_running = sum(b.running for b in bars)
    title = tl.title or "timeline"
    text = f"{title}: live · {len(bars) - n_running} done · {n_running} running · {elapsed:.1f} s"

    def x(t: float) -> float:
        return left + plot_w * min(max((t - tl.t0) / axis, 0.0), 1.0)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<text x="{width / 2}" y="38" text-anchor="middle" fill="#444">live · '
        f"{len(bars) - n_running} done · {n_running} running · {elapsed:.1f} s</text>",
    ]
    bottom = top + lane_h * max(1, len(lanes))
    for k in range(6):  # grid and tick labels
        t = axis * k / 5
        gx = left + plot_w * k / 5
        out.append(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{bottom}" stroke="#ddd"/>')
        out.append(f'<text x="{gx:.1f}" y="{bottom + 15}" text-anchor="middle">{t:g}</text>')
    out.append(
        f'<text x="{left + plot_w / 2}" y="{bottom + 32}" text-anchor="middle">'
        "seconds since start</text>"
    )
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    for i, lane in enumerate(lanes):
        y = top + lane_h * i + lane_h / 2 + 4
        short = lane if len(lane) <= 34 else lane[:33] + "…"
        out.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{escape(short)}</text>')
    for b in bars:
        y = top + lane_h * lane_of[b.lane] + 5
        x0, x1 = x(b.start), x(b.end)
        color = color_of[b.label] if b.ok else _FAIL_COLOR
        opacity = 0.55 if b.running else 1.0
        out.append(
            f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1.5):.1f}" height="{lane_h - 10}" '
            f'fill="{color}" fill-opacity="{opacity}" stroke="black" stroke-width="0.6"/>'
        )
        if x1 - x0 > 14:
            out.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{y + lane_h / 2}" text-anchor="middle" '
                f'fill="white" font-weight="bold">{escape(str(b.task_id))}</text>'
            )
    out.append("</svg>")
    return "\n".join(out), text


# -- drawing frames while a block runs ---------------------------------------------------------
@dataclass
class DrawStats:
    """What drawing cost: frames sent, and the CPU seconds the drawing thread used for them
    (reading announcements, writing SVG, sending it): the load it added to the machine."""

    frames: int = 0
    cpu_seconds: float = 0.0


@contextlib.contextmanager
def drawing(
    tl: Timeline,
    sink: Sink,
    *,
    interval: float = DEFAULT_INTERVAL,
    frame: Callable[[], tuple[str, str]] | None = None,
) -> Iterator[DrawStats]:
    """Send a frame of ``tl`` to ``sink`` every ``interval`` seconds while the block runs.

    Also makes ``traced(...)`` wrappers sent to worker processes during the block announce
    their starts (a temporary folder, removed at the end). The thread that draws is started
    and joined here, so its output belongs to the cell that runs the block. The final
    frame is the caller's business (``live`` replaces it with the real picture).
    ``frame``: what to draw instead of ``tl`` (a server's view, :func:`live_server`).
    """
    folder = tempfile.mkdtemp(prefix="concurrency-lab-live-")
    remote = _Remote(folder)
    previous = set_announce_dir(folder)
    stop = threading.Event()
    stats = DrawStats()

    def loop() -> None:
        while True:
            cpu = time.thread_time()
            remote.poll()
            # a frame that cannot be shown must not stop the demo
            with contextlib.suppress(Exception):
                sink(*(frame() if frame is not None else frame_svg(tl, remote=remote)))
                stats.frames += 1
            stats.cpu_seconds += time.thread_time() - cpu
            if stop.wait(interval):
                return

    thread = threading.Thread(target=loop, name="live timeline", daemon=True)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join()
        set_announce_dir(previous)
        shutil.rmtree(folder, ignore_errors=True)


# -- the notebook's switch ------------------------------------------------------------------------
class _Growing:
    """What :class:`Live` and :class:`LiveServer` share: one output that shows a frame
    several times a second while the block runs, then the final picture."""

    def __init__(self, on: bool | None, interval: float) -> None:
        self.on = on
        self.interval = interval
        self.updating = False
        self.frames = 0
        self.picture: Picture | None = None
        self._handle: Any = None
        self._drawing: contextlib.AbstractContextManager[DrawStats] | None = None

    def _show_frame(self, svg: str, text: str) -> None:
        self._handle.update({"image/svg+xml": svg, "text/plain": text}, raw=True)
        self.frames += 1

    def _start(
        self, tl: Timeline, first: tuple[str, str], frame: Callable[[], tuple[str, str]] | None
    ) -> DrawStats:
        """Show ``first`` and keep drawing (``frame``, or ``tl`` itself) if frames are wanted."""
        self.updating = updates_wanted(self.on)
        if not self.updating:
            return DrawStats()
        from IPython.display import display

        svg, text = first
        self._handle = display(
            {"image/svg+xml": svg, "text/plain": text}, raw=True, display_id=True
        )
        self._drawing = drawing(tl, self._show_frame, interval=self.interval, frame=frame)
        return self._drawing.__enter__()

    def _stop(self, *exc: Any) -> None:
        if self._drawing is not None:
            self._drawing.__exit__(*exc)
            self._drawing = None

    def _finish(self, picture: Picture) -> None:
        """Replace the growing frames by ``picture`` (or show it, if none were drawn)."""
        self.picture = picture
        if self._handle is not None:
            self._handle.update(picture)
        elif _in_kernel() or _in_ipython():
            from IPython.display import display

            display(picture)


class Live(_Growing):
    """The context manager :func:`live` returns; after the block, ``picture`` holds the result."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        on: bool | None = None,
        interval: float = DEFAULT_INTERVAL,
        title: str | None = None,
    ) -> None:
        super().__init__(on, interval)
        self.timeline = timeline
        self.title = title
        self.stats = DrawStats()

    def __enter__(self) -> Timeline:
        self.timeline.__enter__()
        self.stats = self._start(self.timeline, frame_svg(self.timeline), None)
        return self.timeline

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.timeline.__exit__(exc_type, exc, tb)
        self._stop(exc_type, exc, tb)
        self._finish(plot_timeline(self.timeline, self.title))


class LiveServer(_Growing):
    """The context manager :func:`live_server` returns. After the block: ``stats`` (the
    server's :class:`~concurrency_lab.work.service.ServerStats`), ``timeline`` (its view
    as a Timeline) and ``picture`` (what the cell shows)."""

    def __init__(
        self,
        service: Service,
        title: str = "what the server saw",
        *,
        lanes: str = "slot",
        on: bool | None = None,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        if lanes not in ("slot", "connection"):
            raise ValueError(f"lanes must be 'slot' or 'connection', got {lanes!r}")
        super().__init__(on, interval)
        self.service = service
        self.title = title
        self.lanes = lanes
        self.stats: ServerStats | None = None
        self.timeline: Timeline | None = None
        self._t0 = 0.0
        self.draw_stats = DrawStats()

    def frame(self) -> tuple[str, str]:
        """The server's view now: answered requests as bars, those being served growing."""
        now = time.perf_counter()
        events = self.service.stats().events(self.lanes, now=now)  # type: ignore[arg-type]
        done = Timeline(self.title, events=[e for e in events if e.label != IN_PROGRESS])
        done.t0 = self._t0
        return frame_svg(done, now=now, running=[e for e in events if e.label == IN_PROGRESS])

    def __enter__(self) -> LiveServer:
        self._t0 = time.perf_counter()
        self.draw_stats = self._start(Timeline(self.title), self.frame(), self.frame)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        t_end = time.perf_counter()
        self._stop(exc_type, exc, tb)
        self.stats = self.service.stats()
        self.timeline = self.stats.timeline(self.title, lanes=self.lanes)  # type: ignore[arg-type]
        self.timeline.t0, self.timeline.t_end = self._t0, t_end
        self._finish(plot_timeline(self.timeline))


def live_server(
    service: Service,
    title: str = "what the server saw",
    *,
    lanes: str = "slot",
    on: bool | None = None,
    interval: float = DEFAULT_INTERVAL,
) -> LiveServer:
    """Draw what the course's HTTP server sees while the ``with`` block runs.

    Each request the server is serving is a bar that grows until it is answered, in the
    lane of its slot (``lanes="slot"``: as many lanes as requests served at once) or of
    its connection (``lanes="connection"``); turned-away ones (429) are red marks. The
    block's end turns it into ``plot_timeline`` of the server's timeline over the block,
    the picture ``plot_timeline(service.stats().timeline(title))`` draws. ``on`` and
    ``interval`` as for :func:`live`. Call ``service.reset_stats()`` before the block to
    see only its requests::

        service.reset_stats()
        with live_server(service, "what the server saw") as view:
            replies = await asyncio.gather(*(fetch(session, url) for url in urls))
        view.stats.status_counts()
    """
    return LiveServer(service, title, lanes=lanes, on=on, interval=interval)


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


def live(
    timeline: Timeline,
    *,
    on: bool | None = None,
    interval: float = DEFAULT_INTERVAL,
    title: str | None = None,
) -> Live:
    """Draw ``timeline`` while the ``with`` block runs; show its final picture at the end.

    Use it in place of ``with Timeline(...) as tl:`` (it starts and stops the timeline's
    clock) and drop the ``plot_timeline(tl)`` after the block: the live picture turns into
    that picture when the block ends. ``on`` forces frames on or off (default: on in a
    Jupyter kernel at lecture scale, see :func:`updates_wanted`); ``interval`` is the time
    between frames; ``title`` is passed to ``plot_timeline``. After the block, the
    returned object's ``picture`` is the final :class:`~concurrency_lab.view.plotting.Picture`.
    """
    return Live(timeline, on=on, interval=interval, title=title)
