"""Exercises for lesson 04, multiprocessing: process pools, spawn-safe workers, chunksize.

``from concurrency_lab.exercises.lesson04 import q1, q2, q3``

* q1 — ``parallel_map(task, items)``: compute ``task(item)`` for every item in a process
  pool; return the results in the order of ``items``. The check hands it a picklable
  CPU-bound task (:class:`~concurrency_lab.work.pool_probes.CpuProbeTask`), so it works
  under fork, spawn and forkserver, and judges from the task's own records (process id,
  thread, start, end) and from the processes the answer started (sampled while it runs,
  :class:`~concurrency_lab.exercises.worker_modules.ChildWatch`): every item once, none in
  the caller's process, two worker processes computing *at the same time* (some two tasks
  of different workers overlapped), results in input order. The first item is *held*
  until another task has finished (up to :data:`Q1_HOLD_LIMIT`; not at all when only one
  process was started), so two workers that really share the work always overlap on it,
  however late the second starts, and finishing order then differs from input order: an
  answer that returns results as they finish (``imap_unordered``, ``as_completed``) is
  caught every time; one that waits for each result before submitting the next, or starts
  a pool per item, shows no overlap.
* q2 — move ``count_primes`` out of the notebook into ``primes_worker.py`` with
  ``%%writefile``, import it and pass it to the check, which runs it in a pool with an
  explicit *spawn* context (:mod:`concurrency_lab.exercises.worker_modules` — the same
  mechanism serves later lessons whose answers are modules), on limits drawn anew each
  check (two primes among them, and 2 and 3).
* q3 — pick a ``chunksize`` for ``Pool.map`` over 100 000 tiny tasks. The rule, stated in
  the question: at least :data:`Q3_MIN_CHUNK` items per chunk and at least one chunk per
  worker. A chunksize that keeps it is then timed against ``chunksize=1`` on the same pool
  of two workers (chunksize 1 on the first :data:`Q3_BASELINE_ITEMS` items, scaled; each
  side twice, interleaved, the faster run counts) and the verdict shows the gain — dozens
  of times here. The verdict never depends on the timing: where a busy machine hides the
  gain (under :data:`Q3_SHOWS` after one retry), it says so instead.
"""

from __future__ import annotations

import functools
import itertools
import math
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from concurrency_lab.exercises.core import (
    STUDENT_THREAD,
    FunctionProblem,
    Problem,
    StudentError,
    StudentTimeout,
    Verdict,
    failed,
    first_difference,
    passed,
    register,
    too_busy,
)
from concurrency_lab.exercises.probing import (
    first_failure,
    order_verdict,
    run_with_probe,
    whole_number_failure,
)
from concurrency_lab.exercises.worker_modules import (
    ChildWatch,
    SpawnRun,
    spawn_trial,
    stop_children,
    threads_are_not_processes,
    timeout_verdict,
)
from concurrency_lab.work.pool_probes import CpuProbe, sent_times, tiny_task
from concurrency_lab.work.probes import probe_result, processes_verdict
from concurrency_lab.work.timing import fmt_ratio, fmt_seconds

__all__ = [
    "Q1_WORK",
    "Q2_MODULE",
    "Q2_PRIMES",
    "Q3_BASELINE_ITEMS",
    "Q3_ITEMS",
    "Q3_WORKERS",
    "count_primes_reference",
    "q1",
    "q2",
    "q3",
]


# ---------------------------------------------------------------------------- q1
# Seconds of computing per item. Item 7 comes first and is held until another task has
# finished (at most Q1_HOLD_LIMIT seconds; not at all when the answer started only one
# process): two workers that really run side by side always overlap on it.
Q1_WORK: dict[int, float] = {7: 0.04, 3: 0.02, 9: 0.03, 1: 0.02, 5: 0.03, 8: 0.02}
Q1_HELD = 7
Q1_HOLD_LIMIT = 1.5
Q1_RETRY_HOLD = 2.5  # the second try, when the first hold ran out with a sibling process idle
Q1_TIMEOUT = 15.0  # generous: spawned workers start slowly on a loaded machine


