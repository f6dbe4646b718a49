"""Exercises for lesson 07, scaling out: the project on a Dask cluster, and when it pays.

``from concurrency_lab.exercises.lesson07 import q1, q2, q3``

* q1 — ``total_on_cluster(client, batches)``: run ``project.run`` on every batch *on the
  cluster*, combine the partials there too, return the ``Result``. Checked against the
  sequential answer, and against Dask's task stream: which tasks the cluster really ran.
* q2 — ``files_per_task(n_files, seconds_per_file, overhead, n_workers)``: the smallest
  batch whose per-task overhead is at most 10 % of its work, but no more than an equal
  share per worker. Checked numerically on five cases; a wrong answer is told which rule
  it broke, with the numbers.
* q3 — a choice: why a run on a remote cluster reports every file as "file not found".

q1's check needs a cluster: it uses the one the exercise notebook started with
``concurrency_lab.view.cluster.connect()`` (or any Dask client already open) and starts one
only if there is none, then keeps it for the next checks. Each check writes a fresh small
dataset into a temporary folder: new paths mean new task keys, so Dask cannot answer from
results it still holds from an earlier check.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from concurrency_lab.exercises.core import (
    ChoiceProblem,
    FunctionProblem,
    Verdict,
    call_student,
    failed,
    passed,
    register,
)
from concurrency_lab.work.timing import fmt_seconds

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Q1_TIMEOUT", "Q2_CASES", "expected_files_per_task", "q1", "q2", "q3"]

Q1_TIMEOUT = 60.0
"""Seconds q1 waits for the student's function (the model answer needs a fraction of one;
a busy machine starting a cluster may need several)."""


# ---------------------------------------------------------------------------- q1
def _check_client() -> Client:
    """The client to run q1 with: the notebook's, any open Dask client, or a new cluster."""
    from concurrency_lab.view.cluster import connect, current_client

    client = current_client()
    if client is not None:
        return client
    try:
        from distributed import default_client

        return default_client()
    except ValueError:
        return connect()


def _is_future(value: Any) -> bool:
    if isinstance(value, Future):
        return True
    try:
        from distributed import Future as DaskFuture
    except ImportError:  # pragma: no cover - dask is a course requirement
        return False
    return isinstance(value, DaskFuture)


