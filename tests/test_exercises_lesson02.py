"""Lesson 02 checks: the model answers pass, realistic wrong answers fail *specifically*."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
    solution_namespace,
)
from concurrency_lab.exercises.lesson02 import (
    Q3_RULE_TABLES,
    SlowCounter,
    _q3_rule_verdict,
    max_overlap,
    q1,
    q2,
    q3,
    smallest_within,
)
from concurrency_lab.work.timeline import Event


def _stub(*args: Any) -> None:
    raise NotImplementedError()


# ------------------------------------------------------------------ q1: run all at once
def test_q1_model_answer() -> None:
    ns = solution_namespace(q1.notebook, "q1", threading=threading)
    assert_passes(q1, ns["run_all"])


def test_q1_stub_is_not_attempted() -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


def test_q1_an_executor_also_passes() -> None:
    def run_all(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as pool:
            pool.map(task, ids)

    assert_passes(q1, run_all)


def test_q1_join_in_the_loop_is_sequential() -> None:
    def run_all(task, ids):
        for i in ids:
            t = threading.Thread(target=task, args=(i,))
            t.start()
            t.join()

    verdict = assert_fails(q1, run_all, "one after another", "join() inside the loop")
    assert "task 8" in verdict.code  # the text timeline shows the staircase


def test_q1_run_instead_of_start_is_named() -> None:
    def run_all(task, ids):
        for i in ids:
            threading.Thread(target=task, args=(i,)).run()

    assert_fails(q1, run_all, "one after another", "t.run()")


def test_q1_not_waiting_is_caught() -> None:
    def never_joins(task, ids):
        for i in ids:
            threading.Thread(target=task, args=(i,)).start()

    def joins_only_the_last(task, ids):
        for i in ids:
            t = threading.Thread(target=task, args=(i,))
            t.start()
        t.join()

    assert_fails(q1, never_joins, "still running", "join()")
    assert_fails(q1, joins_only_the_last, "still running", "task(s) [4")


def test_q1_skipped_or_repeated_ids_are_caught() -> None:
    def skips_first(task, ids):
        threads = [threading.Thread(target=task, args=(i,)) for i in ids[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def first_twice(task, ids):
        threads = [threading.Thread(target=task, args=(i,)) for i in [ids[0], *ids]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert_fails(q1, skips_first, "never run: [4]")
    assert_fails(q1, first_twice, "more than once: [4]")


def test_q1_errors_inside_threads_are_reported() -> None:
    def args_not_a_tuple(task, ids):
        threads = [threading.Thread(target=task, args=i) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert_fails(q1, args_not_a_tuple, "thread you started raised TypeError", "iterable")


# ------------------------------------------------------------------ q2: a locked counter
def test_q2_model_answer() -> None:
    ns = solution_namespace(q1.notebook, "q2", threading=threading)
    assert_passes(q2, ns["add_many"])


def test_q2_stub_is_not_attempted() -> None:
    assert_not_attempted(q2, _stub)


def test_q2_other_correct_locks_pass() -> None:
    lock = threading.Lock()
    rlock = threading.RLock()

    def acquire_release(counter, times):
        for _ in range(times):
            lock.acquire()
            try:
                counter.value = counter.value + 1
            finally:
                lock.release()

    def whole_loop_locked(counter, times):
        with rlock:
            for _ in range(times):
                counter.value += 1

    assert_passes(q2, acquire_release)
    assert_passes(q2, whole_loop_locked)


def test_q2_no_lock_loses_updates() -> None:
    def add_many(counter, times):
        for _ in range(times):
            counter.value += 1

    assert_fails(q2, add_many, "updates were lost", "expected 80", "without a lock")


def test_q2_a_lock_per_call_is_no_lock() -> None:
    def add_many(counter, times):
        lock = threading.Lock()
        for _ in range(times):
            with lock:
                counter.value += 1

    assert_fails(q2, add_many, "updates were lost", "creates its lock itself")


def test_q2_lock_around_the_read_only_still_loses() -> None:
    lock = threading.Lock()

    def add_many(counter, times):
        for _ in range(times):
            with lock:
                value = counter.value
            counter.value = value + 1

    assert_fails(q2, add_many, "updates were lost", "same `with lock:` block")


def test_q2_locked_but_double_counting() -> None:
    lock = threading.Lock()

    def add_many(counter, times):
        for _ in range(times + 1):  # off by one
            with lock:
                counter.value += 1

    assert_fails(q2, add_many, "too many", "expected 80")


def test_q2_slow_counter_reads_the_value_from_before_the_wait() -> None:
    counter = SlowCounter(access_seconds=0.0)
    counter.value += 2
    assert counter.value == 2 and "value=2" in repr(counter)


# ------------------------------------------------------------------ q3: measure, choose
def _q3_model() -> tuple[Any, Any]:
    ns = solution_namespace(q1.notebook, "q3", threading=threading, time=time)
    return ns["time_threads"], ns["choose_threads"]


def test_q3_model_answer() -> None:
    assert_passes(q3, _q3_model())


def test_q3_stubs_are_not_attempted() -> None:
    time_threads, choose_threads = _q3_model()
    assert_not_attempted(q3, (_stub, choose_threads))
    assert_not_attempted(q3, (time_threads, _stub))
    assert_not_attempted(q3, (None, None))


def test_q3_check_takes_both_functions() -> None:
    time_threads, _ = _q3_model()
    assert_fails(q3, (time_threads,), "pass both functions")
    assert q3.verdict((time_threads, 4)).status == "failed"


def test_q3_an_executor_and_a_sorted_loop_also_pass() -> None:
    def time_threads(task, ids, n):
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(task, ids))
        return time.perf_counter() - start

    def choose_threads(walls):
        best = min(walls.values())
        for n in sorted(walls):
            if walls[n] <= 1.2 * best:
                return n
        return None

    assert_passes(q3, (time_threads, choose_threads))


def test_q3_wrong_rules_fail_on_the_fixed_tables() -> None:
    time_threads, _ = _q3_model()

    def fastest(walls):
        return min(walls, key=walls.get)

    def first_in_dict_order(walls):
        best = min(walls.values())
        return next(n for n, w in walls.items() if w <= 1.2 * best)

    def within_ten_percent(walls):
        best = min(walls.values())
        return min(n for n, w in walls.items() if w <= 1.1 * best)

    # The rule is judged before anything is measured, so these are quick.
    assert_fails(q3, (time_threads, fastest), "fastest count", "expected 4")
    assert_fails(q3, (time_threads, first_in_dict_order), "returned 8; expected 4", "keys")
    assert_fails(q3, (time_threads, within_ten_percent), "returned 16; expected 4")


def test_q3_unreal_measurements_fail() -> None:
    _, choose_threads = _q3_model()

    def ignores_n(task, ids, n):  # one thread per id, whatever n says
        threads = [threading.Thread(target=task, args=(i,)) for i in ids]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start

    def stops_clock_early(task, ids, n):
        threads = [
            threading.Thread(target=lambda s=ids[k::n]: [task(i) for i in s]) for k in range(n)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        wall = time.perf_counter() - start
        for t in threads:
            t.join()
        return wall

    def joins_in_the_loop(task, ids, n):
        start = time.perf_counter()
        for k in range(n):
            t = threading.Thread(target=lambda s=ids[k::n]: [task(i) for i in s])
            t.start()
            t.join()
        return time.perf_counter() - start

    def milliseconds(task, ids, n):
        start = time.perf_counter()
        for i in ids:
            task(i)
        return (time.perf_counter() - start) * 1000

    assert_fails(q3, (ignores_n, choose_threads), "tasks running at once", "exactly 2")
    assert_fails(q3, (stops_clock_early, choose_threads), "after the last join()")
    assert_fails(q3, (joins_in_the_loop, choose_threads), "one after another")
    assert_fails(q3, (milliseconds, choose_threads), "milliseconds")


def test_q3_rule_tables_agree_with_the_reference_rule() -> None:
    for table, right in Q3_RULE_TABLES:
        assert smallest_within(table) == right
    assert _q3_rule_verdict(smallest_within) is None


@pytest.mark.parametrize(
    ("spans", "most"),
    [([(0, 1), (1, 2)], 1), ([(0, 2), (1, 3), (1.5, 1.8)], 3), ([(0, 1), (0.5, 2), (1.5, 3)], 2)],
)
def test_max_overlap(spans: list[tuple[float, float]], most: int) -> None:
    events = [Event(i, "t", 1, "x", a, b) for i, (a, b) in enumerate(spans)]
    assert max_overlap(events) == most
