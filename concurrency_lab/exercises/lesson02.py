"""Exercises for lesson 02, threads: overlap the waits, protect shared state, size a batch.

``from concurrency_lab.exercises.lesson02 import q1, q2, q3``

* q1 — ``run_all(task, ids)``: run every task in its own thread, all at once, and return
  when all have finished (the fix for the start-and-join-in-one-loop bug).
* q2 — ``add_many(counter, times)``: add to a shared counter from several threads without
  losing updates (a ``threading.Lock`` around the whole read-add-write).
* q3 — ``time_threads(task, ids, n)`` measures the wall time of a batch on ``n`` threads,
  ``choose_threads(walls)`` picks the smallest count within 20 % of the best time.

The checks hand the student's function instrumented tasks with fixed durations
(:mod:`concurrency_lab.work.probes`) and judge from what really ran, when and in
which thread — not from the student's word. Every verdict is decided by a margin that a
busy machine cannot close: a sequential run has a concurrency of about 1.0 where the
concurrent one reaches about 3; an unlocked counter whose reads and writes take a millisecond loses
most of its updates, not one in a million.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from concurrency_lab.exercises.core import (
    FunctionProblem,
    StudentError,
    Verdict,
    call_student,
    failed,
    not_attempted,
    passed,
    register,
)
from concurrency_lab.exercises.probing import run_with_probe
from concurrency_lab.work.probes import ProbeTask, overlap_verdict
from concurrency_lab.work.tasks import nominal_duration
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_ratio, fmt_seconds

# Sum of task times / wall time that counts as "ran at the same time". A sequential run
# cannot exceed 1.0 however busy the machine; a concurrent one reaches about 3 here, and
# stays above 1.5 even when the machine is so loaded that threads start 20 ms apart.
MIN_CONCURRENCY = 1.3


@contextmanager
def _thread_errors() -> Iterator[list[BaseException]]:
    """Collect exceptions raised in threads while the block runs (instead of printing them).

    An exception in a ``Thread`` target never reaches the code that started the thread:
    ``threading.excepthook`` prints it and the thread ends. A check wants to *report* it,
    so for the duration of the block the hook files it here instead.
    """
    errors: list[BaseException] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            errors.append(args.exc_value)

    threading.excepthook = hook
    try:
        yield errors
    finally:
        threading.excepthook = previous


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


# ---------------------------------------------------------------------------- q1
# The longest task first and the shortest last: an answer that joins only the last thread
# returns while the first is still running, even if the threads start tens of ms apart.
Q1_IDS = [4, 5, 7, 9, 8]
Q1_DURATIONS = {i: 0.04 * nominal_duration(i) for i in Q1_IDS}  # 0.12, 0.08 (×3), 0.04 s


def _q1_trial(run_all: Callable[..., Any]) -> Verdict:
    with _thread_errors() as errors:
        outcome = run_with_probe(run_all, Q1_DURATIONS, timeout=5.0)
    if errors:
        verdict = StudentError(errors[0]).verdict()
        return failed(
            f"A thread you started raised {type(errors[0]).__name__}.",
            *verdict.details,
            "An exception inside a thread does not reach run_all: Python prints it and the "
            "thread just ends.",
            code=verdict.code,
        )
    wrong_calls = outcome.wrong_calls_failure("run_all")
    if wrong_calls:
        return wrong_calls
    late = outcome.unfinished_at_return
    if late:
        return failed(
            f"run_all returned while task(s) {late} were still running.",
            f"it returned after {fmt_seconds(outcome.wall)}; the longest task takes "
            f"{fmt_seconds(max(Q1_DURATIONS.values()))}",
            "Start all the threads, then call join() on *every* one of them before returning.",
            code=outcome.describe(),
        )
    if outcome.ran_in_caller():
        why = (
            "No thread ran them: every task ran in the thread that called run_all. "
            "Did you call t.run() (which runs the target right here) instead of t.start()?"
        )
    else:
        why = (
            "Each thread finished before the next one started: a join() inside the loop "
            "that starts them waits for each task in turn. Start them all, then join them all."
        )
    sequential = outcome.overlap_failure(
        "Your tasks ran one after another, not at the same time.",
        why,
        min_concurrency=MIN_CONCURRENCY,
    )
    if sequential:
        return sequential
    busy = outcome.busy
    return passed(
        "All 5 tasks waited at the same time, and run_all waited for every one of them.",
        f"wall time {fmt_seconds(outcome.wall)} against a sum of task times of "
        f"{fmt_seconds(busy)}: about the longest task, not the sum",
    )


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "Two loops: the first creates and starts a thread per id and keeps it in a list; "
        "the second joins every thread in that list.",
        "`threads = [threading.Thread(target=task, args=(i,)) for i in ids]`, then "
        "`t.start()` for each, then `t.join()` for each. Note `args=(i,)`: a tuple.",
    ],
    solution_note="`with ThreadPoolExecutor(max_workers=len(ids)) as pool: pool.map(task, ids)` "
    "passes too: leaving the `with` block waits for every task (lesson 03).",
)


# ---------------------------------------------------------------------------- q2
Q2_THREADS = 4
Q2_TIMES = 20
Q2_ACCESS_SECONDS = 0.001


class SlowCounter:
    """A shared counter whose reads and writes take a moment, like a value in a database.

    Reading ``counter.value`` returns the value as it was when the read *began*; writing
    stores the new value only at the *end* of the write. Both waits let other threads run,
    so two threads that update without holding one lock across the read *and* the write
    read the same number, and one of their updates is lost.
    """

    def __init__(self, access_seconds: float = Q2_ACCESS_SECONDS) -> None:
        self._value = 0
        self._access_seconds = access_seconds

    @property
    def value(self) -> int:
        value = self._value
        time.sleep(self._access_seconds)
        return value

    @value.setter
    def value(self, new: int) -> None:
        time.sleep(self._access_seconds)
        self._value = new

    def __repr__(self) -> str:
        return f"<SlowCounter value={self._value}>"


def _run_adders(add_many: Callable[..., Any], counter: SlowCounter) -> None:
    """Run ``add_many(counter, Q2_TIMES)`` in Q2_THREADS threads that start together."""
    start_together = threading.Barrier(Q2_THREADS)
    errors: list[BaseException] = []

    def adder() -> None:
        try:
            start_together.wait()
            add_many(counter, Q2_TIMES)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=adder, name=f"adder-{k}", daemon=True) for k in range(Q2_THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]  # call_student names it (or reports "not attempted")


def _q2_trial(add_many: Callable[..., Any]) -> Verdict:
    counter = SlowCounter()
    call_student(_run_adders, add_many, counter, timeout=5.0)
    got, expected = counter._value, Q2_THREADS * Q2_TIMES
    setup = f"{Q2_THREADS} threads each ran add_many(counter, {Q2_TIMES}) at the same time"
    if not isinstance(got, int) or isinstance(got, bool):
        return failed(f"counter.value ended as {got!r}; it should be a whole number.", setup)
    if got > expected:
        return failed(
            f"Counted too many: counter.value is {got}, expected {expected}.",
            setup,
            f"Each call should add exactly `times` (here {Q2_TIMES}): one `+= 1` per loop turn.",
        )
    if got < expected:
        lost = expected - got
        details = [setup, f"counter.value is {got}, expected {expected}: {lost} updates lost"]
        source = _source(add_many)
        body = source.split(":", 1)[-1] if source else ""
        if "Lock()" in body or "RLock()" in body:
            details.append(
                "Your function creates its lock itself, so every call (or every turn) gets a "
                "new lock that no other thread ever waits for. Use one lock shared by all "
                "threads: create it once, outside add_many."
            )
        elif "with " in body or "acquire" in body:
            details.append(
                "Your code takes a lock, but not around the whole update: the read "
                "(counter.value) and the write (counter.value = ...) must be inside the "
                "same `with lock:` block, so no other thread can slip in between."
            )
        else:
            details.append(
                "Without a lock, two threads read the same value and both write value + 1. "
                "Hold a lock shared by all threads across the read and the write."
            )
        return failed("Updates were lost: the threads overwrote each other.", *details)
    return passed(
        f"{expected} of {expected}: no update lost, although every read and every write of "
        "the counter gave the other threads time to run.",
        "The lock made each read-add-write one step that no other thread can interrupt.",
    )


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "`counter.value += 1` is a read, an add and a write; another thread may run between "
        "the read and the write. A lock makes the other threads wait until you are done.",
        "Use the one lock all threads share, `counter_lock`, and put the whole update inside "
        "it: `with counter_lock: counter.value += 1`, once per loop turn.",
    ],
    solution_note="Holding the lock around the whole loop is correct too, but then the "
    "threads take turns for whole calls: keep a locked block as short as the update.",
)


# ---------------------------------------------------------------------------- q3
Q3_IDS = list(range(6))
Q3_SECONDS = 0.03
Q3_COUNTS = [1, 2, 3, 6]
Q3_SERVER_LIMIT = 3  # the simulated server answers at most this many requests at once
Q3_TOLERANCE = 0.20
# Fixed tables for the choice rule: (walls, the right choice). Keys out of order on purpose.
Q3_RULE_TABLES: list[tuple[dict[int, float], int]] = [
    ({1: 0.24, 2: 0.12, 4: 0.061, 8: 0.058}, 4),
    ({8: 0.29, 1: 2.0, 4: 0.28, 2: 1.05, 16: 0.25}, 4),
    ({1: 0.50, 2: 0.26, 4: 0.25}, 2),
    ({4: 0.13, 1: 0.10, 2: 0.11}, 1),
]


@dataclass(frozen=True)
class LimitedServerTask:
    """A probe task behind a server that handles at most ``limit`` requests at once.

    Like a database with a connection limit: calls beyond the limit wait for a free slot,
    so past that many threads the wall time stops improving.
    """

    task: ProbeTask
    gate: threading.BoundedSemaphore

    def __call__(self, task_id: Any) -> str:
        with self.gate:
            return self.task(task_id)

    def __repr__(self) -> str:
        return repr(self.task)


def max_overlap(events: Sequence[Event]) -> int:
    """The largest number of events running at the same instant."""
    marks = sorted([(e.start, 1) for e in events] + [(e.end, -1) for e in events])
    running = most = 0
    for _, step in marks:
        running += step
        most = max(most, running)
    return most


def smallest_within(walls: Mapping[int, float], tolerance: float = Q3_TOLERANCE) -> int:
    """The smallest thread count whose wall time is within ``tolerance`` of the best."""
    best = min(walls.values())
    return min(n for n, wall in walls.items() if wall <= best * (1 + tolerance))


def _is_seconds(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _q3_measure(time_threads: Callable[..., Any], n: int) -> tuple[float, Verdict | None]:
    """Run ``time_threads`` for ``n`` threads against the server; (wall, problem or None)."""
    gate = threading.BoundedSemaphore(Q3_SERVER_LIMIT)

    def call(fn: Callable[..., Any], probe: Any) -> Any:
        return fn(LimitedServerTask(probe.task, gate), probe.ids, n)

    with _thread_errors() as errors:
        outcome = run_with_probe(
            time_threads, dict.fromkeys(Q3_IDS, Q3_SECONDS), call=call, timeout=5.0
        )
    if errors:
        verdict = StudentError(errors[0]).verdict()
        return 0.0, failed(
            f"A thread you started raised {type(errors[0]).__name__} (n = {n}).",
            *verdict.details,
            code=verdict.code,
        )
    reported = outcome.value
    label = f"time_threads(task, ids, {n})"
    if not _is_seconds(reported):
        return 0.0, failed(
            f"{label} returned {reported!r}; it should return the wall time in seconds."
        )
    wrong_calls = outcome.calls_verdict()
    if wrong_calls:
        return 0.0, failed(
            f"{label} did not run every task exactly once: {wrong_calls}.",
            code=outcome.describe(),
        )
    if outcome.unfinished_at_return:
        return 0.0, failed(
            f"{label} returned while task(s) {outcome.unfinished_at_return} were still running.",
            "Join every thread before you stop the clock and return.",
            code=outcome.describe(),
        )
    most = max_overlap(outcome.events)
    if most > n:
        return 0.0, failed(
            f"{label} had {most} tasks running at once: use exactly {n} thread(s).",
            "Give each of the n threads a share of the ids (ids[k::n]) to run one after another.",
            code=outcome.describe(),
        )
    busy = len(Q3_IDS) * Q3_SECONDS
    floor = max(Q3_SECONDS, busy / min(n, Q3_SERVER_LIMIT, len(Q3_IDS)))
    if reported < 0.8 * floor:
        return 0.0, failed(
            f"{label} returned {reported!r} s: faster than possible. These {len(Q3_IDS)} "
            f"tasks of {fmt_seconds(Q3_SECONDS)} need at least {fmt_seconds(floor)} on "
            f"{n} thread(s).",
            "Start the clock before starting the threads and stop it after the last join(); "
            "measure in seconds with time.perf_counter().",
        )
    span = max(e.end for e in outcome.events) - min(e.start for e in outcome.events)
    if reported < 0.8 * span:
        return 0.0, failed(
            f"{label} returned {reported!r} s, but its tasks ran for {fmt_seconds(span)} from "
            "the first start to the last end: the clock stopped before they were done.",
            "Start the clock before starting the threads and stop it after the last join().",
        )
    if reported > outcome.wall + 0.05:
        return 0.0, failed(
            f"{label} returned {reported!r}, but the call took only "
            f"{fmt_seconds(outcome.wall)}. Milliseconds instead of seconds?"
        )
    if n == max(Q3_COUNTS):
        sequential = overlap_verdict(outcome.events, outcome.wall, min_concurrency=MIN_CONCURRENCY)
        if sequential:
            return 0.0, failed(
                f"With {n} threads the tasks still ran one after another.",
                sequential,
                "Start all n threads first, then join them all.",
                code=outcome.describe(),
            )
    return float(reported), None


def _walls_table(walls: Mapping[int, float]) -> str:
    return " · ".join(f"{n}: {fmt_seconds(walls[n])}" for n in sorted(walls))


def _q3_rule_verdict(choose_threads: Callable[..., Any]) -> Verdict | None:
    """Try the choice rule on fixed tables: ``None`` if it is right on all of them."""
    for table, right in Q3_RULE_TABLES:
        got = call_student(choose_threads, dict(table), timeout=2.0)
        if got == right:
            continue
        best_n = min(table, key=table.__getitem__)
        limit = table[best_n] * (1 + Q3_TOLERANCE)
        if got == best_n:
            why = (
                f"That is the fastest count, but {right} thread(s) came within "
                f"{Q3_TOLERANCE:.0%} of it: about as fast, with fewer threads (and connections)."
            )
        else:
            why = (
                f"The best time is {table[best_n]} s (at {best_n} threads); the smallest count "
                f"within {Q3_TOLERANCE:.0%} of it (at most {limit:.3f} s) is {right}."
            )
        return failed(
            f"choose_threads({table}) returned {got!r}; expected {right}.",
            why,
            "The thread counts are the dict's keys; they need not come in order.",
        )
    return None


def _q3_trial(answer: Any) -> Verdict:
    time_threads, choose_threads = answer
    # 1. The rule, on fixed tables: its verdict cannot depend on this machine's noise.
    wrong_rule = _q3_rule_verdict(choose_threads)
    if wrong_rule is not None:
        return wrong_rule
    # 2. The measurements: real runs, on exactly n threads, timed from start to last join.
    #    Largest n first: a sequential or unbounded version fails after a short run.
    walls: dict[int, float] = {}
    for n in sorted(Q3_COUNTS, reverse=True):
        wall, problem = _q3_measure(time_threads, n)
        if problem is not None:
            return problem
        walls[n] = wall
    return passed(
        "Real measurements on exactly n threads, and a rule that picks the smallest count "
        "within 20% of the best.",
        f"your wall times (threads: seconds): {_walls_table(walls)}",
        f"This server answers {Q3_SERVER_LIMIT} requests at a time: past {Q3_SERVER_LIMIT} "
        f"threads, the extra threads only wait (best speed-up over 1 thread "
        f"{fmt_ratio(walls[1] / min(walls.values()))}).",
    )


@dataclass
class MeasureAndChooseProblem(FunctionProblem):
    """A question answered by two functions: ``check(time_threads, choose_threads)``."""

    def check(self, *answer: Any) -> bool:  # type: ignore[override]
        return super().check(answer)

    def verdict(self, answer: Any) -> Verdict:
        if not isinstance(answer, tuple):
            answer = (answer,)
        if any(a is None or a is Ellipsis for a in answer):
            return not_attempted("the answer cell")
        return super().verdict(answer)

    def judge(self, answer: Any) -> Verdict:
        if len(answer) != 2:
            return failed(
                f"Pass both functions: `{self.name}.check(time_threads, choose_threads)` "
                f"(got {len(answer)} argument(s))."
            )
        for fn in answer:
            if not callable(fn):
                return failed(
                    f"Expected two functions, got {type(fn).__name__} {fn!r}.",
                    "Pass the functions themselves, without calling them.",
                )
        return _q3_trial(answer)


q3 = MeasureAndChooseProblem(
    name="q3",
    hints=[
        "time_threads: split ids into n shares (`ids[k::n]`), run each share in a loop in its "
        "own thread; start all, join all, and return the seconds from before the first "
        "start() to after the last join() (time.perf_counter()).",
        "choose_threads: `best = min(walls.values())`, then the smallest key n with "
        "`walls[n] <= 1.2 * best`; `min(n for n in walls if ...)` does it.",
    ],
    solution_note="Any way of running the batch on exactly n threads is fine for "
    "time_threads, e.g. `ThreadPoolExecutor(max_workers=n)` from lesson 03.",
)

__all__ = [
    "LimitedServerTask",
    "SlowCounter",
    "max_overlap",
    "q1",
    "q2",
    "q3",
    "smallest_within",
]

PROBLEMS = register(globals())
