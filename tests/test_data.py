"""The sales dataset: seeded, byte-identical, scaled, skewed on request, cheap to re-make."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from concurrency_lab.work import data
from concurrency_lab.work.data import (
    COLUMNS,
    DATA_DIR,
    MANIFEST_NAME,
    make_dataset,
    missing_path,
    write_bad_files,
)
from concurrency_lab.work.scale import ENV_VAR


@pytest.fixture(autouse=True)
def _lecture_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "1")


def data_rows(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) - 1


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def test_data_dir_is_the_repos_data_folder() -> None:
    assert Path(data.__file__).resolve().parents[2] / "data" == DATA_DIR
    assert DATA_DIR.name == "data"


def test_files_are_sorted_named_and_have_the_header(tmp_path: Path) -> None:
    paths = make_dataset(tmp_path, n_files=12, rows=50)
    assert paths == sorted(paths)
    assert [p.name for p in paths] == [f"sales_{i:04d}.csv" for i in range(12)]
    text = paths[0].read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == ",".join(COLUMNS)
    assert "\r" not in text and text.endswith("\n")
    for line in lines[1:]:
        day, store, category, product, units, price = line.split(",")
        assert len(day) == 10 and store.startswith("store_")
        assert product in data.PRODUCTS[category]
        assert int(units) >= 1 and 0 <= int(price) <= data.PRODUCTS[category][product]


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    a = make_dataset(tmp_path / "a", n_files=6, rows=40, skew=0.7, seed=3)
    b = make_dataset(tmp_path / "b", n_files=6, rows=40, skew=0.7, seed=3)
    c = make_dataset(tmp_path / "c", n_files=6, rows=40, skew=0.7, seed=4)
    assert digest(a) == digest(b) != digest(c)


def test_the_files_are_the_same_on_every_python_version(tmp_path: Path) -> None:
    # A golden digest (the same on 3.10-3.13): seeded `random` gives the same stream. If
    # it fails, datasets (so stored notebook outputs) would differ between machines.
    paths = make_dataset(tmp_path, n_files=3, rows=20, skew=1.0, seed=7)
    assert [data_rows(p) for p in paths] == GOLDEN_ROWS
    assert digest(paths) == GOLDEN_DIGEST


GOLDEN_ROWS = [19, 31, 10]
GOLDEN_DIGEST = "67f219de24ff89200c9de0d44f953f618f16cfbd0d68d23acc695a8daef7b0f7"


def test_remaking_the_same_dataset_rewrites_nothing(tmp_path: Path) -> None:
    first = make_dataset(tmp_path, n_files=5, rows=30)
    assert (tmp_path / MANIFEST_NAME).exists()
    stamps = [p.stat().st_mtime_ns for p in first]
    os.utime(first[0], ns=(1, 1))  # a rewrite would change this back
    again = make_dataset(tmp_path, n_files=5, rows=30)
    assert again == first
    assert first[0].stat().st_mtime_ns == 1
    assert [p.stat().st_mtime_ns for p in first[1:]] == stamps[1:]


def test_a_damaged_or_different_dataset_is_rewritten(tmp_path: Path) -> None:
    first = make_dataset(tmp_path, n_files=5, rows=30)
    expected = digest(first)
    first[2].write_text("oops\n")
    assert digest(make_dataset(tmp_path, n_files=5, rows=30)) == expected
    (tmp_path / "notes.txt").write_text("mine")
    fewer = make_dataset(tmp_path, n_files=3, rows=30)
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == [MANIFEST_NAME, "notes.txt", *(p.name for p in fewer)]


def test_rows_is_the_mean_and_follows_the_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [data_rows(p) for p in make_dataset(tmp_path / "1", n_files=4, rows=50)] == [50] * 4
    monkeypatch.setenv(ENV_VAR, "0.1")
    assert [data_rows(p) for p in make_dataset(tmp_path / "2", n_files=4, rows=50)] == [5] * 4
    monkeypatch.setenv(ENV_VAR, "0.001")
    assert [data_rows(p) for p in make_dataset(tmp_path / "3", n_files=4, rows=50)] == [1] * 4


def test_skew_keeps_the_total_and_caps_the_largest_file(tmp_path: Path) -> None:
    paths = make_dataset(tmp_path, n_files=40, rows=100, skew=1.0)
    counts = [data_rows(p) for p in paths]
    assert sum(counts) == 40 * 100
    assert min(counts) >= 1
    assert max(counts) / min(counts) > 20  # heavily skewed
    assert max(counts) <= 0.31 * sum(counts)  # two workers can still balance


def test_a_little_skew_is_milder_than_a_lot(tmp_path: Path) -> None:
    mild = [data_rows(p) for p in make_dataset(tmp_path / "m", n_files=40, rows=100, skew=0.2)]
    wild = [data_rows(p) for p in make_dataset(tmp_path / "w", n_files=40, rows=100, skew=1.0)]
    assert sum(mild) == sum(wild)
    assert max(mild) / min(mild) < max(wild) / min(wild)


@pytest.mark.parametrize("name", ["n_files", "rows"])
@pytest.mark.parametrize("bad", [2.5, True, "3", None])
def test_counts_must_be_ints(tmp_path: Path, name: str, bad: object) -> None:
    with pytest.raises(TypeError, match=rf"{name} must be a whole number \(int\)"):
        make_dataset(tmp_path, **{name: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["n_files", "rows"])
@pytest.mark.parametrize("bad", [0, -5])
def test_counts_must_be_positive(tmp_path: Path, name: str, bad: int) -> None:
    with pytest.raises(ValueError, match=rf"{name} must be at least 1, got {bad}"):
        make_dataset(tmp_path, **{name: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_skew_must_be_between_0_and_1(tmp_path: Path, bad: float) -> None:
    with pytest.raises(ValueError, match="skew must be between 0"):
        make_dataset(tmp_path, skew=bad)


def test_other_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="skew must be a number"):
        make_dataset(tmp_path, skew="high")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        make_dataset(tmp_path, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="folder must be a path"):
        make_dataset(3)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())  # nothing written before the checks


def test_bad_files_and_the_missing_path(tmp_path: Path) -> None:
    bad = write_bad_files(tmp_path)
    names = {p.name: reason for p, reason in bad.items()}
    assert names == {
        "broken_empty.csv": "empty file: no header, no rows",
        "broken_bad_number.csv": "line 4: units 'two' is not a whole number",
        "broken_wrong_columns.csv": "line 5: row has 5 fields, expected 6",
    }
    assert all(p.parent == tmp_path and p.exists() for p in bad)
    assert next(p for p in bad if p.name == "broken_empty.csv").stat().st_size == 0
    gone = missing_path(tmp_path)
    assert gone.parent == tmp_path and not gone.exists()
    gone.write_text("now it exists")
    with pytest.raises(FileExistsError):
        missing_path(tmp_path)


def test_bad_files_do_not_disturb_the_dataset(tmp_path: Path) -> None:
    paths = make_dataset(tmp_path, n_files=3, rows=10)
    write_bad_files(tmp_path)
    assert make_dataset(tmp_path, n_files=3, rows=10) == paths
    assert len(list(tmp_path.glob("broken_*.csv"))) == 3


def test_data_dir_follows_the_environment_then_the_checkout_then_a_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "mine"))
    assert data.data_dir() == tmp_path / "mine"
    monkeypatch.delenv(data.DATA_ENV_VAR)
    assert data.data_dir() == Path(data.__file__).resolve().parents[2] / "data"  # a checkout
    # installed: the package sits in site-packages, with no pyproject.toml next to it
    installed = tmp_path / "site-packages" / "concurrency_lab" / "work" / "data.py"
    installed.parent.mkdir(parents=True)
    monkeypatch.setattr(data, "__file__", str(installed))
    monkeypatch.setattr(data.os, "name", "posix")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data.data_dir() == tmp_path / "cache" / "concurrency-lab" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.data_dir() == tmp_path / "home" / ".cache" / "concurrency-lab" / "data"