def _is_futures(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(v, Future) for v in value)


@dataclass
class _PoolRun:
    """What one q1 trial saw: the probe's outcome and the processes the answer started."""

    outcome: Any
    started: set[int]
    parent: int

    @property
    def events(self) -> list[Any]:
        return self.outcome.events

    @property
    def workers(self) -> set[int]:
        return {e.pid for e in self.events} - {self.parent}


def _shape_problem(value: Any) -> Verdict | None:
    if _is_futures(value):
        return failed(
            "You returned Future objects, not results.",
            "Call result() on each future (in the order of items) to get the values.",
        )
    if isinstance(value, Iterator):
        return failed(
            f"You returned an iterator ({type(value).__name__}), not a list.",
            "imap and executor.map give lazy iterators: wrap them in list(...) inside the "
            "`with` block, before the pool shuts down.",
        )
    if not isinstance(value, (list, tuple)):
        return failed(
            f"parallel_map should return a list of results, got {type(value).__name__} {value!r}."
        )
    return None


def _where_problem(run: _PoolRun) -> Verdict | None:
    events = run.events
    here = [e for e in events if e.pid == run.parent]
    if not here:
        return None
    # (A forked worker's main thread keeps the name of the thread that forked it, so the
    # thread name alone would not tell the caller from a fork worker: the pid decides.)
    if len(here) == len(events) and {e.thread for e in here} == {STUDENT_THREAD}:
        return failed(
            "Every task ran in your own process, in the thread that called parallel_map: "
            "there was no pool at all.",
            "Create a process pool (multiprocessing.Pool or "
            "concurrent.futures.ProcessPoolExecutor) and let it call task(item).",
        )
    if len(here) == len(events):
        return failed(
            "The tasks ran in threads of this process, not in worker processes.",
            processes_verdict(events, run.parent) or "",
            threads_are_not_processes(),
            "Use ProcessPoolExecutor (the same submit/map/shutdown as ThreadPoolExecutor) "
            "or multiprocessing.Pool.",
        )
    ids = sorted((e.task_id for e in here), key=repr)
    return failed(
        f"Item(s) {ids} ran in your own process, not in a worker process: only "
        f"{len(events) - len(here)} of the {len(events)} tasks went to the pool.",
        "Hand every item to the pool — pool.map(task, items) — rather than computing some "
        "of them yourself.",
    )


def _workers_problem(run: _PoolRun, n_items: int) -> Verdict | None:
    if len(run.workers) >= 2:
        return None
    started = len(run.started)
    return failed(
        f"All {n_items} tasks ran in a single worker process: one process computes "
        "one thing at a time, no faster than a loop.",
        (f"your code started {started} process(es); " if started else "")
        + "give the pool at least two workers — ProcessPoolExecutor() and Pool() start "
        "one per CPU —, submit every item before waiting for any result (executor.map "
        "does), and don't put every item into one chunk (chunksize=len(items)).",
    )


def _together_problem(run: _PoolRun) -> Verdict | None:
    """Two worker processes computing at the same time: some pair of tasks overlapped."""
    events = [e for e in run.events if e.pid != run.parent]
    if any(
        a.pid != b.pid and a.start < b.end and b.start < a.end
        for a, b in itertools.combinations(events, 2)
    ):
        return None
    return failed(
        f"{len(run.workers)} worker processes took part, but never at the same time: each "
        "task finished before the next one started.",
        f"No task of one worker ran while a task of another was running (item {Q1_HELD}, "
        f"the first, waits for another task to finish — up to {Q1_HOLD_LIMIT:g} s, then "
        f"{Q1_RETRY_HOLD:g} s on a second try — whenever your code has started more than "
        "one process). "
        "Waiting for each result right after submitting "
        "it (executor.submit(task, item).result() in the loop), or a new pool per item, "
        "makes the pool a slow loop: submit every item first — executor.map does that.",
        code=run.outcome.describe(),
    )


BUSY_NOTE = (
    "(On a very busy machine a second worker may simply not have started in time: if your "
    "pool has two workers and submits every item at once, close other programs and run "
    "the check again.)"
)


