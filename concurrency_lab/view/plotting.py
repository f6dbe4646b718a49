"""Pictures of what ran when (Gantt timelines) and of how timings compare.

Every function returns a :class:`Picture`: in JupyterLab it shows as a PNG image, and
anywhere else (a terminal, ``print``, a test) as one line of text, the summary. Figures
are built with ``matplotlib.figure.Figure`` directly, not through ``pyplot``, so nothing
is drawn twice and no global plotting state leaks from one cell into the next.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from concurrency_lab.work.timeline import Event, Summary, Timeline
from concurrency_lab.work.timing import fmt_ratio, fmt_seconds

__all__ = [
    "Picture",
    "plot_file_sizes",
    "plot_series",
    "plot_speedup",
    "plot_timeline",
    "plot_turns",
    "plot_walltimes",
]

_OK_COLORS = ["#4C72B0", "#55A868", "#8172B2", "#CCB974", "#64B5CD", "#DD8452"]
_FAIL_COLOR = "#C44E52"


class Picture:
    """A figure plus the one-line text that stands for it where images cannot be shown."""

    def __init__(self, figure: Figure, text: str) -> None:
        self.figure = figure
        self.text = text

    def png(self) -> bytes:
        """The figure rendered as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"image/png": self.png(), "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text

    def save(self, path: str) -> None:
        """Write the figure to ``path`` (the format follows the file extension)."""
        self.figure.savefig(path, dpi=100, bbox_inches="tight")


def _as_timeline(data: Timeline | Iterable[Event]) -> Timeline:
    if isinstance(data, Timeline):
        return data
    events = list(data)
    if not all(isinstance(e, Event) for e in events):
        raise TypeError("plot_timeline expects a Timeline or an iterable of Event objects")
    tl = Timeline(events=events)
    if events:
        tl.t0 = min(e.start for e in events)
        tl.t_end = max(e.end for e in events)
    return tl


def plot_timeline(
    data: Timeline | Iterable[Event],
    title: str | None = None,
    *,
    width: float = 9.0,
    lane_height: float = 0.45,
    cpu_seconds: float | None = None,
) -> Picture:
    """Draw a Gantt chart: one lane per worker, one bar per task, seconds since the start.

    Bars are labelled with the task id; failed runs (``ok=False``) are red and hatched.
    The title carries the :class:`~concurrency_lab.work.timeline.Summary` — wall time, sum of
    task times and their *overlap* (sum / wall: how many tasks were under way at once, on
    average) — which is also the picture's text form.

    Overlap is not a speed-up: four tasks sharing two cores overlap 4× while each runs at
    half speed. Pass ``cpu_seconds`` (the CPU time the tasks really received, for example
    the sum of :func:`~concurrency_lab.work.pool_demos.cpu_seconds` results) to add it to
    the title, with ``cores`` = CPU seconds / wall: the number of cores really at work.
    """
    tl = _as_timeline(data)
    summary: Summary = tl.summary()
    lanes = tl.workers()
    heading = title or tl.title
    text = f"{heading}: {summary}" if heading else str(summary)
    cpu_note = ""
    if cpu_seconds is not None:
        cores = cpu_seconds / summary.wall if summary.wall > 0 else 0.0
        cpu_note = f" · CPU received {fmt_seconds(cpu_seconds)} · cores {fmt_ratio(cores)}"
        text += cpu_note

    height = 1.3 + lane_height * max(1, len(lanes))
    fig = Figure(figsize=(width, min(height, 12.0)))
    ax = fig.add_subplot()
    labels = sorted({e.label for e in tl.events})
    color_of = {lab: _OK_COLORS[i % len(_OK_COLORS)] for i, lab in enumerate(labels)}
    lane_of = {w: i for i, w in enumerate(lanes)}
    for e in tl.events:
        y = lane_of[e.worker]
        color = color_of[e.label] if e.ok else _FAIL_COLOR
        ax.barh(
            y,
            e.duration,
            left=e.start - tl.t0,
            height=0.6,
            color=color,
            edgecolor="black",
            linewidth=0.6,
            hatch=None if e.ok else "//",
        )
        if len(tl.events) <= 60:
            ax.text(
                e.start - tl.t0 + e.duration / 2,
                y,
                str(e.task_id),
                ha="center",
                va="center",
                fontsize=8,
                color="white",
                fontweight="bold",
            )
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes if len(lanes) <= 24 else [""] * len(lanes), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(summary.wall, 1e-9) * 1.02)
    ax.set_xlabel("seconds since start")
    ax.grid(axis="x", alpha=0.3)
    if len(labels) > 1:
        from matplotlib.patches import Patch

        handles = [Patch(color=color_of[lab], label=lab) for lab in labels]
        ax.legend(handles=handles, loc="lower right", fontsize=8)
    first = f"{heading}\n" if heading else ""
    ax.set_title(
        f"{first}wall {fmt_seconds(summary.wall)}  ·  sum of task times "
        f"{fmt_seconds(summary.busy)}  ·  overlap {summary.concurrency:.2f}×"
        + cpu_note.replace(" · ", "  ·  "),
        fontsize=10,
    )
    fig.tight_layout()
    return Picture(fig, text)


