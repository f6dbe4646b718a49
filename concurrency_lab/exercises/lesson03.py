"""Exercises for lesson 03, futures: results in order, failures kept, slow tasks given up.

``from concurrency_lab.exercises.lesson03 import q1, q2, q3``

* q1 — ``results_in_order(task, ids)``: run the tasks concurrently and return every result
  in input order (not finishing order).
* q2 — ``results_and_failures(task, ids)``: some tasks raise; return
  ``(results, failed_ids)`` with nothing lost — not stopping at the first error (like
  iterating over ``executor.map``), not filing errors as results.
* q3 — ``results_within(task, ids, timeout)``: start every task at once; return
  ``(results, timed_out)`` as soon as every task is done or the deadline has passed,
  whichever comes first — not after the slow tasks have finished, and not at the deadline
  when everything was done long before.

The checks hand the student's function instrumented tasks with fixed durations
(:mod:`concurrency_lab.work.probes`) and judge from what really ran and when. Each check
draws new ids (never ``0..n``, never sorted), so no answer can fit them. Every diagnosis
rests on data — the ids that had finished when the function returned, what it returned,
whether two tasks' intervals intersected, which task started only after another had
ended — and the one bound on time that remains (q3: "returned long after the deadline")
sits where no right answer can reach it on a busy machine and no wrong one can miss it:
a timeout per future waits at least twice the deadline; a right answer returns at it.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from concurrency_lab.exercises.core import (
    FunctionProblem,
    StudentError,
    Verdict,
    failed,
    passed,
    register,
)
from concurrency_lab.exercises.probing import (
    ProbeOutcome,
    first_failure,
    results_verdict,
    run_with_probe,
    varied_ids,
)
from concurrency_lab.work.probes import Probe, ProbeFailure, probe_result
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "Q1_SECONDS",
    "Q2_FAIL_POSITIONS",
    "Q2_SECONDS",
    "Q3_FAST_SECONDS",
    "Q3_SLOW_SECONDS",
    "Q3_TIMEOUT",
    "q1",
    "q2",
    "q3",
]


def _rng() -> random.Random:
    return random.Random(time.time_ns())


def _sequential_failure(outcome: ProbeOutcome, headline: str) -> Verdict | None:
    """A ✗ if no two tasks ran at the same time (their measured intervals never intersect)."""
    if outcome.max_in_flight >= 2:
        return None
    if outcome.ran_in_caller():
        why = (
            "Every task ran in the thread that called your function: you called task(i) "
            "directly. Hand the calls to a ThreadPoolExecutor (executor.submit or executor.map)."
        )
    else:
        why = (
            "Each task finished before the next one started: something waited for each task "
            "before starting the next — result() right after submit(), join() inside the loop "
            "that starts the threads, or a pool with a single worker. Submit them all first, "
            "then collect the results."
        )
    return failed(
        headline,
        f"no two of the {len(outcome.events)} tasks were running at the same time; wall time "
        f"{fmt_seconds(outcome.wall)} against a sum of task times of "
        f"{fmt_seconds(outcome.busy)}",
        why,
        code=outcome.describe(),
    )


def _has_future(value: Any) -> bool:
    if isinstance(value, Future):
        return True
    if isinstance(value, Mapping):
        return any(isinstance(v, Future) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(isinstance(v, Future) for v in value)
    return False


def _futures_failure(value: Any) -> Verdict | None:
    if _has_future(value) or (
        isinstance(value, tuple) and any(_has_future(part) for part in value)
    ):
        return failed(
            "You returned Future objects, not results.",
            "A Future is the placeholder, not the result: call future.result() on each one "
            "to get the task's return value.",
        )
    return None


def _ids_list(value: Any) -> list[Any] | None:
    """``value`` as a list of ids if it is a list, tuple or set; else ``None``."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return None


def _as_text(ids: Sequence[Any]) -> str:
    return "[" + ", ".join(repr(i) for i in ids) + "]"


def _pair_failure(value: Any, name: str, second: str) -> Verdict | None:
    """A ✗ unless ``value`` is ``(dict, list-like of ids)``, as the question asks."""
    if not (isinstance(value, tuple) and len(value) == 2):
        return failed(f"{name} should return a pair (results, {second}), got {value!r}.")
    results, ids = value
    if not isinstance(results, Mapping):
        return failed(
            f"results should be a dict {{task id: result}}, got {type(results).__name__}.",
            "A dict keeps each result with its id: results[task_id] = future.result().",
        )
    if _ids_list(ids) is None:
        return failed(f"{second} should be a list of ids, got {ids!r}.")
    return None


