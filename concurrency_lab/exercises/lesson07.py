"""Exercises for lesson 07, scaling out: the project on a Dask cluster, and when it pays.

``from concurrency_lab.exercises.lesson07 import q1, q2, q3``

* q1 — ``total_on_cluster(client, batches)``: run ``project.run`` on every batch *on the
  cluster*, combine the partials there too, return the ``Result``. Checked against the
  sequential answer, and against what the *scheduler* recorded while the function ran (a
  plugin, :class:`TaskRecorder`): which tasks the cluster computed, the type of each result
  (``Partial``, ``Result``) and each task's inputs — and against the keys the notebook's
  client gathered. So "combined on the cluster" means: a task that made the ``Result`` took
  every batch's ``Partial`` as an input *on the cluster*, and no ``Partial`` was gathered to
  the notebook — gathering the partials and submitting them back, or a warm-up task plus a
  combine in the notebook, are named as such, whatever the tasks are called.
* q2 — ``files_per_task(n_files, seconds_per_file, overhead, n_workers)``: the smallest
  batch whose per-task overhead is at most 10 % of its work, but no more than an equal
  share per worker. Checked numerically on five fixed cases and three drawn anew each check
  (none near a rounding edge); any whole number type counts (``numpy.int64``, ``7.0``); a
  wrong answer is told which rule it broke, with the numbers.
* q3 — a choice: why a run on a remote cluster reports every file as "file not found".

q1's check needs a cluster: it uses the one the exercise notebook started with
``concurrency_lab.view.cluster.connect()`` (or any Dask client already open) and starts one
only if there is none, then keeps it for the next checks. Each check writes a fresh small
dataset into a temporary folder: new paths mean new task keys, so Dask cannot answer from
results it still holds from an earlier check.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import SchedulerPlugin

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


class TaskRecorder(SchedulerPlugin):
    """A scheduler plugin: every task the cluster computed while it was registered.

    For each task that went from *processing* to *memory*: its key, the worker that
    computed it, the type of its result (as the worker reported it, e.g.
    ``'concurrency_lab.work.project.Partial'``) and the keys of the tasks it took as
    inputs. Read back with :meth:`records`. This is what the scheduler knows, not what
    the keys are called: a ``combine`` task that received its partials *as values* (gathered
    to the notebook, then submitted back) has no inputs on the cluster.
    """

    name = "concurrency-lab-q1-recorder"

    def __init__(self) -> None:
        self.computed: list[dict[str, Any]] = []
        self.scheduler: Any = None

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if not (start == "processing" and finish == "memory") or self.scheduler is None:
            return
        ts = self.scheduler.tasks.get(key)
        self.computed.append(
            {
                "key": str(key),
                "worker": str(kwargs.get("worker", "")),
                "type": str(getattr(ts, "type", "") or ""),
                "inputs": sorted(str(d.key) for d in getattr(ts, "dependencies", ())),
            }
        )

    @staticmethod
    def records(dask_scheduler: Any = None) -> list[dict[str, Any]]:
        """Run on the scheduler (``client.run_on_scheduler``): the records so far."""
        plugin = dask_scheduler.plugins.get(TaskRecorder.name)
        return list(plugin.computed) if plugin is not None else []


@dataclass
class ClusterRun:
    """What q1 saw: the tasks the cluster computed, and the keys the notebook gathered."""

    computed: list[dict[str, Any]]
    gathered: list[str]
    watched: bool = True  # False: the scheduler would not take the recording plugin

    def of_type(self, name: str) -> list[dict[str, Any]]:
        """Tasks whose result had type ``name`` (``'Partial'``, ``'Result'``)."""
        return [r for r in self.computed if r["type"].rsplit(".", 1)[-1] == name]

    def upstream(self, key: str) -> set[str]:
        """Every task ``key`` depended on, through any number of tasks in between."""
        inputs = {r["key"]: r["inputs"] for r in self.computed}
        seen: set[str] = set()
        todo = list(inputs.get(key, ()))
        while todo:
            k = todo.pop()
            if k not in seen:
                seen.add(k)
                todo.extend(inputs.get(k, ()))
        return seen


@contextlib.contextmanager
def watch_cluster(client: Client) -> Iterator[ClusterRun]:
    """Record what the cluster computes and what ``client`` gathers inside the block."""
    from distributed.client import futures_of

    run = ClusterRun([], [])
    original = client._gather

    async def gather(futures: Any, *args: Any, **kwargs: Any) -> Any:
        run.gathered.extend(str(f.key) for f in futures_of(futures))
        return await original(futures, *args, **kwargs)

    try:
        client.register_plugin(TaskRecorder(), name=TaskRecorder.name)
    except Exception:  # a remote scheduler without this package, say
        run.watched = False
    client._gather = gather  # type: ignore[method-assign]
    try:
        yield run
    finally:
        with contextlib.suppress(AttributeError):
            del client._gather  # the class's method again
        with contextlib.suppress(Exception):
            run.computed.extend(client.run_on_scheduler(TaskRecorder.records))
        with contextlib.suppress(Exception):
            client.unregister_scheduler_plugin(TaskRecorder.name)


def _q1_data(folder: str) -> list[Any]:
    from concurrency_lab.work.data import make_dataset, write_bad_files

    paths = make_dataset(folder, n_files=9, rows=40, seed=7)
    return paths + sorted(write_bad_files(folder))


def _cluster_problem(run: ClusterRun, got: Any, k: int, setup: str) -> Verdict | None:
    """Where the work ran, from the scheduler's records: batches, then combine, on the cluster."""
    partials = run.of_type("Partial")
    results = run.of_type("Result")
    made_here = any(p.pid == os.getpid() for p in got.partials)  # run stamps its process
    if not partials and results and not made_here:
        return failed(
            "The right Result, but the cluster computed it in one task: no task per batch.",
            setup,
            "One task did every batch, so one worker worked while the others idled. Give "
            "each batch its own task — client.map(project.run, batches, "
            "range(len(batches))) — then combine their futures in another.",
        )
    if not partials:
        return failed(
            "The right Result, but no batch ran on the cluster: your function ran "
            "project.run in this process.",
            setup,
            "Calling project.run(...) directly runs it here. Hand the calls to the cluster: "
            "client.map(project.run, batches, range(len(batches))).",
        )
    if len(partials) != k:
        return failed(
            f"The right Result, but the cluster computed {len(partials)} partial result(s) "
            f"for {k} batches.",
            setup,
            "One task per batch, each with its own batch id: "
            "client.map(project.run, batches, range(len(batches))).",
        )
    keys = {r["key"] for r in partials}
    if not results:
        return failed(
            "The batches ran on the cluster, but combine ran in this process.",
            setup,
            f"the cluster computed {k} partial results and no Result: every partial "
            "travelled back to the notebook to be added up here. Pass the futures "
            "themselves to a task: client.submit(project.combine, futures).result().",
        )
    final = results[-1]
    missing = keys - run.upstream(final["key"])
    if missing:
        return failed(
            "combine ran on the cluster, but its inputs came from the notebook: the partials "
            "went to this process and back.",
            setup,
            f"the scheduler's records: the task that made the Result took "
            f"{len(keys) - len(missing)} of the {k} partial results from the cluster; the "
            "others were values you sent with it (gathered with .result() or "
            "client.gather, then submitted). Pass the futures themselves: "
            "client.submit(project.combine, futures).",
        )
    gathered = sorted(keys & set(run.gathered))
    if gathered:
        return failed(
            "The Result was combined on the cluster, but the partial results also travelled "
            "back to the notebook.",
            setup,
            f"{len(gathered)} of the {k} partial results were gathered to this process "
            "(.result() or client.gather on their futures). Only the final Result needs to "
            "come back: call .result() on combine's future alone.",
        )
    return None


