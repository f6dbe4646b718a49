"""Speed-up, efficiency and Amdahl's law (concurrency_lab.work.speedup) and plot_speedup."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concurrency_lab.work.speedup import (
    amdahl_speedup,
    efficiencies,
    efficiency,
    fit_serial_fraction,
    speedup,
    speedups,
)


def test_speedup_and_efficiency() -> None:
    assert speedup(4.0, 2.0) == 2.0
    assert speedups(4.0, [4.0, 2.0, 1.0]) == [1.0, 2.0, 4.0]
    assert efficiency(4, 3.0) == 0.75
    assert efficiencies([1, 2, 4], [1.0, 2.0, 2.0]) == [1.0, 1.0, 0.5]


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_non_positive_times_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        speedup(1.0, bad)
    with pytest.raises(ValueError, match="positive number of seconds"):
        speedup(bad, 1.0)


def test_empty_and_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        speedups(1.0, [])
    with pytest.raises(ValueError, match="empty"):
        fit_serial_fraction([], [])
    with pytest.raises(ValueError, match="2 values but there are 3"):
        fit_serial_fraction([1, 2], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="3 values but there are 2"):
        efficiencies([1, 2, 3], [1.0, 2.0])


def test_bad_worker_counts_and_fractions_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        amdahl_speedup(0, 0.1)
    with pytest.raises(TypeError):
        amdahl_speedup("2", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="between 0 and 1"):
        amdahl_speedup(2, 1.5)
    with pytest.raises(ValueError, match="2 or more"):
        fit_serial_fraction([1, 1], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        fit_serial_fraction([1, 2], [1.0, 0.0])


def test_amdahl_limits() -> None:
    assert amdahl_speedup(8, 0.0) == 8.0
    assert amdahl_speedup(8, 1.0) == 1.0
    assert amdahl_speedup(1, 0.3) == 1.0
    assert amdahl_speedup(10**9, 0.25) == pytest.approx(4.0, rel=1e-6)


@given(
    f=st.floats(min_value=0.0, max_value=1.0),
    workers=st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8).filter(
        lambda ws: any(w > 1 for w in ws)
    ),
)
def test_fit_recovers_the_serial_fraction_of_exact_amdahl_data(
    f: float, workers: list[int]
) -> None:
    measured = [amdahl_speedup(n, f) for n in workers]
    assert fit_serial_fraction(workers, measured) == pytest.approx(f, abs=1e-9)


def test_fit_is_clipped_to_0_and_1() -> None:
    assert fit_serial_fraction([1, 2], [1.0, 2.2]) == 0.0  # better than ideal
    assert fit_serial_fraction([1, 4], [1.0, 0.5]) == 1.0  # slower than sequential


def test_plot_speedup_text_is_deterministic_and_png_renders() -> None:
    from concurrency_lab.view.plotting import Picture, plot_speedup

    pic = plot_speedup([1, 2, 3, 4], [4.0, 2.1, 2.05, 2.0], cores=2, title="24 tasks")
    assert isinstance(pic, Picture)
    assert pic.text == "24 tasks: best speed-up 2.00×"
    assert pic.png().startswith(b"\x89PNG")
    assert pic.figure.get_facecolor()[:3] == (1.0, 1.0, 1.0)  # readable in a dark theme
    labels = [ax.get_xlabel() for ax in pic.figure.axes]
    assert labels == ["number of workers (processes)"] * 2
    legend = [t.get_text() for t in pic.figure.axes[0].get_legend().get_texts()]
    assert any(t.startswith("Amdahl's law, serial fraction") for t in legend)
    assert "usable cores: 2" in legend


def test_plot_speedup_takes_speedups_and_refuses_bad_input() -> None:
    from concurrency_lab.view.plotting import plot_speedup

    assert plot_speedup([1, 2], speedups=[1.0, 1.9], title="t").text == "t: best speed-up 1.90×"
    assert plot_speedup([1], speedups=[1.0], title="one").text == "one: best speed-up 1.00×"
    with pytest.raises(ValueError, match="exactly one"):
        plot_speedup([1, 2])
    with pytest.raises(ValueError, match="exactly one"):
        plot_speedup([1, 2], [1.0, 2.0], speedups=[1.0, 2.0])
    with pytest.raises(ValueError, match="2 values but walltimes has 1"):
        plot_speedup([1, 2], [1.0])
    with pytest.raises(ValueError, match="sequential"):
        plot_speedup([2, 4], [1.0, 0.6])
    with pytest.raises(ValueError, match="positive"):
        plot_speedup([1, 2], [1.0, 0.0])
    assert plot_speedup([2, 4], [1.0, 0.5], sequential=2.0, title="x").text.endswith("4.00×")


def test_plot_turns_text_counts_lanes_not_slices() -> None:
    from concurrency_lab.view.plotting import plot_turns

    turns = {"thread-0": [(0.0, 0.005), (0.010, 0.015)], "thread-1": [(0.005, 0.010)]}
    pic = plot_turns(turns, title="taking turns", window=0.012)
    assert pic.text == (
        "taking turns: 2 lanes · wall 15.0 ms · running 15.0 ms · at once on average 1.00×"
    )
    assert pic.png().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="no slices"):
        plot_turns({"a": []}, title="empty")
