"""Run a student's function against a :class:`~concurrency_lab.work.probes.Probe` and judge it.

The parent-side half of the probes: :mod:`concurrency_lab.work.probes` records what ran
where (child processes import it, so it stays stdlib-only and knows nothing of verdicts);
this module calls the student's code with those probe tasks (:func:`run_with_probe`),
collects a :class:`ProbeOutcome`, and turns what it shows into ✗ verdicts.

The pieces every check is built from:

* :func:`first_failure` — a check is an ordered list of small *rules*, each a zero-argument
  callable returning a ✗ :class:`~concurrency_lab.exercises.core.Verdict` or ``None``; the
  first ✗ wins, and ``first_failure(...) or passed(...)`` ends the check.
* :func:`whole_number_failure` / :func:`number_failure` — the one test of "is this a whole
  number" (any ``numbers.Integral``, NumPy's too; never ``bool``; ``7.5`` refused with a
  clear message) and of "is this a number of seconds".
* :func:`overlap_of` (re-exported from :mod:`concurrency_lab.work.probes`) — the one sweep
  over events: most in flight, whether every task overlapped every other, mean concurrency.
* :class:`ProbeOutcome` — what one run showed, for threads, processes and coroutines alike
  (``noun="request"`` words its messages for requests).
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from concurrency_lab.exercises.core import (
    STUDENT_THREAD,
    Verdict,
    call_student,
    failed,
    first_difference,
)
from concurrency_lab.work.arguments import is_real_number, is_whole_number
from concurrency_lab.work.probes import (
    Overlap,
    Probe,
    overlap_of,
    overlap_verdict,
    probe_result,
    text_timeline,
)
from concurrency_lab.work.timeline import Event
from concurrency_lab.work.timing import fmt_seconds

__all__ = [
    "Overlap",
    "ProbeOutcome",
    "Rule",
    "first_failure",
    "is_real_number",
    "is_whole_number",
    "number_failure",
    "order_verdict",
    "overlap_of",
    "results_verdict",
    "run_with_probe",
    "varied_ids",
    "whole_number_failure",
]

Rule = Callable[[], "Verdict | None"]
"""One rule of a check: look at one thing, return a ✗ verdict or ``None`` (nothing wrong)."""


def first_failure(*rules: Rule | None) -> Verdict | None:
    """Run ``rules`` in order; return the first ✗ verdict, or ``None`` if none fails.

    Rules are zero-argument callables (lambdas over what the trial measured), so a rule
    later in the list runs only when every earlier one found nothing wrong — put the most
    basic problems (wrong type, missing ids) first and the subtle ones (overlap) last.
    ``None`` entries are skipped, so a rule can be added conditionally::

        return first_failure(
            lambda: outcome.wrong_calls_failure("run_all"),
            lambda: outcome.unfinished_failure("run_all"),
            (lambda: timing_rule(outcome)) if judge_timing else None,
        ) or passed("All 5 tasks waited at the same time.")
    """
    for rule in rules:
        if rule is None:
            continue
        verdict = rule()
        if verdict is not None:
            return verdict
    return None


def whole_number_failure(
    value: Any, what: str, *, minimum: int | None = None, advice: str = ""
) -> Verdict | None:
    """``None`` if ``value`` is a whole number (≥ ``minimum``); else a ✗ saying why not.

    ``what`` names the value in the message (``"chunksize"``, ``"counter.value"``). Any
    ``numbers.Integral`` counts (``numpy.int64`` too); ``True``/``False`` and ``7.5`` do not.
    """
    extra = (advice,) if advice else ()
    if isinstance(value, bool):
        return failed(
            f"{what} should be a whole number, got the bool {value!r}.",
            "True and False are not counts (Python lets them act as 1 and 0, which hides the bug).",
            *extra,
        )
    if not is_whole_number(value):
        return failed(
            f"{what} should be a whole number, got {type(value).__name__} {value!r}.", *extra
        )
    if minimum is not None and value < minimum:
        return failed(f"{what} should be at least {minimum}, got {value!r}.", *extra)
    return None


def number_failure(value: Any, what: str, *, advice: str = "") -> Verdict | None:
    """``None`` if ``value`` is a finite real number of any type; else a ✗ saying so."""
    if is_real_number(value):
        return None
    extra = (advice,) if advice else ()
    return failed(f"{what} should be a number, got {type(value).__name__} {value!r}.", *extra)


def order_verdict(
    got: list[Any],
    expected: list[Any],
    ids: list[Any],
    events: Iterable[Event],
    *,
    advice: str,
    noun: str = "task",
    code: str | None = None,
) -> Verdict | None:
    """``None`` if ``got == expected``; else a ✗ naming what is wrong with the results.

    Three cases, most specific first: the right results in *finishing* order (the order of
    the probe's recorded end times — ``as_completed``, ``imap_unordered``, appending as
    tasks finish), the right results in some other order, or results that are not the
    expected ones. ``advice`` says how to keep input order with the lesson's tools; ``code``
    (a text timeline) is shown with the order verdicts.
    """
    if got == expected:
        return None
    same_items = Counter(map(repr, got)) == Counter(map(repr, expected))
    if not same_items:
        return failed(
            "The results are not the ones expected.",
            first_difference(got, expected),
            f"expected one result per id, in the order of ids {ids}",
        )
    if _in_finishing_order(got, events):
        return failed(
            "All the results are there, but in finishing order, not input order.",
            f"ids given: {ids}; the first result should be {expected[0]!r}, the result of "
            f"the first id — you returned {got[0]!r} first, the {noun} that finished first.",
            advice,
            code=code,
        )
    return failed(
        "All the results are there, but not in input order.",
        first_difference(got, expected),
        advice,
        code=code,
    )


FINISH_TIE = 0.02
"""Seconds within which two recorded ends count as a tie: a stalled machine wakes several
sleeping tasks at once, and the order their results are handed back in (``as_completed``)
may then differ from the order of their recorded end times by microseconds."""


def _in_finishing_order(got: list[Any], events: list[Event]) -> bool:
    """Whether ``got`` follows the probe's recorded end times (ties within FINISH_TIE)."""
    end_of: dict[str, float] = {}
    for event in events:
        end_of.setdefault(repr(probe_result(event.task_id)), event.end)
    ends = [end_of.get(repr(result)) for result in got]
    if any(end is None for end in ends):
        return False
    return all(a <= b + FINISH_TIE for a, b in itertools.pairwise(ends))  # type: ignore[operator]