# ---------------------------------------------------------------------------- q1
# By position: the slowest task first, the fastest second; finishing order differs from
# input order in every position. The ids are drawn anew for each check.
Q1_SECONDS = (0.2, 0.06, 0.16, 0.1, 0.13)


def _q1_trial(results_in_order: Callable[..., Any]) -> Verdict:
    ids = varied_ids(len(Q1_SECONDS), _rng())
    outcome = run_with_probe(results_in_order, dict(zip(ids, Q1_SECONDS, strict=True)))
    value = outcome.value
    return first_failure(
        lambda: _futures_failure(value),
        lambda: _iterator_failure(value),
        lambda: results_verdict(
            outcome,
            [probe_result(i) for i in ids],
            ids,
            name="results_in_order",
            advice="as_completed() and appending to a list as tasks finish give finishing "
            "order. Keep the futures in a list in input order (or use executor.map) and "
            "collect the results from that list.",
        ),
        lambda: _sequential_failure(
            outcome, "Right results in the right order, but the tasks ran one after another."
        ),
    ) or passed(
        "Every result, in input order, and the tasks overlapped.",
        f"up to {outcome.max_in_flight} tasks ran at the same time; wall time "
        f"{fmt_seconds(outcome.wall)} against a sum of task times of "
        f"{fmt_seconds(outcome.busy)}; the slowest task came first, yet its result is "
        "first too",
    )


def _iterator_failure(value: Any) -> Verdict | None:
    if not isinstance(value, Iterator):
        return None
    return failed(
        f"You returned an iterator ({type(value).__name__}), not a list.",
        "executor.map(...) gives a lazy iterator: wrap it in list(...) — inside the "
        "`with` block — to collect the results.",
    )


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "Submit every task first and keep the futures in a list, in the order of `ids`; "
        "then collect: `[future.result() for future in futures]` follows the list's order, "
        "whatever order the tasks finish in.",
        "Or in one line, inside `with ThreadPoolExecutor(max_workers=len(ids)) as executor:` — "
        "`return list(executor.map(task, ids))`: map yields results in input order.",
    ],
    solution_note="`executor.map` works as well, and so do threads that each write their own "
    "slot of a list (lesson 03, way 1).",
)


# ---------------------------------------------------------------------------- q2
# By position; the tasks at positions 1 and 4 fail. The first failure comes early in the
# input order: an answer that stops at the first error (like iterating over
# executor.map) loses the results after it, which succeeded.
Q2_SECONDS = (0.1, 0.06, 0.15, 0.08, 0.2, 0.06)
Q2_FAIL_POSITIONS = (1, 4)


def _q2_trial(results_and_failures: Callable[..., Any]) -> Verdict:
    ids = varied_ids(len(Q2_SECONDS), _rng())
    fail_ids = frozenset(ids[p] for p in Q2_FAIL_POSITIONS)
    try:
        outcome = run_with_probe(
            results_and_failures, dict(zip(ids, Q2_SECONDS, strict=True)), fail_ids=fail_ids
        )
    except StudentError as error:
        if not isinstance(error.exc, ProbeFailure):
            raise
        where = error.verdict()
        return failed(
            f"A task's exception escaped your function: {type(error.exc).__name__}: {error.exc}.",
            *where.details[1:],
            "future.result() (and iterating over executor.map) re-raises the task's "
            "exception in your thread. Catch it around each result() and put the id in "
            "failed_ids.",
            code=where.code,
        )
    failing = [i for i in ids if i in fail_ids]
    succeeding = [i for i in ids if i not in fail_ids]
    return first_failure(
        lambda: _futures_failure(outcome.value),
        lambda: _pair_failure(outcome.value, "results_and_failures", "failed_ids"),
        lambda: _q2_results_failure(outcome, ids, fail_ids),
        lambda: _q2_failed_ids_failure(outcome, failing, fail_ids),
        lambda: outcome.wrong_calls_failure("results_and_failures"),
        lambda: _sequential_failure(outcome, "Nothing lost, but the tasks ran one after another."),
    ) or passed(
        f"{len(succeeding)} results and {len(failing)} failures out of {len(ids)} tasks: "
        "nothing lost, and the tasks overlapped.",
        f"up to {outcome.max_in_flight} tasks ran at the same time; wall time "
        f"{fmt_seconds(outcome.wall)} against a sum of task times of "
        f"{fmt_seconds(outcome.busy)}",
    )