def out_at_once(sent: list[float], events: list[Any], parent: int) -> bool:
    """Whether two or more tasks were sent to workers before any worker's task ended.

    ``sent``: when the pool sent tasks (:func:`~concurrency_lab.work.pool_probes.sent_times`).
    A loop that waits for each result before sending the next, or a new pool per item,
    never has two out at once; an answer that submits every item first always does, even
    when a starved machine then runs them one after another.
    """
    ends = [e.end for e in events if e.pid != parent]
    return bool(ends) and sum(t < min(ends) for t in sent) >= 2


def _q1_once(parallel_map: Callable[..., Any], hold: float) -> tuple[Verdict, bool, bool, bool]:
    """One trial: the verdict, whether it hangs on the held item, whether it is in doubt,
    and whether the answer had several tasks out at once (:func:`out_at_once`).

    In doubt: the hold ran out (item :data:`Q1_HELD` waited all of ``hold`` seconds
    although the answer had started more than one process), or the tasks never overlapped
    although several were out at once and the answer had started two processes or more. Either way no second worker ran a task meanwhile:
    the answer never lets two run (a verdict says so), or the machine was too busy to run
    the second in time (a worker starting slowly, or waiting for a core) — then the
    verdict could be wrong, so the trial is retried.
    """
    items = list(Q1_WORK)
    factory = functools.partial(CpuProbe, hold_id=Q1_HELD, hold_limit=hold)
    started: set[int] = set()
    watches: list[ChildWatch] = []
    sent: list[float] = []

    def call(fn: Callable[..., Any], probe: Any) -> Any:
        watch = ChildWatch(report_to=probe.log_dir)
        watches.append(watch)
        with watch:
            try:
                return fn(probe.task, probe.ids)
            finally:
                started.update(watch.seen)
                sent[:] = sent_times(probe.log_dir)

    try:
        outcome = run_with_probe(
            parallel_map, Q1_WORK, call=call, timeout=Q1_TIMEOUT, probe_factory=factory
        )
    except StudentTimeout as timeout:
        seen = set().union(*(w.seen for w in watches))
        return timeout_verdict(timeout.seconds, stop_children(seen)), False, False, False
    except StudentError as error:
        if isinstance(error.exc, KeyError) and "the task has no id" in str(error.exc):
            verdict = error.verdict()
            return (
                failed(
                    verdict.headline,
                    *verdict.details,
                    "task must be called with each item itself. map passes every element "
                    "of the list as the one argument: pool.map(task, items) — not "
                    "pool.map(task, [(i,) for i in items]), which hands task a 1-tuple "
                    "(use starmap only when each element is a tuple of several arguments).",
                    code=verdict.code,
                ),
                False,
                False,
                False,
            )
        raise
    run = _PoolRun(outcome, started, os.getpid())
    expected = [probe_result(i) for i in items]
    held = [e for e in outcome.events if e.task_id == Q1_HELD and e.pid != run.parent]
    ran_out = len(started) >= 2 and any(e.duration >= 0.95 * hold for e in held)
    hold_dependent = first_failure(
        lambda: _workers_problem(run, len(items)),
        lambda: _together_problem(run),
    )
    verdict = first_failure(
        lambda: _shape_problem(outcome.value),
        lambda: outcome.wrong_calls_failure("parallel_map"),
        lambda: _where_problem(run),
        lambda: hold_dependent,
        lambda: order_verdict(
            list(outcome.value),
            expected,
            items,
            outcome.events,
            advice="imap_unordered and as_completed give results as they finish. "
            "pool.map / executor.map (or a list of futures in input order) keep the order "
            "of items.",
            code=outcome.describe(),
        ),
    ) or passed(
        f"Every result, in input order, computed by {len(run.workers)} worker processes at "
        "the same time.",
        f"item {Q1_HELD}, the first of items, was held back to finish late, yet its result "
        "is first: your pool handed the results back in input order",
    )
    depends = verdict.ok or verdict is hold_dependent
    at_once = out_at_once(sent, outcome.events, run.parent)
    # several out at once, two processes to run them, yet never two at a time: starved?
    doubtful = ran_out or (verdict is hold_dependent and at_once and len(started) >= 2)
    return verdict, depends, doubtful, at_once


