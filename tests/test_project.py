"""The project: correct totals, bad files reported with nothing lost, any batching = sequential."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concurrency_lab.work.batching import STRATEGIES
from concurrency_lab.work.data import COLUMNS, make_dataset, missing_path, write_bad_files
from concurrency_lab.work.project import (
    FileError,
    Partial,
    Result,
    combine,
    format_cents,
    main,
    main_per_file,
    run,
    run_sequential,
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
    assert main_per_file([], 3) == Result()
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
def test_main_equals_sequential_and_records_batches(
    good: list[Path], bad: dict[Path, str], strategy: str
) -> None:
    paths = [*bad, *good]
    with Timeline() as tl:
        result = main(paths, 3, strategy, mp_context=FAST, timeline=tl)
    assert result == run_sequential(paths)
    assert sorted(e.task_id for e in tl.events) == [0, 1, 2]
    assert [p.batch_id for p in result.partials] == [0, 1, 2]
    assert all(e.pid != os.getpid() for e in tl.events)
    assert len(result.busy) == 3 and all(b >= 0 for b in result.busy)
    assert len(result.cpu) == 3 and all(c >= 0 for c in result.cpu)
    assert not all(e.ok for e in tl.events)  # a batch with a bad file is drawn red


def test_main_under_spawn(good: list[Path], bad: dict[Path, str]) -> None:
    # spawn: the children import concurrency_lab.work.project afresh (macOS, Windows)
    paths = [*good, *bad]
    result = main(paths, 2, "balanced", mp_context="spawn")
    assert result == run_sequential(paths)
    assert {p.pid for p in result.partials}.isdisjoint({os.getpid()})


def test_main_per_file_and_threads_agree(good: list[Path], bad: dict[Path, str]) -> None:
    paths = [*good, *bad]
    expected = run_sequential(paths)
    with Timeline() as tl:
        assert main_per_file(paths, 2, mp_context=FAST, timeline=tl) == expected
    assert sorted(e.task_id for e in tl.events) == list(range(len(paths)))
    assert {e.label for e in tl.events} == {"file"}
    assert main(paths, 2, "balanced", executor="thread") == expected
    assert main_per_file(paths, 2, executor="thread") == expected


def test_main_can_reuse_a_running_pool(good: list[Path], bad: dict[Path, str]) -> None:
    paths = [*good, *bad]
    expected = run_sequential(paths)
    ctx = multiprocessing.get_context(FAST)
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        first = main(paths, 2, "balanced", executor=pool)
        second = main(paths, 3, executor=pool)  # three batches queue on two workers
        per_file = main_per_file(paths, 2, executor=pool, chunksize=4)
        workers = {p.pid for r in (first, second, per_file) for p in r.partials}
    assert first == second == per_file == expected
    assert len(workers) <= 2  # the same two processes served every call


def test_main_checks_its_arguments(good: list[Path]) -> None:
    for bad in (2.0, "2", True, None):
        with pytest.raises(TypeError, match=r"n_processes must be a whole number \(int\)"):
            main(good, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_processes must be at least 1, got 0"):
        main(good, 0)
    with pytest.raises(ValueError, match="unknown strategy"):
        main(good, 2, "fastest")
    with pytest.raises(TypeError, match="not a single path"):
        main(str(good[0]), 2)
    with pytest.raises(ValueError, match="'process', 'thread' or an Executor"):
        main(good, 2, executor="async")
    with pytest.raises(TypeError, match="n_processes must be a whole number"):
        main_per_file(good, "2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_processes must be at least 1"):
        main_per_file(good, 0)


@settings(max_examples=20, deadline=None, database=None)
@given(
    picks=st.lists(st.integers(min_value=0, max_value=13), max_size=14),
    strategy=st.sampled_from(STRATEGIES),
    n_processes=st.integers(min_value=1, max_value=4),
)
def test_property_main_equals_sequential(
    good: list[Path], bad: dict[Path, str], picks: list[int], strategy: str, n_processes: int
) -> None:
    # any files (good, broken, missing; repeats allowed), any strategy, any pool size
    pool = [*good, *bad]
    paths = [pool[i] for i in picks]
    expected = run_sequential(paths)
    result = main(paths, n_processes, strategy, mp_context=FAST)
    assert result == expected, result.differences(expected)
    assert result.files + len(result.errors) == len(paths)
    assert len(result.partials) == min(n_processes, len(paths))
