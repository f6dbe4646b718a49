"""Lesson 03 checks: the model answers pass, realistic wrong answers fail *specifically*."""

from __future__ import annotations

import concurrent.futures
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait
from typing import Any

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
    solution_namespace,
)
from concurrency_lab.exercises.lesson03 import q1, q2, q3

# What the exercise's set-up cell imports, for running the model answers.
SETUP: dict[str, Any] = {
    "concurrent": concurrent,
    "ThreadPoolExecutor": ThreadPoolExecutor,
    "as_completed": as_completed,
    "wait": wait,
}


def _stub(*args: Any) -> None:
    raise NotImplementedError()


def _assert_all_fail(problem: Any, cases: list[tuple[Any, ...]]) -> None:
    """``assert_fails(problem, answer, *fragments)`` for every case, all at the same time.

    A check mostly sleeps (its tasks wait), so judging slow wrong answers each in its own
    thread takes as long as the slowest one instead of the sum.
    """
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {pool.submit(assert_fails, problem, *case): case[0].__name__ for case in cases}
    for future, name in futures.items():
        assert future.exception() is None, f"{name}: {future.exception()}"


# ------------------------------------------------------------------ q1: input order
def test_q1_model_answer() -> None:
    assert_passes(q1, solution_namespace(q1.notebook, "q1", **SETUP)["results_in_order"])


def test_q1_stub_is_not_attempted() -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