def _computed_tasks(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The function names of the tasks the cluster computed, in start order."""
    from dask.utils import key_split

    spans = []
    for record in records:
        for span in record.get("startstops", ()):
            if span.get("action") == "compute":
                spans.append((span["start"], str(key_split(record.get("key", "task")))))
    return [name for _, name in sorted(spans)]


def _q1_data(folder: str) -> list[Any]:
    from concurrency_lab.work.data import make_dataset, write_bad_files

    paths = make_dataset(folder, n_files=9, rows=40, seed=7)
    return paths + sorted(write_bad_files(folder))


def _q1_trial(total_on_cluster: Callable[..., Any]) -> Verdict:
    from distributed import get_task_stream

    from concurrency_lab.work.batching import batch_files
    from concurrency_lab.work.project import Partial, Result, run_sequential

    client = _check_client()
    folder = tempfile.mkdtemp(prefix="concurrency-lab-q1-")
    try:
        paths = _q1_data(folder)
        batches = batch_files(paths, 4)
        expected = run_sequential(paths)
        with get_task_stream(client) as stream:
            got = call_student(total_on_cluster, client, batches, timeout=Q1_TIMEOUT)
        tasks = _computed_tasks(stream.data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    k = len(batches)
    setup = f"the check gave your function {k} batches of {len(paths)} files (3 of them bad)"
    if _is_future(got):
        return failed(
            "You returned a Future, not the result.",
            "client.submit(...) returns a placeholder at once; call .result() on it to wait "
            "for the task and get the Result it computed.",
        )
    if isinstance(got, (list, tuple)) and got and all(isinstance(p, Partial) for p in got):
        return failed(
            f"You returned {len(got)} partial results, not one Result.",
            "Add them up with project.combine, and do it on the cluster: "
            "client.submit(project.combine, futures).",
        )
    if not isinstance(got, Result):
        return failed(
            f"total_on_cluster should return a Result (what project.combine returns), got "
            f"{type(got).__name__}.",
            setup,
        )
    differences = got.differences(expected)
    if (
        differences
        and got.files == 0
        and got.errors
        and all(e.reason == "file not found" for e in got.errors)
    ):
        return failed(
            "Every file came back 'file not found': the workers cannot see this machine's files.",
            setup,
            f"the check wrote its files under {tempfile.gettempdir()} on this machine; a "
            "remote cluster (CONCURRENCY_LAB_SCHEDULER) cannot read them. Run this check "
            "with a LocalCluster: unset the variable and connect() again.",
        )
    if differences:
        return failed(
            "Your Result is not equal to the sequential one.",
            setup,
            *[f"yours vs sequential: {d}" for d in differences[:4]],
            "Every batch must be run exactly once, each with its own batch id: "
            "client.map(project.run, batches, range(len(batches))).",
        )
    names = ", ".join(sorted(set(tasks))) or "none"
    if not tasks:
        return failed(
            "The right Result, but nothing ran on the cluster: your function did all the "
            "work in this process.",
            setup,
            "Calling project.run(...) or project.combine(...) directly runs it here. Hand the "
            "calls to the cluster: client.map / client.submit (or client.get_executor()).",
        )
    reduced_there = "combine" in tasks or len(tasks) > k
    runs_there = len(tasks) - (1 if reduced_there else 0)
    if runs_there < k:
        return failed(
            f"The right Result, but the cluster ran only {len(tasks)} task(s) ({names}) for "
            f"{k} batches.",
            setup,
            "Each batch should be its own task on the cluster, so the workers share them: "
            "client.map(project.run, batches, range(len(batches))). A batch run with "
            "project.run(...) in your function ran in this process.",
        )
    if not reduced_there:
        return failed(
            "The batches ran on the cluster, but combine ran in this process.",
            setup,
            f"the cluster ran {len(tasks)} tasks ({names}) and nothing after them: every "
            "partial travelled back to the notebook to be added up here. Pass the futures "
            "themselves to a task: client.submit(project.combine, futures).result().",
        )
    return passed(
        "Equal to the sequential result, and computed on the cluster: one task per batch, "
        "then combine on a worker.",
        "only the final Result travelled back to the notebook; the partials went from "
        "worker to worker",
    )


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "`client.map(project.run, batches, range(len(batches)))` starts one task per batch "
        "and returns a list of Dask futures at once.",
        "Pass that list to another task: `client.submit(project.combine, futures)`. Dask "
        "gives combine the partial results on a worker. Call `.result()` on the future it "
        "returns.",
    ],
    solution_note="`[client.submit(project.run, b, i) for i, b in enumerate(batches)]` builds "
    "the same list of futures one by one.",
)


# ---------------------------------------------------------------------------- q2
MAX_OVERHEAD_SHARE = 0.10
"""q2's first rule: a task's overhead is at most this share of its work."""

Q2_CASES: tuple[tuple[int, float, float, int], ...] = (
    # (n_files, seconds_per_file, overhead per task, n_workers)
    (200, 1.9e-3, 1.2e-3, 2),  # the example in the question: 7 files per task
    (1_000, 30e-6, 0.7e-3, 4),  # tiny files: 234 per task
    (50, 0.2e-3, 1.33e-3, 4),  # the overhead rule wants 67, but 13 is an equal share
    (40, 0.5, 2e-3, 2),  # big files: one per task is plenty
    (7, 1e-3, 5e-3, 8),  # more workers than files
)
"""The cases q2 is checked on; no case puts a rule exactly on a whole number (where
rounding in floating point could decide)."""


def expected_files_per_task(
    n_files: int, seconds_per_file: float, overhead: float, n_workers: int
) -> int:
    """q2's model rule: ``max(1, min(ceil(10 × overhead / seconds_per_file),
    ceil(n_files / n_workers)))``."""
    hide = math.ceil(overhead / (MAX_OVERHEAD_SHARE * seconds_per_file))
    share = math.ceil(n_files / n_workers)
    return max(1, min(hide, share))


def _case_text(case: tuple[int, float, float, int]) -> str:
    n, per_file, overhead, workers = case
    return (
        f"files_per_task({n}, {per_file!r}, {overhead!r}, {workers}): {n} files of "
        f"{fmt_seconds(per_file)} each, {fmt_seconds(overhead)} overhead per task, "
        f"{workers} workers"
    )


def _q2_case_failure(case: tuple[int, float, float, int], answer: Any) -> Verdict | None:
    n, per_file, overhead, workers = case
    expected = expected_files_per_task(*case)
    if isinstance(answer, bool) or not isinstance(answer, int):
        if isinstance(answer, float) and answer.is_integer():
            answer = int(answer)
        else:
            return failed(
                f"Return a whole number of files (an int), got {type(answer).__name__} {answer!r}.",
                _case_text(case),
                "math.ceil(x) rounds up to an int; int(x) and // round down.",
            )
    if answer == expected:
        return None
    share = math.ceil(n / workers)
    if answer < 1:
        return failed(f"A task needs at least one file; you returned {answer}.", _case_text(case))
    work = answer * per_file
    if answer < expected and overhead > MAX_OVERHEAD_SHARE * work:
        return failed(
            f"{answer} file(s) per task is too few: the overhead is more than 10 % of the work.",
            _case_text(case),
            f"a task of {answer} file(s) does {fmt_seconds(work)} of work and costs "
            f"{fmt_seconds(overhead)}: {overhead / work:.0%} overhead. It takes "
            f"{expected} files to bring it under 10 %: round *up* (math.ceil), since a "
            f"rounded-down batch is just under the bar.",
        )
    if answer > share:
        tasks = math.ceil(n / answer)
        return failed(
            f"{answer} files per task is more than an equal share: {n} files over "
            f"{workers} workers is at most {share} each.",
            _case_text(case),
            f"{tasks} task(s) of up to {answer} files for {workers} workers: some worker "
            f"gets a bigger task than an even split would give it, or none at all. Cap the "
            f"batch at ceil(n_files / n_workers).",
        )
    return failed(
        f"{answer} files per task hides the overhead, but {expected} already would.",
        _case_text(case),
        f"with {expected} files a task does {fmt_seconds(expected * per_file)} of work for "
        f"{fmt_seconds(overhead)} of overhead, already under 10 %. Choose the *smallest* "
        "batch that does: smaller tasks balance better between workers, show progress "
        "sooner and lose less work when one fails.",
    )


def _q2_trial(files_per_task: Callable[..., Any]) -> Verdict:
    for case in Q2_CASES:
        answer = call_student(files_per_task, *case, timeout=5.0)
        problem = _q2_case_failure(case, answer)
        if problem is not None:
            return problem
    return passed(
        f"Right in all {len(Q2_CASES)} cases: the smallest batch that keeps the overhead "
        "under 10 %, and never more than an equal share per worker.",
        "on the lesson's LocalCluster (a millisecond or more per task, files of about a "
        "millisecond) that is a dozen files per task or more: not one, and not a hundred",
    )


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "A task of b files does b × seconds_per_file of work. The overhead is at most 10 % "
        "of that when b × seconds_per_file ≥ 10 × overhead, so b is at least "
        "10 × overhead / seconds_per_file, rounded *up* to a whole file (math.ceil).",
        "Then cap it: every worker should get a task, so b should not exceed an equal share, "
        "math.ceil(n_files / n_workers). And never return less than 1.",
    ],
    solution_note="If the two rules disagree (tiny files, few of them), the cap wins: idle "
    "workers cost more than the overhead does.",
)


# ---------------------------------------------------------------------------- q3
q3 = ChoiceProblem(
    name="q3",
    correct="B",
    choices={
        "A": "The scheduler was overloaded and dropped the files.",
        "B": "Each worker opened the paths on its own machine, where the files do not exist.",
        "C": "The course package is not installed on the workers.",
        "D": "Dask returned cached results from an earlier run (pure=True).",
    },
    why={
        "A": "Dask does not drop tasks: a lost task comes back as an error on its future, not "
        "as a report. And the report named every file, so every task ran.",
        "C": "Then no task could even start: unpickling project.run needs the package, so "
        "every future would fail with ModuleNotFoundError and there would be no report.",
        "D": "Cached results would be an earlier run's totals, not 'file not found'; and a "
        "key includes the arguments, so the earlier run had the same paths.",
    },
    praise="Right: a task gets a path, not a file, and the worker opens it where it runs. "
    "Put the data on storage every worker sees at the same path (a shared filesystem, object "
    "storage), or send the bytes.",
    hints=[
        "The report lists every file by name with a reason. Which processes opened the "
        "files, and on which machines?",
    ],
)

PROBLEMS = register(globals())
