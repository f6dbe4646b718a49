"""Exercises for lesson 02, threads: overlap the waits, protect shared state, size a batch.

``from concurrency_lab.exercises.lesson02 import q1, q2, q3``

* q1 — ``run_all(task, ids)``: run every task in its own thread, all at once, and return
  when all have finished (the fix for the start-and-join-in-one-loop bug).
* q2 — ``add_many(counter, times)``: add to a shared counter from several threads without
  losing updates (a ``threading.Lock`` around the whole read-add-write).
* q3 — ``time_threads(task, ids, n)`` measures the wall time of a batch on ``n`` threads,
  ``choose_threads(walls)`` picks the smallest count within 20 % of the best time.

The checks hand the student's function instrumented tasks
(:mod:`concurrency_lab.work.probes`) and judge from what really ran, when, in which
process and thread — never from the answer's source. Each bound follows from the
question's words and the probe's own durations: "all at the same time" means every task
overlapped every other; "return only when every task has finished" means no task was
still running at return, and no fixed wait either (two trials of different lengths tell
a ``join`` from a ``sleep``); ids, durations, counters and thread counts vary per check.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from concurrency_lab.exercises.probing import (
    ProbeOutcome,
    first_failure,
    is_real_number,
    is_whole_number,
    overlap_of,
    run_with_probe,
    varied_ids,
)
from concurrency_lab.work.probes import ProbeTask
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_ratio, fmt_seconds


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


def _thread_error_failure(errors: list[BaseException], context: str = "") -> Verdict | None:
    if not errors:
        return None
    verdict = StudentError(errors[0]).verdict()
    return failed(
        f"A thread you started raised {type(errors[0]).__name__}{context}.",
        *verdict.details,
        "An exception inside a thread does not reach the function that started it: Python "
        "prints it and the thread just ends.",
        code=verdict.code,
    )


# ---------------------------------------------------------------------------- q1
Q1_TASKS = 5
Q1_LATE_RETURN = 0.2
"""Seconds after the last task's end by which run_all must have returned. ``join()`` returns
within milliseconds of the thread's end (tens of ms on a very busy machine); a fixed
``sleep`` that outlasts the longer trial's tasks returns far later in the shorter trial."""
Q1_TRIAL_SHIFT = 0.4
"""The second trial's tasks are this much longer than the first's (> Q1_LATE_RETURN): no
fixed wait is long enough for the second trial and soon enough after the first."""


def _q1_seconds(rng: random.Random) -> list[float]:
    """Five task durations of 0.08-0.34 s, sorted; the longest and shortest 40 ms clear."""
    seconds = sorted(rng.uniform(0.12, 0.3) for _ in range(Q1_TASKS))
    seconds[-1] = max(seconds[-1], seconds[-2] + 0.04)
    seconds[0] = min(seconds[0], seconds[1] - 0.04)
    return seconds


def _q1_durations(rng: random.Random, seconds: list[float], shift: float) -> dict[int, float]:
    """New ids for ``seconds`` (+ ``shift``): the shortest task last, the longest neither
    first nor last, so joining only the first or only the last thread returns too early."""
    shortest, longest, middle = seconds[0], seconds[-1], list(seconds[1:-1])
    rng.shuffle(middle)
    order = [middle[0], longest, *middle[1:]]
    if rng.random() < 0.5:  # the longest second or third...
        order = [order[0], order[2], order[1], *order[3:]]
    order.append(shortest)  # ...and the shortest last
    ids = varied_ids(Q1_TASKS, rng)
    return {i: round(d + shift, 3) for i, d in zip(ids, order, strict=True)}


