"""Run a student's function against a :class:`~concurrency_lab.work.probes.Probe` and judge it.

The parent-side half of the probes: :mod:`concurrency_lab.work.probes` records what ran
where (child processes import it, so it stays stdlib-only and knows nothing of verdicts);
this module calls the student's code with those probe tasks (:func:`run_with_probe`),
collects a :class:`ProbeOutcome`, and turns what it shows into ✗ verdicts
(:func:`results_verdict`, :func:`order_verdict`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from concurrency_lab.exercises.core import (
    STUDENT_THREAD,
    Verdict,
    call_student,
    failed,
    first_difference,
)
from concurrency_lab.work.probes import Probe, overlap_verdict, probe_result, text_timeline
from concurrency_lab.work.timeline import Event

__all__ = ["ProbeOutcome", "order_verdict", "results_verdict", "run_with_probe"]


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
    finishing = [probe_result(e.task_id) for e in sorted(events, key=lambda e: e.end)]
    if got == finishing:
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
    """What happened when the student's function ran against a :class:`Probe`."""

    value: Any
    wall: float
    finished_at_return: Counter[Any]
    events: list[Event]
    probe: Probe

    @property
    def busy(self) -> float:
        """Sum of the measured task times (the wall time a one-at-a-time run needs)."""
        return sum(e.duration for e in self.events)

    def ran_in_caller(self) -> bool:
        """True if every task ran in the thread that called the answer: no worker at all."""
        return bool(self.events) and {e.thread for e in self.events} == {STUDENT_THREAD}

    @property
    def unfinished_at_return(self) -> list[Any]:
        """Ids that had not finished when the student's function returned."""
        return [i for i in self.probe.ids if self.finished_at_return[i] == 0]

    def calls_verdict(self) -> str | None:
        """Ids never run or run more than once (counting calls that finished late too)."""
        return self.probe.calls_verdict(Counter(e.task_id for e in self.events))

    def describe(self) -> str:
        """A text timeline of the runs, for a verdict's code block."""
        return text_timeline(self.events)

    def wrong_calls_failure(self, function_name: str) -> Verdict | None:
        """A ✗ verdict if some id never ran or ran twice (``function_name`` was the answer)."""
        problem = self.calls_verdict()
        if problem is None:
            return None
        return failed(
            f"Not every task ran exactly once: {problem}.",
            f"{function_name} was given ids {self.probe.ids}; run task(i) once for each of them.",
            code=self.describe(),
        )

    def overlap_failure(
        self, headline: str, why: str, *, min_concurrency: float = 1.6
    ) -> Verdict | None:
        """A ✗ verdict (measured times, ``why``, text timeline) if the tasks did not overlap."""
        problem = overlap_verdict(self.events, self.wall, min_concurrency=min_concurrency)
        if problem is None:
            return None
        return failed(headline, problem, why, code=self.describe())


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
    were still running at return (a function that did not wait for its threads).

    ``probe_factory(durations, fail_ids)`` makes the probe (default :class:`Probe`); e.g.
    :class:`~concurrency_lab.work.pool_probes.CpuProbe` for CPU-bound tasks.
    """
    factory = Probe if probe_factory is None else probe_factory
    with factory(durations, fail_ids) as probe:
        start = time.perf_counter()
        if call is None:
            value = call_student(student_fn, probe.task, probe.ids, timeout=timeout)
        else:
            value = call_student(call, student_fn, probe, timeout=timeout)
        wall = time.perf_counter() - start
        at_return = probe.calls()
        if sum(at_return.values()) < len(probe.ids):
            deadline = time.perf_counter() + probe.longest + 0.5
            while time.perf_counter() < deadline and len(probe.calls()) < len(probe.ids):
                time.sleep(0.01)
        return ProbeOutcome(value, wall, at_return, probe.events(), probe)