def plot_walltimes(
    xs: Sequence[Any],
    seconds: Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str = "wall time (s)",
    logx: bool = False,
    reference: float | None = None,
    reference_label: str = "ideal",
) -> Picture:
    """Plot measured wall times against a setting (thread count, pool size, ...).

    ``reference`` draws a dashed horizontal line, e.g. the longest single task: the best
    any amount of concurrency can do. The text form lists the points.
    """
    if len(xs) != len(seconds):
        raise ValueError(f"xs has {len(xs)} values but seconds has {len(seconds)}")
    fig = Figure(figsize=(7.0, 3.6))
    ax = fig.add_subplot()
    ax.plot(list(xs), list(seconds), marker="o")
    for x, s in zip(xs, seconds, strict=True):
        ax.annotate(
            fmt_seconds(s),
            (x, s),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    if reference is not None:
        ax.axhline(reference, linestyle="--", color="grey", label=reference_label)
        ax.legend(fontsize=8)
    if logx:
        ax.set_xscale("log")
    ax.set_xticks(list(xs))
    ax.set_xticklabels([str(x) for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    points = ", ".join(f"{x}: {fmt_seconds(s)}" for x, s in zip(xs, seconds, strict=True))
    return Picture(fig, f"{title}: {points}")


def plot_speedup(
    workers: Sequence[int],
    walltimes: Sequence[float] | None = None,
    *,
    speedups: Sequence[float] | None = None,
    sequential: float | None = None,
    cores: int | None = None,
    title: str = "Speed-up against the number of workers",
) -> Picture:
    """Plot measured speed-up and efficiency against worker count, with Amdahl's law.

    Give either ``walltimes`` (seconds per worker count; the speed-up is ``sequential /
    wall``, and ``sequential`` defaults to the wall time with 1 worker) or ``speedups``.
    The left panel shows the measured speed-up, the ideal line (``n`` workers, ``n`` times
    faster) and Amdahl's law for the serial fraction fitted to the measurements
    (:func:`concurrency_lab.work.speedup.fit_serial_fraction`, over the worker counts up to
    ``cores`` when given); the right panel shows efficiency (speed-up per worker). A
    vertical line marks ``cores``, the CPUs this process may use.

    The picture's text form is deterministic at any scale and on any machine: the title
    and the best speed-up (a ratio, which the tests' sanitizer masks). The fitted serial
    fraction and the core count appear in the image only.
    """
    from concurrency_lab.work.speedup import (
        amdahl_speedup,
        efficiencies,
        fit_serial_fraction,
    )
    from concurrency_lab.work.speedup import speedups as _speedups

    xs = [int(n) for n in workers]
    if not xs:
        raise ValueError("workers is empty: give at least one worker count")
    if (walltimes is None) == (speedups is None):
        raise ValueError("give either walltimes or speedups (exactly one of them)")
    if walltimes is not None:
        if len(walltimes) != len(xs):
            raise ValueError(f"workers has {len(xs)} values but walltimes has {len(walltimes)}")
        if sequential is None:
            if 1 not in xs:
                raise ValueError("give sequential=... or include a run with 1 worker")
            sequential = walltimes[xs.index(1)]
        ys = _speedups(sequential, walltimes)
    else:
        assert speedups is not None
        if len(speedups) != len(xs):
            raise ValueError(f"workers has {len(xs)} values but speedups has {len(speedups)}")
        ys = [float(s) for s in speedups]
    effs = efficiencies(xs, ys)

    fit_points = [(n, s) for n, s in zip(xs, ys, strict=True) if cores is None or n <= cores]
    serial: float | None = None
    if any(n > 1 for n, _ in fit_points):
        serial = fit_serial_fraction([n for n, _ in fit_points], [s for _, s in fit_points])

    top = max(xs)
    grid = [1 + i * (top - 1) / 100 for i in range(101)] if top > 1 else [1.0]
    fig = Figure(figsize=(10.0, 3.9), facecolor="white")
    ax_s, ax_e = fig.subplots(1, 2)
    ax_s.plot(grid, grid, linestyle="--", color="grey", label="ideal: n workers, n× faster")
    ax_e.axhline(1.0, linestyle="--", color="grey", label="ideal: 100 %")
    if serial is not None:
        amdahl = [amdahl_speedup(n, serial) for n in grid]
        label = f"Amdahl's law, serial fraction {serial:.1%}"
        ax_s.plot(grid, amdahl, color="#DD8452", label=label)
        ax_e.plot(
            grid, [a / n for a, n in zip(amdahl, grid, strict=True)], color="#DD8452", label=label
        )
    ax_s.plot(xs, ys, marker="o", color="#4C72B0", label="measured")
    ax_e.plot(xs, effs, marker="o", color="#4C72B0", label="measured")
    for x, s in zip(xs, ys, strict=True):
        ax_s.annotate(
            fmt_ratio(s), (x, s), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8
        )
    if cores is not None:
        for ax in (ax_s, ax_e):
            ax.axvline(cores, color="#C44E52", linestyle=":", label=f"usable cores: {cores}")
            if top > cores:  # more workers than cores: they take turns on the cores
                ax.axvspan(cores, top, color="grey", alpha=0.08)
    ax_s.set_ylabel("speed-up (sequential time / wall time, ×)")
    ax_s.set_ylim(0, max(top, max(ys)) * 1.1)
    ax_e.set_ylabel("efficiency (speed-up / workers, %)")
    ax_e.set_ylim(0, max(1.05, max(effs) * 1.1))
    ax_e.yaxis.set_major_formatter(_percent_formatter())
    for ax in (ax_s, ax_e):
        ax.set_facecolor("white")
        ax.set_xlabel("number of workers (processes)")
        ax.set_xticks(xs)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right" if ax is ax_e else "upper left")
    ax_s.set_title("speed-up", fontsize=10)
    ax_e.set_title("efficiency", fontsize=10)
    fig.suptitle(title, fontsize=11)
    # fixed margins: tight_layout() would measure every label first, doubling the cost
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.84, wspace=0.28)
    return Picture(fig, f"{title}: best speed-up {fmt_ratio(max(ys))}")


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0)


def plot_file_sizes(
    sizes: dict[str, Sequence[int]],
    *,
    title: str = "File sizes, largest first",
    unit: str = "kB",
    log: bool = True,
) -> Picture:
    """Draw each named set of file sizes (bytes) as bars sorted largest first, side by side.

    One panel per set, sharing the y axis, with the mean as a dashed line: an even set is
    a flat wall of bars at the mean, a skewed one a few tall bars and a long low tail.
    ``log`` (default) draws the y axis on a log scale, so that both stay visible when the
    largest file is a hundred times the smallest. The text form names each set with its
    file count and how many times the mean its largest file is (a ratio, so it reads the
    same at every scale).
    """
    if not sizes:
        raise ValueError("sizes is empty: give at least one named list of file sizes")
    for name, values in sizes.items():
        if len(values) == 0:
            raise ValueError(f"{name!r} has no file sizes")
    divisor = {"B": 1, "kB": 1_000, "MB": 1_000_000}[unit]
    # every panel's bars start at the same floor, so equal heights look equal
    smallest = min((v for values in sizes.values() for v in values if v > 0), default=1)
    floor = smallest / divisor / 2 if log else 0.0
    fig = Figure(figsize=(4.5 * len(sizes), 3.4), facecolor="white")
    axes = fig.subplots(1, len(sizes), sharey=True, squeeze=False)[0]
    parts = []
    for ax, (name, values) in zip(axes, sizes.items(), strict=True):
        ordered = sorted(values, reverse=True)
        mean = sum(ordered) / len(ordered)
        if log:
            from matplotlib.ticker import FuncFormatter, NullLocator

            ax.set_yscale("log")
            # plain labels (1, 10, 100) instead of mathtext powers, which are slow to typeset,
            # and no minor ticks: they crowd the axis and cost more than they say
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_locator(NullLocator())
        # one filled step outline rather than a bar per file: hundreds of bars draw slowly
        edges = [i - 0.5 for i in range(len(ordered) + 1)]
        heights = [v / divisor for v in ordered]
        ax.stairs(heights, edges, fill=True, color="#4C72B0", baseline=floor)
        ax.axhline(mean / divisor, color="grey", linestyle="--", label="mean")
        ax.set_title(f"{name}: {len(ordered)} files", fontsize=10)
        ax.set_xlabel("files, largest first")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
        largest = fmt_ratio(ordered[0] / mean) if mean > 0 else fmt_ratio(0.0)
        parts.append(f"{name}: {len(ordered)} files, largest {largest} the mean")
    axes[0].set_ylabel(f"size ({unit}, log scale)" if log else f"size ({unit})")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return Picture(fig, f"{title}: " + "; ".join(parts))


def plot_turns(
    slices: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    window: float | None = None,
) -> Picture:
    """Draw when each worker was really running, from :func:`~concurrency_lab.work.pool_demos.
    running_slices`: one lane per worker, one bar per slice of uninterrupted running.

    ``window`` (seconds) zooms in on the start, where individual turns are visible (two
    threads under the GIL alternate every few milliseconds). The text form gives the lane
    count, the wall time, the total running time and how many lanes ran at once on
    average (``running / wall``): about 1× for threads taking turns, 2× for two processes
    on two cores.
    """
    lanes = list(slices)
    spans = [s for lane in lanes for s in slices[lane]]
    if not spans:
        raise ValueError("no slices to draw")
    t0 = min(a for a, _ in spans)
    wall = max(b for _, b in spans) - t0
    busy = sum(b - a for a, b in spans)
    shown = wall if window is None else min(window, wall)
    fig = Figure(figsize=(9.0, 1.4 + 0.45 * len(lanes)), facecolor="white")
    ax = fig.add_subplot()
    ax.set_facecolor("white")
    for y, lane in enumerate(lanes):
        bars = [((a - t0) * 1e3, (b - a) * 1e3) for a, b in slices[lane] if a - t0 <= shown]
        ax.broken_barh(bars, (y - 0.3, 0.6), color=_OK_COLORS[y % len(_OK_COLORS)])
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(shown, 1e-9) * 1e3)
    ax.set_xlabel("milliseconds since start" + ("" if window is None else " (zoomed in)"))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        f"{title}\nwall {fmt_seconds(wall)}  ·  running {fmt_seconds(busy)}  ·  "
        f"at once on average {busy / wall:.2f}×",
        fontsize=10,
    )
    fig.tight_layout()
    text = (
        f"{title}: {len(lanes)} lanes · wall {fmt_seconds(wall)} · running "
        f"{fmt_seconds(busy)} · at once on average {fmt_ratio(busy / wall)}"
    )
    return Picture(fig, text)


