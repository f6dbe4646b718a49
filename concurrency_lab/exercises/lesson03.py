"""Exercises for lesson 03, futures: results in order, failures kept, slow tasks given up.

``from concurrency_lab.exercises.lesson03 import q1, q2, q3``

* q1 — ``results_in_order(task, ids)``: run the tasks concurrently and return every result
  in input order (not finishing order).
* q2 — ``results_and_failures(task, ids)``: some tasks raise; return
  ``(results, failed_ids)`` with nothing lost — not stopping at the first error (like
  iterating over ``executor.map``), not filing errors as results.
* q3 — ``results_within(task, ids, timeout)``: give up on the tasks still running after
  ``timeout`` seconds; return ``(results, timed_out)`` *at* the deadline, not after the
  slow tasks have finished.

The checks hand the student's function instrumented tasks with fixed durations
(:mod:`concurrency_lab.work.probes`) and judge from what really ran and when. Every
verdict is decided by a wide margin: the tasks are ordered so that input order and
finishing order differ in every position but one, a sequential run has a concurrency of
about 1.0 where the concurrent one reaches about 3, and in q3 the fast tasks are done
70 ms before the deadline while the slow ones finish 400 ms after it.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from concurrency_lab.exercises.core import (
    FunctionProblem,
    StudentError,
    Verdict,
    failed,
    passed,
    register,
)
from concurrency_lab.exercises.probing import ProbeOutcome, results_verdict, run_with_probe
from concurrency_lab.work.probes import Probe, ProbeFailure, probe_result
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "Q1_DURATIONS",
    "Q2_DURATIONS",
    "Q2_FAIL_IDS",
    "Q3_DURATIONS",
    "Q3_TIMEOUT",
    "q1",
    "q2",
    "q3",
]



def _sequential_why(outcome: ProbeOutcome) -> str:
    """Why the tasks ran one at a time: in the caller's thread, or waited for one by one."""
    if outcome.ran_in_caller():
        return (
            "Every task ran in the thread that called your function: you called task(i) "
            "directly. Hand the calls to a ThreadPoolExecutor (executor.submit or executor.map)."
        )
    return (
        "Each task finished before the next one started: something waited for each task "
        "before starting the next — result() right after submit(), or join() inside the loop "
        "that starts the threads. Submit them all first, then collect the results."
    )


