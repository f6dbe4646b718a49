"""Batching: every file exactly once, the number of batches, the errors, and the LPT rule."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concurrency_lab.work.batching import (
    STRATEGIES,
    batch_files,
    batch_sizes,
    file_size,
    imbalance,
)


def identity(x: int) -> int:
    return x


def check_partition(items: list[int], batches: list[list[int]], n: int) -> None:
    """Every item exactly once, min(n, len) non-empty batches, input order kept in each."""
    assert len(batches) == min(n, len(items))
    assert all(batches), "no batch may be empty"
    assert sorted(x for b in batches for x in b) == sorted(items)
    position = {x: i for i, x in enumerate(items)}
    for batch in batches:
        assert [position[x] for x in batch] == sorted(position[x] for x in batch)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_never_drops_or_duplicates_for_every_length_and_count(strategy: str) -> None:
    for length in range(13):
        items = [(7 * i) % 13 + 100 * i for i in range(length)]  # distinct, not sorted
        for n in range(1, 16):
            batches = batch_files(items, n, strategy, size=identity)
            check_partition(items, batches, n)


def test_round_robin_deals_like_cards() -> None:
    assert batch_files(list("abcdefg"), 3) == [["a", "d", "g"], ["b", "e"], ["c", "f"]]


def test_contiguous_cuts_slices_of_almost_equal_length() -> None:
    assert batch_files(list("abcdefg"), 3, "contiguous") == [
        ["a", "b", "c"],
        ["d", "e"],
        ["f", "g"],
    ]
    assert batch_files(list("abcdef"), 3, "contiguous") == [["a", "b"], ["c", "d"], ["e", "f"]]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_more_batches_than_files_gives_one_file_per_batch(strategy: str) -> None:
    # the seed returned [] here
    assert batch_files(["a", "b", "c"], 8, strategy, size=len) == [["a"], ["b"], ["c"]]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_empty_list_gives_no_batches(strategy: str) -> None:
    assert batch_files([], 4, strategy) == []


def test_accepts_any_iterable_and_returns_lists() -> None:
    batches = batch_files(iter(range(5)), 2)
    assert batches == [[0, 2, 4], [1, 3]]
    assert all(type(b) is list for b in batches)


@pytest.mark.parametrize("bad", ["2", 2.0, True, None, [2]])
def test_n_batches_must_be_an_int(bad: object) -> None:
    with pytest.raises(TypeError, match=r"n_batches must be a whole number \(int\)"):
        batch_files(["a"], bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1])
def test_n_batches_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match=rf"n_batches must be at least 1, got {bad}"):
        batch_files(["a"], bad)


def test_errors_come_even_for_an_empty_list() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        batch_files([], 0)
    with pytest.raises(ValueError, match="unknown strategy"):
        batch_files([], 2, "random")


def test_unknown_strategy_names_the_valid_ones() -> None:
    with pytest.raises(ValueError) as info:
        batch_files(["a"], 2, "largest_first")
    message = str(info.value)
    assert "'largest_first'" in message
    for name in STRATEGIES:
        assert repr(name) in message


def test_a_single_path_string_is_refused() -> None:
    with pytest.raises(TypeError, match=r"not a single path string"):
        batch_files("data/sales_0001.csv", 2)


def test_lpt_on_a_known_example() -> None:
    # Largest first into the lightest batch (ties: fewer files, then the lower number):
    # b(3)→A, d(3)→B, a(2)→A, c(2)→B, e(2)→A, so A = a+b+e = 7 and B = c+d = 5.
    # LPT is a heuristic: the best split is 3+3 | 2+2+2 (6 each), which round-robin finds.
    # LPT's 7 is exactly Graham's bound for 2 batches: (4/3 - 1/6) × 6 = 7.
    sizes = {"a": 2, "b": 3, "c": 2, "d": 3, "e": 2}
    batches = batch_files(list("abcde"), 2, "balanced", size=sizes.__getitem__)
    assert batches == [["a", "b", "e"], ["c", "d"]]  # input order kept inside each batch
    assert batch_sizes(batches, sizes.__getitem__) == [7, 5]
    assert imbalance(batches, sizes.__getitem__) == pytest.approx(7 / 6)
    round_robin = batch_files(list("abcde"), 2)
    assert batch_sizes(round_robin, sizes.__getitem__) == [6, 6]  # here round-robin wins


def test_imbalance_is_against_the_average_not_the_best_split() -> None:
    # One big file: no split can be even, so even the best split (LPT's) reads 1.98×.
    sizes = [100, 1]
    batches = batch_files([0, 1], 2, "balanced", size=sizes.__getitem__)
    assert batch_sizes(batches, sizes.__getitem__) == [100, 1]
    assert imbalance(batches, sizes.__getitem__) == pytest.approx(100 / 50.5)
    assert imbalance(batches, sizes.__getitem__) > 4 / 3  # no 4/3 bound against the average


def test_lpt_fixes_the_straggler_that_round_robin_makes() -> None:
    sizes = [9, 1, 9, 1, 1, 1]  # the big ones land in the same round-robin batch
    rr = batch_files(sizes, 2, "round_robin")
    lpt = batch_files(sizes, 2, "balanced", size=identity)
    assert batch_sizes(rr, identity) == [19, 3]
    assert batch_sizes(lpt, identity) == [11, 11]
    assert imbalance(lpt, identity) == 1.0


def test_balanced_ties_are_deterministic_and_fill_every_batch() -> None:
    assert batch_files(list("abcdef"), 3, "balanced", size=lambda _: 5) == [
        ["a", "d"],
        ["b", "e"],
        ["c", "f"],
    ]
    # zero-size items still spread out: ties go to the batch with fewer files
    assert batch_files(list("abcd"), 2, "balanced", size=lambda _: 0) == [["a", "c"], ["b", "d"]]


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        batch_files([1, -2], 2, "balanced", size=identity)


def test_balanced_uses_file_sizes_and_survives_missing_files(tmp_path) -> None:
    big, small, gone = tmp_path / "big.csv", tmp_path / "small.csv", tmp_path / "gone.csv"
    big.write_text("x" * 100)
    small.write_text("x" * 10)
    assert file_size(big) == 100 and file_size(gone) == 0
    batches = batch_files([small, gone, big], 2, "balanced")
    assert batches == [[big], [small, gone]]
    assert batch_sizes(batches) == [100, 10]
    assert imbalance(batches) == pytest.approx(100 / 55)


def test_imbalance_of_nothing_is_perfect() -> None:
    assert imbalance([]) == 1.0
    assert imbalance([[0], [0]], identity) == 1.0


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(st.integers(min_value=0, max_value=1_000), max_size=30),
    st.integers(min_value=1, max_value=8),
    st.sampled_from(STRATEGIES),
)
def test_property_partition_and_the_greedy_bound(sizes: list[int], n: int, strategy: str) -> None:
    items = list(range(len(sizes)))  # distinct items; their size is looked up
    batches = batch_files(items, n, strategy, size=sizes.__getitem__)
    check_partition(items, batches, n)
    if strategy == "balanced" and batches:
        # any "into the lightest batch" rule: makespan <= average + the largest item
        loads = batch_sizes(batches, sizes.__getitem__)
        assert max(loads) <= sum(sizes) / len(batches) + max(sizes)


def best_makespan(sizes: list[int], k: int) -> int:
    """The heaviest batch of the best split of ``sizes`` into ``k`` batches (brute force)."""
    best = sum(sizes)
    for assignment in itertools.product(range(k), repeat=len(sizes)):
        loads = [0] * k
        for size, b in zip(sizes, assignment, strict=True):
            loads[b] += size
        best = min(best, max(loads))
    return best


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=7),
    st.integers(min_value=1, max_value=3),
)
def test_property_lpt_is_within_grahams_bound_of_the_best_split(sizes: list[int], k: int) -> None:
    # Graham (1969): LPT's heaviest batch <= (4/3 - 1/(3k)) × the best split's heaviest batch
    items = list(range(len(sizes)))
    batches = batch_files(items, k, "balanced", size=sizes.__getitem__)
    lpt = max(batch_sizes(batches, sizes.__getitem__))
    n = len(batches)  # min(k, number of files)
    assert lpt * 3 * n <= (4 * n - 1) * best_makespan(sizes, n)  # in integers: no rounding