def _q1_trial(parallel_map: Callable[..., Any]) -> Verdict:
    verdict, depends, doubtful, _ = _q1_once(parallel_map, Q1_HOLD_LIMIT)
    if not (depends and doubtful):
        return verdict
    verdict, depends, doubtful, at_once = _q1_once(parallel_map, Q1_RETRY_HOLD)  # busy?
    if not (depends and doubtful):
        return verdict
    if verdict.ok or at_once:
        return too_busy(
            "Your machine was too busy to judge this answer: twice, no second worker process "
            "ran a task while another was running"
            + (
                ", although your code had sent several tasks to the pool at once."
                if at_once
                else " (the first item was held for it)."
            ),
            "So the check could not see whether the tasks run side by side, nor whether "
            "your results come back in input order when tasks finish out of order. "
            "Close other programs and run the check again.",
        )
    return failed(verdict.headline, *verdict.details, BUSY_NOTE, code=verdict.code)


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "Inside `with ProcessPoolExecutor() as executor:` (or `with Pool() as pool:`), "
        "`map(task, items)` sends each item to a worker process and gives back the results "
        "in the order of items.",
        "`executor.map` returns a lazy iterator: `return list(executor.map(task, items))` — "
        "inside the `with` block.",
    ],
    solution_note="`with multiprocessing.Pool() as pool: return pool.map(task, items)` works "
    "as well. The task is a picklable object from a module, so this works under every "
    "start method; a function defined in a cell would not under spawn (Q2).",
)


# ---------------------------------------------------------------------------- q2
Q2_MODULE = "primes_worker"
Q2_PRIMES = (211, 503, 997, 1_009, 1_999, 2_003, 2_999)


def q2_inputs(rng: random.Random) -> list[int]:
    """The limits of one q2 check: new ones each time, in no order — two of them primes
    (``count_primes(p)`` must not count ``p`` itself), and 2 and 3 (0 and 1 primes)."""
    limits = [*rng.sample(Q2_PRIMES, 2), *rng.sample(range(100, 3_000), 3), 2, 3]
    rng.shuffle(limits)
    return limits


def count_primes_reference(limit: int) -> int:
    """How many primes are smaller than ``limit`` (a sieve: the check's reference answer)."""
    if limit < 3:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0] = sieve[1] = 0
    for n in range(2, math.isqrt(limit - 1) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytearray(len(range(n * n, limit, n)))
    return sum(sieve)


def _q2_trial(count_primes: Callable[..., Any]) -> Verdict:
    inputs = q2_inputs(random.Random(time.time_ns()))
    run = spawn_trial(count_primes, inputs, module=Q2_MODULE)
    if isinstance(run, Verdict):
        return run
    assert isinstance(run, SpawnRun)
    name = getattr(run.function, "__name__", "count_primes")
    expected = [count_primes_reference(n) for n in inputs]
    if not run.in_other_processes:
        return failed(f"{name} ran in this process, not in a worker.")
    if run.results != expected:
        return failed(
            f"{name} ran in spawned workers, but returned the wrong counts.",
            f"for limits {inputs}: {first_difference(run.results, expected)}",
            "count_primes(limit) counts the primes smaller than limit: "
            "count_primes(10) == 4 (2, 3, 5, 7). Copy the body from the notebook's version.",
        )
    return passed(
        f"{name}, imported from {run.function.__module__}.py, ran in freshly spawned worker "
        "processes and gave the right counts.",
        "a spawned worker imported your file by name — exactly what it could not do with "
        "the function defined in a cell",
    )


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        f"The answer cell already writes {Q2_MODULE}.py, def line included: replace "
        "`raise NotImplementedError()` with the body of the notebook's count_primes (one "
        "`return` line) and run the cell. `%%writefile` saves the cell to the file, next to "
        "the notebook, instead of running it.",
        f"Then the check cell's `from {Q2_MODULE} import count_primes` replaces the notebook's "
        "count_primes (module '__main__') with the one from the file, which a spawned worker "
        "can import. Edited the file? Run the %%writefile cell again, then the check: it "
        "re-imports the file.",
    ],
    solution_note="Nothing else may run when the file is imported: every spawned worker "
    'imports it. Start pools in the notebook (or under `if __name__ == "__main__":` in a '
    "script).",
)