def _q2_results_failure(
    outcome: ProbeOutcome, ids: list[int], fail_ids: frozenset[int]
) -> Verdict | None:
    results = outcome.value[0]
    failing = [i for i in ids if i in fail_ids]
    succeeding = [i for i in ids if i not in fail_ids]
    swallowed = [i for i in failing if i in results]
    if swallowed:
        shown = ", ".join(f"{i}: {results[i]!r}" for i in swallowed)
        return failed(
            f"results holds task(s) {_as_text(swallowed)}, which raised: {shown}.",
            "A task that raised has no result. Keep results for the tasks that succeeded "
            "and put the ids of the ones that raised in failed_ids.",
        )
    missing = [i for i in succeeding if i not in results]
    if missing:
        first_fail = ids.index(failing[0])
        after_first = [i for i in succeeding if ids.index(i) > first_fail]
        ran_ok = {e.task_id for e in outcome.events if e.ok}
        succeeded = [i for i in missing if i in ran_ok]
        never = [i for i in missing if i not in ran_ok]
        what = [f"task(s) {_as_text(succeeded)} succeeded"] if succeeded else []
        if never:
            what.append(f"task(s) {_as_text(never)} never ran (cancelled before they started)")
        if missing == after_first:
            return failed(
                f"Your function stopped at the first error: the results of "
                f"{_as_text(missing)} are missing.",
                f"task {failing[0]} raised, and nothing after it in ids {ids} was collected: "
                + "; ".join(what),
                "That is what happens when you iterate over executor.map: it re-raises the "
                "first failure, the loop ends, and the map cancels the tasks not started yet. "
                "Call result() on every future, each inside its own try/except.",
                code=outcome.describe(),
            )
        return failed(
            f"The results of task(s) {_as_text(missing)} are missing.",
            "; ".join(what),
            code=outcome.describe(),
        )
    extra = [i for i in results if i not in outcome.probe.durations]
    if extra:
        return failed(f"results has keys that are not task ids: {_as_text(extra)}.")
    wrong = [i for i in succeeding if results[i] != probe_result(i)]
    if wrong:
        i = wrong[0]
        return failed(
            f"results[{i!r}] should be {probe_result(i)!r}, got {results[i]!r}.",
            "Store what future.result() returns, under the task's id.",
        )
    return None


def _q2_failed_ids_failure(
    outcome: ProbeOutcome, failing: list[int], fail_ids: frozenset[int]
) -> Verdict | None:
    failed_list = _ids_list(outcome.value[1]) or []
    if Counter(map(repr, failed_list)) == Counter(map(repr, failing)):
        return None
    lost = [i for i in failing if i not in failed_list]
    wrongly = [i for i in failed_list if i not in fail_ids]
    details = []
    if lost:
        details.append(f"task(s) {_as_text(lost)} raised but are not in failed_ids")
    if wrongly:
        details.append(f"failed_ids lists {_as_text(wrongly)}, which did not fail")
    if not details:
        details.append(f"failed_ids lists an id more than once: {failed_list}")
    return failed(
        f"failed_ids should hold exactly the ids that raised, {_as_text(failing)} "
        f"(in any order); got {failed_list}.",
        *details,
    )


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "Submit every task and keep a dict {future: task_id}. Then call result() on every "
        "future inside `try`/`except Exception`: on success store results[task_id], on "
        "failure append task_id to failed_ids.",
        "Don't iterate over executor.map here: it re-raises the first failure and the loop "
        "ends, losing every result after it. `for future in as_completed(future_to_id):` "
        "visits every future, failed or not.",
    ],
    solution_note="Instead of try/except you can ask `future.exception()`: None means it "
    "succeeded and `future.result()` is safe to call.",
)