def _q1_rules(outcome: ProbeOutcome, errors: list[BaseException]) -> Verdict | None:
    """Everything q1 asks, in order; ``None`` when the run did all of it."""
    n = len(outcome.probe.ids)
    longest = outcome.probe.longest

    def other_processes() -> Verdict | None:
        pids = sorted({e.pid for e in outcome.events} - {os.getpid()})
        if not pids:
            return None
        return failed(
            f"Tasks ran in other processes (pid {', '.join(map(str, pids))}), not in threads of "
            f"this process (pid {os.getpid()}).",
            "The question asks for threads: `threading.Thread(target=task, args=(i,))`. "
            "Processes (lesson 04) are for CPU work; for waiting, threads are cheaper.",
            code=outcome.describe(),
        )

    def unfinished() -> Verdict | None:
        late = outcome.unfinished_at_return
        if not late:
            return None
        return failed(
            f"run_all returned while task(s) {late} were still running.",
            f"it returned after {fmt_seconds(outcome.wall)}; the longest task takes "
            f"{fmt_seconds(longest)}",
            "Start all the threads, then call join() on *every* one of them before returning.",
            code=outcome.describe(),
        )

    def own_threads() -> Verdict | None:
        if outcome.ran_in_caller():
            return failed(
                "Your tasks ran one after another, in the thread that called run_all: no "
                "thread of yours ran them.",
                "Did you call t.run() (which runs the target right here) instead of t.start()?",
                code=outcome.describe(),
            )
        here = outcome.in_caller()
        if not here:
            return None
        return failed(
            f"Task(s) {here} ran in the thread that called run_all, not in a thread of their own.",
            "Give every id its own thread (including the last one), or check for a t.run() "
            "that should be t.start().",
            code=outcome.describe(),
        )

    def all_at_once() -> Verdict | None:
        most = overlap_of(outcome.events).max_in_flight
        if most <= 1:
            why = (
                "Each thread finished before the next one started: a join() inside the loop "
                "that starts them waits for each task in turn. Start them all, then join "
                "them all."
            )
        else:
            why = (
                f"At most {most} of the {n} tasks ran at once: a pool of {most} threads, or "
                "starting and joining threads in groups, makes the later tasks wait for the "
                "earlier ones. Start one thread per id, all of them, before joining any."
            )
        return outcome.apart_failure("Not all the tasks ran at the same time.", why)

    def returned_promptly() -> Verdict | None:
        after = outcome.returned_after_last_end
        if after <= Q1_LATE_RETURN:
            return None
        return failed(
            f"run_all returned {fmt_seconds(after)} after its last task had finished: it "
            "waited longer than its tasks.",
            "A fixed wait (time.sleep) is too short when the tasks are slower and too long "
            "when they are faster. t.join() returns as soon as its thread has finished: "
            "join every thread, and return right after.",
            code=outcome.describe(),
        )

    return first_failure(
        lambda: _thread_error_failure(errors),
        lambda: outcome.wrong_calls_failure("run_all"),
        other_processes,
        unfinished,
        own_threads,
        all_at_once,
        returned_promptly,
    )


def _q1_marginal(outcome: ProbeOutcome) -> bool:
    """True when a verdict could come from a busy machine rather than the code: all but one
    task overlapped (a thread started late?), or the return came a little late but sooner
    than any fixed wait could. Such a run is measured once more before it is judged."""
    o = overlap_of(outcome.events)
    nearly_all = o.apart is not None and o.max_in_flight >= len(outcome.probe.ids) - 1
    return nearly_all or Q1_LATE_RETURN < outcome.returned_after_last_end < Q1_TRIAL_SHIFT