def test_q1_map_and_threads_with_slots_also_pass() -> None:
    def with_map(task, ids):
        with ThreadPoolExecutor() as executor:
            return list(executor.map(task, ids))

    def with_slots(task, ids):
        results = [None] * len(ids)

        def fill(slot, task_id):
            results[slot] = task(task_id)

        threads = [threading.Thread(target=fill, args=pair) for pair in enumerate(ids)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    assert_passes(q1, with_map)
    assert_passes(q1, with_slots)


def test_q1_finishing_order_is_named() -> None:
    def finishing_order(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = [executor.submit(task, i) for i in ids]
            return [f.result() for f in as_completed(futures)]

    assert_fails(q1, finishing_order, "finishing order", "as_completed")


def test_q1_sequential_answers_are_named() -> None:
    def plain_loop(task, ids):
        return [task(i) for i in ids]

    def submit_then_wait_each(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return [executor.submit(task, i).result() for i in ids]

    _assert_all_fail(
        q1,
        [
            (plain_loop, "one after another", "called task(i) directly"),
            (submit_then_wait_each, "one after another", "result() right after submit()"),
        ],
    )


def test_q1_dropped_results_futures_and_iterators_fail() -> None:
    def first_only(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = [executor.submit(task, i) for i in ids]
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            return [f.result() for f in done]

    def futures_not_results(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return [executor.submit(task, i) for i in ids]

    def lazy_map(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return executor.map(task, ids)

    assert_fails(q1, first_only, "not the ones expected", "expected 5 items, got 1")
    assert_fails(q1, futures_not_results, "Future objects", "result()")
    assert_fails(q1, lazy_map, "iterator", "list(")


def test_q1_a_wrong_id_is_named_with_the_students_line() -> None:
    def off_by_one(task, ids):
        with ThreadPoolExecutor() as executor:
            return list(executor.map(task, range(len(ids))))

    assert_fails(q1, off_by_one, "KeyError", "has no id 0", "range(len(ids))")


# ------------------------------------------------------------------ q2: nothing lost
def test_q2_model_answer() -> None:
    assert_passes(q2, solution_namespace(q1.notebook, "q2", **SETUP)["results_and_failures"])


def test_q2_stub_is_not_attempted() -> None:
    assert_not_attempted(q2, _stub)


def test_q2_exception_method_and_a_set_also_pass() -> None:
    def with_exception(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = {i: executor.submit(task, i) for i in ids}
        results = {i: f.result() for i, f in futures.items() if f.exception() is None}
        return results, {i for i, f in futures.items() if f.exception() is not None}

    assert_passes(q2, with_exception)


def test_q2_stopping_at_the_first_error_like_map() -> None:
    def map_in_try(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            try:
                for i, result in zip(ids, executor.map(task, ids), strict=False):
                    results[i] = result
            except Exception:
                failed_ids.append(ids[len(results)])
        return results, failed_ids

    assert_fails(q2, map_in_try, "stopped at the first error", "executor.map")


def test_q2_uncaught_error_escapes() -> None:
    def no_try(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            return {future_to_id[f]: f.result() for f in as_completed(future_to_id)}, []

    assert_fails(q2, no_try, "escaped your function", "task 8 failed", "f.result()")


def test_q2_swallowed_and_dropped_failures() -> None:
    def errors_as_results(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            for f in as_completed(future_to_id):
                try:
                    results[future_to_id[f]] = f.result()
                except Exception as exc:
                    results[future_to_id[f]] = exc
                    failed_ids.append(future_to_id[f])
        return results, failed_ids

    def forgets_failed_ids(task, ids):
        results = {}
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            for f in as_completed(future_to_id):
                try:
                    results[future_to_id[f]] = f.result()
                except Exception:
                    continue  # the error is dropped, and with it the id
        return results, []

    assert_fails(q2, errors_as_results, "which raised", "ProbeFailure")
    assert_fails(q2, forgets_failed_ids, "[8, 23] raised but are not in failed_ids")


def test_q2_sequential_try_loop() -> None:
    def one_by_one(task, ids):
        results, failed_ids = {}, []
        for i in ids:
            try:
                results[i] = task(i)
            except Exception:
                failed_ids.append(i)
        return results, failed_ids

    assert_fails(q2, one_by_one, "one after another")


# ------------------------------------------------------------------ q3: give up in time
def test_q3_model_answer() -> None:
    assert_passes(q3, solution_namespace(q1.notebook, "q3", **SETUP)["results_within"])


def test_q3_stub_is_not_attempted() -> None:
    assert_not_attempted(q3, _stub)


def test_q3_wait_with_a_timeout_also_passes() -> None:
    def with_wait(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        done, not_done = wait(futures, timeout=timeout)
        executor.shutdown(wait=False, cancel_futures=True)
        return {futures[f]: f.result() for f in done}, [futures[f] for f in not_done]

    assert_passes(q3, with_wait)


def inside_with(task, ids, timeout):
    results, timed_out = {}, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(ids)) as executor:
        futures = {executor.submit(task, i): i for i in ids}
        try:
            for f in as_completed(futures, timeout=timeout):
                results[futures[f]] = f.result()
        except concurrent.futures.TimeoutError:
            timed_out = [i for f, i in futures.items() if not f.done()]
    return results, timed_out


def no_deadline(task, ids, timeout):
    with ThreadPoolExecutor(max_workers=len(ids)) as executor:
        return dict(zip(ids, executor.map(task, ids), strict=True)), []


def per_future(task, ids, timeout):
    executor = ThreadPoolExecutor(max_workers=len(ids))
    futures = {executor.submit(task, i): i for i in ids}
    results, timed_out = {}, []
    for f, i in futures.items():
        try:
            results[i] = f.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            timed_out.append(i)
    executor.shutdown(wait=False, cancel_futures=True)
    return results, timed_out


def inverted(task, ids, timeout):
    executor = ThreadPoolExecutor(max_workers=len(ids))
    futures = {executor.submit(task, i): i for i in ids}
    done, _ = wait(futures, timeout=timeout)
    executor.shutdown(wait=False, cancel_futures=True)
    return {futures[f]: f.result() for f in done}, [futures[f] for f in done]


def two_workers(task, ids, timeout):
    executor = ThreadPoolExecutor(max_workers=2)
    futures = {executor.submit(task, i): i for i in ids}
    done, not_done = wait(futures, timeout=timeout)
    executor.shutdown(wait=False, cancel_futures=True)
    return {futures[f]: f.result() for f in done}, [futures[f] for f in not_done]


Q3_WRONG = [
    (inside_with, "waited for the slow tasks", "with ThreadPoolExecutor"),
    (no_deadline, "waited for the slow tasks", "Nothing told it to stop"),
    (per_future, "long after the deadline", "adds up"),
    (inverted, "timed_out should be [11, 13, 16]", "finished in time"),
    (two_workers, "never ran", "max_workers=len(ids)"),
]


def test_q3_wrong_answers_get_specific_messages() -> None:
    _assert_all_fail(q3, Q3_WRONG)