# ---------------------------------------------------------------------------- q3
# Trial 1: three fast tasks (done at least 0.2 s before the deadline) and two slow ones
# (done 0.6 s after it), in random positions. One deadline for the batch returns at about
# 0.3 s; a timeout per future waits 0.3 s for each slow task, so at least 0.6 s; waiting
# for everything takes 0.9 s. Trial 2: every task is fast — an answer must return when
# the last is done, not sit out the deadline; it has as many tasks as trial 1, so a pool
# with fewer workers than tasks shows a task waiting for a worker in both trials.
Q3_TIMEOUT = 0.3
Q3_FAST_SECONDS = (0.05, 0.08, 0.1)
Q3_SLOW_SECONDS = 0.9
_Q3_LATE = 1.75 * Q3_TIMEOUT  # a right answer returns at the deadline; per-future ≥ 2×
Q3_ALL_FAST_TIMEOUT = 0.4
Q3_ALL_FAST_SECONDS = (0.05, 0.1, 0.07, 0.09, 0.06)  # as many tasks as trial 1


def _q3_call(timeout: float) -> Callable[[Callable[..., Any], Probe], Any]:
    def call(fn: Callable[..., Any], probe: Probe) -> Any:
        return fn(probe.task, probe.ids, timeout)

    return call


@dataclass(frozen=True)
class _Q3Trial:
    """One run of trial 1: the ids drawn, which are slow, and what happened."""

    ids: list[int]
    fast: list[int]
    slow: list[int]
    setup: str
    outcome: ProbeOutcome


def _q3_run(results_within: Callable[..., Any], rng: random.Random) -> _Q3Trial | Verdict:
    """Trial 1 (fast and slow tasks) with new ids; a ✗ if a TimeoutError escaped."""
    ids = varied_ids(len(Q3_FAST_SECONDS) + 2, rng)
    slow = set(rng.sample(ids, 2))
    fast_seconds = iter(rng.sample(Q3_FAST_SECONDS, len(Q3_FAST_SECONDS)))
    durations = {i: Q3_SLOW_SECONDS if i in slow else next(fast_seconds) for i in ids}
    fast = [i for i in ids if i not in slow]
    slow_ids = [i for i in ids if i in slow]
    setup = (
        f"results_within(task, {ids}, timeout={Q3_TIMEOUT}): tasks {_as_text(fast)} take "
        f"at most {fmt_seconds(max(Q3_FAST_SECONDS))}, tasks {_as_text(slow_ids)} take "
        f"{fmt_seconds(Q3_SLOW_SECONDS)}"
    )
    try:
        outcome = run_with_probe(results_within, durations, call=_q3_call(Q3_TIMEOUT))
    except StudentError as error:
        escaped = _q3_timeout_escaped(error, setup)
        if escaped is None:
            raise
        return escaped
    return _Q3Trial(ids, fast, slow_ids, setup, outcome)


def _q3_trial(results_within: Callable[..., Any]) -> Verdict:
    rng = _rng()
    first = _q3_run(results_within, rng)
    if isinstance(first, Verdict):
        return first
    outcome, fast, slow, setup = first.outcome, first.fast, first.slow, first.setup
    second: list[_Q3AllFast | Verdict] = []

    def all_fast() -> _Q3AllFast | Verdict:
        if not second:
            second.append(_q3_run_all_fast(results_within, rng))
        return second[0]

    def queued() -> Verdict | None:
        """Late starts count only if the all-fast trial shows them too (see _late_starts)."""
        never = _q3_never_ran_failure(outcome, fast, setup)
        if never or not _late_starts(outcome):
            return never
        again = all_fast()
        if isinstance(again, Verdict) or not _late_starts(again.outcome):
            return None
        return _q3_late_start_failure(outcome, setup)

    return first_failure(
        lambda: _futures_failure(outcome.value),
        lambda: _pair_failure(outcome.value, "results_within", "timed_out"),
        queued,
        lambda: _q3_waited_failure(outcome, slow, setup),
        lambda: _q3_early_failure(outcome, fast + slow, Q3_TIMEOUT, setup),
        lambda: _q3_late_failure(outcome, setup),
        lambda: outcome.wrong_calls_failure("results_within"),
        lambda: _q3_starved_failure(outcome, fast, setup),
        lambda: _q3_content_failure(outcome, fast, slow, setup),
    ) or _q3_all_fast_verdict(all_fast(), outcome, fast, slow)


def _never_ran(outcome: ProbeOutcome, ids: list[int]) -> list[int]:
    ran = Counter(e.task_id for e in outcome.events)
    return [i for i in ids if ran[i] == 0]


def _late_starts(outcome: ProbeOutcome) -> list[Any]:
    """Events that started only after some other task had ended.

    With fewer workers than tasks, the task beyond the pool's size always starts after
    one has ended (it waited for a free worker). A right pool shows it only on a machine
    so busy that submitting the tasks took longer than a fast task, and the pool reused
    an idle worker — so a check counts it only when both trials show it.
    """
    if not outcome.events:
        return []
    first_end = min(e.end for e in outcome.events)
    return [e for e in outcome.events if e.start >= first_end]


