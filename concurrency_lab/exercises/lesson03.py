"""Exercises for lesson 03, futures: results in order, failures kept, slow tasks given up.

``from concurrency_lab.exercises.lesson03 import q1, q2, q3, q4``

* q1 — ``results_in_order(task, ids)``: run the tasks concurrently and return every result
  in input order (not finishing order).
* q2 — ``results_and_failures(task, ids)``: some tasks raise; return
  ``(results, failed_ids)`` with nothing lost — not stopping at the first error (like
  iterating over ``executor.map``), not filing errors as results.
* q3 — ``results_within(task, ids, timeout)``: start every task at once; return
  ``(results, timed_out)`` as soon as every task is done or the deadline has passed,
  whichever comes first — not after the slow tasks have finished, and not at the deadline
  when everything was done long before.
* q4 — ``fetch_all(urls, limit)``: fetch every URL from the course's HTTP server with at
  most ``limit`` requests out at once, retrying 429 (after its Retry-After) and 500; return
  the JSON bodies in the order of ``urls``. Judged from what the *server* saw: nothing
  turned away for being over the limit, every item answered 200 exactly once, the limit
  really used, retries that waited, wall time near what the server's work needed.

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

import contextlib
import itertools
import random
import threading
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
    call_student,
    failed,
    passed,
    register,
    too_busy,
)
from concurrency_lab.exercises.probing import (
    ProbeOutcome,
    first_failure,
    results_verdict,
    run_with_probe,
    varied_ids,
)
from concurrency_lab.work.http_client import Reply
from concurrency_lab.work.http_client import get as http_get
from concurrency_lab.work.probes import Probe, ProbeFailure, probe_result
from concurrency_lab.work.scale import get_scale
from concurrency_lab.work.service import RESET, RequestRecord, ServerStats, Service
from concurrency_lab.work.tasks import result_of
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "Q1_SECONDS",
    "Q2_FAIL_POSITIONS",
    "Q2_SECONDS",
    "Q3_FAST_SECONDS",
    "Q3_SLOW_SECONDS",
    "Q3_TIMEOUT",
    "Q4_RETRY_AFTER",
    "q1",
    "q2",
    "q3",
    "q4",
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
    return too_busy(
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


# ---------------------------------------------------------------------------- q4
# Against the course's real HTTP server (reject mode: over the limit → 429). Two batches,
# each on a server of its own, with different limits (so no fixed number of workers fits
# both). Batch 1: a few items fail once with 500; nobody else uses the server, so a 429
# can only mean the answer had more than `limit` requests out at once. Batch 2: another
# client holds one slot at the start, so even an answer that keeps to the limit is turned
# away (429) and must wait the Retry-After and try again. Everything is judged from what
# the server recorded: statuses per item, which requests were in progress when another
# arrived, and the gap between a 429 and the next attempt for the same item.
Q4_RETRY_AFTER = 0.1  # real seconds a 429 asks for (the JSON body's exact value)
Q4_MS = (60, 70, 80, 90, 100)  # batch 1: per-item latencies, in real milliseconds
Q4_BATCH2_MS = 50
Q4_NEIGHBOUR_MS = 120  # how long the other client holds its slot in batch 2
Q4_NEIGHBOUR = "another-client"  # its X-Request-Id: its requests are not the student's
Q4_NEIGHBOUR_ITEM = 1  # varied_ids never draws 0 or 1
Q4_TIMEOUT = 4.0
_Q4_SLACK = 0.3  # seconds of client overhead allowed on top of 3 × the ideal time


class _Canary:
    """A thread that sleeps 5 ms at a time and adds up how late it wakes: machine load."""

    def __init__(self) -> None:
        self.late = 0.0
        self.naps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="check-canary", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(0.005)
            self.late += max(0.0, time.perf_counter() - start - 0.005)
            self.naps += 1

    def __enter__(self) -> _Canary:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1.0)

    @property
    def busy(self) -> bool:
        """True if naps of 5 ms overslept by 5 ms or more on average: a starved machine."""
        return self.naps > 0 and self.late / self.naps >= 0.005


@dataclass
class _Q4Run:
    """One batch: what was asked, what the answer returned, and what the server saw."""

    batch: int
    ids: list[int]
    urls: list[str]
    limit: int
    fail_ids: frozenset[int]
    value: Any
    error: StudentError | None
    wall: float
    at_return: ServerStats | None
    stats: ServerStats
    left_running: list[str]
    busy: bool

    @property
    def setup(self) -> str:
        what = f"fetch_all(urls, limit={self.limit}) with {len(self.ids)} URLs, items {self.ids}"
        if self.fail_ids:
            what += f"; items {_as_text(sorted(self.fail_ids))} answer 500 the first time"
        if self.batch == 2:
            what += (
                "; another client held one of the server's slots at the start (so some of "
                "your requests were turned away with 429 even within the limit)"
            )
        return what

    def mine(self, stats: ServerStats | None = None) -> list[RequestRecord]:
        """The answer's requests (not the other client's), in arrival order."""
        records = (stats or self.stats).requests
        return sorted((r for r in records if r.tag != Q4_NEIGHBOUR), key=lambda r: r.seq)

    def fetched(self, stats: ServerStats | None = None) -> Counter[int]:
        return Counter(r.item for r in self.mine(stats) if r.status == 200)

    def attempts(self, item: int) -> list[RequestRecord]:
        return [r for r in self.mine() if r.item == item]

    def max_in_flight(self) -> int:
        """The most of the answer's requests the server was serving at one moment."""
        marks = []
        for r in self.mine():
            if r.served:
                marks += [(r.started, 1), (r.ended, -1)]
        most = now = 0
        for _, step in sorted(marks, key=lambda m: (m[0], m[1])):
            now += step
            most = max(most, now)
        return most

    def over_limit(self) -> list[RequestRecord]:
        """429s that arrived while `limit` of the answer's own requests were being served."""
        served = [r for r in self.mine() if r.served]
        return [
            r
            for r in self.mine()
            if r.status == 429
            and sum(s.started <= r.arrived < s.ended for s in served) >= self.limit
        ]