def _has_future(value: Any) -> bool:
    if isinstance(value, Future):
        return True
    if isinstance(value, Mapping):
        return any(isinstance(v, Future) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(isinstance(v, Future) for v in value)
    return False


_FUTURES_ADVICE = (
    "A Future is the placeholder, not the result: call future.result() on each one "
    "to get the task's return value."
)


def _ids_list(value: Any) -> list[Any] | None:
    """``value`` as a list of ids if it is a list, tuple or set; else ``None``."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return None


def _as_text(ids: Sequence[Any]) -> str:
    return "[" + ", ".join(repr(i) for i in ids) + "]"


# ---------------------------------------------------------------------------- q1
# The slowest task first, the fastest second: input order and finishing order differ.
Q1_DURATIONS: dict[int, float] = {7: 0.12, 3: 0.03, 9: 0.09, 1: 0.06, 5: 0.105}


def _q1_trial(results_in_order: Callable[..., Any]) -> Verdict:
    outcome = run_with_probe(results_in_order, Q1_DURATIONS, timeout=5.0)
    ids = list(Q1_DURATIONS)
    value = outcome.value
    expected = [probe_result(i) for i in ids]
    if _has_future(value):
        return failed("You returned Future objects, not results.", _FUTURES_ADVICE)
    if isinstance(value, Iterator):
        return failed(
            f"You returned an iterator ({type(value).__name__}), not a list.",
            "executor.map(...) gives a lazy iterator: wrap it in list(...) — inside the "
            "`with` block — to collect the results.",
        )
    wrong = results_verdict(
        outcome,
        expected,
        ids,
        name="results_in_order",
        advice="as_completed() and appending to a list as tasks finish give finishing order. "
        "Keep the futures in a list in input order (or use executor.map) and collect "
        "the results from that list.",
    )
    if wrong:
        return wrong
    sequential = outcome.overlap_failure(
        "Right results in the right order, but the tasks ran one after another.",
        _sequential_why(outcome),
    )
    if sequential:
        return sequential
    busy = outcome.busy
    return passed(
        "Every result, in input order, and the tasks overlapped.",
        f"wall time {fmt_seconds(outcome.wall)} against a sum of task times of "
        f"{fmt_seconds(busy)}; the slowest task came first, yet its result is first too",
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
    solution_note="`submit` + a list of futures + `result()` on each works as well, and so do "
    "threads that each write their own slot of a list (lesson 03, way 1).",
)


# ---------------------------------------------------------------------------- q2
# Task 8 fails early in the input order: an answer that stops at the first error (like
# iterating over executor.map) loses the results of 15, 16 and 42, which succeeded.
Q2_DURATIONS: dict[int, float] = {4: 0.06, 8: 0.03, 15: 0.09, 16: 0.06, 23: 0.12, 42: 0.03}
Q2_FAIL_IDS: frozenset[int] = frozenset({8, 23})


def _q2_trial(results_and_failures: Callable[..., Any]) -> Verdict:
    ids = list(Q2_DURATIONS)
    try:
        outcome = run_with_probe(
            results_and_failures, Q2_DURATIONS, fail_ids=Q2_FAIL_IDS, timeout=5.0
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
    value = outcome.value
    if _has_future(value) or (
        isinstance(value, tuple) and any(_has_future(part) for part in value)
    ):
        return failed("You returned Future objects, not results.", _FUTURES_ADVICE)
    if not (isinstance(value, tuple) and len(value) == 2):
        return failed(
            f"results_and_failures should return a pair (results, failed_ids), got {value!r}."
        )
    results, failed_ids = value
    if not isinstance(results, Mapping):
        return failed(
            f"results should be a dict {{task id: result}}, got {type(results).__name__}.",
            "A dict keeps each result with its id: results[task_id] = future.result().",
        )
    failed_list = _ids_list(failed_ids)
    if failed_list is None:
        return failed(f"failed_ids should be a list of ids, got {failed_ids!r}.")
    wrong_calls = outcome.wrong_calls_failure("results_and_failures")
    if wrong_calls:
        return wrong_calls
    failing = [i for i in ids if i in Q2_FAIL_IDS]
    succeeding = [i for i in ids if i not in Q2_FAIL_IDS]
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
        first_failure = ids.index(failing[0])
        after_first = [i for i in succeeding if ids.index(i) > first_failure]
        if missing == after_first:
            return failed(
                f"Your function stopped at the first error: the results of "
                f"{_as_text(missing)} are missing, although those tasks succeeded.",
                f"task {failing[0]} raised, and nothing after it in ids {ids} was collected — "
                "what happens when you iterate over executor.map: it re-raises the first "
                "failure and ends the loop.",
                "Call result() on every future, each inside its own try/except.",
                code=outcome.describe(),
            )
        return failed(
            f"The results of task(s) {_as_text(missing)} are missing; those tasks succeeded.",
            code=outcome.describe(),
        )
    extra = [i for i in results if i not in Q2_DURATIONS]
    if extra:
        return failed(f"results has keys that are not task ids: {_as_text(extra)}.")
    wrong = [i for i in succeeding if results[i] != probe_result(i)]
    if wrong:
        i = wrong[0]
        return failed(
            f"results[{i!r}] should be {probe_result(i)!r}, got {results[i]!r}.",
            "Store what future.result() returns, under the task's id.",
        )
    if Counter(map(repr, failed_list)) != Counter(map(repr, failing)):
        lost = [i for i in failing if i not in failed_list]
        wrongly = [i for i in failed_list if i not in Q2_FAIL_IDS]
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
    sequential = outcome.overlap_failure(
        "Nothing lost, but the tasks ran one after another.", _sequential_why(outcome)
    )
    if sequential:
        return sequential
    return passed(
        f"{len(succeeding)} results and {len(failing)} failures out of {len(ids)} tasks: "
        "nothing lost, and the tasks overlapped.",
        f"wall time {fmt_seconds(outcome.wall)} against a sum of task times of "
        f"{fmt_seconds(sum(e.duration for e in outcome.events))}",
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
# Three fast tasks (done 70 ms before the deadline) and three slow ones (done 400 ms
# after it). One deadline for the batch returns at about 0.1 s; a timeout per future
# adds up to about 0.3 s; waiting for everything takes 0.5 s.
Q3_TIMEOUT = 0.1
Q3_DURATIONS: dict[int, float] = {11: 0.5, 12: 0.02, 13: 0.5, 14: 0.01, 15: 0.03, 16: 0.5}
_Q3_SLOW = 0.5
_Q3_LATE = 2 * Q3_TIMEOUT  # returning later than this is not "at the deadline"
_Q3_WAITED_ALL = 0.8 * _Q3_SLOW  # returning later than this waited for the slow tasks


def _q3_call(fn: Callable[..., Any], probe: Probe) -> Any:
    return fn(probe.task, probe.ids, Q3_TIMEOUT)


_WITH_EXECUTOR = re.compile(r"\bwith\s+(?:\w+\.)*ThreadPoolExecutor\(")


def _source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def _q3_trial(results_within: Callable[..., Any]) -> Verdict:
    ids = list(Q3_DURATIONS)
    slow = [i for i in ids if Q3_DURATIONS[i] >= _Q3_SLOW]
    fast = [i for i in ids if i not in slow]
    setup = (
        f"results_within(task, {ids}, timeout={Q3_TIMEOUT}): tasks {_as_text(fast)} take "
        f"at most {fmt_seconds(max(Q3_DURATIONS[i] for i in fast))}, tasks {_as_text(slow)} "
        f"take {fmt_seconds(_Q3_SLOW)}"
    )
    outcome = run_with_probe(results_within, Q3_DURATIONS, call=_q3_call, timeout=5.0)
    value = outcome.value
    if _has_future(value) or (
        isinstance(value, tuple) and any(_has_future(part) for part in value)
    ):
        return failed("You returned Future objects, not results.", _FUTURES_ADVICE)
    if not (isinstance(value, tuple) and len(value) == 2):
        return failed(f"results_within should return a pair (results, timed_out), got {value!r}.")
    results, timed_out = value
    if not isinstance(results, Mapping):
        return failed(
            f"results should be a dict {{task id: result}}, got {type(results).__name__}."
        )
    timed_out_list = _ids_list(timed_out)
    if timed_out_list is None:
        return failed(f"timed_out should be a list of ids, got {timed_out!r}.")
    wall = outcome.wall
    returned = f"your function returned after {fmt_seconds(wall)}"
    if wall >= _Q3_WAITED_ALL:
        if not timed_out_list:
            why = (
                "Nothing told it to stop waiting: give the whole batch one deadline with "
                "as_completed(futures, timeout=timeout) or wait(futures, timeout=timeout)."
            )
        elif _WITH_EXECUTOR.search(_source(results_within)):
            why = (
                "It noticed the deadline, then waited anyway: leaving a `with "
                "ThreadPoolExecutor(...)` block waits for every running task. Create the "
                "executor without `with` and, when you give up, call "
                "executor.shutdown(wait=False, cancel_futures=True)."
            )
        else:
            why = (
                "It noticed the deadline, then waited anyway — shutdown() waits for running "
                "tasks unless you pass wait=False: "
                "executor.shutdown(wait=False, cancel_futures=True)."
            )
        return failed(
            "Your function waited for the slow tasks instead of giving up at the deadline.",
            setup,
            f"{returned}, when the slow tasks were done; the deadline was "
            f"{fmt_seconds(Q3_TIMEOUT)}",
            why,
            code=outcome.describe(),
        )
    if wall > _Q3_LATE:
        return failed(
            "Your function gave up, but long after the deadline.",
            setup,
            f"{returned}; the deadline for the whole batch was {fmt_seconds(Q3_TIMEOUT)}",
            "A timeout per future adds up: result(timeout=t) on each of three slow tasks "
            "waits t three times. Give the batch one deadline: "
            "as_completed(futures, timeout=timeout) or wait(futures, timeout=timeout).",
            code=outcome.describe(),
        )
    ran = Counter(e.task_id for e in outcome.events)
    never_ran = [i for i in fast if ran[i] == 0]
    if never_ran:
        return failed(
            f"Fast task(s) {_as_text(never_ran)} never ran.",
            setup,
            "They waited in the queue behind the slow tasks and were cancelled: give the pool "
            "a worker per task (max_workers=len(ids)) so every task starts at once.",
            code=outcome.describe(),
        )
    wrong_calls = outcome.calls_verdict()
    if wrong_calls:
        return failed(f"Not every task ran exactly once: {wrong_calls}.", setup)
    listed_fast = [i for i in timed_out_list if i in fast]
    unknown = [i for i in timed_out_list if i not in Q3_DURATIONS]
    missed_slow = [i for i in slow if i not in timed_out_list]
    if listed_fast or unknown or missed_slow or len(timed_out_list) != len(set(timed_out_list)):
        details = [setup]
        if listed_fast:
            details.append(
                f"task(s) {_as_text(listed_fast)} finished in time but are listed as timed out"
            )
        if missed_slow:
            details.append(
                f"task(s) {_as_text(missed_slow)} were still running at the deadline but are "
                "not in timed_out"
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
    wrong = [i for i in fast if results[i] != probe_result(i)]
    if wrong:
        i = wrong[0]
        return failed(f"results[{i!r}] should be {probe_result(i)!r}, got {results[i]!r}.")
    return passed(
        f"Gave up at the deadline with {len(fast)} results, and named the {len(slow)} tasks "
        f"still running: {_as_text(slow)}.",
        f"{returned}; the slow tasks took {fmt_seconds(_Q3_SLOW)} and kept running in the "
        "background (a thread cannot be stopped) — but your caller did not wait for them",
    )


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "`as_completed(futures, timeout=timeout)` yields the futures that finish in time, "
        "then raises concurrent.futures.TimeoutError; the futures not done() at that moment "
        "are the timed-out ones. (`concurrent.futures.wait(futures, timeout=timeout)` hands "
        "you both sets, done and not_done, directly.)",
        "Don't put the executor in a `with` block: leaving it waits for the slow tasks. "
        "Create it with `executor = ThreadPoolExecutor(max_workers=len(ids))` and, once you "
        "have what you need, call `executor.shutdown(wait=False, cancel_futures=True)`.",
    ],
    solution_note="With `done, not_done = concurrent.futures.wait(futures, timeout=timeout)` "
    "the answer is shorter still. Either way the slow tasks keep running until they finish: "
    "only the waiting stops.",
)

PROBLEMS = register(globals())