def _q3_starved_failure(outcome: ProbeOutcome, fast: list[int], setup: str) -> Verdict | None:
    """Say so honestly if a fast task had not finished when a right answer returned."""
    late = [i for i in outcome.unfinished_at_return if i in fast]
    if not late:
        return None
    return failed(
        "Your machine was too busy to judge this answer: fast task(s) "
        f"{_as_text(late)} had not finished by the deadline although they started at once.",
        setup,
        "Close other programs and run the check again.",
        code=outcome.describe(),
    )


def _q3_timeout_escaped(error: StudentError, setup: str) -> Verdict | None:
    if not isinstance(error.exc, TimeoutError):
        return None
    where = error.verdict()
    return failed(
        "A TimeoutError escaped your function at the deadline.",
        setup,
        *where.details[1:],
        "as_completed(futures, timeout=...) raises TimeoutError when the deadline passes "
        "(and result(timeout=...) does too): that is your signal to stop waiting, not an "
        "error to pass on. Catch it (`except TimeoutError:` — the same class as "
        "concurrent.futures.TimeoutError since Python 3.11); the futures not done() then "
        "are the timed-out ones.",
        code=where.code,
    )


def _q3_never_ran_failure(outcome: ProbeOutcome, fast: list[int], setup: str) -> Verdict | None:
    never_ran = _never_ran(outcome, fast)
    if not never_ran:
        return None
    workers = len({(e.pid, e.thread) for e in outcome.events})
    return failed(
        f"Fast task(s) {_as_text(never_ran)} never ran.",
        setup,
        f"{workers} worker(s) ran the tasks. The fast ones waited in the queue behind "
        "the slow tasks and were cancelled: give the pool a worker per task "
        "(max_workers=len(ids)) so every task starts at once.",
        code=outcome.describe(),
    )


def _q3_late_start_failure(outcome: ProbeOutcome, setup: str) -> Verdict:
    late = _late_starts(outcome)
    first_end = min(outcome.events, key=lambda e: e.end)
    workers = len({(e.pid, e.thread) for e in outcome.events})
    return failed(
        f"Not every task started at once: task(s) {_as_text([e.task_id for e in late])} "
        f"started only after task {first_end.task_id} had finished.",
        setup,
        f"{workers} worker(s) ran the {len(outcome.events)} tasks (and the batch where every "
        "task is fast showed the same): the others waited in the pool's queue for a free "
        "worker, and a task that waits in a queue may miss the deadline. Give the pool a "
        "worker per task (max_workers=len(ids)).",
        code=outcome.describe(),
    )


def _q3_waited_failure(outcome: ProbeOutcome, slow: list[int], setup: str) -> Verdict | None:
    """A ✗ if the function returned after slow tasks had finished: it waited for them."""
    assert outcome.finished_at_return is not None
    waited = [i for i in slow if outcome.finished_at_return[i] > 0]
    if not waited:
        return None
    timed_out = _ids_list(outcome.value[1]) or []
    if not timed_out:
        why = (
            "Nothing told it to stop waiting: give the whole batch one deadline with "
            "as_completed(futures, timeout=timeout) or wait(futures, timeout=timeout)."
        )
    else:
        why = (
            "It noticed the deadline — it named timed-out tasks — then waited anyway: "
            "leaving a `with ThreadPoolExecutor(...)` block, or calling "
            "executor.shutdown() (wait=True is the default), waits for every running task. "
            "Create the executor without `with` and, when you give up, call "
            "executor.shutdown(wait=False, cancel_futures=True)."
        )
    return failed(
        "Your function waited for the slow tasks instead of giving up at the deadline.",
        setup,
        f"when your function returned, slow task(s) {_as_text(waited)} had already "
        f"finished; the deadline was {fmt_seconds(Q3_TIMEOUT)}",
        why,
        code=outcome.describe(),
    )


