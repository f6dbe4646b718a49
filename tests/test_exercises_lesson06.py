"""Lesson 06 checks: the model answers pass, realistic wrong answers fail *specifically*.

The answers are coroutine functions; the checks await them on a fresh event loop in a
watchdog thread, so they are judged here exactly as in a notebook — including from a
thread whose own event loop is running (Jupyter's case).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
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
from concurrency_lab.exercises.async_probes import (
    AsyncProbe,
    AsyncStudentTimeout,
    Heartbeat,
    html_page,
    idle_slot_time,
    max_concurrency,
    page_title,
    run_async_student,
    run_with_async_probe,
)
from concurrency_lab.exercises.core import NotAttempted, StudentError
from concurrency_lab.exercises.lesson06 import q1, q2, q3
from concurrency_lab.work.timeline import Event

# What the exercise's set-up cell imports, for running the model answers.
SETUP: dict[str, Any] = {"asyncio": asyncio}


async def _stub(*args: Any) -> None:
    raise NotImplementedError()


def _assert_all(cases: list[tuple[Any, ...]]) -> None:
    """Run ``check(problem, answer, *fragments)`` for every case, all at the same time.

    A check mostly sleeps (its requests wait), so judging answers each in its own thread
    takes as long as the slowest one instead of the sum.
    """
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        futures = {pool.submit(*case): case[2].__name__ for case in cases}
    for future, name in futures.items():
        assert future.exception() is None, f"{name}: {future.exception()}"


# ------------------------------------------------------------------ the probe and runner
def test_probe_records_requests_and_failures() -> None:
    probe = AsyncProbe({"a": 0.02, "b": 0.01}, fail_ids={"b"}, reply=html_page)

    async def both() -> list[Any]:
        return await asyncio.gather(probe.fetch("a"), probe.fetch("b"), return_exceptions=True)

    page, error = asyncio.run(both())
    assert page_title(page) == "Page a"
    assert "503" in str(error)
    assert probe.max_in_flight() == 2
    assert [e.ok for e in probe.events()] == [True, False]
    assert probe.calls_verdict() is None


def test_concurrency_and_idle_slots_from_events() -> None:
    def ev(i: int, start: float, end: float) -> Event:
        return Event(i, "request", 1, "t", start, end)

    # Two slots; request 2 waits 0.1 s for a slot although one was free at 0.02.
    batches = [ev(0, 0.0, 0.12), ev(1, 0.0, 0.02), ev(2, 0.12, 0.14)]
    assert max_concurrency(batches) == 2
    assert idle_slot_time(batches, 2) == pytest.approx(0.10)
    refilled = [ev(0, 0.0, 0.12), ev(1, 0.0, 0.02), ev(2, 0.02, 0.04)]
    assert idle_slot_time(refilled, 2) == pytest.approx(0.0)


def test_runner_turns_stub_error_and_hang_into_verdict_exceptions() -> None:
    async def boom() -> None:
        raise ValueError("bad")

    async def hang() -> None:
        await asyncio.Event().wait()

    with pytest.raises(NotAttempted):
        run_async_student(lambda: _stub())
    with pytest.raises(StudentError, match="bad"):
        run_async_student(lambda: boom())
    started = time.perf_counter()
    with pytest.raises(AsyncStudentTimeout):
        run_async_student(lambda: hang(), timeout=0.2)
    assert time.perf_counter() - started < 1.5  # cancelled inside its loop, not abandoned


def test_a_check_works_while_the_callers_event_loop_runs() -> None:
    """Jupyter's case: ``q1.check`` is called from a thread whose event loop is running."""

    async def fetch_all(fetch, ids):
        return await asyncio.gather(*(fetch(i) for i in ids))

    async def in_a_running_loop() -> None:
        asyncio.get_running_loop()  # there is one, as in a notebook cell
        assert_passes(q1, fetch_all)

    asyncio.run(in_a_running_loop())