def _q4_run(
    fetch_all: Callable[..., Any],
    batch: int,
    limit: int,
    ms: Mapping[int, int],
    fail_ids: frozenset[int] = frozenset(),
    neighbour: bool = False,
) -> _Q4Run:
    ids = list(ms)
    retry_after = Q4_RETRY_AFTER / get_scale()  # the service multiplies it by the scale
    with Service(limit=limit, mode="reject", retry_after=retry_after) as service:
        urls = [
            service.item_url(
                i, ms=ms[i], **({"fail": 500, "fail_first": 1} if i in fail_ids else {})
            )
            for i in ids
        ]
        other = None
        if neighbour:
            other = threading.Thread(
                target=_neighbour_request, args=(service,), name="check-neighbour", daemon=True
            )
            other.start()
            until = time.perf_counter() + 2.0
            while service.in_flight < 1 and time.perf_counter() < until:
                time.sleep(0.001)
        box: dict[str, Any] = {}

        def timed(urls: list[str], limit: int) -> Any:
            value = fetch_all(urls, limit)
            box["at_return"] = service.stats()
            return value

        before = {t.ident for t in threading.enumerate()}
        error = None
        value = None
        with _Canary() as canary:
            start = time.perf_counter()
            try:
                value = call_student(timed, list(urls), limit, timeout=Q4_TIMEOUT)
            except StudentError as exc:
                error = exc
            wall = time.perf_counter() - start
        until = time.perf_counter() + 0.5  # let requests still in progress finish
        while service.in_flight > 0 and time.perf_counter() < until:
            time.sleep(0.005)
        left = _threads_left(before)
        stats = service.stats()
        if other is not None:
            other.join(1.0)
    return _Q4Run(
        batch,
        ids,
        urls,
        limit,
        fail_ids,
        value,
        error,
        wall,
        box.get("at_return"),
        stats,
        left,
        canary.busy,
    )


def _neighbour_request(service: Service) -> None:
    with contextlib.suppress(OSError):
        http_get(
            service.item_url(Q4_NEIGHBOUR_ITEM, ms=Q4_NEIGHBOUR_MS),
            headers={"X-Request-Id": Q4_NEIGHBOUR},
            timeout=5.0,
        )


