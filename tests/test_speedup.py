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


# -- judging timing claims on a machine that may be busy (issue #18) ----------------------

from concurrency_lab.work import build  # noqa: E402
from concurrency_lab.work.speedup import Check, gil_check, when_given  # noqa: E402


def test_when_given_judges_a_claim_when_the_cores_were_there() -> None:
    held = when_given("the pool beat the loop", True, cores_got=1.93)
    assert held.judged and held.holds and held.ok
    assert str(held) == "✓ the pool beat the loop (the pool got 1.9 cores)"
    failed = when_given("the pool beat the loop", False, cores_got=2.0, who="the workers")
    assert failed.judged and not failed.ok  # a real failure: the lesson's assert fires
    assert str(failed) == "✗ the pool beat the loop: not so, although the workers got 2.0 cores"


def test_when_given_skips_a_claim_on_a_busy_machine_and_says_why() -> None:
    for holds in (True, False):  # what was measured does not matter: it is not judged
        skipped = when_given("the pool beat the loop", holds, cores_got=1.1)
        assert not skipped.judged and skipped.ok
        assert str(skipped) == (
            "your machine was busy: the pool got 1.1 cores, so this comparison is skipped "
            "— close other programs and re-run to see it"
        )
    # the threshold is inclusive and can be moved
    assert when_given("x", True, cores_got=1.6).judged
    assert not when_given("x", True, cores_got=3.5, cores_needed=3.6).judged


@pytest.mark.parametrize("bad", [-0.1, math.nan])
def test_when_given_refuses_nonsense_core_counts(bad: float) -> None:
    with pytest.raises(ValueError, match="number of cores"):
        when_given("x", True, cores_got=bad)


def test_gil_check_on_a_gil_build_is_always_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "gil_enabled", lambda: True)
    one_core = gil_check(1.02)
    assert one_core.judged and one_core.ok and str(one_core).startswith("✓ 2 threads computed")
    # a GIL build whose threads got two cores would be a real surprise: judged, and not ok
    parallel = gil_check(1.9)
    assert parallel.judged and not parallel.ok
    # a busy machine only lowers the figure: still judged, still ok
    assert gil_check(0.4).ok


def test_gil_check_on_a_free_threaded_build_reports_instead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # no free-threaded interpreter exists on the course's machines: the detection is patched
    monkeypatch.setattr(build, "gil_enabled", lambda: False)
    monkeypatch.setattr(build, "describe_build", lambda: "CPython 3.14.0, free-threaded build")
    parallel = gil_check(1.95)
    assert not parallel.judged and parallel.ok  # the lesson's assert passes
    text = str(parallel)
    assert "free-threaded build" in text and "1.95 cores" in text and "in parallel" in text
    assert gil_check(1.0).ok  # one core (a busy machine) is no failure either


def test_check_is_a_plain_value() -> None:
    c = Check("claim", holds=False, judged=False, note="skipped because")
    assert c.ok and str(c) == "skipped because"


def test_when_given_skips_a_claim_when_the_cores_computed_slowly() -> None:
    # 1.9 cores of CPU seconds, but each did 0.6 of a loop's CPU second: the machine's doing
    slow = when_given("the pool beat the loop", False, cores_got=1.9, pace=0.6)
    assert slow.ok and not slow.judged
    assert "0.60 of the work" in str(slow) and "skipped" in str(slow)
    full = when_given("the pool beat the loop", False, cores_got=1.9, pace=0.95)
    assert full.judged and not full.ok  # at full pace the claim is judged, and fails here
