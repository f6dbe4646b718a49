"""Lesson 06 checks: right answers in many idioms pass, wrong ones get *their* message.

Every answer is an ``async def`` defined in a notebook cell of a fresh IPython shell
(``dev.cells.answer``), after the exercise's set-up cell. The checks await it on a fresh
event loop in a watchdog thread, so they are judged here exactly as in a notebook —
including from a thread whose own event loop is running (Jupyter's case). The answers of
one question are judged at the same time, each in its own thread.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from concurrency_lab.dev.answers import assert_not_attempted, assert_passes
from concurrency_lab.dev.answers import judge_all as judge_answers
from concurrency_lab.dev.cells import answer
from concurrency_lab.exercises import lesson06
from concurrency_lab.exercises.async_probes import (
    AsyncProbe,
    AsyncStudentTimeout,
    Heartbeat,
    html_page,
    idle_gaps,
    page_title,
    run_async_student,
    run_with_async_probe,
)
from concurrency_lab.exercises.core import NotAttempted, Problem, StudentError
from concurrency_lab.exercises.core import solution_from_notebook as model
from concurrency_lab.exercises.lesson06 import q1, q2, q3
from concurrency_lab.work.timeline import Event

SETUP = "import asyncio"


def _fn(name: str, cell: str) -> Any:
    return answer(name, SETUP, cell)


def judge_all(problem: Problem, name: str, cases: dict[str, tuple[str, ...] | str]) -> None:
    """Judge every answer at once (:func:`concurrency_lab.dev.answers.judge_all`)."""
    judge_answers(problem, name, cases, SETUP)


async def _stub(*args: Any) -> None:
    raise NotImplementedError()


def test_stubs_are_not_attempted() -> None:
    for problem in (q1, q2, q3):
        assert_not_attempted(problem, _stub)
        assert_not_attempted(problem, None)


# ------------------------------------------------------------------ the probe and runner
def test_probe_records_requests_failures_and_loops() -> None:
    probe = AsyncProbe({"a": 0.02, "b": 0.01}, fail_ids={"b"}, reply=html_page)

    async def both() -> list[Any]:
        return await asyncio.gather(probe.fetch("a"), probe.fetch("b"), return_exceptions=True)

    page, error = asyncio.run(both())
    assert page_title(page) == "Page a"
    assert isinstance(error, ConnectionError)
    assert probe.max_in_flight() == 2
    assert [e.ok for e in probe.events()] == [True, False]
    assert probe.calls_verdict() is None
    assert len(probe.away_from_home()) == 2  # no home loop set: every request is "away"


def test_idle_gaps_from_events() -> None:
    def ev(i: int, start: float, end: float) -> Event:
        return Event(i, "request", 1, "t", start, end)

    # Two slots; request 2 waits 0.1 s for a slot although one was free at 0.02.
    batches = [ev(0, 0.0, 0.12), ev(1, 0.0, 0.02), ev(2, 0.12, 0.14), ev(3, 0.12, 0.13)]
    (gap,) = idle_gaps(batches, 2, 4)
    assert (gap.start, gap.end, gap.in_flight, gap.waiting) == (0.02, 0.12, 1, 2)
    refilled = [ev(0, 0.0, 0.12), ev(1, 0.0, 0.02), ev(2, 0.02, 0.04), ev(3, 0.04, 0.06)]
    assert idle_gaps(refilled, 2, 4) == []


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
    fetch_all = _fn("fetch_all", model(q1.notebook, "q1"))

    async def in_a_running_loop() -> None:
        asyncio.get_running_loop()  # there is one, as in a notebook cell
        assert_passes(q1, fetch_all)

    asyncio.run(in_a_running_loop())


def test_requests_on_another_loop_are_seen_by_identity() -> None:
    async def via_threads(fetch, ids):
        with ThreadPoolExecutor() as pool:
            return list(pool.map(lambda i: asyncio.run(fetch(i)), ids))

    outcome = run_with_async_probe(via_threads, {3: 0.05, 8: 0.05})
    away = outcome.probe.away_from_home()
    assert len(away) == 2 and len({w.loop for w in away}) == 2


def test_heartbeat_sees_a_frozen_loop() -> None:
    async def scenario(block: bool) -> float:
        beat = Heartbeat(0.005)
        task = asyncio.ensure_future(beat.run())
        await asyncio.sleep(0.02)
        if block:
            time.sleep(0.1)
        else:
            await asyncio.sleep(0.1)
        beat.stop()
        await task
        return beat.longest_gap()

    assert asyncio.run(scenario(block=True)) >= 0.09
    assert asyncio.run(scenario(block=False)) < 0.09


# ------------------------------------------------------------------ q1: gather in order
Q1_RIGHT = [
    model(q1.notebook, "q1"),
    """
    async def fetch_all(fetch, ids):
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(fetch(i)) for i in ids]
        return [t.result() for t in tasks]
    """,
    """
    async def fetch_all(fetch, ids):
        tasks = []
        for request_id in ids:
            tasks.append(asyncio.create_task(fetch(request_id)))
        results = []
        for t in tasks:
            results.append(await t)  # already running: awaiting in order is fine
        return results
    """,
    """
    async def fetch_all(fetch, ids):
        async def tagged(i):
            return i, await fetch(i)

        by_id = {}
        for next_done in asyncio.as_completed([tagged(i) for i in ids]):
            i, result = await next_done
            by_id[i] = result
        return [by_id[i] for i in ids]
    """,
    """
    async def fetch_all(fetch, ids):
        tasks = [asyncio.ensure_future(fetch(i)) for i in ids]
        await asyncio.wait(tasks)
        return tuple(t.result() for t in tasks)
    """,
    """
    async def fetch_all(fetch, ids):
        limit = asyncio.Semaphore(3)  # polite, and still concurrent

        async def one(i):
            async with limit:
                return await fetch(i)

        return list(await asyncio.gather(*[one(i) for i in ids]))
    """,
    """
    def fetch_all(fetch, ids):  # not async, but returns an awaitable: awaiting it works
        return asyncio.gather(*(fetch(i) for i in ids))
    """,
    """
    async def fetch_all(fetch, ids):
        loop = asyncio.get_running_loop()
        futures = [loop.create_task(fetch(i)) for i in ids]
        done, pending = await asyncio.wait(futures, return_when=asyncio.ALL_COMPLETED)
        assert not pending
        return [f.result() for f in futures]
    """,
]

Q1_WRONG: dict[str, tuple[str, ...]] = {
    """
    async def fetch_all(fetch, ids):
        results = []
        for i in ids:
            results.append(await fetch(i))
        return results
    """: ("ran one after another", "Each `await fetch(i)`"),
    """
    async def fetch_all(fetch, ids):
        results = []
        for next_done in asyncio.as_completed([fetch(i) for i in ids]):
            results.append(await next_done)
        return results
    """: ("in finishing order", "as_completed"),
    """
    from concurrent.futures import ThreadPoolExecutor

    async def fetch_all(fetch, ids):
        with ThreadPoolExecutor() as pool:
            return list(pool.map(lambda i: asyncio.run(fetch(i)), ids))
    """: ("ran on another event loop", "5 other loop(s)"),
    """
    async def fetch_all(fetch, ids):
        def in_a_thread(i):
            return asyncio.run(fetch(i))

        return await asyncio.gather(*(asyncio.to_thread(in_a_thread, i) for i in ids))
    """: ("ran on another event loop", "asyncio.run"),
    """
    async def fetch_all(fetch, ids):
        return [fetch(i) for i in ids]
    """: ("returned coroutine objects", "await"),
    """
    def fetch_all(fetch, ids):
        return [fetch(i) for i in ids]
    """: ("plain `def`", "async def fetch_all"),
    """
    async def fetch_all(fetch, ids):
        return [asyncio.create_task(fetch(i)) for i in ids]
    """: ("returned Task objects",),
    """
    async def fetch_all(fetch, ids):
        return await asyncio.gather(*(fetch(i) for i in range(len(ids))))
    """: ("raised KeyError", "there is no request 0"),
    """
    async def fetch_all(fetch, ids):
        return sorted(await asyncio.gather(*(fetch(i) for i in ids)))
    """: ("All the results are there, but", "input order"),
    """
    async def fetch_all(fetch, ids):
        results = await asyncio.gather(*(fetch(i) for i in ids))
        await fetch(ids[0])  # "check the first one again"
        return results
    """: ("exactly once", "requested more than once"),
}


def test_q1_right_answers_pass() -> None:
    judge_all(q1, "fetch_all", dict.fromkeys(Q1_RIGHT, "pass"))


def test_q1_wrong_answers_get_their_message() -> None:
    judge_all(q1, "fetch_all", Q1_WRONG)


# ------------------------------------------------------------------ q2: polite crawler
Q2_RIGHT = [
    model(q2.notebook, "q2"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)

        async def fetch_one(url):
            async with semaphore:
                return await fetch(url)

        pages = await asyncio.gather(*(fetch_one(u) for u in urls), return_exceptions=True)
        return dict(zip(urls, pages))
    """,
    """
    async def crawl(fetch, urls, limit):
        queue = asyncio.Queue()
        for url in urls:
            queue.put_nowait(url)
        pages = {}

        async def worker():
            while not queue.empty():
                url = queue.get_nowait()
                try:
                    pages[url] = await fetch(url)
                except ConnectionError as error:
                    pages[url] = error

        await asyncio.gather(*(worker() for _ in range(limit)))
        return pages
    """,
    """
    async def crawl(fetch, urls, limit):
        todo = iter(urls)
        pages = {}

        async def worker():
            for url in todo:  # the workers share one iterator
                try:
                    pages[url] = await fetch(url)
                except Exception as error:
                    pages[url] = error

        async with asyncio.TaskGroup() as tg:
            for _ in range(limit):
                tg.create_task(worker())
        return pages
    """,
    """
    async def crawl(fetch, urls, limit):
        pages = {}
        waiting = list(urls)
        running = {}
        while waiting or running:
            while waiting and len(running) < limit:
                url = waiting.pop(0)
                running[asyncio.create_task(fetch(url))] = url
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                url = running.pop(task)
                pages[url] = task.exception() or task.result()
        return pages
    """,
    """
    async def crawl(fetch, urls, limit):
        sem = asyncio.Semaphore(limit)
        results = {}

        async def get(url):
            await sem.acquire()
            try:
                results[url] = await fetch(url)
            except OSError as e:  # ConnectionError is an OSError
                results[url] = e
            finally:
                sem.release()

        tasks = []
        for url in urls:
            tasks.append(asyncio.create_task(get(url)))
        for t in tasks:
            await t
        return results
    """,
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)

        async def one(url):
            async with semaphore:
                try:
                    return url, await fetch(url)
                except ConnectionError as error:
                    return url, error

        pages = {}
        for next_done in asyncio.as_completed([one(u) for u in urls]):
            url, page = await next_done
            pages[url] = page
        return pages
    """,
]

Q2_WRONG: dict[str, tuple[str, ...]] = {
    """
    async def crawl(fetch, urls, limit):
        pages = {}
        for start in range(0, len(urls), limit):
            batch = urls[start:start + limit]
            results = await asyncio.gather(*(fetch(u) for u in batch), return_exceptions=True)
            pages.update(zip(batch, results))
        return pages
    """: ("slots stood idle", "heartbeat coroutine ticked"),
    """
    async def crawl(fetch, urls, limit):
        results = await asyncio.gather(*(fetch(u) for u in urls), return_exceptions=True)
        return dict(zip(urls, results))
    """: ("requests were in flight at once; the limit was", "Nothing limited them"),
    """
    async def crawl(fetch, urls, limit):
        async def fetch_one(url):
            async with asyncio.Semaphore(limit):  # a new semaphore for every request
                return await fetch(url)

        results = await asyncio.gather(*(fetch_one(u) for u in urls), return_exceptions=True)
        return dict(zip(urls, results))
    """: ("the limit was", "each request gets its own"),
    """
    async def crawl(fetch, urls, limit):
        pages = {}
        for url in urls:
            try:
                pages[url] = await fetch(url)
            except ConnectionError as error:
                pages[url] = error
        return pages
    """: ("ran one after another",),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit - 1)  # "to be safe"

        async def fetch_one(url):
            async with semaphore:
                return await fetch(url)

        results = await asyncio.gather(*(fetch_one(u) for u in urls), return_exceptions=True)
        return dict(zip(urls, results))
    """: ("Never more than", "use all"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(3)  # the number from the example, not `limit`

        async def fetch_one(url):
            async with semaphore:
                return await fetch(url)

        results = await asyncio.gather(*(fetch_one(u) for u in urls), return_exceptions=True)
        return dict(zip(urls, results))
    """: ("in flight", "limit"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)

        async def fetch_one(url):
            async with semaphore:
                return await fetch(url)

        return dict(zip(urls, await asyncio.gather(*(fetch_one(u) for u in urls))))
    """: ("ConnectionError crashed your crawl", "return_exceptions=True"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)

        async def fetch_one(url):
            async with semaphore:
                return await fetch(url)

        async with asyncio.TaskGroup() as tg:
            tasks = {url: tg.create_task(fetch_one(url)) for url in urls}
        return {url: t.result() for url, t in tasks.items()}
    """: ("crashed your crawl", "ExceptionGroup"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)

        async def fetch_one(url):
            async with semaphore:
                try:
                    return await fetch(url)
                except ConnectionError as error:
                    return f"error: {error}"

        return dict(zip(urls, await asyncio.gather(*(fetch_one(u) for u in urls))))
    """: ("should be the exception", "you stored its text"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)
        pages = {}

        async def fetch_one(url):
            async with semaphore:
                try:
                    pages[url] = await fetch(url)
                except ConnectionError:
                    pass  # skip the broken ones

        await asyncio.gather(*(fetch_one(u) for u in urls))
        return pages
    """: ("missing from the dict", "must not drop its failures"),
    """
    from concurrent.futures import ThreadPoolExecutor

    async def crawl(fetch, urls, limit):
        def get(url):
            try:
                return asyncio.run(fetch(url))
            except ConnectionError as error:
                return error

        with ThreadPoolExecutor(max_workers=limit) as pool:
            return dict(zip(urls, pool.map(get, urls)))
    """: ("ran on another event loop", "other thread(s)"),
    """
    async def crawl(fetch, urls, limit):
        semaphore = asyncio.Semaphore(limit)

        async def fetch_one(url):
            async with semaphore:
                return await fetch(url)

        return await asyncio.gather(*(fetch_one(u) for u in urls), return_exceptions=True)
    """: ("should return a dict", "list"),
}


def test_q2_right_answers_pass() -> None:
    judge_all(q2, "crawl", dict.fromkeys(Q2_RIGHT, "pass"))


def test_q2_wrong_answers_get_their_message() -> None:
    judge_all(q2, "crawl", Q2_WRONG)


def test_a_hung_coroutine_is_cancelled_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crawl that never finishes: the check cancels it inside its own loop and says so."""
    monkeypatch.setattr(lesson06, "TIMEOUT", 1.0)
    started = time.perf_counter()
    judge_all(
        q2,
        "crawl",
        {
            """
    async def crawl(fetch, urls, limit):
        pages = {}
        semaphore = asyncio.Semaphore(limit)

        async def fetch_one(url):
            await semaphore.acquire()  # ... and never released
            try:
                pages[url] = await fetch(url)
            except ConnectionError as error:
                pages[url] = error

        await asyncio.gather(*(fetch_one(u) for u in urls))
        return pages
    """: ("did not finish within", "a Semaphore acquired and never released"),
        },
    )
    assert time.perf_counter() - started < 2.5


# ------------------------------------------------------------------ q3: unblock the loop
Q3_RIGHT = [
    model(q3.notebook, "q3"),
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, parse, page)
    """,
    """
    from concurrent.futures import ThreadPoolExecutor

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        with ThreadPoolExecutor(max_workers=1) as pool:
            title = await asyncio.get_running_loop().run_in_executor(pool, parse, page)
        return title
    """,
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return await asyncio.to_thread(lambda: parse(page))
    """,
    """
    import functools

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        call = functools.partial(parse, page)
        return await asyncio.get_event_loop().run_in_executor(None, call)
    """,
    """
    from concurrent.futures import ThreadPoolExecutor

    POOL = ThreadPoolExecutor(max_workers=4)

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return await asyncio.wrap_future(POOL.submit(parse, page))
    """,
]

