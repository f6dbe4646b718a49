"""Lesson 05's measuring helpers: one event per task, the project's answer, any executor."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from concurrency_lab.view.plotting import Picture, plot_file_sizes
from concurrency_lab.work.batching import batch_files
from concurrency_lab.work.data import make_dataset, missing_path, write_bad_files
from concurrency_lab.work.project import run_sequential
from concurrency_lab.work.project_demos import (
    Measured,
    read_only,
    run_batches,
    run_per_file,
    warm_up,
)
from concurrency_lab.work.scale import ENV_VAR


@pytest.fixture(autouse=True)
def _small_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "0.02")


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return make_dataset(tmp_path / "sales", n_files=12, rows=500, skew=1.0, seed=3)


def test_run_batches_in_threads_gives_the_sequential_answer(files: list[Path]) -> None:
    batches = batch_files(files, 3, "balanced")
    with ThreadPoolExecutor(max_workers=3) as executor:
        measured = run_batches(executor, batches, "three batches")
    assert isinstance(measured, Measured)
    assert measured.result == run_sequential(files)
    assert measured.tasks == 3 and measured.title == "three batches"
    assert sorted(e.task_id for e in measured.timeline.events) == [0, 1, 2]
    assert {e.label for e in measured.timeline.events} == {"batch"}
    assert all(e.ok for e in measured.timeline.events)
    tl = measured.timeline
    assert measured.wall == tl.wall > 0
    assert all(tl.t0 <= e.start <= e.end <= tl.t_end for e in tl.events)


def test_run_per_file_is_one_task_per_file(files: list[Path]) -> None:
    with ThreadPoolExecutor(max_workers=2) as executor:
        measured = run_per_file(executor, files, "per file")
    assert measured.tasks == len(files)
    assert {e.label for e in measured.timeline.events} == {"file"}
    assert measured.result == run_sequential(files)


def test_a_batch_with_a_bad_file_is_drawn_failed_and_nothing_is_lost(
    files: list[Path], tmp_path: Path
) -> None:
    bad = write_bad_files(tmp_path / "sales")
    paths = [*files, *sorted(bad), missing_path(tmp_path / "sales")]
    batches = [files, [*sorted(bad), missing_path(tmp_path / "sales")]]
    with ThreadPoolExecutor(max_workers=2) as executor:
        measured = run_batches(executor, batches)
    assert measured.result == run_sequential(paths)
    assert measured.result.files == len(files) and len(measured.result.errors) == 4
    ok = {e.task_id: e.ok for e in measured.timeline.events}
    assert ok == {0: True, 1: False}


def test_a_running_process_pool_is_reused_under_spawn(files: list[Path]) -> None:
    # spawn pickles the work by reference: this proves the helpers send only importable code
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as executor:
        assert warm_up(executor, 2, seconds=0.01) is None
        first = run_batches(executor, batch_files(files, 2, "round_robin"))
        second = run_batches(executor, batch_files(files, 4, "balanced"))
    expected = run_sequential(files)
    assert first.result == second.result == expected
    assert (first.tasks, second.tasks) == (2, 4)


def test_empty_list_of_batches() -> None:
    with ThreadPoolExecutor(max_workers=1) as executor:
        measured = run_batches(executor, [])
    assert measured.tasks == 0 and measured.result == run_sequential([])


def test_read_only_reads_every_byte_and_skips_missing(files: list[Path], tmp_path: Path) -> None:
    expected = sum(p.stat().st_size for p in files)
    assert read_only(files) == expected
    assert read_only([*files, missing_path(tmp_path / "sales")]) == expected


@pytest.mark.filterwarnings("error")  # e.g. matplotlib on a log axis of equal bars
def test_plot_file_sizes_text_is_a_ratio_per_set() -> None:
    picture = plot_file_sizes({"even": [10, 10, 10, 10], "skewed": [1, 1, 1, 37]}, title="t")
    assert isinstance(picture, Picture)
    assert picture.text == (
        "t: even: 4 files, largest 1.00× the mean; skewed: 4 files, largest 3.70× the mean"
    )
    assert len(picture.figure.axes) == 2
    assert picture.png().startswith(b"\x89PNG")
    # an empty file (0 bytes) on the log axis draws without a warning
    assert plot_file_sizes({"one empty": [0, 3, 9]}).png().startswith(b"\x89PNG")


def test_plot_file_sizes_rejects_nothing_to_draw() -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_file_sizes({})
    with pytest.raises(ValueError, match="no file sizes"):
        plot_file_sizes({"none": []})