# ---------------------------------------------------------------------------- q3
Q3_ITEMS = 100_000
Q3_BASELINE_ITEMS = 5_000  # chunksize 1 is timed on these and scaled up to Q3_ITEMS
Q3_WORKERS = 2
Q3_MIN_CHUNK = 10
"""The question's rule: at least this many items per chunk."""
Q3_SHOWS = 3.0
"""Below this measured gain the verdict says the machine was too busy to show it."""
Q3_REPEATS = 2


@dataclass(frozen=True)
class ChunksizeTiming:
    """Per-item wall time of ``Pool.map(tiny_task, ...)`` at chunksize 1 and at the choice."""

    baseline_per_item: float
    choice_per_item: float
    choice_wall: float  # for all Q3_ITEMS (scaled up when timed on fewer)

    @property
    def speedup(self) -> float:
        return self.baseline_per_item / self.choice_per_item if self.choice_per_item else 0.0


Q3_SMALL_CHUNKS = 50  # below this, the choice is timed on Q3_BASELINE_ITEMS items too


def choice_items(chunksize: int) -> int:
    """How many items the check times ``chunksize`` on: all of them, unless that is slow.

    Chunks smaller than :data:`Q3_SMALL_CHUNKS` cost nearly as much per item as chunksize 1
    (seconds for 100 000 items), so they are timed like the baseline, on the first
    :data:`Q3_BASELINE_ITEMS` items, and scaled.
    """
    return Q3_ITEMS if chunksize >= Q3_SMALL_CHUNKS else Q3_BASELINE_ITEMS


def time_chunksize(chunksize: int) -> ChunksizeTiming:
    """Time ``chunksize`` against 1 on one pool of :data:`Q3_WORKERS` workers.

    The pool is warmed up first (its workers started), then the two are timed in turn,
    :data:`Q3_REPEATS` times each, and the faster run of each counts. Times are per item:
    chunksize 1 on :data:`Q3_BASELINE_ITEMS` items, the choice on :func:`choice_items`.
    """
    items = range(choice_items(chunksize))
    expected = [tiny_task(x) for x in items]
    baseline, choice = [], []
    ctx = multiprocessing.get_context()
    with ctx.Pool(Q3_WORKERS) as pool:
        pool.map(tiny_task, range(4 * Q3_WORKERS), chunksize=1)  # start the workers
        for _ in range(Q3_REPEATS):
            start = time.perf_counter()
            pool.map(tiny_task, range(Q3_BASELINE_ITEMS), chunksize=1)
            baseline.append(time.perf_counter() - start)
            start = time.perf_counter()
            got = pool.map(tiny_task, items, chunksize=chunksize)
            choice.append(time.perf_counter() - start)
            if got != expected:  # pragma: no cover - Pool.map does not lose items
                raise RuntimeError("Pool.map returned wrong results")
    return ChunksizeTiming(
        min(baseline) / Q3_BASELINE_ITEMS,
        min(choice) / len(items),
        min(choice) * Q3_ITEMS / len(items),
    )


def _count(n: int) -> str:
    return f"{n:,}".replace(",", " ")