def _q1_trial(run_all: Callable[..., Any]) -> Verdict:
    rng = random.Random()
    seconds = _q1_seconds(rng)  # the same durations in both trials, shifted in the second
    outcomes = []
    for shift in (0.0, Q1_TRIAL_SHIFT):
        for attempt in (1, 2):
            with _thread_errors() as errors:
                durations = _q1_durations(rng, seconds, shift)
                outcome = run_with_probe(run_all, durations, timeout=2.0)
            failure = _q1_rules(outcome, errors)
            if failure is None or attempt == 2 or not _q1_marginal(outcome):
                break
        if failure is not None:
            return failure
        outcomes.append(outcome)
    short, long_ = outcomes
    return passed(
        f"All {Q1_TASKS} tasks ran at the same time, each in a thread of this process, and "
        "run_all returned as soon as the last one had finished.",
        *(
            f"tasks of {fmt_seconds(min(o.probe.durations.values()))}–"
            f"{fmt_seconds(o.probe.longest)} (sum {fmt_seconds(o.probe.busy)}): wall time "
            f"{fmt_seconds(o.wall)}"
            for o in (short, long_)
        ),
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
# Why this check is right on every build. SlowCounter sleeps inside every read and every
# write, so a thread that reads counter.value always gives the others time to read the
# same value before it writes value + 1: an unlocked (or wrongly locked) add_many loses
# updates on a GIL build as surely as on a free-threaded one (where a plain `+= 1` on an
# int attribute may lose updates even without the sleeps, and on a GIL build since 3.10
# usually loses none). A lock held across the read and the write makes the other threads
# wait on both builds, so the right answer passes on both.
Q2_ACCESS_SECONDS = 0.001


@dataclass(frozen=True)
class Access:
    """One read or write of :class:`SlowCounter`'s value: which thread, when."""

    thread: int
    kind: str  # "read" | "write"
    start: float
    end: float


class SlowCounter:
    """A shared counter whose reads and writes take a moment, like a value in a database.

    Reading ``counter.value`` returns the value as it was when the read *began*; writing
    stores the new value only at the *end* of the write. Both waits let other threads run,
    so two threads that update without holding one lock across the read *and* the write
    read the same number, and one of their updates is lost. Every access is logged
    (:attr:`accesses`), so a check can say *how* the threads got in each other's way.
    """

    def __init__(self, access_seconds: float = Q2_ACCESS_SECONDS, start: int = 0) -> None:
        self._value = start
        self._access_seconds = access_seconds
        self.accesses: list[Access] = []

    @property
    def value(self) -> int:
        t0 = time.perf_counter()
        value = self._value
        time.sleep(self._access_seconds)
        self.accesses.append(Access(threading.get_ident(), "read", t0, time.perf_counter()))
        return value

    @value.setter
    def value(self, new: int) -> None:
        t0 = time.perf_counter()
        time.sleep(self._access_seconds)
        self._value = new
        self.accesses.append(Access(threading.get_ident(), "write", t0, time.perf_counter()))

    def __repr__(self) -> str:
        return f"<SlowCounter value={self._value}>"


def overlapping_accesses(accesses: Sequence[Access]) -> Counter[str]:
    """Accesses that began while another thread's access was under way, by kind of pair.

    Keys ``"read/read"``, ``"write/write"``, ``"read/write"``: two threads inside
    ``counter.value`` at once, which no lock shared by both allowed.
    """
    ordered = sorted(accesses, key=lambda a: a.start)
    found: Counter[str] = Counter()
    for k, a in enumerate(ordered):
        for b in ordered[max(0, k - 16) : k]:
            if b.thread != a.thread and b.end > a.start:
                found["/".join(sorted((a.kind, b.kind)))] += 1
                break
    return found


def reads_between(accesses: Sequence[Access]) -> int:
    """How often another thread read the value between one thread's read and its next write."""
    ordered = sorted(accesses, key=lambda a: a.start)
    pending: dict[int, float] = {}  # thread → start of its read not yet written back
    count = 0
    for a in ordered:
        if a.kind == "read":
            count += any(t != a.thread for t in pending)
            pending[a.thread] = a.start
        else:
            pending.pop(a.thread, None)
    return count


@dataclass
class _Adders:
    """One concurrent run: ``threads`` threads each call ``add_many(counter, times)``."""

    threads: int
    times: int
    start: int
    counter: SlowCounter = field(init=False)

    def __post_init__(self) -> None:
        self.counter = SlowCounter(start=self.start)

    @property
    def expected(self) -> int:
        return self.start + self.threads * self.times

    @property
    def setup(self) -> str:
        return (
            f"{self.threads} threads each ran add_many(counter, {self.times}) at the same "
            f"time, on a counter that started at {self.start}"
        )

    def run(self, add_many: Callable[..., Any]) -> None:
        start_together = threading.Barrier(self.threads)
        errors: list[BaseException] = []

        def adder() -> None:
            try:
                start_together.wait()
                add_many(self.counter, self.times)
            except BaseException as exc:
                errors.append(exc)

        workers = [
            threading.Thread(target=adder, name=f"adder-{k}", daemon=True)
            for k in range(self.threads)
        ]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        if errors:
            raise errors[0]  # call_student names it (or reports "not attempted")


def _q2_single_call_failure(add_many: Callable[..., Any], rng: random.Random) -> Verdict | None:
    """One call, no other thread: it must add exactly ``times``."""
    start, times = rng.randint(3, 60), rng.randint(5, 9)
    counter = SlowCounter(start=start)
    call_student(add_many, counter, times, timeout=2.0)
    got = counter._value
    call = f"Called alone on a counter at {start}, add_many(counter, {times})"
    if not is_whole_number(got):
        return failed(f"{call} left counter.value = {got!r}; it should be a whole number.")
    added = got - start
    if added == times:
        return None
    if added in (times - 1, times + 1):
        return failed(
            f"{call} added {added}, not {times}: off by one.",
            f"`for _ in range(times):` runs exactly `times` turns; check the loop's range "
            f"(range(1, times) runs {times - 1}, range(times + 1) runs {times + 1}).",
        )
    if added == 0:
        return failed(f"{call} left the counter at {start}: it added nothing.")
    if added < 0:
        return failed(f"{call} left counter.value at {got}: it went down, by {-added}.")
    return failed(
        f"{call} left counter.value at {got}; expected {start} + {times} = {start + times}.",
        "add_many should add 1 to whatever value the counter has, `times` times: "
        "`counter.value += 1` in a loop, not a fixed number.",
    )


def _q2_concurrent_failure(run: _Adders) -> Verdict | None:
    got, expected = run.counter._value, run.expected
    if got == expected:
        return None
    if not is_whole_number(got):
        return failed(f"counter.value ended as {got!r}; it should be a whole number.", run.setup)
    if got > expected:
        return failed(
            f"Counted too many: counter.value is {got}, expected {expected}.",
            run.setup,
            "One call alone added the right amount, so the extra came from the threads "
            "running together.",
        )
    lost = expected - got
    details = [run.setup, f"counter.value is {got}, expected {expected}: {lost} update(s) lost"]
    overlapping = overlapping_accesses(run.counter.accesses)
    interleaved = reads_between(run.counter.accesses)
    if overlapping["read/read"] and overlapping["write/write"]:
        details.append(
            f"{overlapping.total()} time(s) two threads were reading or writing counter.value "
            "at the same moment, so no lock shared by all the threads was held around those "
            "accesses. (A lock created inside add_many is a new lock on every call, and no "
            "other thread ever waits for it.) Use counter_lock, created once, outside."
        )
    elif overlapping:
        took_turns, did_not = (
            ("reads", "writes") if not overlapping["read/read"] else ("writes", "reads")
        )
        details.append(
            f"The {took_turns} of counter.value took turns, but {overlapping.total()} time(s) "
            f"a thread's {did_not[:-1]} ran while another thread was reading or writing it: "
            f"as if a lock covered the {took_turns[:-1]} but not the {did_not[:-1]}. Put the "
            "whole read-add-write inside one `with counter_lock:` block."
        )
    elif interleaved:
        details.append(
            "No two threads were inside counter.value at the same moment, but "
            f"{interleaved} time(s) a thread read the counter between another thread's read "
            "and its write: both then wrote the same value + 1. Put the whole read-add-write "
            "inside one `with counter_lock:` block."
        )
    else:
        details.append(
            "Hold the lock that all threads share, counter_lock, across the read and the "
            "write of each update."
        )
    return failed("Updates were lost: the threads overwrote each other.", *details)


def _q2_trial(add_many: Callable[..., Any]) -> Verdict:
    rng = random.Random()
    single = _q2_single_call_failure(add_many, rng)
    if single is not None:
        return single
    runs = [
        _Adders(threads=4, times=rng.randint(8, 12), start=rng.randint(1, 40)),
        _Adders(threads=rng.choice([3, 5]), times=rng.randint(4, 7), start=rng.randint(41, 90)),
    ]
    for run in runs:
        call_student(run.run, add_many, timeout=2.0)
        failure = _q2_concurrent_failure(run)
        if failure is not None:
            return failure
    return passed(
        "No update lost: "
        + "; ".join(
            f"{r.threads} threads × add_many(counter, {r.times}) took the counter from "
            f"{r.start} to {r.expected}"
            for r in runs
        )
        + " — although every read and every write of the counter let the other threads run.",
        "While one thread held the lock across its read and its write, every other thread "
        "that asked for the same lock waited, so no update could slip in between. "
        "(A lock keeps out only the threads that take that same lock; the holder itself "
        "can still be paused.)",
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
Q3_TASKS = 7  # not a multiple of 2, 3 or 6: shares of different lengths
Q3_SECONDS = 0.05
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
    return overlap_of(events).max_in_flight


def smallest_within(walls: Mapping[int, float], tolerance: float = Q3_TOLERANCE) -> int:
    """The smallest thread count whose wall time is within ``tolerance`` of the best."""
    best = min(walls.values())
    return min(n for n, wall in walls.items() if wall <= best * (1 + tolerance))


def _random_rule_table(rng: random.Random) -> tuple[dict[int, float], int]:
    """A table of walls in shuffled key order whose right choice is clear of the 20 % edge."""
    while True:
        counts = rng.sample([1, 2, 3, 4, 5, 6, 8, 10, 12, 16], rng.randint(3, 6))
        walls = {n: round(rng.uniform(0.05, 2.0), 3) for n in counts}
        edge = min(walls.values()) * (1 + Q3_TOLERANCE)
        if all(abs(w - edge) > 0.02 * edge for w in walls.values()):
            return walls, smallest_within(walls)


def _q3_measure(
    time_threads: Callable[..., Any], n: int, ids: list[int]
) -> tuple[float, Verdict | None]:
    """Run ``time_threads`` for ``n`` threads against the server; (wall, problem or None)."""
    gate = threading.BoundedSemaphore(Q3_SERVER_LIMIT)

    def call(fn: Callable[..., Any], probe: Any) -> Any:
        return fn(LimitedServerTask(probe.task, gate), probe.ids, n)

    with _thread_errors() as errors:
        outcome = run_with_probe(
            time_threads, dict.fromkeys(ids, Q3_SECONDS), call=call, timeout=2.0
        )
    reported = outcome.value
    label = f"time_threads(task, ids, {n})"
    busy = len(ids) * Q3_SECONDS
    in_flight = min(n, Q3_SERVER_LIMIT, len(ids))
    floor = max(Q3_SECONDS, busy / in_flight)

    def returns_seconds() -> Verdict | None:
        if is_real_number(reported):
            return None
        return failed(f"{label} returned {reported!r}; it should return the wall time in seconds.")

    def every_task_once() -> Verdict | None:
        wrong = outcome.calls_verdict()
        if wrong is None:
            return None
        return failed(
            f"{label} did not run every task exactly once: {wrong}.",
            f"ids were {ids} ({len(ids)} of them): every id must be in one thread's share, "
            "including the remainder when n does not divide the number of ids.",
            code=outcome.describe(),
        )

    def all_finished() -> Verdict | None:
        if not outcome.unfinished_at_return:
            return None
        return failed(
            f"{label} returned while task(s) {outcome.unfinished_at_return} were still running.",
            "Join every thread before you stop the clock and return.",
            code=outcome.describe(),
        )

    def at_most_n() -> Verdict | None:
        most = outcome.max_in_flight
        if most <= n:
            return None
        return failed(
            f"{label} had {most} tasks running at once: use exactly {n} thread(s).",
            "Give each of the n threads a share of the ids (ids[k::n]) to run one after another.",
            code=outcome.describe(),
        )

    def n_at_once() -> Verdict | None:
        most = outcome.max_in_flight
        if most >= in_flight:
            return None
        if most == 1:
            return failed(
                f"With {n} threads the tasks still ran one after another.",
                "Start all n threads first, then join them all.",
                code=outcome.describe(),
            )
        return failed(
            f"{label} never had more than {most} tasks running at once: with {n} threads "
            f"(and a server that answers {Q3_SERVER_LIMIT} at a time), {in_flight} should "
            "run together.",
            "Start exactly n threads, each with its own share of the ids, before joining any.",
            code=outcome.describe(),
        )

    def real_wall_time() -> Verdict | None:
        span = max(e.end for e in outcome.events) - min(e.start for e in outcome.events)
        r = float(reported)
        if 0.8 * floor <= r and 0.8 * span <= r <= outcome.wall + 0.05:
            return None
        if 0.8 * floor <= r / 1000 <= outcome.wall + 0.05:
            return failed(
                f"{label} returned {r:g}, but the call took {fmt_seconds(outcome.wall)}: "
                "that is milliseconds.",
                "Return seconds: time.perf_counter() after the last join minus before the "
                "first start, without * 1000.",
            )
        if r > outcome.wall + 0.05:
            return failed(
                f"{label} returned {r:g} s, but the call took only "
                f"{fmt_seconds(outcome.wall)}: that is not its wall time.",
                "Return the difference of two time.perf_counter() readings: after the last "
                "join minus before the first start.",
            )
        if r < 0.8 * floor:
            return failed(
                f"{label} returned {r:g} s: faster than possible. These {len(ids)} "
                f"tasks of {fmt_seconds(Q3_SECONDS)} need at least {fmt_seconds(floor)} on "
                f"{n} thread(s).",
                "Start the clock before starting the threads and stop it after the last "
                "join(); measure in seconds with time.perf_counter().",
            )
        return failed(
            f"{label} returned {r:g} s, but its tasks ran for {fmt_seconds(span)} from "
            "the first start to the last end: the clock stopped before they were done.",
            "Start the clock before starting the threads and stop it after the last join().",
        )

    problem = first_failure(
        lambda: _thread_error_failure(errors, f" (n = {n})"),
        returns_seconds,
        every_task_once,
        all_finished,
        at_most_n,
        n_at_once,
        real_wall_time,
    )
    return (0.0, problem) if problem else (float(reported), None)


def _walls_table(walls: Mapping[int, float]) -> str:
    return " · ".join(f"{n}: {fmt_seconds(walls[n])}" for n in sorted(walls))


def _q3_rule_verdict(
    choose_threads: Callable[..., Any], rng: random.Random | None = None
) -> Verdict | None:
    """Try the choice rule on fixed tables and a random one: ``None`` if right on all."""
    tables = list(Q3_RULE_TABLES)
    if rng is not None:
        tables.append(_random_rule_table(rng))
    for table, right in tables:
        got = call_student(choose_threads, dict(table), timeout=2.0)
        if is_whole_number(got) and got == right:
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
    rng = random.Random()
    # 1. The rule, on fixed tables and a random one: no machine noise in this verdict.
    wrong_rule = _q3_rule_verdict(choose_threads, rng)
    if wrong_rule is not None:
        return wrong_rule
    # 2. The measurements: real runs, on exactly n threads, timed from start to last join.
    #    Largest n first: a sequential or unbounded version fails after a short run. A run
    #    that had fewer tasks in flight than n allows is measured once more before it is
    #    judged (a busy machine can start a thread late).
    ids = varied_ids(Q3_TASKS, rng)
    walls: dict[int, float] = {}
    for n in sorted(Q3_COUNTS, reverse=True):
        wall, problem = _q3_measure(time_threads, n, ids)
        if problem is not None and "never had more than" in problem.headline:
            wall, problem = _q3_measure(time_threads, n, ids)
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
    "Access",
    "LimitedServerTask",
    "SlowCounter",
    "max_overlap",
    "overlapping_accesses",
    "q1",
    "q2",
    "q3",
    "reads_between",
    "smallest_within",
]

PROBLEMS = register(globals())