def test_heartbeat_sees_a_frozen_loop() -> None:
    async def scenario(block: bool) -> tuple[float, int]:
        beat = Heartbeat(0.005)
        task = asyncio.ensure_future(beat.run())
        await asyncio.sleep(0.02)
        start = time.perf_counter()
        if block:
            time.sleep(0.08)
        else:
            await asyncio.sleep(0.08)
        end = time.perf_counter()
        beat.stop()
        await task
        return beat.longest_gap(), beat.ticks_between(start, end)

    gap, ticks = asyncio.run(scenario(True))
    assert gap >= 0.08 and ticks == 0
    assert asyncio.run(scenario(False))[1] >= 3


def test_outcome_of_a_plain_function() -> None:
    outcome = run_with_async_probe(lambda fetch, ids: 42, {1: 0.01})
    assert not outcome.awaited
    assert outcome.value == 42


# ------------------------------------------------------------------ q1: gather in order
def test_q1_stub_is_not_attempted() -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


async def tasks_then_await_each(fetch, ids):
    tasks = [asyncio.create_task(fetch(i)) for i in ids]
    return [await task for task in tasks]


async def one_after_another(fetch, ids):
    results = []
    for i in ids:
        results.append(await fetch(i))
    return results


async def finishing_order(fetch, ids):
    return [await c for c in asyncio.as_completed([fetch(i) for i in ids])]


async def coroutines_not_results(fetch, ids):
    return [fetch(i) for i in ids]


def plain_def(fetch, ids):
    return [fetch(i) for i in ids]


async def off_by_one(fetch, ids):
    return await asyncio.gather(*(fetch(i) for i in range(len(ids))))


def test_q1_model_answer_tasks_and_taskgroup_pass() -> None:
    cases: list[tuple[Any, ...]] = [
        (assert_passes, q1, solution_namespace(q1.notebook, "q1", **SETUP)["fetch_all"]),
        (assert_passes, q1, tasks_then_await_each),
    ]
    if sys.version_info >= (3, 11):
        namespace: dict[str, Any] = {"asyncio": asyncio}
        exec(
            "async def with_taskgroup(fetch, ids):\n"
            "    async with asyncio.TaskGroup() as group:\n"
            "        tasks = [group.create_task(fetch(i)) for i in ids]\n"
            "    return [task.result() for task in tasks]\n",
            namespace,
        )
        cases.append((assert_passes, q1, namespace["with_taskgroup"]))
    _assert_all(cases)


def test_q1_wrong_answers_get_specific_messages() -> None:
    _assert_all(
        [
            (assert_fails, q1, one_after_another, "one after another", "asyncio.gather"),
            (assert_fails, q1, finishing_order, "finishing order", "as_completed"),
            (assert_fails, q1, coroutines_not_results, "coroutine objects", "await"),
            (assert_fails, q1, plain_def, "plain `def`", "async def"),
            (assert_fails, q1, off_by_one, "KeyError", "no request 0", "range(len(ids))"),
        ]
    )


# ------------------------------------------------------------------ q2: a polite crawler
def test_q2_stub_is_not_attempted() -> None:
    assert_not_attempted(q2, _stub)


async def with_workers(fetch, urls, limit):
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    pages: dict[str, Any] = {}

    async def worker() -> None:
        while not queue.empty():
            url = queue.get_nowait()
            try:
                pages[url] = await fetch(url)
            except Exception as error:
                pages[url] = error

    await asyncio.gather(*(worker() for _ in range(limit)))
    return pages


async def try_inside(fetch, urls, limit):
    semaphore = asyncio.Semaphore(limit)

    async def fetch_one(url):
        async with semaphore:
            try:
                return url, await fetch(url)
            except Exception as error:
                return url, error

    return dict(await asyncio.gather(*(fetch_one(u) for u in urls)))


async def crashes(fetch, urls, limit):
    semaphore = asyncio.Semaphore(limit)

    async def fetch_one(url):
        async with semaphore:
            return await fetch(url)

    return dict(zip(urls, await asyncio.gather(*(fetch_one(u) for u in urls)), strict=True))