def plot_series(
    xs: Sequence[Any],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    fmt: Any = fmt_seconds,
    logx: bool = False,
    logy: bool = False,
    reference: float | None = None,
    reference_label: str = "reference",
) -> Picture:
    """Plot several named lines against the same settings, e.g. threads vs asyncio.

    ``series`` maps a name to one value per x; ``fmt`` writes a value for the point labels
    and the text form (``fmt_seconds`` by default; pass e.g. ``aio.fmt_bytes`` for memory).
    ``reference`` draws a dashed horizontal line (e.g. the length of one wait); ``logy``
    suits values that span orders of magnitude (kilobytes to megabytes).
    The text form lists every point: ``title: threads: 10: 1.00 s, ...; asyncio: ...``.
    """
    if not series:
        raise ValueError("series is empty: give at least one named list of values")
    for name, values in series.items():
        if len(values) != len(xs):
            raise ValueError(f"{name!r} has {len(values)} values but xs has {len(xs)}")
    fig = Figure(figsize=(7.0, 3.6), facecolor="white")
    ax = fig.add_subplot()
    parts = []
    for k, (name, values) in enumerate(series.items()):
        color = _OK_COLORS[k % len(_OK_COLORS)]
        ax.plot(list(xs), list(values), marker="o", color=color, label=name)
        for x, v in zip(xs, values, strict=True):
            ax.annotate(
                fmt(v),
                (x, v),
                textcoords="offset points",
                xytext=(-5, 5) if k % 2 == 0 else (5, 5),  # one series left, one right
                ha="right" if k % 2 == 0 else "left",
                fontsize=8,
                color=color,
            )
        points = ", ".join(f"{x}: {fmt(v)}" for x, v in zip(xs, values, strict=True))
        parts.append(f"{name}: {points}")
    if reference is not None:
        ax.axhline(reference, linestyle="--", color="grey", label=reference_label)
    ax.margins(x=0.08, y=0.12)  # room for the point labels
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.minorticks_off()
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{x:,}" if isinstance(x, int) else str(x) for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Picture(fig, f"{title}: " + "; ".join(parts))