def _threads_left(before: set[int | None]) -> list[str]:
    """Names of threads started during the call that are still alive 0.3 s after it."""
    until = time.perf_counter() + 0.3
    while True:
        left = [
            t
            for t in threading.enumerate()
            if t.ident not in before and t.is_alive() and not t.name.startswith("check-")
        ]
        if not left or time.perf_counter() > until:
            return [t.name for t in left]
        time.sleep(0.01)


def _q4_error_failure(run: _Q4Run) -> Verdict | None:
    """The answer raised: say which failure it did not retry, if the server saw one."""
    if run.error is None:
        return None
    where = run.error.verdict()
    unanswered = [i for i in run.ids if run.fetched()[i] == 0 and run.attempts(i)]
    if unanswered:
        i = unanswered[0]
        status = run.attempts(i)[-1].status
        return failed(
            f"Item {i} answered {status} and your function raised "
            f"{type(run.error.exc).__name__} instead of trying again.",
            run.setup,
            *where.details,
            _retry_advice(status),
            code=where.code,
        )
    return where


def _retry_advice(status: int) -> str:
    if status == 429:
        return (
            'A 429 means "not now": wait reply.retry_after seconds (the exact value from its '
            "JSON body; the Retry-After header rounds it up to whole seconds), then send the "
            "same request again. With urllib directly, a 429 arrives as an HTTPError."
        )
    return (
        "A 500 here is a failure that passes: wait a little (a backoff that grows with each "
        "attempt) and send the same request again. With urllib directly, a 500 arrives as "
        "an HTTPError."
    )


def _q4_over_limit_failure(run: _Q4Run) -> Verdict | None:
    over = run.over_limit()
    if not over:
        return None
    return failed(
        f"Your function sent more than {run.limit} requests at once (limit={run.limit}): the "
        f"server turned {len(over)} of them away with 429.",
        run.setup,
        f"each of those arrived while the server was already serving {run.limit} of your requests",
        "Keep at most `limit` requests out at a time: a ThreadPoolExecutor(max_workers=limit), "
        "or a threading.Semaphore(limit) held around each request — the number you are given, "
        "not a number of your own.",
    )


def _q4_early_failure(run: _Q4Run) -> Verdict | None:
    if run.at_return is None:
        return None
    done = run.fetched(run.at_return)
    later = [i for i in run.ids if done[i] == 0 and run.fetched()[i] > 0]
    if not later:
        return None
    return failed(
        f"Your function returned before every request was answered: item(s) {_as_text(later)} "
        "got their answer only afterwards.",
        run.setup,
        "Wait for every request (future.result(), or join() every thread) before returning.",
    )


def _q4_missing_failure(run: _Q4Run) -> Verdict | None:
    fetched = run.fetched()
    missing = [i for i in run.ids if fetched[i] == 0]
    if not missing:
        return None
    never = [i for i in missing if not run.attempts(i)]
    if never:
        return failed(
            f"Your function never requested item(s) {_as_text(never)}.",
            run.setup,
            "Send one request per URL in urls.",
        )
    i = missing[0]
    status = run.attempts(i)[-1].status
    if status != 429:
        why = "it answered 500, a failure that passes (its second attempt succeeds),"
    elif run.batch == 2:
        why = "it was turned away with 429 while another client held one of the server's slots,"
    else:
        why = "it was turned away with 429,"
    return failed(
        f"Item(s) {_as_text(missing)} never got a successful answer: your function did not "
        "try again after a failure.",
        run.setup,
        f"item {i}: {why} and your function sent no further request for it",
        _retry_advice(status),
    )


def _q4_twice_failure(run: _Q4Run) -> Verdict | None:
    twice = {i: n for i, n in run.fetched().items() if n > 1}
    if not twice:
        return None
    shown = ", ".join(f"item {i} {n} times" for i, n in twice.items())
    return failed(
        f"Your function fetched some items more than once: the server answered 200 for {shown}.",
        run.setup,
        "Retry only the request that failed, and stop once it has succeeded; don't start "
        "the whole batch again.",
    )