def results_verdict(
    outcome: Any,
    expected: list[Any],
    ids: list[Any],
    *,
    name: str,
    advice: str,
    noun: str = "task",
) -> Verdict | None:
    """What every "return the results in input order" answer is checked for, in order.

    ``outcome`` is a probe outcome (threads, processes or coroutines): its value must be a
    list, every id must have run exactly once, and the results must be ``expected``, in
    order (:func:`order_verdict`, with ``advice``). ``None`` when all of that holds.
    """
    value = outcome.value
    if not isinstance(value, (list, tuple)):
        return failed(
            f"{name} should return a list of results, got {type(value).__name__} {value!r}."
        )
    return outcome.wrong_calls_failure(name) or order_verdict(
        list(value),
        expected,
        ids,
        outcome.events,
        advice=advice,
        noun=noun,
        code=outcome.describe(),
    )


@dataclass
class ProbeOutcome:
    """What happened when the student's code ran against a probe: one type for every check.

    ``value`` is what the answer returned, ``wall`` how long the call took, ``events`` the
    probe's records. ``finished_at_return`` counts, per id, the tasks that had finished when
    the answer returned (``None`` where a check does not track it, e.g. asyncio, whose loop
    cancels what is still running). ``returned_at`` is the ``perf_counter`` time the answer
    returned, measured in the thread that ran it. ``noun`` words the messages ("task",
    "request"); ``label`` names a row of the text timeline; ``awaited`` is ``False`` when an
    async check got a plain function's result (nothing to await).
    """

    value: Any
    wall: float
    events: list[Event]
    probe: Any
    finished_at_return: Counter[Any] | None = None
    returned_at: float | None = None
    noun: str = "task"
    label: Callable[[Any], str] | None = field(default=None, repr=False)
    awaited: bool = True

    @property
    def busy(self) -> float:
        """Sum of the measured task times (the wall time a one-at-a-time run needs)."""
        return sum(e.duration for e in self.events)

    @property
    def overlap(self) -> Overlap:
        """How the runs overlapped (most in flight, all at once?, mean concurrency vs wall)."""
        return overlap_of(self.events, self.wall)

    @property
    def max_in_flight(self) -> int:
        """The most tasks that were running at one instant."""
        return self.overlap.max_in_flight

    def ran_in_caller(self) -> bool:
        """True if every task ran in the thread that called the answer: no worker at all."""
        return bool(self.events) and {e.thread for e in self.events} == {STUDENT_THREAD}

    def in_caller(self) -> list[Any]:
        """Ids of the tasks that ran in the thread that called the answer."""
        return [e.task_id for e in self.events if e.thread == STUDENT_THREAD]

    @property
    def unfinished_at_return(self) -> list[Any]:
        """Ids that had not finished when the student's function returned."""
        if self.finished_at_return is None:
            return []
        return [i for i in self.probe.ids if self.finished_at_return[i] == 0]

    @property
    def returned_after_last_end(self) -> float:
        """Seconds from the end of the last task to the answer's return (≤ 0: returned first)."""
        if self.returned_at is None or not self.events:
            return 0.0
        return self.returned_at - max(e.end for e in self.events)

    def calls_verdict(self) -> str | None:
        """Ids never run or run more than once (counting calls that finished late too)."""
        return self.probe.calls_verdict(Counter(e.task_id for e in self.events))

    def describe(self) -> str:
        """A text timeline of the runs, for a verdict's code block."""
        return text_timeline(self.events, label=self.label)

    def wrong_calls_failure(self, function_name: str, advice: str = "") -> Verdict | None:
        """A ✗ verdict if some id never ran or ran twice (``function_name`` was the answer)."""
        problem = self.calls_verdict()
        if problem is None:
            return None
        advice = advice or f"run {self.noun}(i) once for each of them"
        return failed(
            f"Not every {self.noun} ran exactly once: {problem}.",
            f"{function_name} was given ids {self.probe.ids}; {advice}.",
            code=self.describe(),
        )

    def overlap_failure(
        self, headline: str, why: str, *, min_concurrency: float = 1.6
    ) -> Verdict | None:
        """A ✗ verdict if the runs did not overlap enough *on average* (``busy / wall``)."""
        problem = overlap_verdict(
            self.events, self.wall, min_concurrency=min_concurrency, noun=self.noun
        )
        if problem is None:
            return None
        return failed(headline, problem, why, code=self.describe())

    def apart_failure(self, headline: str, *why: str) -> Verdict | None:
        """A ✗ verdict if some two runs did not overlap at all ("all at the same time").

        Names the pair (the one that ended first, the one that started last) and their
        measured times; ``None`` when every run overlapped every other.
        """
        o = self.overlap
        if o.apart is None:
            return None
        first, last = o.apart
        t0 = min(e.start for e in self.events)
        return failed(
            headline,
            f"{self.noun} {first.task_id!s} ran from {fmt_seconds(first.start - t0)} to "
            f"{fmt_seconds(first.end - t0)}, and {self.noun} {last.task_id!s} started only at "
            f"{fmt_seconds(last.start - t0)}: they never ran at the same time (at most "
            f"{o.max_in_flight} of the {o.count} {self.noun}s ran at once)",
            *why,
            code=self.describe(),
        )


