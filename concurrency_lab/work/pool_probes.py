"""Picklable tasks for checking process-pool answers (lesson 04 and after).

A check hands these to the student's pool instead of a notebook function, so they reach a
worker under every start method (a spawned or forkserver worker imports this module by
name; it could not import a function defined in a notebook cell):

* :class:`CpuProbeTask` — keeps a CPU busy for a fixed time per id and records where it
  ran (process id, thread, start, end), in the same record format as
  :class:`~concurrency_lab.work.probes.ProbeTask`, so :class:`CpuProbe` (a
  :class:`~concurrency_lab.work.probes.Probe`) reads the records back. One id can be
  *held*: it finishes only after another task has finished (or after ``hold_limit``
  seconds, or at once when the checking parent reports that only one process was started),
  so whenever tasks really run side by side, finishing order differs from input order and
  a second worker must have done some of the work.
  Each time a pool pickles the task in the checking process to send it to a worker, the
  task notes when (:func:`sent_times`): an answer that had several tasks out at once is
  then told apart from a machine too busy to run them side by side.
* :func:`tiny_task` — a task far cheaper than the cost of sending it to a worker (the
  chunksize exercise).

Imports only the standard library and :mod:`concurrency_lab.work.probes`: children
import this module.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from concurrency_lab.work.probes import Probe, probe_result, write_record

__all__ = ["CpuProbe", "CpuProbeTask", "burn_cpu", "note_sent", "sent_times", "tiny_task"]

SENT = ".sent"


def burn_cpu(seconds: float) -> int:
    """Keep this thread computing (pure Python, holding the GIL) for ``seconds`` of wall time.

    The loop ends at a wall-clock deadline rather than after a fixed count, so a check
    takes the same time on a fast laptop and a busy CI machine.
    """
    deadline = time.perf_counter() + seconds
    total = 0
    while time.perf_counter() < deadline:
        for i in range(500):
            total += i * i
    return total


def _processes_started(folder: Path) -> int | None:
    """How many processes the checking parent has seen its answer start, if it says.

    The parent writes the count into ``folder/children`` while the answer runs
    (:class:`concurrency_lab.exercises.worker_modules.ChildWatch`); ``None`` if it does not.
    """
    try:
        return int((folder / "children").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def note_sent(log_dir: str) -> None:
    """Note, as an empty file named by the time, that a task is being sent to a worker."""
    name = f"{time.perf_counter():.6f}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SENT}"
    with contextlib.suppress(OSError):  # the check gave up and removed the folder
        Path(log_dir, name).touch()


def sent_times(log_dir: str) -> list[float]:
    """When tasks were sent to workers (``time.perf_counter()`` seconds), earliest first."""
    return sorted(float(p.name.split("-", 1)[0]) for p in Path(log_dir).glob(f"*{SENT}"))


@dataclass(frozen=True)
class CpuProbeTask:
    """A picklable CPU-bound task: computes for ``work[task_id]`` seconds, records, returns.

    Returns ``'result of task N'``. Unknown ids raise ``KeyError`` naming the id (a pool
    fed 1-tuples instead of plain items says ``the task has no id (7,)``).
    """

    log_dir: str
    work: Mapping[Any, float]
    hold_id: Any = None
    hold_limit: float = 1.5
    parent_pid: int = 0  # the checking process: a task run there (no pool) is never held

    def __call__(self, task_id: Any) -> str:
        if task_id not in self.work:
            known = sorted(self.work, key=repr)
            raise KeyError(f"the task has no id {task_id!r}; the items given were {known}")
        start = time.perf_counter()
        burn_cpu(self.work[task_id])
        if task_id == self.hold_id and os.getpid() != self.parent_pid:
            self._wait_for_another_task()
        write_record(self.log_dir, task_id, start)
        return probe_result(task_id)

    def _wait_for_another_task(self) -> None:
        deadline = time.perf_counter() + self.hold_limit
        folder = Path(self.log_dir)
        while (
            time.perf_counter() < deadline
            and not any(folder.glob("*.json"))
            and _processes_started(folder) != 1  # a pool of one: no other task can run
        ):
            time.sleep(0.005)

    def __getstate__(self) -> dict[str, Any]:
        # Pickled in the checking process: a pool is sending this task to a worker.
        if os.getpid() == self.parent_pid:
            note_sent(self.log_dir)
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"<cpu task: {len(self.work)} items>"


@dataclass
class CpuProbe(Probe):
    """A :class:`~concurrency_lab.work.probes.Probe` whose task is a
    :class:`CpuProbeTask` (``durations`` are seconds of computing per id)."""

    hold_id: Any = None
    hold_limit: float = 1.5
    task: CpuProbeTask = field(init=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.task = CpuProbeTask(
            self.log_dir, dict(self.durations), self.hold_id, self.hold_limit, os.getpid()
        )


def tiny_task(x: int) -> int:
    """A task that takes well under a microsecond: far less than sending it to a worker."""
    return x * x