def _q4_value_failure(run: _Q4Run) -> Verdict | None:
    value, ids = run.value, run.ids
    if not isinstance(value, (list, tuple)):
        return failed(
            f"fetch_all should return a list of JSON bodies, got {type(value).__name__}.",
            "One dict per URL, in the order of urls.",
        )
    if len(value) != len(ids):
        return failed(
            f"fetch_all should return {len(ids)} bodies (one per URL), got {len(value)}.",
            run.setup,
        )
    for body in value:
        if isinstance(body, Reply) or (hasattr(body, "status") and hasattr(body, "data")):
            return failed(
                "You returned the replies, not their JSON bodies.",
                "Return reply.data (the dict the server sent) for each URL.",
            )
        if not isinstance(body, Mapping):
            return failed(
                f"Each item of the list should be the JSON body (a dict), got "
                f"{type(body).__name__} {body!r}.",
                'For example {"id": 7, "result": "result of task 7", ...}: reply.data with '
                "the course's get, or json.loads(response.read()) with urllib.",
            )
    got_ids = [body.get("id") for body in value]
    if got_ids != ids:
        if sorted(map(repr, got_ids)) == sorted(map(repr, ids)):
            ends = {r.item: r.ended for r in run.mine() if r.status == 200}
            finishing = sorted(ids, key=lambda i: ends.get(i, 0.0))
            order = "finishing order" if got_ids == finishing else "another order"
            return failed(
                f"Every body is there, but in {order}, not in the order of urls.",
                f"urls asked for items {ids}; your bodies are for items {got_ids}",
                "Keep the futures in a list in the order of urls (or use executor.map), or "
                "write each body into its own position of the result list.",
            )
        return failed(
            "The bodies are not those of the URLs you were given.",
            f"urls asked for items {ids}; your bodies are for items {got_ids}",
        )
    wrong = [
        (i, body) for i, body in zip(ids, value, strict=True) if body.get("result") != result_of(i)
    ]
    if wrong:
        i, body = wrong[0]
        return failed(f"The body for item {i} is not the server's answer: {body!r}.")
    return None


def _q4_hammer_failure(run: _Q4Run) -> Verdict | None:
    """A ✗ if a request turned away with 429 was sent again before its Retry-After."""
    for i in run.ids:
        tries = run.attempts(i)
        for first, second in itertools.pairwise(tries):
            if first.status != 429:
                continue
            gap = second.arrived - first.arrived
            if gap < 0.9 * Q4_RETRY_AFTER:
                count = sum(r.status == 429 for r in tries)
                return failed(
                    f"After a 429 your function tried again too soon: item {i} was asked "
                    f"again {fmt_seconds(gap)} later, and turned away {count} time(s) in all.",
                    run.setup,
                    f"each 429 asked you to wait {fmt_seconds(Q4_RETRY_AFTER)} (reply.retry_after)",
                    "Sleep at least reply.retry_after seconds before the next attempt, and "
                    "longer after each failure: retrying at once only hammers a busy server.",
                )
    return None


def _q4_under_failure(run: _Q4Run) -> Verdict | None:
    most = run.max_in_flight()
    if most >= run.limit:
        return None
    if most <= 1:
        return failed(
            "Your function sent the requests one at a time.",
            run.setup,
            f"the server never had two of your requests at once; it takes {run.limit}",
            "Send them from a ThreadPoolExecutor(max_workers=limit): up to `limit` requests "
            "then wait at the same time.",
        )
    return failed(
        f"Your function never had more than {most} requests out at once, although the "
        f"server takes {run.limit} (limit={run.limit}).",
        run.setup,
        "Use the limit you are given: ThreadPoolExecutor(max_workers=limit), or a "
        "Semaphore(limit) — not a fixed number.",
    )


def _q4_ideal(run: _Q4Run) -> float:
    """What the server's work needed at `limit` at a time (its own measured durations)."""
    served = [r for r in run.mine() if r.served]
    per_item = Counter[int]()
    for r in served:
        per_item[r.item] += r.ended - r.started
    total = sum(r.ended - r.started for r in served)
    return max(total / run.limit, max(per_item.values(), default=0.0))