def run_with_probe(
    student_fn: Any,
    durations: Mapping[Any, float],
    *,
    fail_ids: Iterable[Any] = (),
    call: Any = None,
    timeout: float = 5.0,
    probe_factory: Any = None,
) -> ProbeOutcome:
    """Call ``student_fn(probe.task, probe.ids)`` (or ``call(student_fn, probe)``), timed.

    Exceptions, the stub's ``NotImplementedError`` and timeouts propagate as
    :mod:`~concurrency_lab.exercises.core`'s ``StudentError`` / ``NotAttempted`` /
    ``StudentTimeout`` (``Problem.verdict`` turns them into verdicts). After the function
    returns, stragglers are given time to finish, so the outcome also knows which tasks
    were still running at return (a function that did not wait for its threads). When the
    check gives up, the probe's folder is removed and its tasks stop waiting.

    ``probe_factory(durations, fail_ids)`` makes the probe (default :class:`Probe`); e.g.
    :class:`~concurrency_lab.work.pool_probes.CpuProbe` for CPU-bound tasks.
    """
    factory = Probe if probe_factory is None else probe_factory
    returned: list[float] = []

    def timed(*args: Any) -> Any:
        value = (student_fn if call is None else call)(*args)
        returned.append(time.perf_counter())
        return value

    with factory(durations, fail_ids) as probe:
        start = time.perf_counter()
        if call is None:
            value = call_student(timed, probe.task, probe.ids, timeout=timeout)
        else:
            value = call_student(timed, student_fn, probe, timeout=timeout)
        wall = time.perf_counter() - start
        at_return = probe.calls()
        if sum(at_return.values()) < len(probe.ids):
            deadline = time.perf_counter() + probe.longest + 0.5
            while time.perf_counter() < deadline and len(probe.calls()) < len(probe.ids):
                time.sleep(0.01)
        return ProbeOutcome(
            value,
            wall,
            probe.events(),
            probe,
            finished_at_return=at_return,
            returned_at=returned[0] if returned else None,
        )


def varied_ids(count: int, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct ids for one trial: not ``0..n``, not sorted either way.

    A check draws new ids each time (seeded from the clock by default), so no answer can
    fit them — an answer that sorts its results, counts from 0 or returns ``range(n)``
    fails — while the property judged stays the same.
    """
    rng = rng or random.Random(time.time_ns())
    while True:
        ids = rng.sample(range(2, 100), count)
        if count < 3 or (ids != sorted(ids) and ids != sorted(ids, reverse=True)):
            return ids
