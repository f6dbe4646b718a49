"""Lesson 03 checks: right answers in many idioms pass, wrong ones get *their* message.

Every answer runs as notebook cells in a fresh IPython shell (``dev.cells.answer``), after
the exercise's own set-up cell, exactly as a student's would. A check mostly sleeps (its
tasks wait), so the answers of one question are judged at the same time, each in its own
thread: the group takes as long as its slowest check, and every check is judged on a
machine that is busy with the others.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from concurrency_lab.dev.answers import CHECK_SECONDS, assert_not_attempted, verdict_error
from concurrency_lab.dev.answers import judge_all as judge_answers
from concurrency_lab.dev.cells import answer
from concurrency_lab.exercises.core import Problem, solution_from_notebook
from concurrency_lab.exercises.lesson03 import q1, q2, q3, q4

SETUP = "from concurrent.futures import ThreadPoolExecutor, as_completed"

# Checks that end at the slow tasks (q3 waits for its 0.9 s tasks to end) stay under this.


def _fn(name: str, cell: str) -> Any:
    return answer(name, SETUP, cell)


def judge_all(problem: Problem, name: str, cases: dict[str, tuple[str, ...] | str]) -> None:
    """Judge every answer at once (:func:`concurrency_lab.dev.answers.judge_all`)."""
    judge_answers(problem, name, cases, SETUP)


def _stub(*args: Any) -> None:
    raise NotImplementedError()


def test_stubs_are_not_attempted() -> None:
    for problem in (q1, q2, q3, q4):
        assert_not_attempted(problem, _stub)
        assert_not_attempted(problem, None)


# ------------------------------------------------------------------ q1: input order
Q1_RIGHT = [
    solution_from_notebook(q1.notebook, "q1"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor() as executor:
            return list(executor.map(task, ids))
    """,
    """
    import threading

    def results_in_order(task, ids):
        results = [None] * len(ids)

        def fill(slot, task_id):
            results[slot] = task(task_id)

        threads = []
        for slot, task_id in enumerate(ids):
            t = threading.Thread(target=fill, args=(slot, task_id))
            t.start()
            threads.append(t)
        for t in threads:
            t.join()
        return results
    """,
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=2) as pool:  # fewer workers: still concurrent
            futures = {i: pool.submit(task, i) for i in ids}
            return [futures[i].result() for i in ids]
    """,
    """
    def results_in_order(task, ids):
        by_id = {}
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            for future in as_completed(future_to_id):
                by_id[future_to_id[future]] = future.result()
        return [by_id[i] for i in ids]
    """,
    """
    import queue
    import threading

    def results_in_order(task, ids):
        q = queue.Queue()
        threads = [
            threading.Thread(target=lambda n, i: q.put((n, task(i))), args=(n, i))
            for n, i in enumerate(ids)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pairs = sorted(q.get() for _ in ids)
        return tuple(result for _, result in pairs)  # a tuple is a fine sequence too
    """,
    """
    import concurrent.futures
    from concurrent.futures import wait

    def results_in_order(task, ids):
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        futures = []
        for task_id in ids:
            futures.append(executor.submit(task, task_id))
        wait(futures)
        results = []
        for future in futures:
            results.append(future.result())
        executor.shutdown()
        return results
    """,
]

Q1_WRONG: dict[str, tuple[str, ...]] = {
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = [executor.submit(task, i) for i in ids]
            return [f.result() for f in as_completed(futures)]
    """: ("in finishing order, not input order", "as_completed"),
    """
    def results_in_order(task, ids):
        return [task(i) for i in ids]
    """: ("ran one after another", "called task(i) directly"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return [executor.submit(task, i).result() for i in ids]
    """: ("ran one after another", "result() right after submit()"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=1) as executor:
            return list(executor.map(task, ids))
    """: ("ran one after another", "no two of the 5 tasks"),
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = [executor.submit(task, i) for i in ids]
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            return [f.result() for f in done]
    """: ("not the ones expected", "expected 5 items, got 1"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return [executor.submit(task, i) for i in ids]
    """: ("Future objects", "result()"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return executor.map(task, ids)
    """: ("iterator", "list("),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor() as executor:
            return list(executor.map(task, range(len(ids))))
    """: ("raised KeyError", "has no id 0", "range(len(ids))"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor() as executor:
            return sorted(executor.map(task, ids))
    """: ("All the results are there, but", "input order"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor() as executor:
            results = list(executor.map(task, ids))
        results[0] = task(ids[0])  # "to be sure"
        return results
    """: ("Not every task ran exactly once", "run more than once"),
    """
    import threading

    def results_in_order(task, ids):
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(task(i))) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results
    """: ("in finishing order", "the first id"),
    """
    def results_in_order(task, ids):
        with ThreadPoolExecutor() as executor:
            return dict(zip(ids, executor.map(task, ids)))
    """: ("should return a list of results", "dict"),
}


def test_q1_right_answers_pass() -> None:
    judge_all(q1, "results_in_order", dict.fromkeys(Q1_RIGHT, "pass"))


def test_q1_wrong_answers_get_their_message() -> None:
    judge_all(q1, "results_in_order", Q1_WRONG)


def test_q1_a_process_pool_answer_passes_too() -> None:
    """The probe task pickles, so a ProcessPoolExecutor answer is judged like any other."""
    cell = """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    def results_in_order(task, ids):
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=len(ids), mp_context=context) as pool:
            return list(pool.map(task, ids))
    """
    verdict = q1.verdict(_fn("results_in_order", cell))
    assert verdict.ok, verdict.plain()


# ------------------------------------------------------------------ q2: nothing lost
Q2_RIGHT = [
    solution_from_notebook(q2.notebook, "q2"),
    """
    def results_and_failures(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = {i: executor.submit(task, i) for i in ids}
        results = {i: f.result() for i, f in futures.items() if f.exception() is None}
        return results, {i for i, f in futures.items() if f.exception() is not None}
    """,
    """
    from concurrent.futures import wait

    def results_and_failures(task, ids):
        results = {}
        failed_ids = []
        executor = ThreadPoolExecutor()
        futures = [executor.submit(task, i) for i in ids]
        wait(futures)
        for task_id, future in zip(ids, futures):
            try:
                results[task_id] = future.result()
            except Exception as error:
                print("task", task_id, "failed:", error)
                failed_ids.append(task_id)
        executor.shutdown()
        return results, failed_ids
    """,
    """
    def results_and_failures(task, ids):
        def safe(task_id):
            try:
                return task_id, task(task_id), None
            except Exception as error:
                return task_id, None, error

        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            outcomes = list(executor.map(safe, ids))
        results = {i: r for i, r, e in outcomes if e is None}
        return results, tuple(i for i, r, e in outcomes if e is not None)
    """,
    """
    import threading

    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        lock = threading.Lock()

        def run(task_id):
            try:
                value = task(task_id)
            except RuntimeError:
                with lock:
                    failed_ids.append(task_id)
            else:
                with lock:
                    results[task_id] = value

        threads = [threading.Thread(target=run, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results, failed_ids
    """,
    """
    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor(max_workers=3) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            for future in as_completed(future_to_id):
                if future.exception():
                    failed_ids.append(future_to_id[future])
                else:
                    results[future_to_id[future]] = future.result()
        return (results, sorted(failed_ids))
    """,
]

Q2_WRONG: dict[str, tuple[str, ...]] = {
    """
    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            try:
                for i, result in zip(ids, executor.map(task, ids)):
                    results[i] = result
            except Exception:
                failed_ids.append(ids[len(results)])
        return results, failed_ids
    """: ("stopped at the first error", "executor.map"),
    """
    def results_and_failures(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            return {future_to_id[f]: f.result() for f in as_completed(future_to_id)}, []
    """: ("escaped your function", "ProbeFailure", "f.result()"),
    """
    def results_and_failures(task, ids):
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
    """: ("which raised", "ProbeFailure"),
    """
    def results_and_failures(task, ids):
        results = {}
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            future_to_id = {executor.submit(task, i): i for i in ids}
            for f in as_completed(future_to_id):
                try:
                    results[future_to_id[f]] = f.result()
                except Exception:
                    continue
        return results, []
    """: ("failed_ids should hold exactly the ids that raised", "not in failed_ids"),
    """
    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        for i in ids:
            try:
                results[i] = task(i)
            except Exception:
                failed_ids.append(i)
        return results, failed_ids
    """: ("ran one after another", "called task(i) directly"),
    """
    def results_and_failures(task, ids):
        results, failed_ids = [], []
        with ThreadPoolExecutor() as executor:
            futures = [executor.submit(task, i) for i in ids]
            for i, f in zip(ids, futures):
                try:
                    results.append(f.result())
                except Exception:
                    failed_ids.append(i)
        return results, failed_ids
    """: ("results should be a dict", "list"),
    """
    def results_and_failures(task, ids):
        results = {}
        with ThreadPoolExecutor() as executor:
            futures = {executor.submit(task, i): i for i in ids}
            for f in as_completed(futures):
                if f.exception() is None:
                    results[futures[f]] = f.result()
        return results
    """: ("should return a pair (results, failed_ids)",),
    """
    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor() as executor:
            futures = {executor.submit(task, i): i for i in ids}
            for f in as_completed(futures):
                try:
                    results[futures[f]] = f.result()
                except Exception:
                    pass
                failed_ids.append(futures[f])  # outside the except: every id
        return results, failed_ids
    """: ("failed_ids should hold exactly", "which did not fail"),
    """
    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor() as executor:
            futures = {executor.submit(task, i): i for i in ids}
            for f in as_completed(futures):
                try:
                    results[futures[f]] = f.result()
                except Exception as error:
                    results[futures[f]] = str(error)
                    failed_ids.append(futures[f])
        return results, failed_ids
    """: ("which raised", "failed"),
    """
    def results_and_failures(task, ids):
        with ThreadPoolExecutor() as executor:
            futures = {i: executor.submit(task, i) for i in ids}
        return futures, [i for i, f in futures.items() if f.exception()]
    """: ("Future objects", "result()"),
    """
    def results_and_failures(task, ids):
        results, failed_ids = {}, []
        with ThreadPoolExecutor() as executor:
            futures = {executor.submit(task, i): i for i in ids}
            for f in as_completed(futures):
                try:
                    f.result()
                    results[futures[f]] = futures[f]
                except Exception:
                    failed_ids.append(futures[f])
        return results, failed_ids
    """: ("should be 'result of task", "Store what future.result() returns"),
    """
    def results_and_failures(task, ids):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = [executor.submit(task, i) for i in ids]
            results, failed_ids = {}, []
            for i, f in zip(ids, futures):
                try:
                    results[i] = f.result()
                except Exception:
                    failed_ids += [i, i]
        return results, failed_ids
    """: ("failed_ids should hold exactly", "more than once"),
}


def test_q2_right_answers_pass() -> None:
    judge_all(q2, "results_and_failures", dict.fromkeys(Q2_RIGHT, "pass"))


def test_q2_wrong_answers_get_their_message() -> None:
    judge_all(q2, "results_and_failures", Q2_WRONG)


# ------------------------------------------------------------------ q3: give up in time
Q3_RIGHT = [
    solution_from_notebook(q3.notebook, "q3"),
    """
    from concurrent.futures import wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        done, not_done = wait(futures, timeout=timeout)
        executor.shutdown(wait=False, cancel_futures=True)
        return {futures[f]: f.result() for f in done}, [futures[f] for f in not_done]
    """,
    """
    import time

    def results_within(task, ids, timeout):
        deadline = time.monotonic() + timeout
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {i: executor.submit(task, i) for i in ids}
        results, timed_out = {}, []
        for i, future in futures.items():
            try:
                results[i] = future.result(timeout=max(0, deadline - time.monotonic()))
            except TimeoutError:
                timed_out.append(i)
        executor.shutdown(wait=False)
        return results, timed_out
    """,
    """
    import threading
    import time

    def results_within(task, ids, timeout):
        results = {}
        def run(i):
            results[i] = task(i)
        threads = {i: threading.Thread(target=run, args=(i,), daemon=True) for i in ids}
        for t in threads.values():
            t.start()
        deadline = time.monotonic() + timeout
        for t in threads.values():
            t.join(max(0, deadline - time.monotonic()))
        timed_out = [i for i, t in threads.items() if t.is_alive()]
        return {i: r for i, r in results.items() if i not in timed_out}, timed_out
    """,
    """
    import concurrent.futures

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor()  # the default has at least 5 workers
        future_to_id = {executor.submit(task, i): i for i in ids}
        results = {}
        try:
            for future in as_completed(future_to_id, timeout=timeout):
                results[future_to_id[future]] = future.result()
        except concurrent.futures.TimeoutError:
            pass
        executor.shutdown(wait=False, cancel_futures=True)
        return results, {i for f, i in future_to_id.items() if not f.done()}
    """,
    """
    import time

    def results_within(task, ids, timeout):
        pool = ThreadPoolExecutor(max_workers=len(ids))
        futures = [pool.submit(task, i) for i in ids]
        start = time.perf_counter()
        while time.perf_counter() - start < timeout and not all(f.done() for f in futures):
            time.sleep(0.005)
        pool.shutdown(wait=False, cancel_futures=True)
        results = {i: f.result() for i, f in zip(ids, futures) if f.done()}
        return results, [i for i, f in zip(ids, futures) if not f.done()]
    """,
]


Q3_WRONG: dict[str, tuple[str, ...]] = {
    """
    def results_within(task, ids, timeout):
        results, timed_out = {}, []
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            futures = {executor.submit(task, i): i for i in ids}
            try:
                for f in as_completed(futures, timeout=timeout):
                    results[futures[f]] = f.result()
            except TimeoutError:
                timed_out = [i for f, i in futures.items() if not f.done()]
        return results, timed_out
    """: ("waited for the slow tasks", "noticed the deadline", "with ThreadPoolExecutor"),
    """
    def results_within(task, ids, timeout):
        with ThreadPoolExecutor(max_workers=len(ids)) as executor:
            return dict(zip(ids, executor.map(task, ids))), []
    """: ("waited for the slow tasks", "Nothing told it to stop"),
    """
    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        results, timed_out = {}, []
        for f, i in futures.items():
            try:
                results[i] = f.result(timeout=timeout)
            except TimeoutError:
                timed_out.append(i)
        executor.shutdown(wait=False, cancel_futures=True)
        return results, timed_out
    """: ("long after the deadline", "adds up"),
    """
    from concurrent.futures import wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        done, _ = wait(futures, timeout=timeout)
        executor.shutdown(wait=False, cancel_futures=True)
        return {futures[f]: f.result() for f in done}, [futures[f] for f in done]
    """: ("timed_out should be", "had finished when your function returned"),
    """
    from concurrent.futures import wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=2)
        futures = {executor.submit(task, i): i for i in ids}
        done, not_done = wait(futures, timeout=timeout)
        executor.shutdown(wait=False, cancel_futures=True)
        return {futures[f]: f.result() for f in done}, [futures[f] for f in not_done]
    """: ("max_workers=len(ids)", "2 worker(s)"),
    """
    import time

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        time.sleep(timeout)  # give them all the time they are allowed
        executor.shutdown(wait=False, cancel_futures=True)
        results = {i: f.result() for f, i in futures.items() if f.done()}
        return results, [i for f, i in futures.items() if not f.done()]
    """: ("kept waiting until the deadline", "time.sleep(timeout) does not"),
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        done, not_done = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        executor.shutdown(wait=False, cancel_futures=True)
        return {futures[f]: f.result() for f in done}, [futures[f] for f in not_done]
    """: ("returned before the deadline", "FIRST_COMPLETED"),
    """
    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        results = {}
        for f in as_completed(futures, timeout=timeout):
            results[futures[f]] = f.result()
        return results, []
    """: ("A TimeoutError escaped your function", "except TimeoutError"),
    """
    from concurrent.futures import wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        done, not_done = wait(futures, timeout=timeout)
        timed_out = [futures[f] for f in not_done]
        executor.shutdown()
        return {futures[f]: f.result() for f in done}, timed_out
    """: ("waited for the slow tasks", "wait=True is the default"),
    """
    from concurrent.futures import wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        wait(futures, timeout=timeout)
        executor.shutdown(wait=False, cancel_futures=True)
        results = {i: (f.result() if f.done() else None) for f, i in futures.items()}
        return results, [i for f, i in futures.items() if not f.done()]
    """: ("results holds the timed-out task(s)",),
    """
    from concurrent.futures import wait

    def results_within(task, ids, timeout):
        executor = ThreadPoolExecutor(max_workers=len(ids))
        futures = {executor.submit(task, i): i for i in ids}
        done, not_done = wait(futures, timeout=timeout)
        executor.shutdown(wait=False, cancel_futures=True)
        return {futures[f]: f.result() for f in done}, []
    """: ("timed_out should be", "not in timed_out"),
}


def test_q3_right_answers_pass() -> None:
    judge_all(q3, "results_within", dict.fromkeys(Q3_RIGHT, "pass"))


def test_q3_wrong_answers_get_their_message() -> None:
    judge_all(q3, "results_within", Q3_WRONG)


@pytest.mark.parametrize("problem", [q1, q2, q3, q4], ids=lambda p: p.name)
def test_hints_and_solution_show(problem: Problem) -> None:
    assert problem.hint().plain
    assert "def " in problem.solution().plain


# ------------------------------------------------------------------ q4: a real server's limit
# Judged one at a time, not all at once: the check also looks for threads the answer left
# running, and another check's threads would look like the answer's.
Q4_SETUP = """
import time

from concurrency_lab.exercises.lesson03 import q4
from concurrency_lab.work.http_client import get
"""


def judge_one_by_one(problem: Problem, name: str, cases: dict[str, tuple[str, ...] | str]) -> None:
    errors = []
    for cell, expected in cases.items():
        fn = answer(name, SETUP, Q4_SETUP, cell)
        start = time.perf_counter()
        verdict = problem.verdict(fn)
        seconds = time.perf_counter() - start
        error = verdict_error(problem, cell, verdict, expected)
        if error:
            errors.append(error)
        CHECK_SECONDS[problem.name] = max(CHECK_SECONDS.get(problem.name, 0.0), seconds)
    assert not errors, "\n\n".join(errors)


Q4_RIGHT = [
    solution_from_notebook(q4.notebook, "q4"),
    # a semaphore sized to the limit, more workers than that; released while sleeping
    """
    import random
    import threading

    def fetch_all(urls, limit):
        slots = threading.Semaphore(limit)

        def fetch(url):
            for attempt in range(10):
                with slots:
                    reply = get(url)
                if reply.ok:
                    return reply.data
                wait = 0.02 * 2**attempt
                if reply.status == 429:
                    wait = max(wait, reply.retry_after)
                time.sleep(wait * random.uniform(1, 1.5))
            raise RuntimeError(url)

        with ThreadPoolExecutor(max_workers=len(urls)) as executor:
            return list(executor.map(fetch, urls))
    """,
    # a queue of worker threads, each writing its own slot of the result list
    """
    import queue
    import threading

    def fetch_all(urls, limit):
        todo = queue.Queue()
        for position, url in enumerate(urls):
            todo.put((position, url))
        results = [None] * len(urls)

        def worker():
            while True:
                try:
                    position, url = todo.get_nowait()
                except queue.Empty:
                    return
                pause = 0.03
                while True:
                    reply = get(url)
                    if reply.status == 200:
                        results[position] = reply.data
                        break
                    time.sleep(max(pause, reply.retry_after or 0))
                    pause *= 2

        threads = [threading.Thread(target=worker) for _ in range(limit)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results
    """,
    # urllib directly; the exact wait from the 429's JSON body
    """
    import json
    import urllib.error
    import urllib.request

    def fetch_one(url, attempt=0):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read())
            if error.code == 429:
                time.sleep(body["retry_after"])
            elif error.code == 500:
                time.sleep(0.05 * 2**attempt)
            else:
                raise
            return fetch_one(url, attempt + 1)  # recursion instead of a loop

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(limit) as pool:
            return list(pool.map(fetch_one, urls))
    """,
    # urllib directly, honouring the Retry-After *header* (whole seconds: slower, still right)
    """
    import json
    import urllib.error
    import urllib.request

    def fetch_one(url):
        delay = 0.05
        while True:
            try:
                with urllib.request.urlopen(url) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                if error.code not in (429, 500):
                    raise
                wait = float(error.headers.get("Retry-After") or 0)
                time.sleep(max(wait, delay))
                delay *= 2

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(max_workers=limit) as executor:
            return list(executor.map(fetch_one, urls))
    """,
    # beginner-verbose: submit, a list of futures, a counter of attempts
    """
    def get_with_retries(url):
        attempts = 0
        while attempts < 20:
            attempts = attempts + 1
            reply = get(url)
            if reply.status == 200:
                return reply.data
            elif reply.status == 429:
                seconds = reply.retry_after
                time.sleep(seconds)
            elif reply.status == 500:
                time.sleep(0.05 * attempts)
            else:
                raise Exception("unexpected status " + str(reply.status))
        raise Exception("gave up on " + url)

    def fetch_all(urls, limit):
        executor = ThreadPoolExecutor(max_workers=limit)
        futures = []
        for url in urls:
            future = executor.submit(get_with_retries, url)
            futures.append(future)
        bodies = []
        for future in futures:
            body = future.result()
            bodies.append(body)
        executor.shutdown()
        return bodies
    """,
    # as_completed, each body put back at its position
    """
    def fetch_all(urls, limit):
        def one(url):
            backoff = 0.05
            while (reply := get(url)).status in (429, 500):
                time.sleep(reply.retry_after if reply.status == 429 else backoff)
                backoff *= 2
            return reply.data

        bodies = [None] * len(urls)
        with ThreadPoolExecutor(max_workers=limit) as executor:
            where = {executor.submit(one, url): k for k, url in enumerate(urls)}
            for future in as_completed(where):
                bodies[where[future]] = future.result()
        return tuple(bodies)
    """,
]

Q4_RETRY = """
def fetch_one(url):
    backoff = 0.05
    while True:
        reply = get(url)
        if reply.ok:
            return reply.data
        time.sleep(max(reply.retry_after or 0, backoff))
        backoff *= 2
"""

Q4_WRONG: dict[str, tuple[str, ...]] = {
    # no limit at all (retries make every item arrive in the end)
    Q4_RETRY
    + """
def fetch_all(urls, limit):
    with ThreadPoolExecutor(max_workers=len(urls)) as executor:
        return list(executor.map(fetch_one, urls))
""": ("more than", "turned", "429"),
    # one more than the limit
    Q4_RETRY
    + """
def fetch_all(urls, limit):
    with ThreadPoolExecutor(max_workers=limit + 1) as executor:
        return list(executor.map(fetch_one, urls))
""": ("sent more than", "at once"),
    # retries a 500, but takes a 429 for an answer
    """
    def fetch_one(url):
        reply = get(url)
        while reply.status == 500:
            time.sleep(0.05)
            reply = get(url)
        return reply.data

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(max_workers=limit) as executor:
            return list(executor.map(fetch_one, urls))
    """: ("never got a successful answer", "turned away with 429"),
    # any failure: the whole batch again
    """
    def fetch_all(urls, limit):
        while True:
            with ThreadPoolExecutor(max_workers=limit) as executor:
                replies = list(executor.map(get, urls))
            if all(reply.ok for reply in replies):
                return [reply.data for reply in replies]
            time.sleep(0.05)
    """: ("more than once", "Retry only the request that failed"),
    # one request at a time
    Q4_RETRY
    + """
def fetch_all(urls, limit):
    return [fetch_one(url) for url in urls]
""": ("one at a time",),
    # finishing order
    Q4_RETRY
    + """
def fetch_all(urls, limit):
    with ThreadPoolExecutor(max_workers=limit) as executor:
        futures = [executor.submit(fetch_one, url) for url in urls]
        return [future.result() for future in as_completed(futures)]
""": ("not in the order of urls",),
    # retries a 429 at once: hammers the server
    """
    def fetch_one(url):
        while True:
            reply = get(url)
            if reply.ok:
                return reply.data
            if reply.status == 500:
                time.sleep(0.05)

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(max_workers=limit) as executor:
            return list(executor.map(fetch_one, urls))
    """: ("tried again too soon", "reply.retry_after"),
    # returns before the requests are done
    Q4_RETRY
    + """
def fetch_all(urls, limit):
    executor = ThreadPoolExecutor(max_workers=limit)
    futures = [executor.submit(fetch_one, url) for url in urls]
    executor.shutdown(wait=False)
    return [future.result() if future.done() else None for future in futures]
""": ("returned before every request was answered",),
    # a number of workers of its own, not the limit
    Q4_RETRY
    + """
def fetch_all(urls, limit):
    with ThreadPoolExecutor(max_workers=3) as executor:
        return list(executor.map(fetch_one, urls))
""": ("more than",),
    # worker threads that wait for more work forever (no sentinel): left running
    Q4_RETRY
    + """
import queue
import threading

def fetch_all(urls, limit):
    todo, done = queue.Queue(), queue.Queue()

    def worker():
        while True:
            position, url = todo.get()
            done.put((position, fetch_one(url)))

    for _ in range(limit):
        threading.Thread(target=worker, daemon=True).start()
    for position, url in enumerate(urls):
        todo.put((position, url))
    bodies = [None] * len(urls)
    for _ in urls:
        position, body = done.get()
        bodies[position] = body
    return bodies
""": ("still running after it returned", "sentinel"),
    # a whole second after every failure: the server sees the retry a second after the 500
    # (judged from that gap, not from the wall time, which a busy machine stretches)
    """
    def fetch_one(url):
        while True:
            reply = get(url)
            if reply.ok:
                return reply.data
            time.sleep(1)

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(max_workers=limit) as executor:
            return list(executor.map(fetch_one, urls))
    """: ("failed with 500", "before sending it again", "a few hundredths"),
    # the replies, not their bodies
    """
    def fetch_one(url):
        reply = get(url)
        while not reply.ok:
            time.sleep(max(reply.retry_after or 0, 0.05))
            reply = get(url)
        return reply

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(max_workers=limit) as executor:
            return list(executor.map(fetch_one, urls))
    """: ("replies, not their JSON bodies",),
    # raises on the first 500
    """
    from concurrency_lab.work.http_client import get_json

    def fetch_all(urls, limit):
        with ThreadPoolExecutor(max_workers=limit) as executor:
            return list(executor.map(get_json, urls))
    """: ("answered 500", "instead of trying again", "StatusError"),
}


@pytest.mark.long
def test_q4_right_answers_pass() -> None:
    judge_one_by_one(q4, "fetch_all", dict.fromkeys(Q4_RIGHT, "pass"))


@pytest.mark.long
def test_q4_wrong_answers_get_their_message() -> None:
    judge_one_by_one(q4, "fetch_all", Q4_WRONG)
