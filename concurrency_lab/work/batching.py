"""Split a list of files into batches, one batch per worker process.

Three strategies, each a rule for who gets which file:

* ``"round_robin"`` - deal the files like cards: file 0 to batch 0, file 1 to batch 1, ...
  Even *counts*; sizes are left to chance.
* ``"contiguous"`` - cut the list into consecutive slices of (almost) equal length, like
  ``numpy.array_split``. Even counts, and each worker reads neighbouring files; but if
  the big files sit together in the list, one worker gets all of them.
* ``"balanced"`` - by size, with the LPT rule (*longest processing time first*): take the
  files from largest to smallest and give each to the batch that is currently lightest.

LPT is a quick greedy rule, not a search for the best split, and its guarantee is relative
to that best split: the heaviest batch is at most ``4/3 - 1/(3n)`` times the heaviest batch
of the best possible split into ``n`` batches (R. L. Graham, "Bounds on multiprocessing
timing anomalies", SIAM J. Appl. Math. 17, 1969), and at most the average batch plus the
largest file. Against the *average* batch (``total / n``, what :func:`imbalance` divides by)
there is no such bound: a file of 100 and a file of 1 in two batches give a heaviest batch of
100 against an average of 50.5 (1.98×), and no split does better. Nor does LPT always beat
the other rules: sizes ``[2, 3, 2, 3, 2]`` in two batches are 6 | 6 by round-robin and
7 | 5 by LPT (lesson 05 shows both cases and measures LPT on its skewed files).

Every strategy keeps each file exactly once (never drops, never duplicates), keeps the
files' given order inside each batch, returns ``min(n_batches, len(files))`` batches and
never an empty batch. The seed notebook's ``batch_files`` cut consecutive slices of
``len(files) // n`` files, dealt the remainder one each to the first slices, returned
*sets* (a path listed twice became one, and the order was lost) and returned ``[]`` when
there were more processes than files; here ten files for 16 processes give 10 batches of one.

This module imports only the standard library: worker processes import it.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from concurrency_lab.work.arguments import whole_number

__all__ = ["STRATEGIES", "batch_files", "batch_sizes", "file_size", "imbalance"]

T = TypeVar("T")

STRATEGIES = ("round_robin", "contiguous", "balanced")
"""The names ``batch_files`` accepts as ``strategy``."""


def file_size(path: str | os.PathLike[str]) -> int:
    """The size of ``path`` in bytes, or 0 if it cannot be read (missing, no permission).

    The default ``size`` for ``"balanced"``: a missing file must not stop the batching,
    it costs nothing to "process", and the worker reports it by name.
    """
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def check_count(name: str, value: object) -> int:
    """``value`` if it is a whole number ≥ 1; else a ``TypeError`` / ``ValueError`` naming ``name``.

    ``bool`` is refused although it is an ``int``: ``batch_files(paths, True)`` is a bug.
    """
    return whole_number(name, value, minimum=1)  # numpy ints pass; True and 7.5 do not


def batch_files(
    file_paths: Iterable[T],
    n_batches: int,
    strategy: str = "round_robin",
    *,
    size: Callable[[T], int] | None = None,
) -> list[list[T]]:
    """Split ``file_paths`` into ``min(n_batches, len(file_paths))`` non-empty batches.

    ``strategy`` is one of :data:`STRATEGIES`. ``size`` gives an item's weight for
    ``"balanced"`` (default :func:`file_size`, bytes on disk); ties go to the batch
    with fewer files, then to the lower batch number, so the result is deterministic.
    An empty list gives ``[]``.

    >>> batch_files(["a", "b", "c", "d", "e"], 2)
    [['a', 'c', 'e'], ['b', 'd']]
    >>> batch_files(["a", "b", "c", "d", "e"], 2, "contiguous")
    [['a', 'b', 'c'], ['d', 'e']]
    >>> batch_files(["a", "b", "c"], 2, "balanced", size={"a": 5, "b": 3, "c": 3}.get)
    [['a'], ['b', 'c']]
    """
    n = check_count("n_batches", n_batches)
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(
            f"unknown strategy {strategy!r}; choose one of " + ", ".join(map(repr, STRATEGIES))
        )
    if isinstance(file_paths, (str, bytes)):
        raise TypeError(
            "file_paths must be a list of paths, not a single path string; "
            "write [path] for one file"
        )
    items = list(file_paths)
    k = min(n, len(items))
    if k == 0:
        return []
    if strategy == "round_robin":
        return [items[b::k] for b in range(k)]
    if strategy == "contiguous":
        base, extra = divmod(len(items), k)
        batches, start = [], 0
        for b in range(k):
            stop = start + base + (1 if b < extra else 0)
            batches.append(items[start:stop])
            start = stop
        return batches
    return _balanced(items, k, file_size if size is None else size)


def _balanced(items: list[T], k: int, size: Callable[[T], int]) -> list[list[T]]:
    """LPT: largest first, each into the lightest batch so far; keep input order per batch."""
    weights = [size(item) for item in items]
    for item, w in zip(items, weights, strict=True):
        if w < 0:
            raise ValueError(f"size({item!r}) is {w}; sizes must not be negative")
    largest_first = sorted(range(len(items)), key=lambda i: (-weights[i], i))
    heap = [(0, 0, b) for b in range(k)]  # (load, number of files, batch number)
    chosen: list[list[int]] = [[] for _ in range(k)]
    for i in largest_first:
        load, count, b = heapq.heappop(heap)
        chosen[b].append(i)
        heapq.heappush(heap, (load + weights[i], count + 1, b))
    return [[items[i] for i in sorted(indices)] for indices in chosen]


def batch_sizes(
    batches: Sequence[Sequence[T]], size: Callable[[T], int] | None = None
) -> list[int]:
    """The total size of each batch (default: bytes on disk, via :func:`file_size`)."""
    measure = file_size if size is None else size
    return [sum(measure(item) for item in batch) for batch in batches]


def imbalance(batches: Sequence[Sequence[T]], size: Callable[[T], int] | None = None) -> float:
    """How much heavier the heaviest batch is than the average batch: ``max / (total / n)``.

    ``1.0`` is a perfectly even split; ``1.5`` means the slowest worker has 50 % more to do
    than the average, so the job takes 1.5× as long as an even split would. An even split
    is not always possible (one file bigger than ``total / n`` rules it out), so the best
    split may be above 1.0 too. No batches, or nothing to do, count as even (``1.0``).
    """
    sizes = batch_sizes(batches, size)
    total = sum(sizes)
    if not sizes or total == 0:
        return 1.0
    return max(sizes) / (total / len(sizes))