_Q4_BRIEF = 0.3
"""Seconds: the longest wait before resending after a 500 that is still "brief" (the
question asks for a few hundredths of a second, growing with each attempt)."""


def _q4_backoff_failure(run: _Q4Run) -> Verdict | None:
    """A retry after a 500 (or a dropped connection) must come soon: measured at the
    server, from the failed answer to the same item's next request."""
    gaps = [
        (second.arrived - first.ended, first.item, first.status)
        for i in run.ids
        for first, second in itertools.pairwise(run.attempts(i))
        if first.status in (500, RESET)
    ]
    if not gaps:
        return None
    # only the first retry of each item: later ones may back off for longer
    firsts = {}
    for gap, item, status in gaps:
        firsts.setdefault(item, (gap, status))
    item, (gap, status) = max(firsts.items(), key=lambda kv: kv[1][0])
    if gap <= _Q4_BRIEF:
        return None
    what = "failed with 500" if status == 500 else "lost its connection"
    if run.busy:
        return too_busy(
            "Your machine was too busy to judge the retries after a 500: the check's own "
            "threads woke up late while your function ran.",
            run.setup,
            f"item {item} {what}, and the server saw it again {fmt_seconds(gap)} later",
            "Close other programs and run the check again.",
        )
    return failed(
        f"After item {item} {what}, your function waited {fmt_seconds(gap)} before sending "
        "it again.",
        run.setup,
        "A 500 is a failure that passes: back off briefly — a few hundredths of a second, "
        "growing with each attempt — and wait the Retry-After only after a 429.",
    )


def _q4_slow_failure(run: _Q4Run) -> Verdict | None:
    ideal = _q4_ideal(run)
    if run.wall <= 3 * ideal + _Q4_SLACK:
        return None
    if run.busy:
        return too_busy(
            "Your machine was too busy to judge the wall time: the check's own threads woke "
            "up late while your function ran.",
            run.setup,
            f"your function took {fmt_seconds(run.wall)}; the server's work needed "
            f"{fmt_seconds(ideal)} at {run.limit} at a time",
            "Close other programs and run the check again.",
        )
    gaps = [
        (second.arrived - first.ended, first.item)
        for i in run.ids
        for first, second in itertools.pairwise(run.attempts(i))
    ]
    longest = max(gaps, default=(0.0, 0))
    why = (
        f"after item {longest[1]} failed, your function waited {fmt_seconds(longest[0])} "
        "before trying it again: back off briefly (a few hundredths of a second, doubling "
        "each time), and wait the Retry-After only after a 429"
        if longest[0] > 0.3
        else "the server's slots stood idle for much of that time: keep `limit` requests "
        "going all the time (a pool of `limit` workers takes the next URL as soon as one "
        "is done), rather than waiting for a whole group to finish before starting the next"
    )
    return failed(
        f"Your function took {fmt_seconds(run.wall)}, far more than the "
        f"{fmt_seconds(ideal)} the server needed at {run.limit} requests at a time.",
        run.setup,
        why,
    )


def _q4_threads_failure(run: _Q4Run) -> Verdict | None:
    if not run.left_running:
        return None
    return failed(
        f"{len(run.left_running)} thread(s) your function started were still running after "
        "it returned.",
        f"still running: {', '.join(run.left_running[:5])}",
        "Threads that wait for more work never end by themselves: put one sentinel (None) "
        "per worker on the queue and join() them, or let `with ThreadPoolExecutor(...) as "
        "executor:` shut its workers down.",
    )