def _q3_early_failure(
    outcome: ProbeOutcome, ids: list[int], timeout: float, setup: str
) -> Verdict | None:
    """A ✗ if it returned before the deadline while tasks were still running."""
    running = [i for i in outcome.unfinished_at_return if i in ids]
    if not running or outcome.wall >= timeout:
        return None
    called_at = (outcome.returned_at or 0.0) - outcome.wall
    in_time = [
        e.task_id for e in outcome.events if e.task_id in running and e.end - called_at < timeout
    ]
    finished_note = f"; {_as_text(in_time)} then finished before the deadline" if in_time else ""
    return failed(
        "Your function returned before the deadline, while tasks were still running.",
        setup,
        f"it returned after {fmt_seconds(outcome.wall)}, with task(s) {_as_text(running)} "
        f"still running{finished_note}; the deadline was {fmt_seconds(timeout)}",
        "Wait until every task is done or the deadline has passed, whichever comes first: "
        "as_completed(futures, timeout=timeout) or wait(futures, timeout=timeout) — "
        "without return_when=FIRST_COMPLETED.",
        code=outcome.describe(),
    )


def _q3_late_failure(outcome: ProbeOutcome, setup: str) -> Verdict | None:
    if outcome.wall <= _Q3_LATE:
        return None
    return failed(
        "Your function gave up, but long after the deadline.",
        setup,
        f"it returned after {fmt_seconds(outcome.wall)} (the slow tasks were still "
        f"running, so it did stop waiting); the deadline for the whole batch was "
        f"{fmt_seconds(Q3_TIMEOUT)}",
        "A timeout per future adds up: result(timeout=t) on each slow task waits up to t "
        "each time, one after another. Give the batch one deadline: "
        "as_completed(futures, timeout=timeout) or wait(futures, timeout=timeout).",
        code=outcome.describe(),
    )


def _q3_content_failure(
    outcome: ProbeOutcome, fast: list[int], slow: list[int], setup: str
) -> Verdict | None:
    results, timed_out = outcome.value
    timed_out_list = _ids_list(timed_out) or []
    ids = fast + slow
    listed_fast = [i for i in timed_out_list if i in fast]
    unknown = [i for i in timed_out_list if i not in ids]
    missed_slow = [i for i in slow if i not in timed_out_list]
    if listed_fast or unknown or missed_slow or len(timed_out_list) != len(set(timed_out_list)):
        details = [setup]
        if listed_fast:
            details.append(
                f"task(s) {_as_text(listed_fast)} had finished when your function returned, "
                "but are listed as timed out"
            )
        if missed_slow:
            details.append(
                f"task(s) {_as_text(missed_slow)} were still running when your function "
                "returned, but are not in timed_out"
            )
        if unknown:
            details.append(f"timed_out lists {_as_text(unknown)}, which are not task ids")
        return failed(
            f"timed_out should be {_as_text(slow)} (in any order); got {timed_out_list}.",
            *details,
            "The timed-out tasks are the futures that are not done() at the deadline.",
        )
    in_results_slow = [i for i in slow if i in results]
    if in_results_slow:
        return failed(
            f"results holds the timed-out task(s) {_as_text(in_results_slow)}.",
            "Keep in results only the tasks that finished in time.",
        )
    missing = [i for i in fast if i not in results]
    if missing:
        return failed(
            f"The results of the fast task(s) {_as_text(missing)} are missing.",
            setup,
            code=outcome.describe(),
        )
    extra = [i for i in results if i not in ids]
    if extra:
        return failed(f"results has keys that are not task ids: {_as_text(extra)}.")
    wrong = [i for i in fast if results[i] != probe_result(i)]
    if wrong:
        i = wrong[0]
        return failed(f"results[{i!r}] should be {probe_result(i)!r}, got {results[i]!r}.")
    return None


@dataclass(frozen=True)
class _Q3AllFast:
    """Trial 2: every task fast; what happened."""

    ids: list[int]
    longest: float
    setup: str
    outcome: ProbeOutcome


def _q3_run_all_fast(
    results_within: Callable[..., Any], rng: random.Random
) -> _Q3AllFast | Verdict:
    """Trial 2: every task is done long before the deadline; the answer must return then."""
    ids = varied_ids(len(Q3_ALL_FAST_SECONDS), rng)
    durations = dict(zip(ids, rng.sample(Q3_ALL_FAST_SECONDS, len(ids)), strict=True))
    longest = max(durations.values())
    setup = (
        f"results_within(task, {ids}, timeout={Q3_ALL_FAST_TIMEOUT}): every task takes at "
        f"most {fmt_seconds(longest)}"
    )
    try:
        outcome = run_with_probe(results_within, durations, call=_q3_call(Q3_ALL_FAST_TIMEOUT))
    except StudentError as error:
        escaped = _q3_timeout_escaped(error, setup)
        if escaped is None:
            raise
        return escaped
    return _Q3AllFast(ids, longest, setup, outcome)