def _q1_trial(total_on_cluster: Callable[..., Any]) -> Verdict:
    from concurrency_lab.work.batching import batch_files
    from concurrency_lab.work.project import Partial, Result, run_sequential

    client = _check_client()
    folder = tempfile.mkdtemp(prefix="concurrency-lab-q1-")
    try:
        paths = _q1_data(folder)
        random.Random(time.time_ns()).shuffle(paths)  # new batches, new keys, every check
        batches = batch_files(paths, 4)
        expected = run_sequential(paths)
        with watch_cluster(client) as run:
            got = call_student(total_on_cluster, client, batches, timeout=Q1_TIMEOUT)
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
    if not run.watched:
        return Verdict(
            "not attempted",
            "Your Result is right, but the check could not watch this cluster's scheduler, so "
            "it cannot tell where the work ran.",
            (
                "Its recorder needs the course package on the scheduler: run this check with "
                "a LocalCluster (unset CONCURRENCY_LAB_SCHEDULER and connect() again).",
            ),
        )
    problem = _cluster_problem(run, got, k, setup)
    if problem:
        return problem
    workers = {r["worker"] for r in run.of_type("Partial")}
    ids = sorted(p.batch_id for p in got.partials)
    if got.partials and ids != list(range(k)):
        return failed(
            f"The right totals, but the batch ids were {ids}, not 0 to {k - 1}.",
            setup,
            "Give each batch its own id, as the question asks: "
            "client.map(project.run, batches, range(len(batches))) — map takes one iterable "
            "per argument.",
        )
    return passed(
        "Equal to the sequential result, and computed on the cluster: one task per batch, "
        "then combine on a worker, fed by those tasks.",
        f"the scheduler's records: {k} partial results computed on {len(workers)} "
        "worker(s), the Result computed from them on the cluster; only the Result came back "
        "to the notebook",
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
    whole = (
        not isinstance(answer, bool)
        and isinstance(answer, numbers.Real)
        and (isinstance(answer, numbers.Integral) or float(answer).is_integer())
    )
    if not whole:
        return failed(
            f"Return a whole number of files (an int), got {type(answer).__name__} {answer!r}.",
            _case_text(case),
            "math.ceil(x) rounds up to an int; int(x) and // round down.",
        )
    answer = int(answer)
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


def q2_cases(rng: random.Random, extra: int = 3) -> list[tuple[int, float, float, int]]:
    """:data:`Q2_CASES` and ``extra`` cases drawn anew, none near a rounding edge."""
    cases = list(Q2_CASES)
    while len(cases) < len(Q2_CASES) + extra:
        n = rng.randrange(5, 2_000)
        per_file = round(10 ** rng.uniform(-5, -0.5), 7)
        overhead = round(10 ** rng.uniform(-4, -2), 6)
        workers = rng.randrange(1, 17)
        hide, share = 10 * overhead / per_file, n / workers
        if any(abs(x - round(x)) < 0.01 for x in (hide, share)):
            continue  # too close to a whole number: floating point could decide
        cases.append((n, per_file, overhead, workers))
    return cases


def _q2_trial(files_per_task: Callable[..., Any]) -> Verdict:
    cases = q2_cases(random.Random(time.time_ns()))
    for case in cases:
        answer = call_student(files_per_task, *case, timeout=5.0)
        problem = _q2_case_failure(case, answer)
        if problem is not None:
            return problem
    return passed(
        f"Right in all {len(cases)} cases: the smallest batch that keeps the overhead "
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
