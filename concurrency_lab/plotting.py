"""Pictures of what ran when (Gantt timelines) and of how timings compare.

Every function returns a :class:`Picture`: in JupyterLab it shows as a PNG image, and
anywhere else (a terminal, ``print``, a test) as one line of text, the summary. Figures
are built with ``matplotlib.figure.Figure`` directly, not through ``pyplot``, so nothing
is drawn twice and no global plotting state leaks from one cell into the next.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from matplotlib.figure import Figure

from concurrency_lab.timeline import Event, Summary, Timeline
from concurrency_lab.timing import fmt_seconds

__all__ = ["Picture", "plot_timeline", "plot_walltimes"]

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
) -> Picture:
    """Draw a Gantt chart: one lane per worker, one bar per task, seconds since the start.

    Bars are labelled with the task id; failed runs (``ok=False``) are red and hatched.
    The title carries the :class:`~concurrency_lab.timeline.Summary` — wall time, sum of
    task times and achieved concurrency — which is also the picture's text form.
    """
    tl = _as_timeline(data)
    summary: Summary = tl.summary()
    lanes = tl.workers()
    heading = title or tl.title
    text = f"{heading}: {summary}" if heading else str(summary)

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
        f"{fmt_seconds(summary.busy)}  ·  concurrency {summary.concurrency:.2f}×",
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
