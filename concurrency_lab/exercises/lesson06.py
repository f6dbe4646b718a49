"""Exercises for lesson 06, asyncio: gather in order, a polite crawler, unblock the loop.

``from concurrency_lab.exercises.lesson06 import q1, q2, q3``

* q1 — ``async def fetch_all(fetch, ids)``: await every request concurrently, on the one
  event loop, and return the results in input order (``asyncio.gather`` or a
  ``TaskGroup``), not one ``await`` after another, not in finishing order, not one
  ``asyncio.run`` per request in threads.
* q2 — ``async def crawl(fetch, urls, limit)``: fetch every url with at most ``limit``
  requests in flight — and all ``limit`` slots in use while urls wait (one shared
  ``asyncio.Semaphore``, or ``limit`` workers); return ``{url: page}``, with a failed
  request's ``ConnectionError`` as its value, without the crawl crashing.
* q3 — ``async def title_of(fetch, parse, url)``: ``parse`` is a blocking function; run it
  off the loop's thread (``asyncio.to_thread``, or ``run_in_executor`` with a thread or
  process pool) so the event loop keeps serving the other coroutines.

The answers are coroutine functions, but ``qN.check(answer)`` is an ordinary call: it
awaits the answer on a fresh event loop in a watchdog thread
(:func:`~concurrency_lab.exercises.async_probes.run_async_student`), so it works in
Jupyter, whose own loop is already running, as well as in scripts and tests. Each check
draws new ids (and q2 tries two different limits), so no answer can fit them.

Every verdict is decided by data, not by how fast the machine is: which event loop (by
identity) and thread awaited each request; an exact count of requests in flight; the
order of starts and ends; in q2, how many times the loop went round (a heartbeat
coroutine's ticks) while a slot stood free and urls waited — a semaphore refills a slot
within an iteration or two, batches leave it empty for dozens; in q3, the process and
thread each ``parse`` ran in, and whether the heartbeat ticked at all during the parses
(a loop that missed every tick is tried once more before it is called frozen: a
blocking wait repeats, a starved machine practically never does).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from typing import Any

from concurrency_lab.exercises.async_probes import (
    AsyncProbe,
    Heartbeat,
    NotAwaitable,
    RequestFailed,
    awaitables_failure,
    awaitables_in,
    html_page,
    idle_gaps,
    labelled_timeline,
    not_async_failure,
    other_loops_failure,
    outcome_of,
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
from concurrency_lab.exercises.probing import (
    ProbeOutcome,
    first_failure,
    results_verdict,
    varied_ids,
)
from concurrency_lab.work.aio_probes import BlockingParse, ParseCall
from concurrency_lab.work.probes import probe_result
from concurrency_lab.work.timing import fmt_seconds

__all__ = ["Q1_SECONDS", "Q2_PAGES", "Q3_PARSE_SECONDS", "q1", "q2", "q3"]

TIMEOUT = 4.0  # a hung answer is cancelled after this; every right answer needs < 1 s


def _as_text(ids: list[Any]) -> str:
    return "[" + ", ".join(repr(i) for i in ids) + "]"


def _rng() -> random.Random:
    return random.Random(time.time_ns())


def _page_urls(rng: random.Random, count: int) -> list[str]:
    return [f"https://example.com/page/{n}" for n in varied_ids(count, rng)]


async def _with_heartbeat(heartbeat: Heartbeat, make: Callable[[], Any]) -> Any:
    """Await ``make()`` next to a running heartbeat (a plain ``def``'s value is wrapped)."""
    beat = asyncio.ensure_future(heartbeat.run())
    try:
        result = make()
        if not inspect.isawaitable(result):
            return NotAwaitable(result)
        return await result
    finally:
        heartbeat.stop()
        await beat


# ---------------------------------------------------------------------------- q1
# By position: the slowest request first, the fastest second; finishing order differs
# from input order in every position. The ids are drawn anew for each check.
Q1_SECONDS = (0.2, 0.06, 0.16, 0.1, 0.13)


def _q1_trial(fetch_all: Callable[..., Any]) -> Verdict:
    ids = varied_ids(len(Q1_SECONDS), _rng())
    durations = dict(zip(ids, Q1_SECONDS, strict=True))
    outcome = run_with_async_probe(fetch_all, durations, timeout=TIMEOUT)
    expected = [probe_result(i) for i in ids]
    return first_failure(
        lambda: not_async_failure(outcome, "fetch_all"),
        lambda: awaitables_failure(outcome, "fetch_all"),
        lambda: other_loops_failure(outcome, "fetch_all"),
        lambda: outcome.wrong_calls_failure("fetch_all", "await fetch(i) once for each of them"),
        lambda: results_verdict(
            outcome,
            expected,
            ids,
            name="fetch_all",
            noun="request",
            advice="asyncio.as_completed() (and appending as requests finish) gives "
            "finishing order. `await asyncio.gather(...)` returns the results in the order "
            "of its arguments, whatever order the requests finish in; so does a list of "
            "TaskGroup tasks read in order.",
        ),
        lambda: _one_at_a_time(outcome),
    ) or _q1_passed(outcome)


def _one_at_a_time(outcome: ProbeOutcome) -> Verdict | None:
    if outcome.probe.max_in_flight() > 1:
        return None
    return failed(
        "Right results in the right order, but the requests ran one after another.",
        "each request started only after the one before it had finished (never two in "
        f"flight at once); wall time {fmt_seconds(outcome.wall)} against a sum of request "
        f"times of {fmt_seconds(outcome.busy)}",
        "Each `await fetch(i)` inside your loop waited for that request to finish before "
        "the next one was even started. Start them all, then wait once: "
        "`await asyncio.gather(*(fetch(i) for i in ids))`.",
        code=outcome.describe(),
    )


def _q1_passed(outcome: ProbeOutcome) -> Verdict:
    most, total = outcome.probe.max_in_flight(), len(outcome.probe.ids)
    together = (
        f"all {total} requests were in flight at once"
        if most == total
        else f"up to {most} of {total} requests were in flight at once"
    )
    return passed(
        "Every result, in input order, and the requests overlapped on one event loop.",
        f"{together}; wall time {fmt_seconds(outcome.wall)} against a sum of request times "
        f"of {fmt_seconds(outcome.busy)}; the slowest request came first, yet its result "
        "is first too",
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
    solution_note="An `asyncio.TaskGroup` does the same with better error handling: "
    "`async with asyncio.TaskGroup() as tg: tasks = [tg.create_task(fetch(i)) for i in ids]`, "
    "then `return [t.result() for t in tasks]` after the block.",
)


# ---------------------------------------------------------------------------- q2
# Ten pages; two crawls, each with a limit drawn from 2-4 (the two differ). Two pages are
# slow (0.25 s), the others fast (0.05-0.08 s); in the given order, reversed and sorted, a
# slow page is followed by at least `limit` others, so batches of `limit` leave slots empty
# for ~0.17 s while pages wait, whatever order an answer takes the urls in. Two fast pages
# fail.
Q2_PAGES = 10
_Q2_SLOW = 0.25
_Q2_FAST = (0.05, 0.08)
_Q2_BEAT = 0.005
# A gap in which the loop went round this many times (heartbeat ticks, >= 35 ms) without
# starting a waiting url is a slot left idle. A semaphore or workers refill a freed slot
# within one or two loop iterations, busy machine or not; a batch leaves it empty for
# ~0.17 s, about 30 ticks.
_Q2_IDLE_TICKS = 8


def _q2_setup(rng: random.Random, limit: int) -> tuple[dict[str, float], frozenset[str]]:
    while True:
        urls = _page_urls(rng, Q2_PAGES)
        slow = set(rng.sample(urls, 2))
        orders = (urls, urls[::-1], sorted(urls))
        if all(any(order.index(u) < Q2_PAGES - limit for u in slow) for order in orders):
            break
    durations = {u: _Q2_SLOW if u in slow else rng.uniform(*_Q2_FAST) for u in urls}
    fail = frozenset(rng.sample([u for u in urls if u not in slow], 2))
    return durations, fail


def _exceptions_in(exc: BaseException) -> list[BaseException]:
    """``exc`` itself, or the leaves of an exception group (a TaskGroup's failures)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _exceptions_in(sub)]
    return [exc]


def _crashed(error: StudentError) -> Verdict | None:
    leaves = _exceptions_in(error.exc)
    if not any(isinstance(leaf, RequestFailed) for leaf in leaves):
        return None
    where = error.verdict()
    group = isinstance(error.exc, BaseExceptionGroup)
    shown = next(leaf for leaf in leaves if isinstance(leaf, RequestFailed))
    how = (
        "In a TaskGroup, a task that raises cancels the others and the block raises an "
        "ExceptionGroup. Catch the error inside each task (try/except around "
        "`await fetch(url)`) and store it under its url."
        if group
        else "`await asyncio.gather(...)` re-raises the first exception of any request. "
        "Catch it per request (try/except ConnectionError around `await fetch(url)`) or "
        "pass `return_exceptions=True`, and store the exception under its url."
    )
    return failed(
        f"A failed request's ConnectionError crashed your crawl: {shown}.",
        *where.details[1:],
        how,
        code=where.code,
    )


def _q2_trial(crawl: Callable[..., Any]) -> Verdict:
    rng = _rng()
    first, second = rng.sample((2, 3, 4), 2)  # two limits: `limit` must really be used
    outcomes = []
    for limit in (first, second):
        verdict = _q2_run(crawl, rng, limit, outcomes)
        if verdict is not None:
            return verdict
    return _q2_passed(outcomes)


def _q2_run(
    crawl: Callable[..., Any],
    rng: random.Random,
    limit: int,
    passed_runs: list[tuple[ProbeOutcome, int, Heartbeat]],
) -> Verdict | None:
    """One crawl with ``limit``: a ✗ verdict, or ``None`` (and the run kept) if all was right."""
    durations, fail_urls = _q2_setup(rng, limit)
    urls = list(durations)
    probe = AsyncProbe(durations, fail_urls, html_page)
    heartbeat = Heartbeat(_Q2_BEAT)
    try:
        run = run_async_student(
            lambda: _with_heartbeat(heartbeat, lambda: crawl(probe.fetch, urls, limit)),
            timeout=TIMEOUT,
        )
    except StudentError as error:
        crash = _crashed(error)
        if crash is None:
            raise
        return crash
    finally:
        probe.close_unawaited()
    outcome = outcome_of(run, probe)
    verdict = first_failure(
        lambda: not_async_failure(outcome, "crawl"),
        lambda: awaitables_failure(outcome, "crawl"),
        lambda: other_loops_failure(outcome, "crawl"),
        lambda: _q2_dict_failure(outcome, urls, fail_urls),
        lambda: outcome.wrong_calls_failure("crawl", "await fetch(url) once for each url"),
        lambda: _q2_limit_failure(outcome, limit),
        lambda: _q2_idle_failure(outcome, limit, heartbeat),
    )
    if verdict is None:
        passed_runs.append((outcome, limit, heartbeat))
    return verdict


def _q2_passed(runs: list[tuple[ProbeOutcome, int, Heartbeat]]) -> Verdict:
    outcome = runs[0][0]
    urls = len(outcome.probe.ids)
    errors = len(frozenset(outcome.probe.fail_ids))
    limits = [limit for _, limit, _ in runs]
    turns = max(
        (
            heartbeat.ticks_between(gap.start, gap.end)
            for o, limit, heartbeat in runs
            for gap in idle_gaps(o.events, limit, urls)
        ),
        default=0,
    )
    walls = " and ".join(f"{fmt_seconds(o.wall)} with limit {limit}" for o, limit, _ in runs)
    return passed(
        f"All {urls} urls in the dict ({urls - errors} pages, {errors} errors), never more "
        "than `limit` requests at once, and every freed slot reused at once.",
        f"tried with limit {limits[0]} and with limit {limits[1]}: exactly `limit` requests "
        "were in flight at the busiest moment, and at most "
        f"{turns} tick(s) of a heartbeat coroutine (it ticks every {fmt_seconds(_Q2_BEAT)} "
        "while the loop is free) came between a request ending and the next url starting "
        f"while urls waited; wall time {walls}",
    )


def _q2_dict_failure(
    outcome: ProbeOutcome, urls: list[str], fail_urls: frozenset[str]
) -> Verdict | None:
    pages = outcome.value
    if not isinstance(pages, Mapping):
        return failed(
            f"crawl should return a dict {{url: page}}, got {type(pages).__name__}.",
            "`dict(zip(urls, results))` pairs each url with its result, in order.",
        )
    failing = [u for u in urls if u in fail_urls]
    succeeding = [u for u in urls if u not in fail_urls]
    missing = [u for u in succeeding if u not in pages]
    if missing:
        return failed(
            f"The pages of {_as_text(missing)} are missing; those requests succeeded.",
            code=outcome.describe(),
        )
    lost = [u for u in failing if u not in pages]
    if lost:
        return failed(
            f"The failed request(s) {_as_text(lost)} are missing from the dict.",
            "A crawler must not drop its failures silently: store the exception the request "
            "raised under its url (`pages[url] = error`), so the caller can report or retry it.",
        )
    extra = [u for u in pages if u not in outcome.probe.durations]
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
        if isinstance(value, str) and "connection was reset" in value:
            advice = "you stored its text; store the exception object itself"
        else:
            advice = "store the exception object the request raised"
        return failed(
            f"pages[{u!r}] should be the exception that request raised; got {value!r}.",
            f"{advice} (`except ConnectionError as error: return error`, or "
            "`gather(..., return_exceptions=True)`).",
        )
    return None


def _q2_limit_failure(outcome: ProbeOutcome, limit: int) -> Verdict | None:
    most = outcome.probe.max_in_flight()
    total = len(outcome.probe.ids)
    if most > limit:
        why = (
            "Nothing limited them: every request started at once."
            if most == total
            else "Something let more requests through than the limit."
        )
        return failed(
            f"Up to {most} requests were in flight at once; the limit was {limit}.",
            why,
            "Create ONE `asyncio.Semaphore(limit)` before starting the requests and make "
            "every request `async with` that same semaphore. A semaphore created inside the "
            "per-url coroutine limits nothing: each request gets its own.",
            code=outcome.describe(),
        )
    if most < limit:
        headline = f"Never more than {most} request(s) in flight; the limit allows {limit}" + (
            " — the requests ran one after another." if most == 1 else "."
        )
        return failed(
            headline,
            f"limit {limit}; wall time {fmt_seconds(outcome.wall)} against a sum of request "
            f"times of {fmt_seconds(outcome.busy)}",
            f"The limit is a maximum, and also what the server allows: use all {limit} "
            "slots. Start every request (gather) and let the semaphore hold back the "
            "ones beyond the limit.",
            code=outcome.describe(),
        )
    return None


def _q2_idle_failure(outcome: ProbeOutcome, limit: int, heartbeat: Heartbeat) -> Verdict | None:
    total = len(outcome.probe.ids)
    for gap in idle_gaps(outcome.events, limit, total):
        ticks = heartbeat.ticks_between(gap.start, gap.end)
        if ticks < _Q2_IDLE_TICKS:
            continue
        rows = [(request_label(e.task_id), e.start, e.end) for e in outcome.events]
        return failed(
            f"Never more than {limit} at once — but slots stood idle while pages were "
            "still waiting.",
            f"limit {limit}: for {fmt_seconds(gap.duration)}, only {gap.in_flight} request(s) "
            f"were in flight while {gap.waiting} url(s) had not started — and the event loop "
            f"was free: a heartbeat coroutine ticked {ticks} times in that gap",
            "Batches of `limit` pages (gather one batch, then the next) wait for the slowest "
            "page of each batch. With one shared semaphore (or `limit` workers taking urls "
            "from a queue), a finished request frees its slot for the next url at once.",
            code=labelled_timeline(rows),
        )
    return None


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "Create `semaphore = asyncio.Semaphore(limit)` once. Write a small inner coroutine "
        "`fetch_one(url)` that does `async with semaphore: return await fetch(url)`, and "
        "start `fetch_one(url)` for every url (gather, or a TaskGroup): all start, only "
        "`limit` get past the semaphore at a time.",
        "A failed request raises ConnectionError. Catch it inside `fetch_one` "
        "(`except ConnectionError as error: return error`) — or, with gather, pass "
        "`return_exceptions=True`, which puts the exception in the results list instead "
        "of raising it. `dict(zip(urls, results))` then gives the dict.",
    ],
    solution_note="`asyncio.gather(*(fetch_one(url) for url in urls), "
    "return_exceptions=True)` instead of the TaskGroup works as well; so do `limit` worker "
    "coroutines that take urls from an `asyncio.Queue`.",
)


# ---------------------------------------------------------------------------- q3
Q3_PAGES = 3
Q3_PARSE_SECONDS = 0.12
_Q3_FETCH = (0.03, 0.05)
_HEARTBEAT = 0.01
# A loop that waits for each parse with a blocking call misses its heartbeat for the
# whole of every parse (0.12 s); a free loop ticks every 10 ms or so. "Frozen" means no
# tick inside any of the three parses (leaving 20 ms at each end): a loop that is free
# would have to be starved for 80 ms three times over to look frozen.
_Q3_MARGIN = 0.02


def _q3_scenario(
    title_of: Callable[..., Any], probe: AsyncProbe, parse: BlockingParse, heartbeat: Heartbeat
) -> Callable[[], Any]:
    def start() -> Any:
        calls = [title_of(probe.fetch, parse, url) for url in probe.ids]
        if not all(inspect.isawaitable(c) for c in calls):
            for c in calls:
                awaitables_in(c)
            return [c for c in calls if not inspect.isawaitable(c)]
        return asyncio.gather(*calls)

    return lambda: _with_heartbeat(heartbeat, start)


def _in_loop_thread(call: ParseCall, outcome: ProbeOutcome) -> bool:
    return call.pid == os.getpid() and call.thread_ident == outcome.probe.home_thread


def _q3_timeline(outcome: ProbeOutcome, calls: list[ParseCall], heartbeat: Heartbeat) -> str:
    rows = [(request_label(e.task_id), e.start, e.end) for e in outcome.events]
    rows += [(f"parse {n}", c.start, c.end) for n, c in enumerate(calls, start=1)]
    return labelled_timeline(rows, heartbeat.ticks)


def _q3_trial(title_of: Callable[..., Any]) -> Verdict:
    rng = _rng()
    verdict, frozen = _q3_once(title_of, rng)
    if frozen:
        # The loop missed its heartbeat during every parse although no parse ran in its
        # thread: a blocking wait (future.result(), join) — or a machine so busy that the
        # loop's thread got no time for a tenth of a second. Only the first repeats.
        verdict, _ = _q3_once(title_of, rng)
    return verdict


def _q3_once(title_of: Callable[..., Any], rng: random.Random) -> tuple[Verdict, bool]:
    """One trial: its verdict, and whether that verdict is "the loop froze while waiting"."""
    urls = _page_urls(rng, Q3_PAGES)
    probe = AsyncProbe({u: rng.uniform(*_Q3_FETCH) for u in urls}, reply=html_page)
    heartbeat = Heartbeat(_HEARTBEAT)
    log_dir = tempfile.mkdtemp(prefix="concurrency-lab-parse-")
    parse = BlockingParse(log_dir, Q3_PARSE_SECONDS)
    try:
        try:
            run = run_async_student(
                _q3_scenario(title_of, probe, parse, heartbeat), timeout=TIMEOUT
            )
        except StudentError as error:
            wrong_argument = _q3_wrong_argument(error, parse.calls())
            if wrong_argument is None:
                raise
            return wrong_argument, False
        calls = parse.calls()
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
        probe.close_unawaited()
    outcome = outcome_of(run, probe)
    expected = [page_title(html_page(u)) for u in urls]
    verdict = first_failure(
        lambda: _q3_plain_failure(outcome),
        lambda: _q3_coroutine_failure(outcome),
        lambda: other_loops_failure(outcome, "title_of"),
        lambda: _q3_titles_failure(outcome, expected),
        lambda: outcome.wrong_calls_failure("title_of", "await fetch(url) once"),
        lambda: _q3_parse_count_failure(calls, len(urls)),
        lambda: _q3_in_loop_failure(outcome, calls, heartbeat),
    )
    if verdict is not None:
        return verdict, False
    frozen = _q3_frozen_failure(outcome, calls, heartbeat)
    if frozen is not None:
        return frozen, True
    return _q3_passed(outcome, calls, heartbeat), False


def _q3_wrong_argument(error: StudentError, calls: list[ParseCall]) -> Verdict | None:
    """Two ways to hand parse the wrong thing, told apart by what parse saw."""
    if not isinstance(error.exc, TypeError):
        return None
    if any(c.pid == os.getpid() and c.in_loop for c in calls):
        return failed(
            "parse(page) ran in the event loop's thread before the worker got it: "
            "you called it instead of handing it over.",
            f"{type(error.exc).__name__}: {error.exc}",
            "`asyncio.to_thread(parse(page))` calls parse right here, then hands "
            "its *result* to the thread. Pass the function and its argument "
            "separately: `await asyncio.to_thread(parse, page)`.",
        )
    if "got coroutine" in str(error.exc):
        where = error.verdict()
        return failed(
            "parse got a coroutine instead of the page: the request was never awaited.",
            f"{type(error.exc).__name__}: {error.exc}",
            *where.details[1:],
            "`fetch(url)` without `await` only creates a coroutine. "
            "`page = await fetch(url)` gives the page's text.",
            code=where.code,
        )
    return None


def _q3_plain_failure(outcome: ProbeOutcome) -> Verdict | None:
    if outcome.awaited:
        return None
    return failed(
        "title_of returned a value without being awaited: it is a plain `def`, not an `async def`.",
        "Keep `async def title_of(fetch, parse, url):` — only a coroutine function can "
        "await the request and the worker.",
    )


def _q3_coroutine_failure(outcome: ProbeOutcome) -> Verdict | None:
    found = [x for part in outcome.value for x in awaitables_in(part)]
    if not found:
        return None
    return failed(
        "title_of returned a coroutine or future, not the title.",
        "`asyncio.to_thread(parse, page)` returns a coroutine and `run_in_executor(...)` a "
        "future: nothing is handed back until you await it. "
        "`return await asyncio.to_thread(parse, page)`.",
    )


def _q3_titles_failure(outcome: ProbeOutcome, expected: list[str]) -> Verdict | None:
    got = list(outcome.value)
    if got == expected:
        return None
    return failed(
        "The titles are not the ones expected.",
        first_difference(got, expected),
        "title_of(fetch, parse, url) should return parse(page), where page is what "
        "`await fetch(url)` gave.",
    )


def _q3_parse_count_failure(calls: list[ParseCall], pages: int) -> Verdict | None:
    if len(calls) == pages:
        return None
    return failed(f"parse was called {len(calls)} times for {pages} pages; call it once per page.")


def _beat(heartbeat: Heartbeat) -> str:
    return (
        f"a heartbeat coroutine that should tick every {fmt_seconds(_HEARTBEAT)} went "
        f"{fmt_seconds(heartbeat.longest_gap())} without a tick; one parse blocks for "
        f"{fmt_seconds(Q3_PARSE_SECONDS)}"
    )


def _q3_in_loop_failure(
    outcome: ProbeOutcome, calls: list[ParseCall], heartbeat: Heartbeat
) -> Verdict | None:
    """A ✗ if some parse ran in the thread that runs the event loop (pid and thread ident)."""
    in_loop = [c for c in calls if _in_loop_thread(c, outcome)]
    if not in_loop:
        return None
    return failed(
        "parse still ran in the event loop's own thread, so it froze the loop: no other "
        "coroutine could run until it returned.",
        f"{len(in_loop)} of {len(calls)} parse calls ran in the thread that runs the "
        f"event loop; {_beat(heartbeat)}",
        "Calling a blocking function from a coroutine — directly, or from another "
        "`async def` (which changes nothing) — runs it in the loop's thread. Hand it to "
        "a worker thread and await the result: `await asyncio.to_thread(parse, page)`.",
        code=_q3_timeline(outcome, calls, heartbeat),
    )


def _q3_frozen_failure(
    outcome: ProbeOutcome, calls: list[ParseCall], heartbeat: Heartbeat
) -> Verdict | None:
    """A ✗ if the heartbeat never ticked inside any parse: the loop's thread waited."""
    frozen = [
        c for c in calls if heartbeat.ticks_between(c.start + _Q3_MARGIN, c.end - _Q3_MARGIN) == 0
    ]
    if len(frozen) < len(calls):
        return None
    return failed(
        "parse ran in another thread, but the loop still froze while it ran: your "
        "coroutine waited for that thread with a blocking call.",
        f"{_beat(heartbeat)} (seen in two trials)",
        "future.result() or thread.join() block the loop's thread just as parse did. "
        "Await instead: `await asyncio.to_thread(parse, page)` or "
        "`await loop.run_in_executor(None, parse, page)`.",
        code=_q3_timeline(outcome, calls, heartbeat),
    )


def _q3_passed(outcome: ProbeOutcome, calls: list[ParseCall], heartbeat: Heartbeat) -> Verdict:
    children = {c.pid for c in calls} - {os.getpid()}
    where = (
        f"in {len(children)} other process(es)"
        if children and len(children) == len({c.pid for c in calls})
        else "in worker threads"
        if not children
        else "in worker threads and processes"
    )
    return passed(
        f"parse ran {where}, and the event loop kept running the other coroutines meanwhile.",
        f"the heartbeat's longest gap was {fmt_seconds(heartbeat.longest_gap())} (ticks every "
        f"{fmt_seconds(_HEARTBEAT)}), while each parse blocked its thread for "
        f"{fmt_seconds(Q3_PARSE_SECONDS)}; wall time {fmt_seconds(outcome.wall)}",
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
    solution_note="`await asyncio.get_running_loop().run_in_executor(executor, parse, page)` "
    "does the same with an executor of your choice: `None` for the loop's default thread "
    "pool, or a `ProcessPoolExecutor` when the blocking work keeps a CPU busy (lesson 04).",
)

PROBLEMS = register(globals())