def _q4_rules(run: _Q4Run, *, judge_wall: bool) -> Verdict | None:
    """Batch 1 judges everything; batch 2 neither the wall time nor full use of the limit:
    there another client holds a slot and 429s make the answer wait, so how many of its
    requests meet at the server depends on timing (a worker sleeping out a whole-second
    Retry-After header holds its slot: fewer requests in flight, and more time, is right).
    Batch 2's limit is 2, so an answer with a fixed number of workers (3 or more) goes over
    it there, and one with 2 falls short of batch 1's limit (3 to 5)."""
    waited_long = any(
        second.arrived - first.arrived > 0.5
        for i in run.ids
        for first, second in itertools.pairwise(run.attempts(i))
        if first.status == 429
    )
    return first_failure(
        lambda: _q4_error_failure(run),
        lambda: _q4_over_limit_failure(run),
        lambda: _q4_early_failure(run),
        lambda: _q4_missing_failure(run),
        lambda: _q4_twice_failure(run),
        lambda: _q4_value_failure(run),
        lambda: _q4_hammer_failure(run),
        None if waited_long or not judge_wall else (lambda: _q4_under_failure(run)),
        (lambda: _q4_backoff_failure(run)) if judge_wall else None,
        (lambda: _q4_slow_failure(run)) if judge_wall else None,
        lambda: _q4_threads_failure(run),
    )


def _q4_trial(fetch_all: Callable[..., Any]) -> Verdict:
    rng = _rng()
    limit1 = rng.choice((3, 4, 5))
    limit2 = 2  # see _q4_rules: a fixed number of workers cannot fit both batches
    ids1 = varied_ids(3 * limit1, rng)
    ms1 = {i: rng.choice(Q4_MS) for i in ids1}
    fail1 = frozenset(rng.sample(ids1, 2))

    first = _q4_run(fetch_all, 1, limit1, ms1, fail1)
    starved = first.busy and first.wall > 3 * _q4_ideal(first) + _Q4_SLACK
    short = 1 < first.max_in_flight() < limit1
    if (starved or short) and first.error is None:
        first = _q4_run(fetch_all, 1, limit1, ms1, fail1)  # timing-sensitive: once more
    verdict = _q4_rules(first, judge_wall=True)
    if verdict is not None:
        return verdict

    ids2 = varied_ids(4 * limit2, rng)
    ms2 = dict.fromkeys(ids2, Q4_BATCH2_MS)
    for _ in range(2):  # a second try if none of its requests met the other client
        second = _q4_run(fetch_all, 2, limit2, ms2, neighbour=True)
        turned_away = sum(r.status == 429 for r in second.mine())
        verdict = _q4_rules(second, judge_wall=False)
        if verdict is not None:
            return verdict
        if turned_away:
            break
    else:
        return too_busy(
            "Your machine was too busy to judge the retries after 429: in two tries, "
            "none of your requests reached the server while the other client held its "
            "slot.",
            second.setup,
            "Close other programs and run the check again.",
        )
    return passed(
        "Every item fetched exactly once, bodies in the order of urls, never more than the "
        "limit at once — and every 429 waited out and retried.",
        f"batch 1 (limit {limit1}): up to {first.max_in_flight()} of your requests at once; "
        f"wall {fmt_seconds(first.wall)}, the server's work needed {fmt_seconds(_q4_ideal(first))} "
        f"at {limit1} at a time; the items that failed with 500 were retried",
        f"batch 2 (limit {limit2}, another client holding a slot at first): {turned_away} "
        f"request(s) turned away with 429, each sent again after the Retry-After; up to "
        f"{second.max_in_flight()} of your requests at once",
    )


q4 = FunctionProblem(
    name="q4",
    trial=_q4_trial,
    hints=[
        "Write `fetch_one(url)` first: a loop that sends the request and returns reply.data "
        "on a 200; on a 429 it sleeps reply.retry_after seconds, on a 500 a short backoff "
        "(0.05 s, doubling each attempt), and tries again.",
        "Then `with ThreadPoolExecutor(max_workers=limit) as executor: return "
        "list(executor.map(fetch_one, urls))` — the pool's size keeps at most `limit` "
        "requests out at once, and map keeps the order of urls. (Or a threading.Semaphore"
        "(limit) held around the request itself, with more workers.)",
    ],
    solution_note="Sleeping while holding a slot (a worker of a max_workers=limit pool) wastes "
    "that slot for the wait; releasing a semaphore before sleeping lets another request "
    "use it. Both keep to the limit.",
)

PROBLEMS = register(globals())