@dataclass
class ChunksizeProblem(Problem):
    """The answer is a chunksize: judged by the question's rule, then timed to show why.

    The rule (stated in the question): at least :data:`Q3_MIN_CHUNK` items per chunk, so
    the per-message cost is shared, and at least one chunk per worker, so both work. A
    chunksize that keeps the rule is then timed against chunksize 1 on the same pool, and
    the verdict shows the measurement; the verdict itself never depends on the timing (a
    busy machine can shrink the measured gain, never the rule).
    """

    def judge(self, answer: Any) -> Verdict:
        n = _count(Q3_ITEMS)
        problem = whole_number_failure(
            answer,
            "chunksize",
            minimum=1,
            advice=f"It is how many of the {n} items travel to a worker together: 1, 500, 10_000…",
        )
        if problem:
            return problem
        chunksize = int(answer)
        if chunksize > Q3_ITEMS:
            return failed(
                f"chunksize {_count(chunksize)} is bigger than the whole list of {n} items.",
                "There would be a single chunk, computed by one worker while the other idles. "
                f"Pick a size that splits the {n} items into several chunks.",
            )
        if chunksize == 1:
            return failed(
                "chunksize 1 is the slow baseline itself: every item travels to a worker "
                "alone, and its result travels back alone.",
                f"Sending an item costs far more than tiny_task's work: bundle hundreds or "
                f"thousands of the {n} items per chunk.",
            )
        chunks = math.ceil(Q3_ITEMS / chunksize)
        if chunksize < Q3_MIN_CHUNK:
            return failed(
                f"chunksize {chunksize} still sends {_count(chunks)} messages each way: one "
                f"for every {chunksize} items.",
                f"The question asks for at least {Q3_MIN_CHUNK} items per chunk. A message "
                "costs tens of microseconds, tiny_task well under one: bundle hundreds or "
                "thousands of items.",
            )
        if chunks < Q3_WORKERS:
            return failed(
                f"chunksize {_count(chunksize)} makes {chunks} chunk of {n} items: one worker "
                "computes it while the other one idles.",
                f"Make at least as many chunks as workers ({Q3_WORKERS}); several per worker "
                "balances better.",
            )
        timing = time_chunksize(chunksize)
        if timing.speedup < Q3_SHOWS:
            timing = time_chunksize(chunksize)  # once more: the machine may have been busy
        baseline_total = timing.baseline_per_item * Q3_ITEMS
        measured = (
            f"chunksize 1: {fmt_seconds(timing.baseline_per_item * Q3_BASELINE_ITEMS)} for "
            f"the first {_count(Q3_BASELINE_ITEMS)} items, so about "
            f"{fmt_seconds(baseline_total)} for all {n} (timed on fewer items to keep the "
            "check short, then scaled)"
        )
        yours = f"chunksize {_count(chunksize)}: {fmt_seconds(timing.choice_wall)} for all {n}"
        if choice_items(chunksize) < Q3_ITEMS:
            yours = (
                f"chunksize {_count(chunksize)}: about {fmt_seconds(timing.choice_wall)} for "
                f"all {n} (timed on the first {_count(choice_items(chunksize))} items, then "
                "scaled)"
            )
        if timing.speedup < Q3_SHOWS:
            return passed(
                f"chunksize {_count(chunksize)} keeps the rule: {_count(chunks)} chunks of "
                f"at least {Q3_MIN_CHUNK} items, at least one per worker.",
                f"The timing could not show the gain this time (measured "
                f"{fmt_ratio(timing.speedup)}): your machine was busy while it ran. Close "
                "other programs and run the check again to see it.",
                yours,
                measured,
            )
        return passed(
            f"chunksize {_count(chunksize)}: {fmt_ratio(timing.speedup)} faster than "
            f"chunksize 1 for {n} tiny tasks ({_count(chunks)} messages each way instead of {n}).",
            yours,
            measured,
        )


q3 = ChunksizeProblem(
    name="q3",
    hints=[
        "Each chunk costs one message to a worker and one back, whatever its size; "
        "tiny_task itself takes well under a microsecond. So: few messages, but enough "
        "chunks to keep both workers busy.",
        "Pool.map's own rule of thumb: about four chunks per worker — "
        "100_000 // (4 * 2) = 12_500. Anything from a few hundred up works well here.",
    ],
    solution_note="multiprocessing's Pool.map picks such a chunksize itself when you give "
    "none; imap, imap_unordered and ProcessPoolExecutor.map default to chunksize 1.",
)

PROBLEMS = register(globals())