async def semaphore_per_request(fetch, urls, limit):
    async def fetch_one(url):
        async with asyncio.Semaphore(limit):
            return await fetch(url)

    pages = await asyncio.gather(*(fetch_one(u) for u in urls), return_exceptions=True)
    return dict(zip(urls, pages, strict=True))


async def one_by_one(fetch, urls, limit):
    pages = {}
    for url in urls:
        try:
            pages[url] = await fetch(url)
        except Exception as error:
            pages[url] = error
    return pages


async def in_batches(fetch, urls, limit):
    pages = {}
    for k in range(0, len(urls), limit):
        batch = urls[k : k + limit]
        results = await asyncio.gather(*(fetch(u) for u in batch), return_exceptions=True)
        pages.update(zip(batch, results, strict=True))
    return pages


async def drops_failures(fetch, urls, limit):
    semaphore = asyncio.Semaphore(limit)
    pages = {}

    async def fetch_one(url):
        async with semaphore:
            try:
                pages[url] = await fetch(url)
            except Exception:
                return  # the error is dropped, and with it the url

    await asyncio.gather(*(fetch_one(u) for u in urls))
    return pages


async def error_text(fetch, urls, limit):
    semaphore = asyncio.Semaphore(limit)

    async def fetch_one(url):
        async with semaphore:
            try:
                return await fetch(url)
            except Exception as error:
                return str(error)

    return dict(zip(urls, await asyncio.gather(*(fetch_one(u) for u in urls)), strict=True))


def test_q2_model_answer_workers_and_try_inside_pass() -> None:
    _assert_all(
        [
            (assert_passes, q2, solution_namespace(q1.notebook, "q2", **SETUP)["crawl"]),
            (assert_passes, q2, with_workers),
            (assert_passes, q2, try_inside),
        ]
    )


def test_q2_wrong_answers_get_specific_messages() -> None:
    _assert_all(
        [
            (assert_fails, q2, crashes, "crashed your crawl", "return_exceptions=True"),
            (assert_fails, q2, semaphore_per_request, "limit was 3", "each request gets its own"),
            (assert_fails, q2, one_by_one, "one after another"),
            (assert_fails, q2, in_batches, "slots stood idle", "batches"),
            (assert_fails, q2, drops_failures, "missing from the dict", "page/5"),
            (assert_fails, q2, error_text, "should be the exception", "stored its text"),
        ]
    )


# ------------------------------------------------------------------ q3: unblock the loop
def test_q3_stub_is_not_attempted() -> None:
    assert_not_attempted(q3, _stub)


async def with_run_in_executor(fetch, parse, url):
    page = await fetch(url)
    return await asyncio.get_running_loop().run_in_executor(None, parse, page)


async def unchanged(fetch, parse, url):
    page = await fetch(url)
    return parse(page)


async def async_wrapper(fetch, parse, url):
    async def parse_async(page):
        return parse(page)

    return await parse_async(await fetch(url))


async def thread_then_result(fetch, parse, url):
    page = await fetch(url)
    with concurrent.futures.ThreadPoolExecutor() as executor:
        return executor.submit(parse, page).result()


async def to_thread_not_awaited(fetch, parse, url):
    page = await fetch(url)
    return asyncio.to_thread(parse, page)


def test_q3_model_answer_and_run_in_executor_pass() -> None:
    _assert_all(
        [
            (assert_passes, q3, solution_namespace(q1.notebook, "q3", **SETUP)["title_of"]),
            (assert_passes, q3, with_run_in_executor),
        ]
    )


def test_q3_wrong_answers_get_specific_messages() -> None:
    _assert_all(
        [
            (assert_fails, q3, unchanged, "event loop's own thread", "without a tick"),
            (assert_fails, q3, async_wrapper, "event loop's own thread", "changes nothing"),
            (assert_fails, q3, thread_then_result, "blocking call", "future.result()"),
            (assert_fails, q3, to_thread_not_awaited, "coroutine object", "await"),
        ]
    )
