"""Exercises for lesson 06, asyncio: gather in order, a polite crawler, unblock the loop.

``from concurrency_lab.exercises.lesson06 import q1, q2, q3``

* q1 — ``async def fetch_all(fetch, ids)``: await every request concurrently and return the
  results in input order (``asyncio.gather``), not one ``await`` after another, not in
  finishing order.
* q2 — ``async def crawl(fetch, urls, limit)``: fetch every url with at most ``limit``
  requests in flight — and all ``limit`` slots in use while urls wait (one shared
  ``asyncio.Semaphore``); return ``{url: page}``, with a failed request's exception as its
  value, without the crawl crashing.
* q3 — ``async def title_of(fetch, parse, url)``: ``parse`` is a blocking function; run it
  in a worker thread (``asyncio.to_thread``) so the event loop keeps serving the other
  coroutines.

The answers are coroutine functions, but ``qN.check(answer)`` is an ordinary call: it
awaits the answer on a fresh event loop in a watchdog thread
(:func:`~concurrency_lab.exercises.async_probes.run_async_student`), so it works in
Jupyter, whose own loop is already running, as well as in scripts and tests. The
requests are :class:`~concurrency_lab.exercises.async_probes.AsyncProbe` calls with fixed
durations. Every verdict is decided by a wide margin or by a count, not a close timing:
a concurrent gather reaches a concurrency of about 3 where one-by-one awaits stay at 1.0;
the crawler's limit is judged by an exact count of requests in flight; batches leave
about 0.4 slot-seconds idle where a semaphore leaves a few milliseconds; a parse called
in the loop's thread is seen directly (the thread was running the loop), and a loop
frozen while waiting for a thread misses its 10 ms heartbeat during every 120 ms parse.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from concurrency_lab.exercises.async_probes import (
    AsyncOutcome,
    AsyncProbe,
    BlockingCall,
    Heartbeat,
    RequestFailed,
    awaitables_in,
    html_page,
    idle_slot_time,
    labelled_timeline,
    page_title,
    request_label,
    run_async_student,
    run_with_async_probe,
)
from concurrency_lab.exercises.core import (
    FunctionProblem,
    StudentError,
    Verdict,
    failed,
    first_difference,
    passed,
    register,
)
from concurrency_lab.exercises.probing import results_verdict
from concurrency_lab.work.probes import probe_result
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "Q1_DURATIONS",
    "Q2_DURATIONS",
    "Q2_FAIL_URLS",
    "Q2_LIMIT",
    "Q3_DURATIONS",
    "Q3_PARSE_SECONDS",
    "q1",
    "q2",
    "q3",
]

TIMEOUT = 5.0


def _as_text(ids: list[Any]) -> str:
    return "[" + ", ".join(repr(i) for i in ids) + "]"


# ---------------------------------------------------------------------------- q1
# The slowest request first, the fastest second: input order and finishing order differ.
Q1_DURATIONS: dict[int, float] = {7: 0.12, 3: 0.03, 9: 0.09, 1: 0.06, 5: 0.105}


def _q1_trial(fetch_all: Callable[..., Any]) -> Verdict:
    outcome = run_with_async_probe(fetch_all, Q1_DURATIONS, timeout=TIMEOUT)
    ids = list(Q1_DURATIONS)
    expected = [probe_result(i) for i in ids]
    problem = outcome.not_async_failure("fetch_all") or outcome.awaitables_failure("fetch_all")
    if problem:
        return problem
    wrong = results_verdict(
        outcome,
        expected,
        ids,
        name="fetch_all",
        noun="request",
        advice="asyncio.as_completed() (and appending as requests finish) gives finishing "
        "order. `await asyncio.gather(...)` returns the results in the order of its "
        "arguments, whatever order the requests finish in.",
    )
    if wrong:
        return wrong
    sequential = outcome.overlap_failure(
        "Right results in the right order, but the requests ran one after another.",
        "Each `await fetch(i)` inside your loop waited for that request to finish before "
        "the next one was even started. Start them all, then wait once: "
        "`await asyncio.gather(*(fetch(i) for i in ids))`.",
    )
    if sequential:
        return sequential
    return passed(
        "Every result, in input order, and the requests overlapped on one event loop.",
        f"wall time {fmt_seconds(outcome.wall)} against a sum of request times of "
        f"{fmt_seconds(outcome.busy)}; the slowest request came first, yet its result is "
        "first too",
    )


q1 = FunctionProblem(
    name="q1",
    trial=_q1_trial,
    hints=[
        "`fetch(i)` without `await` only *creates* a coroutine; nothing runs yet. Make one "
        "for every id, then hand them all to `asyncio.gather(...)` and await that once.",
        "`return await asyncio.gather(*(fetch(i) for i in ids))` — the `*` unpacks the "
        "coroutines into separate arguments, and gather returns their results in that order.",
    ],
    solution_note="Creating tasks first (`tasks = [asyncio.create_task(fetch(i)) for i in "
    "ids]`) and then awaiting each in a loop is also concurrent: the tasks are running "
    "already while you wait for the first. On Python 3.11+ an `asyncio.TaskGroup` does the "
    "same with better error handling.",
)


# ---------------------------------------------------------------------------- q2
# Limit 3, nine pages: a slow page leads each group of three, so batches of three wait
# ~0.1 s for their slowest page with two slots idle, where a semaphore reuses each slot
# at once (0.36 s against 0.21 s; one by one takes 0.57 s). Two fast pages fail.
Q2_LIMIT = 3
_Q2_SECONDS = (0.15, 0.03, 0.03, 0.12, 0.03, 0.03, 0.09, 0.03, 0.06)
Q2_DURATIONS: dict[str, float] = {
    f"https://example.com/page/{n}": seconds for n, seconds in enumerate(_Q2_SECONDS, start=1)
}
Q2_FAIL_URLS: frozenset[str] = frozenset(
    {"https://example.com/page/5", "https://example.com/page/8"}
)
# Slot-seconds left idle while pages waited: batches leave ~0.4, a semaphore ~0.001.
_Q2_MAX_IDLE = 0.05


def _q2_call(crawl: Callable[..., Any], probe: AsyncProbe) -> Any:
    return crawl(probe.fetch, probe.ids, Q2_LIMIT)


def _q2_trial(crawl: Callable[..., Any]) -> Verdict:
    urls = list(Q2_DURATIONS)
    try:
        outcome = run_with_async_probe(
            crawl,
            Q2_DURATIONS,
            fail_ids=Q2_FAIL_URLS,
            reply=html_page,
            call=_q2_call,
            timeout=TIMEOUT,
        )
    except StudentError as error:
        if not isinstance(error.exc, RequestFailed):
            raise
        where = error.verdict()
        return failed(
            f"A failed request crashed your crawl: {type(error.exc).__name__}: {error.exc}.",
            *where.details[1:],
            "`await asyncio.gather(...)` re-raises the first exception of any request. "
            "Catch it per request (try/except around `await fetch(url)`) or pass "
            "`return_exceptions=True`, and store the exception under its url.",
            code=where.code,
        )
    problem = outcome.not_async_failure("crawl") or outcome.awaitables_failure("crawl")
    if problem:
        return problem
    pages = outcome.value
    if not isinstance(pages, Mapping):
        return failed(
            f"crawl should return a dict {{url: page}}, got {type(pages).__name__}.",
            "`dict(zip(urls, results))` pairs each url with its result, in order.",
        )
    failing = [u for u in urls if u in Q2_FAIL_URLS]
    succeeding = [u for u in urls if u not in Q2_FAIL_URLS]
    lost = [u for u in failing if u not in pages]
    missing = [u for u in succeeding if u not in pages]
    if missing:
        return failed(
            f"The pages of {_as_text(missing)} are missing; those requests succeeded.",
            code=outcome.describe(),
        )
    if lost:
        return failed(
            f"The failed request(s) {_as_text(lost)} are missing from the dict.",
            "A crawler must not drop its failures silently: store the exception the request "
            "raised under its url (`pages[url] = error`), so the caller can report or retry it.",
        )
    extra = [u for u in pages if u not in Q2_DURATIONS]
    if extra:
        return failed(f"The dict has keys that are not urls you were given: {_as_text(extra)}.")
    wrong = [u for u in succeeding if pages[u] != html_page(u)]
    if wrong:
        u = wrong[0]
        return failed(
            f"pages[{u!r}] should be the page's text, {html_page(u)!r}; got {pages[u]!r}.",
            "Store what `await fetch(url)` returned, under its url.",
        )
    for u in failing:
        value = pages[u]
        if isinstance(value, BaseException):
            continue
        if isinstance(value, str) and "503" in value:
            advice = "you stored its text; store the exception object itself"
        else:
            advice = "store the exception object the request raised"
        return failed(
            f"pages[{u!r}] should be the exception that request raised; got {value!r}.",
            f"{advice} (`except Exception as error: return error`, or "
            "`gather(..., return_exceptions=True)`).",
        )
    wrong_calls = outcome.wrong_calls_failure("crawl")
    if wrong_calls:
        return wrong_calls
    most = outcome.probe.max_in_flight()
    if most > Q2_LIMIT:
        why = (
            "Nothing limited them: every request started at once."
            if most == len(urls)
            else "Something let more requests through than the limit."
        )
        return failed(
            f"Up to {most} requests were in flight at once; the limit was {Q2_LIMIT}.",
            why,
            "Create ONE `asyncio.Semaphore(limit)` before starting the requests and make "
            "every request `async with` that same semaphore. A semaphore created inside the "
            "per-url coroutine limits nothing: each request gets its own.",
            code=outcome.describe(),
        )
    if most < Q2_LIMIT:
        headline = (
            "The requests ran one after another."
            if most == 1
            else f"Never more than {most} requests were in flight; the limit allows {Q2_LIMIT}."
        )
        return failed(
            headline,
            f"wall time {fmt_seconds(outcome.wall)} against a sum of request times of "
            f"{fmt_seconds(outcome.busy)}",
            f"The limit is a maximum, and also what the server allows: use all {Q2_LIMIT} "
            "slots. Start every request (gather) and let the semaphore hold back the "
            "ones beyond the limit.",
            code=outcome.describe(),
        )
    idle = idle_slot_time(outcome.events, Q2_LIMIT)
    if idle > _Q2_MAX_IDLE:
        return failed(
            f"Never more than {Q2_LIMIT} at once — but slots stood idle while pages were "
            "still waiting.",
            f"{fmt_seconds(idle)} of request-slot time went unused before the last page "
            f"started; wall time {fmt_seconds(outcome.wall)}",
            "Batches of `limit` pages (gather one batch, then the next) wait for the slowest "
            "page of each batch. With one shared semaphore, a finished request frees its "
            "slot for the next page at once.",
            code=outcome.describe(),
        )
    return passed(
        f"All {len(urls)} urls in the dict ({len(succeeding)} pages, {len(failing)} errors), "
        f"never more than {Q2_LIMIT} requests at once, and no slot left idle.",
        f"wall time {fmt_seconds(outcome.wall)} against a sum of request times of "
        f"{fmt_seconds(outcome.busy)}",
    )


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "Create `semaphore = asyncio.Semaphore(limit)` once. Write a small inner coroutine "
        "`fetch_one(url)` that does `async with semaphore: return await fetch(url)`, and "
        "gather `fetch_one(url)` for every url: all start, only `limit` get past the "
        "semaphore at a time.",
        "`await asyncio.gather(..., return_exceptions=True)` puts a failed request's "
        "exception in the results list instead of raising it; "
        "`dict(zip(urls, results))` then gives the dict.",
    ],
    solution_note="`limit` worker coroutines that take urls from an `asyncio.Queue` keep the "
    "slots busy just as well; so does a try/except inside `fetch_one` that returns the error.",
)


# ---------------------------------------------------------------------------- q3
Q3_DURATIONS: dict[str, float] = {
    "https://example.com/page/1": 0.04,
    "https://example.com/page/2": 0.03,
    "https://example.com/page/3": 0.05,
}
Q3_PARSE_SECONDS = 0.12
_HEARTBEAT = 0.01
# A loop that waits for each parse in its own thread misses its heartbeat for the whole
# of every parse (0.12 s); a free loop ticks every 10 ms or so. "Frozen" means no tick
# inside any of the three parses (leaving 20 ms at each end): a loop that is free would
# have to be starved for 80 ms three times over to look frozen.
_Q3_MARGIN = 0.02


class _Plain:
    """title_of returned values that cannot be awaited (it is a plain ``def``)."""

    def __init__(self, values: list[Any]) -> None:
        self.values = values


async def _q3_scenario(
    title_of: Callable[..., Any], probe: AsyncProbe, parse: BlockingCall, heartbeat: Heartbeat
) -> Any:
    beat = asyncio.ensure_future(heartbeat.run())
    try:
        calls = [title_of(probe.fetch, parse, url) for url in probe.ids]
        if not all(inspect.isawaitable(c) for c in calls):
            for c in calls:
                awaitables_in(c)
            return _Plain(calls)
        return await asyncio.gather(*calls)
    finally:
        heartbeat.stop()
        await beat


def _q3_timeline(outcome: AsyncOutcome, parse: BlockingCall, heartbeat: Heartbeat) -> str:
    rows = [(request_label(e.task_id), e.start, e.end) for e in outcome.events]
    rows += [(e.task_id, e.start, e.end) for e in parse.events()]
    return labelled_timeline(rows, heartbeat.ticks)


def _q3_trial(title_of: Callable[..., Any]) -> Verdict:
    urls = list(Q3_DURATIONS)
    probe = AsyncProbe(Q3_DURATIONS, reply=html_page)
    parse = BlockingCall(Q3_PARSE_SECONDS, page_title, "parse")
    heartbeat = Heartbeat(_HEARTBEAT)
    value, wall, _ = run_async_student(
        lambda: _q3_scenario(title_of, probe, parse, heartbeat), timeout=TIMEOUT
    )
    outcome = AsyncOutcome(value, wall, True, probe.events(), probe)
    if isinstance(value, _Plain):
        return failed(
            "title_of returned a value without being awaited: it is a plain `def`, not an "
            "`async def`.",
            "Keep `async def title_of(fetch, parse, url):` — only a coroutine function can "
            "await the request and the worker thread.",
        )
    found = [x for part in value for x in awaitables_in(part)]
    if found:
        return failed(
            "title_of returned a coroutine object, not the title.",
            "`asyncio.to_thread(parse, page)` returns a coroutine: nothing runs until you "
            "await it. `return await asyncio.to_thread(parse, page)`.",
        )
    expected = [page_title(html_page(u)) for u in urls]
    if list(value) != expected:
        return failed(
            "The titles are not the ones expected.",
            first_difference(list(value), expected),
            "title_of(fetch, parse, url) should return parse(page), where page is what "
            "`await fetch(url)` gave.",
        )
    wrong_calls = outcome.wrong_calls_failure("title_of")
    if wrong_calls:
        return wrong_calls
    if len(parse.calls) != len(urls):
        return failed(
            f"parse was called {len(parse.calls)} times for {len(urls)} pages; call it once "
            "per page."
        )
    gap = heartbeat.longest_gap()
    beat = (
        f"a heartbeat coroutine that should tick every {fmt_seconds(_HEARTBEAT)} went "
        f"{fmt_seconds(gap)} without a tick; one parse blocks for "
        f"{fmt_seconds(Q3_PARSE_SECONDS)}"
    )
    timeline = _q3_timeline(outcome, parse, heartbeat)
    if parse.ran_in_loop_thread():
        return failed(
            "parse still ran in the event loop's own thread, so it froze the loop: no other "
            "coroutine could run until it returned.",
            beat,
            "Calling a blocking function from a coroutine — directly, or from another "
            "`async def` (which changes nothing) — runs it in the loop's thread. Hand it to "
            "a worker thread and await the result: `await asyncio.to_thread(parse, page)`.",
            code=timeline,
        )
    frozen = [
        (start, end)
        for start, end, *_ in parse.calls
        if heartbeat.ticks_between(start + _Q3_MARGIN, end - _Q3_MARGIN) == 0
    ]
    if len(frozen) == len(parse.calls):
        return failed(
            "parse ran in another thread, but the loop still froze while it ran: your "
            "coroutine waited for that thread with a blocking call.",
            beat,
            "future.result() or thread.join() block the loop's thread just as parse did. "
            "Await instead: `await asyncio.to_thread(parse, page)` or "
            "`await loop.run_in_executor(None, parse, page)`.",
            code=timeline,
        )
    return passed(
        "parse ran in worker threads, and the event loop kept running the other coroutines "
        "meanwhile.",
        f"the heartbeat's longest gap was {fmt_seconds(gap)} (ticks every "
        f"{fmt_seconds(_HEARTBEAT)}), while each parse blocked its thread for "
        f"{fmt_seconds(Q3_PARSE_SECONDS)}; wall time {fmt_seconds(wall)}",
    )


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "Other coroutines run only while this one is suspended at an `await`. A plain call "
        "to parse never suspends: it keeps the loop's thread busy until it returns. Move "
        "parse to another thread and await its result.",
        "`return await asyncio.to_thread(parse, page)` runs parse in a worker thread and "
        "suspends only this coroutine until it is done.",
    ],
    solution_note="Before Python 3.9 the same is "
    "`await asyncio.get_running_loop().run_in_executor(None, parse, page)`, which also "
    "lets you choose the executor (a process pool for CPU-heavy parsing).",
)

PROBLEMS = register(globals())
