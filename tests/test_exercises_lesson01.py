"""Lesson 01 checks: the model answer passes, realistic wrong answers fail *specifically*."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from types import SimpleNamespace

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
    solution_namespace,
)
from concurrency_lab.exercises.lesson01 import q1, q2, q3, q4
from concurrency_lab.work.tasks import nominal_duration


# ------------------------------------------------------------------ q1: predict the loop
def test_q1_model_answer() -> None:
    ns = solution_namespace(q1.notebook, "q1", nominal_duration=nominal_duration)
    assert_passes(q1, ns["prediction"])


def test_q1_other_correct_forms() -> None:
    assert_passes(q1, 9)
    assert_passes(q1, 9.0)


def test_q1_wrong_answers_explain_the_misconception() -> None:
    assert_fails(q1, 3, "longest single task")
    assert_fails(q1, 8, "average")
    assert_fails(q1, 10, "you answered 10 s")
    assert_fails(q1, "9 seconds", "expected a number")
    assert_not_attempted(q1, None)


# ------------------------------------------------------------------ q2: a Timer
def _timer_class(**body: object) -> type:
    return type("Timer", (), body)


def test_q2_model_answer() -> None:
    assert_passes(q2, solution_namespace(q1.notebook, "q2")["Timer"])


def test_q2_contextmanager_function_also_passes() -> None:
    @contextlib.contextmanager
    def timer() -> Iterator[SimpleNamespace]:
        t = SimpleNamespace()
        start = time.perf_counter()
        try:
            yield t
        finally:
            t.elapsed = time.perf_counter() - start

    assert_passes(q2, timer)


def test_q2_enter_that_forgets_to_return_self() -> None:
    def enter(self) -> None:
        self.start = time.perf_counter()

    def exit_(self, *exc) -> None:
        self.elapsed = time.perf_counter() - self.start

    assert_fails(q2, _timer_class(__enter__=enter, __exit__=exit_), "t = None", "return `self`")


class _EndNotDifference:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter()  # forgot "- self.start"


class _Live:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


class _Millis:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = (time.perf_counter() - self.start) * 1000


class _WallClock:
    def __enter__(self):
        self.start = time.time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.time() - self.start


def test_q2_wrong_timers_get_specific_messages() -> None:
    assert_fails(q2, _EndNotDifference, "clock reading, not a duration")
    assert_fails(q2, _Live, "keeps growing")
    assert_fails(q2, _Millis, "milliseconds")
    assert_fails(q2, _WallClock, "time.time()", "perf_counter")


def test_q2_stub_is_not_attempted() -> None:
    class Timer:
        def __enter__(self):
            raise NotImplementedError()

        def __exit__(self, *exc: object) -> None:
            raise NotImplementedError()

    assert_not_attempted(q2, Timer)


# ------------------------------------------------------------------ q3: wall vs CPU
def test_q3_model_answer() -> None:
    assert_passes(q3, solution_namespace(q1.notebook, "q3", time=time)["measure"])


def test_q3_thread_time_also_passes() -> None:
    def measure(fn):
        w, c = time.perf_counter(), time.thread_time()
        fn()
        return time.perf_counter() - w, time.thread_time() - c

    assert_passes(q3, measure)


def test_q3_wrong_answers() -> None:
    def swapped(fn):
        w, c = time.perf_counter(), time.process_time()
        fn()
        return time.process_time() - c, time.perf_counter() - w

    def wall_twice(fn):
        w = time.perf_counter()
        fn()
        d = time.perf_counter() - w
        return d, d

    def forgets_to_call(fn):
        return 0.0, 0.0

    def one_number(fn):
        w = time.perf_counter()
        fn()
        return time.perf_counter() - w

    assert_fails(q3, swapped, "swapped")
    assert_fails(q3, wall_twice, "process_time")
    assert_fails(q3, forgets_to_call, "expected about 0.06")
    assert_fails(q3, one_number, "pair")


def test_q3_an_exception_is_named_with_the_students_line() -> None:
    def broken(fn):
        start = time.perf_counter()  # noqa: F841
        fn()
        return time.perf_counter() - strat  # noqa: F821  (the typo is the point)

    verdict = assert_fails(q3, broken, "NameError", "strat")
    assert "return time.perf_counter() - strat" in verdict.code


# ------------------------------------------------------------------ q4: why the gap
def test_q4() -> None:
    assert_passes(q4, solution_namespace(q1.notebook, "q4")["answer"])
    assert_fails(q4, "C", "Nothing ran anywhere")
    assert_fails(q4, "D", "GIL")
    assert_fails(q4, "E", "one of the letters")