def _q3_all_fast_verdict(
    trial: _Q3AllFast | Verdict, first: ProbeOutcome, fast: list[int], slow: list[int]
) -> Verdict:
    if isinstance(trial, Verdict):
        return trial
    outcome, ids, setup = trial.outcome, trial.ids, trial.setup
    return first_failure(
        lambda: _futures_failure(outcome.value),
        lambda: _pair_failure(outcome.value, "results_within", "timed_out"),
        lambda: _q3_early_failure(outcome, ids, Q3_ALL_FAST_TIMEOUT, setup),
        lambda: outcome.wrong_calls_failure("results_within"),
        lambda: _q3_all_fast_content_failure(outcome, ids, setup),
        lambda: _q3_sat_out_failure(outcome, trial.longest, setup),
    ) or passed(
        f"Gave up at the deadline with {len(fast)} results, and named the {len(slow)} tasks "
        f"still running: {_as_text(slow)}; and when every task was fast, returned as soon as "
        "the last one was done.",
        f"with slow tasks: returned after {fmt_seconds(first.wall)} (deadline "
        f"{fmt_seconds(Q3_TIMEOUT)}); the slow tasks took {fmt_seconds(Q3_SLOW_SECONDS)} and "
        "kept running in the background (a thread cannot be stopped) — but your caller did "
        "not wait for them",
        f"all fast: returned {fmt_seconds(max(0.0, outcome.returned_after_last_end))} after "
        f"the last task ended (deadline {fmt_seconds(Q3_ALL_FAST_TIMEOUT)})",
    )


def _q3_all_fast_content_failure(
    outcome: ProbeOutcome, ids: list[int], setup: str
) -> Verdict | None:
    results, timed_out = outcome.value
    timed_out_list = _ids_list(timed_out) or []
    if timed_out_list:
        return failed(
            f"Every task finished in time, but timed_out is {timed_out_list}.",
            setup,
            "timed_out holds only the tasks still running at the deadline; here none was.",
        )
    missing = [i for i in ids if i not in results]
    if missing:
        return failed(
            f"Every task finished in time, but the results of {_as_text(missing)} are missing.",
            setup,
        )
    wrong = [i for i in ids if results[i] != probe_result(i)]
    if wrong:
        i = wrong[0]
        return failed(f"results[{i!r}] should be {probe_result(i)!r}, got {results[i]!r}.")
    return None


def _q3_sat_out_failure(outcome: ProbeOutcome, longest: float, setup: str) -> Verdict | None:
    """A ✗ if the function kept waiting long after every task was done."""
    idle = outcome.returned_after_last_end
    if idle <= (Q3_ALL_FAST_TIMEOUT - longest) / 2:
        return None
    return failed(
        "Every task was done, but your function kept waiting until the deadline.",
        setup,
        f"the last task ended, and your function returned only {fmt_seconds(idle)} later, "
        f"after {fmt_seconds(outcome.wall)} in all; the deadline was "
        f"{fmt_seconds(Q3_ALL_FAST_TIMEOUT)}",
        "Return as soon as every task is done or the deadline passes, whichever comes first: "
        "wait(futures, timeout=timeout) and as_completed(futures, timeout=timeout) both "
        "stop early when everything is done; time.sleep(timeout) does not.",
        code=outcome.describe(),
    )


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "`as_completed(futures, timeout=timeout)` yields the futures that finish in time, "
        "then raises TimeoutError (the same class as concurrent.futures.TimeoutError since "
        "Python 3.11); the futures not done() at that moment are the timed-out ones. "
        "(`concurrent.futures.wait(futures, timeout=timeout)` hands you both sets, done and "
        "not_done, directly — and returns early when everything is done.)",
        "Don't put the executor in a `with` block: leaving it waits for the slow tasks. "
        "Create it with `executor = ThreadPoolExecutor(max_workers=len(ids))` and, once you "
        "have what you need, call `executor.shutdown(wait=False, cancel_futures=True)`.",
    ],
    solution_note="With `done, not_done = concurrent.futures.wait(futures, timeout=timeout)` "
    "the answer is shorter still. Either way the slow tasks keep running until they finish: "
    "only the waiting stops.",
)

PROBLEMS = register(globals())
