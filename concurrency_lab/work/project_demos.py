"""Measuring the file-batching project (lesson 05): what ran when, batch by batch.

:func:`concurrency_lab.work.project.main` is the finished product: batch, run in a *new* pool,
combine. To teach it, lesson 05 also needs a pool that is started once and reused, so
that its start-up is not charged to whichever strategy happens to be measured first, and
the same batches run by threads or by processes. These helpers do that and nothing
else: the work is always :func:`concurrency_lab.work.project.run` and the answer always comes
from :func:`concurrency_lab.work.project.combine`.

Everything sent to a pool (``project.run``, :func:`_pause`) is a module-level function,
so it pickles under every start method; this module imports only the standard library
and the project's light modules (no matplotlib), so a spawned child starts quickly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from concurrency_lab.work.project import Result, combine, run
from concurrency_lab.work.timeline import Timeline

__all__ = ["Measured", "read_only", "run_batches", "run_per_file", "warm_up"]

PathSeq = Sequence["str | os.PathLike[str]"]


@dataclass(frozen=True)
class Measured:
    """The combined result of one run in a pool, and its timeline (one event per task)."""

    result: Result
    timeline: Timeline

    @property
    def wall(self) -> float:
        """Seconds from the first task handed to the pool to the last result back."""
        return self.timeline.wall

    @property
    def tasks(self) -> int:
        """How many tasks (batches, or files) went to the pool."""
        return len(self.timeline.events)

    @property
    def title(self) -> str:
        """The timeline's title: what was run."""
        return self.timeline.title


def run_batches(
    executor: Executor, batches: Sequence[PathSeq], title: str = "", *, label: str = "batch"
) -> Measured:
    """Run each batch as one task (``project.run(batch, i)``) in ``executor``; combine.

    Works with a ``ProcessPoolExecutor`` and a ``ThreadPoolExecutor`` alike, and with a
    pool that is already running. Task ``i`` is batch ``i``; each batch's event (which
    worker, when; red if it met a bad file) lands in the returned timeline, whose wall
    time runs from the first submit to the last result.
    """
    with Timeline(title) as tl:
        partials = list(executor.map(run, [list(b) for b in batches], range(len(batches))))
    for partial in partials:
        tl.add(partial.event(label))
    return Measured(combine(partials), tl)


def run_per_file(executor: Executor, file_paths: PathSeq, title: str = "") -> Measured:
    """One task per file: the same work as :func:`run_batches`, in batches of one file."""
    return run_batches(executor, [[path] for path in file_paths], title, label="file")


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def warm_up(executor: Executor, workers: int, seconds: float = 0.05) -> None:
    """Make a process pool start its ``workers`` processes now, before anything is timed.

    A ``ProcessPoolExecutor`` starts processes when tasks arrive (under ``spawn`` and
    ``forkserver`` one per task submitted, up to ``max_workers``). ``workers`` short
    pauses at once start every worker and make it import this module and the project's
    code. Returns when every pause is over.
    """
    for future in [executor.submit(_pause, seconds) for _ in range(workers)]:
        future.result()


def read_only(file_paths: PathSeq) -> int:
    """Read every file's bytes and do nothing else: the IO part of the work, alone.

    Returns the number of bytes read; a file that cannot be read counts as none (the
    real run reports it, this only measures reading).
    """
    total = 0
    for path in file_paths:
        try:
            total += len(Path(path).read_bytes())
        except OSError:
            continue
    return total
