"""The project: correct totals, bad files reported with nothing lost, any batching = sequential;
and the helpers lesson 05 measures it with (run_batches, run_per_file, warm_up, read_only)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concurrency_lab.view.plotting import Picture, plot_file_sizes
from concurrency_lab.work.batching import STRATEGIES, batch_files, batch_sizes
from concurrency_lab.work.data import COLUMNS, make_dataset, missing_path, write_bad_files
from concurrency_lab.work.project import (
    FileError,
    Measured,
    Partial,
    Result,
    combine,
    format_cents,
    main,
    read_only,
    run,
    run_batches,
    run_per_file,
    run_sequential,
    warm_up,
)
from concurrency_lab.work.scale import ENV_VAR
from concurrency_lab.work.timeline import Timeline

# fork is the quickest start method where it exists; one test below uses spawn
FAST = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
HEADER = ",".join(COLUMNS)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sales")


@pytest.fixture(scope="module")
def good(folder: Path) -> list[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, "1")
        return make_dataset(folder, n_files=10, rows=40, skew=1.0, seed=5)


@pytest.fixture(scope="module")
def bad(folder: Path) -> dict[Path, str]:
    found = write_bad_files(folder)
    found[missing_path(folder)] = "file not found"
    return found


def oracle(paths: list[Path]) -> tuple[int, dict[str, int], dict[str, int]]:
    """The totals computed the plainest way (split on commas), to check the project."""
    rows, cents, units = 0, {}, {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            _, _, category, _, n, price = line.split(",")
            cents[category] = cents.get(category, 0) + int(n) * int(price)
            units[category] = units.get(category, 0) + int(n)
            rows += 1
    return rows, cents, units


def test_run_totals_every_row(good: list[Path]) -> None:
    partial = run(good, batch_id=3)
    rows, cents, units = oracle(good)
    assert (partial.files, partial.rows, partial.errors) == (10, rows, [])
    assert partial.totals_cents == cents and partial.units == units
    assert partial.batch_id == 3 and partial.pid == os.getpid()
    assert partial.start <= partial.end
    assert partial.cpu >= 0  # coarse on Windows (a clock tick), so it may read 0


def test_bad_files_are_reported_and_nothing_good_is_lost(
    good: list[Path], bad: dict[Path, str]
) -> None:
    mixed = [*good[:5], *bad, *good[5:]]
    result = run_sequential(mixed)
    rows, cents, _ = oracle(good)
    assert result.files == len(good) and result.rows == rows and result.totals_cents == cents
    assert result.errors == sorted(FileError(str(p), reason) for p, reason in bad.items())
    assert result.files + len(result.errors) == len(mixed)  # every file accounted for
    assert result.bad_files == {
        "broken_bad_number.csv": "line 4: units 'two' is not a whole number",
        "broken_empty.csv": "empty file: no header, no rows",
        "broken_wrong_columns.csv": "line 5: row has 5 fields, expected 6",
        "no_such_file.csv": "file not found",
    }


def test_a_malformed_file_counts_none_of_its_rows(tmp_path: Path) -> None:
    # all or nothing per file: the good rows before the bad one are not counted either
    path = tmp_path / "half.csv"
    path.write_text(f"{HEADER}\n2024-01-01,s,dairy,milk,2,100\n2024-01-01,s,dairy,milk,x,100\n")
    result = run_sequential([path])
    assert (result.files, result.rows, result.totals_cents) == (0, 0, {})
    assert result.bad_files == {"half.csv": "line 3: units 'x' is not a whole number"}


GOOD_ROW = "2024-05-06,store_01,dairy,milk,2,139"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("date,store\n", "line 1: header is 'date,store', expected '" + HEADER + "'"),
        (f"{HEADER}\n2024-02-30,s,dairy,milk,1,1\n", "line 2: date '2024-02-30' is not a date"),
        (f"{HEADER}\n24-2-3,s,dairy,milk,1,1\n", "line 2: date '24-2-3' is not a date"),
        (f"{HEADER}\n2024-01-01,s,dairy,milk,0,1\n", "line 2: units is 0, must be at least 1"),
        (
            f"{HEADER}\n{GOOD_ROW}\n2024-01-01,s,dairy,milk,1,-5\n",
            "line 3: unit_price_cents is -5, must be at least 0",
        ),
        (f"{HEADER}\n2024-01-01,s,dairy,milk,1,1.5\n", "line 2: unit_price_cents '1.5' is not"),
        (f"{HEADER}\n{GOOD_ROW}\n\n{GOOD_ROW}\n", "line 3: row has 0 fields, expected 6"),
        (f"{HEADER}\n{GOOD_ROW},extra\n", "line 2: row has 7 fields, expected 6"),
        (f"{HEADER}\n2024-01-01,,dairy,milk,1,1\n", "line 2: store, category and product must"),
    ],
)
def test_malformed_rows_are_named_by_line(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    (error,) = run([path]).errors
    assert error.path == str(path)
    assert error.reason.startswith(reason)


def test_unreadable_inputs_are_reported(tmp_path: Path) -> None:
    (tmp_path / "latin1.csv").write_bytes(
        HEADER.encode() + b"\n2024-01-01,caf\xe9,dairy,milk,1,1\n"
    )
    (tmp_path / "a_folder.csv").mkdir()
    (tmp_path / "header_only.csv").write_text(HEADER + "\n")
    result = run_sequential(sorted(tmp_path.iterdir()))
    assert result.bad_files == {
        "a_folder.csv": "is a directory, not a file",
        "latin1.csv": "not UTF-8 text",
    }
    assert (result.files, result.rows) == (1, 0)  # a header and no rows is a valid file


def test_combine_is_exact_in_any_order(good: list[Path], bad: dict[Path, str]) -> None:
    paths = [*good, *bad]
    parts = [run([p], i) for i, p in enumerate(paths)]
    forward, backward = combine(parts), combine(reversed(parts))
    assert forward == backward == run_sequential(paths)
    assert list(forward.totals_cents) == sorted(forward.totals_cents)
    assert [p.batch_id for p in backward.partials] == list(range(len(paths)))


def test_empty_inputs() -> None:
    assert combine([]) == Result() == run_sequential([]) == main([], 2)
    with ThreadPoolExecutor(max_workers=1) as executor:
        measured = run_batches(executor, [])
        assert run_per_file(executor, []).tasks == 0
    assert measured.tasks == 0 and measured.result == Result()
    assert measured.cores == 0.0
    assert str(Result()).splitlines()[0] == "0 rows from 0 files"


def test_report_is_short_and_exact() -> None:
    result = combine(
        [
            Partial(0, files=2, rows=3, totals_cents={"dairy": 123456, "bakery": 5}),
            Partial(1, files=1, rows=1, errors=[FileError("/x/y/gone.csv", "file not found")]),
        ]
    )
    assert result.report() == (
        "4 rows from 3 files · 1 bad\n"
        "  bakery      $0.05\n"
        "  dairy   $1,234.56\n"
        "  total   $1,234.61\n"
        "  ✗ gone.csv: file not found"
    )
    assert str(result) == result.report()
    assert result.report(totals=False) == "3 files counted · 1 bad\n  ✗ gone.csv: file not found"
    assert format_cents(-5) == "-$0.05" and format_cents(100) == "$1.00"


def test_report_without_totals_is_the_same_at_every_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = []
    for scale in ("1", "0.02"):
        monkeypatch.setenv(ENV_VAR, scale)
        folder = tmp_path / scale
        paths = [*make_dataset(folder, n_files=4, rows=50), *write_bad_files(folder)]
        reports.append(run_sequential([*paths, missing_path(folder)]).report(totals=False))
    assert reports[0] == reports[1]
    assert reports[0].startswith("4 files counted · 4 bad")


def test_differences_point_at_what_differs(good: list[Path]) -> None:
    full, part = run_sequential(good), run_sequential(good[1:])
    assert full.differences(full) == []
    diffs = full.differences(part)
    assert diffs[0] == "files: 10 vs 9"
    assert any(d.startswith("totals_cents[") for d in diffs)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_main_equals_sequential(good: list[Path], bad: dict[Path, str], strategy: str) -> None:
    paths = [*bad, *good]
    result = main(paths, 3, strategy)
    assert result == run_sequential(paths)
    assert [p.batch_id for p in result.partials] == [0, 1, 2]
    assert all(p.pid != os.getpid() for p in result.partials)  # in worker processes
    assert len(result.busy) == 3 and all(b >= 0 for b in result.busy)
    assert len(result.cpu) == 3 and all(c >= 0 for c in result.cpu)
    assert not all(e.ok for e in result.events())  # a batch with a bad file is drawn red


def test_main_has_the_students_signature() -> None:
    import inspect

    params = inspect.signature(main).parameters
    assert list(params) == ["file_paths", "n_processes", "strategy"]
    assert params["strategy"].default == "balanced"


def test_main_never_starts_more_workers_than_files(good: list[Path]) -> None:
    result = main(good[:2], 8)
    assert len(result.partials) == 2 and result == run_sequential(good[:2])


@pytest.mark.parametrize(
    ("n_processes", "error", "message"),
    [
        (0, ValueError, "n_processes must be at least 1, got 0"),
        (-2, ValueError, "n_processes must be at least 1, got -2"),
        (7.5, TypeError, r"n_processes must be a whole number \(int\), got 7.5 of type float"),
        (2.0, TypeError, r"n_processes must be a whole number \(int\), got 2.0"),
        (True, TypeError, r"n_processes must be a whole number \(int\), got True of type bool"),
        ("2", TypeError, r"n_processes must be a whole number \(int\), got '2'"),
        (None, TypeError, r"n_processes must be a whole number \(int\), got None"),
    ],
)
def test_main_names_a_bad_n_processes(
    good: list[Path], n_processes: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        main(good, n_processes)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        main([], n_processes)  # type: ignore[arg-type]  # checked even with nothing to do


def test_main_names_other_bad_input(good: list[Path]) -> None:
    with pytest.raises(ValueError, match="unknown strategy 'fastest'"):
        main(good, 2, "fastest")
    with pytest.raises(TypeError, match="not a single path"):
        main(str(good[0]), 2)
    with pytest.raises(TypeError, match="not a single path"):
        main(good[0], 2)  # a Path
    with pytest.raises(TypeError, match="file_paths must be a list of paths, got NoneType"):
        main(None, 2)  # type: ignore[arg-type]


def test_balanced_is_not_always_better_than_round_robin(tmp_path: Path) -> None:
    # The counterexample main's docstring names: sizes 2, 3, 2, 3, 2 in two batches.
    # Round-robin deals 2+2+2 | 3+3 = 6 | 6; LPT (largest first, into the lightest
    # batch) makes 3+2+2 | 3+2 = 7 | 5: its heaviest batch is 7/6 ≈ 1.167× the even split.
    sizes = [2, 3, 2, 3, 2]
    paths = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}.csv"
        path.write_text("x" * size)
        paths.append(path)
    assert batch_sizes(batch_files(paths, 2, "round_robin")) == [6, 6]
    assert sorted(batch_sizes(batch_files(paths, 2, "balanced")), reverse=True) == [7, 5]
    # both are still right: the same (empty, all-bad) result as the loop
    assert main(paths, 2, "round_robin") == main(paths, 2, "balanced") == run_sequential(paths)


# -- measuring: run_batches, run_per_file, warm_up, read_only ---------------------------------
@pytest.fixture
def small_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    monkeypatch.setenv(ENV_VAR, "0.02")
    return make_dataset(tmp_path / "sales", n_files=12, rows=500, skew=1.0, seed=3)


def test_run_batches_in_threads_gives_the_sequential_answer(small_files: list[Path]) -> None:
    batches = batch_files(small_files, 3, "balanced")
    with ThreadPoolExecutor(max_workers=3) as executor:
        measured = run_batches(executor, batches, "three batches")
    assert isinstance(measured, Measured)
    assert measured.result == run_sequential(small_files)
    assert measured.tasks == 3 and measured.title == "three batches"
    assert sorted(e.task_id for e in measured.timeline.events) == [0, 1, 2]
    assert {e.label for e in measured.timeline.events} == {"batch"}
    assert all(e.ok for e in measured.timeline.events)
    tl = measured.timeline
    assert measured.wall == tl.wall > 0
    assert all(tl.t0 <= e.start <= e.end <= tl.t_end for e in tl.events)
    assert measured.parent_cpu >= 0 and measured.cores >= 0


def test_run_per_file_is_one_task_per_file(small_files: list[Path]) -> None:
    with ThreadPoolExecutor(max_workers=2) as executor:
        measured = run_per_file(executor, small_files, "per file")
    assert measured.tasks == len(small_files)
    assert {e.label for e in measured.timeline.events} == {"file"}
    assert measured.result == run_sequential(small_files)


def test_a_batch_with_a_bad_file_is_drawn_failed_and_nothing_is_lost(
    small_files: list[Path], tmp_path: Path
) -> None:
    bad = write_bad_files(tmp_path / "sales")
    gone = missing_path(tmp_path / "sales")
    batches = [small_files, [*sorted(bad), gone]]
    with ThreadPoolExecutor(max_workers=2) as executor:
        measured = run_batches(executor, batches)
    assert measured.result == run_sequential([*small_files, *sorted(bad), gone])
    assert measured.result.files == len(small_files) and len(measured.result.errors) == 4
    assert {e.task_id: e.ok for e in measured.timeline.events} == {0: True, 1: False}


def test_a_running_process_pool_is_reused_under_spawn(small_files: list[Path]) -> None:
    # spawn pickles the work by reference: this proves the helpers send only importable code
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as executor:
        assert warm_up(executor, 2, seconds=0.01) is None
        first = run_batches(executor, batch_files(small_files, 2, "round_robin"))
        second = run_batches(executor, batch_files(small_files, 4, "balanced"))
        per_file = run_per_file(executor, small_files)
        workers = {p.pid for m in (first, second, per_file) for p in m.result.partials}
    assert first.result == second.result == per_file.result == run_sequential(small_files)
    assert (first.tasks, second.tasks, per_file.tasks) == (2, 4, len(small_files))
    assert len(workers) <= 2 and os.getpid() not in workers  # the same two processes


def test_run_batches_accepts_the_seeds_sets(small_files: list[Path]) -> None:
    # the seed's batch_files returned sets: run_batches takes any iterable batch
    with ThreadPoolExecutor(max_workers=2) as executor:
        measured = run_batches(executor, [set(small_files[:5]), set(small_files[5:])])
    assert measured.result == run_sequential(small_files)


def test_the_helpers_refuse_a_single_path(small_files: list[Path]) -> None:
    with ThreadPoolExecutor(max_workers=1) as executor:
        with pytest.raises(TypeError, match="not a path"):
            run_batches(executor, str(small_files[0]))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not a single path"):
            run_batches(executor, [str(small_files[0])])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="not a single path"):
            run_per_file(executor, small_files[0])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="workers must be at least 1"):
            warm_up(executor, 0)


def test_read_only_reads_every_byte_and_skips_missing(
    small_files: list[Path], tmp_path: Path
) -> None:
    expected = sum(p.stat().st_size for p in small_files)
    assert read_only(small_files) == expected
    assert read_only([*small_files, missing_path(tmp_path / "sales")]) == expected


def _measured(*spans: tuple[float, float, float]) -> Measured:
    """A Measured made by hand: one (start, end, cpu) per task, wall from 0 to the last end."""
    parts = [Partial(i, start=s, end=e, cpu=c) for i, (s, e, c) in enumerate(spans)]
    tl = Timeline("made up")
    tl.t0, tl.t_end = 0.0, max(e for _, e, _ in spans)
    return Measured(combine(parts), tl)


def test_cores_is_cpu_seconds_per_wall_second() -> None:
    assert _measured((0.0, 1.0, 1.0), (0.0, 1.0, 0.9)).cores == pytest.approx(1.9)  # 2 cores
    assert _measured((0.0, 2.0, 1.0), (0.0, 2.0, 1.0)).cores == pytest.approx(1.0)  # GIL
    # a straggler: the light batch's worker idles for the second half of the wall time
    assert _measured((0.0, 1.0, 1.0), (0.0, 2.0, 2.0)).cores == pytest.approx(1.5)


def test_partial_cpu_is_this_threads_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # thread_time, not process_time: another busy thread of the process (in a thread pool:
    # the other workers) does not count as this batch's CPU
    import threading
    import time

    from concurrency_lab.work import project

    def slow_read(path: object) -> tuple[int, dict[str, int], dict[str, int]]:
        time.sleep(0.1)  # waiting, not computing
        return 0, {}, {}

    monkeypatch.setattr(project, "read_sales_file", slow_read)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        partial = run(["a.csv"])
    finally:
        stop.set()
        spinner.join()
    assert partial.duration >= 0.1 and partial.files == 1
    assert partial.cpu < 0.05  # the spinner burnt ~0.1 s of CPU meanwhile; not counted


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


@settings(max_examples=20, deadline=None, database=None)
@given(
    picks=st.lists(st.integers(min_value=0, max_value=13), max_size=14),
    strategy=st.sampled_from(STRATEGIES),
    n_processes=st.integers(min_value=1, max_value=4),
)
def test_property_any_batching_equals_sequential(
    good: list[Path], bad: dict[Path, str], picks: list[int], strategy: str, n_processes: int
) -> None:
    # any files (good, broken, missing; repeats allowed), any strategy, any number of batches
    files = [*good, *bad]
    paths = [files[i] for i in picks]
    expected = run_sequential(paths)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context(FAST)) as pool:
        measured = run_batches(pool, batch_files(paths, n_processes, strategy))
    result = measured.result
    assert result == expected, result.differences(expected)
    assert result.files + len(result.errors) == len(paths)
    assert len(result.partials) == min(n_processes, len(paths))


@settings(max_examples=5, deadline=None, database=None)
@given(
    picks=st.lists(st.integers(min_value=0, max_value=13), max_size=14),
    strategy=st.sampled_from(STRATEGIES),
    n_processes=st.integers(min_value=1, max_value=3),
)
def test_property_main_equals_sequential(
    good: list[Path], bad: dict[Path, str], picks: list[int], strategy: str, n_processes: int
) -> None:
    # main itself (a new pool per call, so fewer examples)
    files = [*good, *bad]
    paths = [files[i] for i in picks]
    expected = run_sequential(paths)
    result = main(paths, n_processes, strategy)
    assert result == expected, result.differences(expected)
    assert result.files + len(result.errors) == len(paths)