Q3_WRONG: dict[str, tuple[str, ...]] = {
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return parse(page)
    """: ("still ran in the event loop's own thread", "asyncio.to_thread(parse, page)"),
    """
    async def parse_async(parse, page):
        return parse(page)

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return await parse_async(parse, page)
    """: ("still ran in the event loop's own thread", "changes nothing"),
    """
    from concurrent.futures import ThreadPoolExecutor

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        with ThreadPoolExecutor() as pool:
            return pool.submit(parse, page).result()
    """: ("the loop still froze", "future.result()"),
    """
    import threading

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        box = {}
        worker = threading.Thread(target=lambda: box.update(title=parse(page)))
        worker.start()
        worker.join()
        return box["title"]
    """: ("the loop still froze", "thread.join()"),
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return asyncio.to_thread(parse, page)
    """: ("returned a coroutine or future", "await"),
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return await asyncio.to_thread(parse(page))
    """: ("before the worker got it", "to_thread(parse, page)"),
    """
    def title_of(fetch, parse, url):
        return parse(asyncio.run(fetch(url)))
    """: ("raised RuntimeError", "cannot be called from a running event loop"),
    """
    async def title_of(fetch, parse, url):
        page = fetch(url)
        return await asyncio.to_thread(parse, page)
    """: ("parse got a coroutine instead of the page", "page = await fetch(url)"),
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        await asyncio.to_thread(parse, page)
        return page
    """: ("titles are not the ones expected", "parse(page)"),
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        title = await asyncio.to_thread(parse, page)
        assert title == await asyncio.to_thread(parse, page)  # double-check
        return title
    """: ("parse was called 6 times", "once per page"),
    """
    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return asyncio.get_running_loop().run_in_executor(None, parse, page)
    """: ("returned a coroutine or future", "await"),
}


def test_q3_right_answers_pass() -> None:
    judge_all(q3, "title_of", dict.fromkeys(Q3_RIGHT, "pass"))


def test_q3_wrong_answers_get_their_message() -> None:
    judge_all(q3, "title_of", Q3_WRONG)


@pytest.mark.parametrize("method", ["spawn", "default"])
def test_q3_a_process_pool_passes(method: str) -> None:
    """The lesson hands CPU-heavy work to a ProcessPoolExecutor: the parse probe pickles,
    and its records come back from the child processes."""
    context = "None" if method == "default" else f"multiprocessing.get_context({method!r})"
    cell = f"""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    POOL = ProcessPoolExecutor(max_workers=3, mp_context={context})

    async def title_of(fetch, parse, url):
        page = await fetch(url)
        return await asyncio.get_running_loop().run_in_executor(POOL, parse, page)
    """
    namespace_fn = _fn("title_of", cell)
    try:
        verdict = q3.verdict(namespace_fn)
    finally:
        namespace_fn.__globals__["POOL"].shutdown()
    assert verdict.ok, verdict.plain()
    assert "process" in verdict.headline


@pytest.mark.parametrize("problem", [q1, q2, q3], ids=lambda p: p.name)
def test_hints_and_solution_show(problem: Problem) -> None:
    assert problem.hint().plain
    assert "async def " in problem.solution().plain
