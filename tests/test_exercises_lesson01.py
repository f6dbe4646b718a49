"""Lesson 01 checks, run on answers written as notebook cells (as a student's would run).

Every right answer — beginner-verbose to terse, in the idioms the question allows — must
pass; every wrong one must fail with the message that names *its* problem.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from concurrency_lab.dev.answers import (
    CHECK_SECONDS,
    assert_cells_fail,
    assert_cells_pass,
    assert_fails,
    assert_not_attempted,
    assert_passes,
    cells_verdict,
)
from concurrency_lab.exercises.core import solution_from_notebook
from concurrency_lab.exercises.lesson01 import q1, q2, q3, q4

SETUP = "from concurrency_lab.work.tasks import nominal_duration\nimport time"


def _solution(grade_id: str) -> str:
    return solution_from_notebook(q1.notebook, grade_id)


@pytest.fixture(scope="module", autouse=True)
def _report_check_times() -> object:
    yield
    print("\nlongest check per question:", {k: round(v, 2) for k, v in CHECK_SECONDS.items()})


# ------------------------------------------------------------------ q1: predict the loop
Q1_RIGHT = {
    "model answer": _solution("q1"),
    "a sum written out": "prediction = 1 + 3 + 2 + 3",
    "a loop": "prediction = 0\nfor i in [3, 4, 5, 6]:\n    prediction += nominal_duration(i)",
    "a float": "prediction = 9.0",
    "a numpy integer": "import numpy as np\nprediction = np.int64(9)",
    "a numpy sum": (
        "import numpy as np\nprediction = np.sum([nominal_duration(i) for i in [3, 4, 5, 6]])"
    ),
    "a near float": "prediction = 9.2",
}


@pytest.mark.parametrize("cells", Q1_RIGHT.values(), ids=Q1_RIGHT.keys())
def test_q1_right(cells: str) -> None:
    assert_cells_pass(q1, "prediction", SETUP, cells)


Q1_WRONG = {
    "the longest task": ("prediction = 3", "longest single task"),
    "four times the average": ("prediction = 4 * 2", "average"),
    "the CPU time": ("prediction = 0", "CPU time"),
    "one too many": ("prediction = 10", "you answered 10 s"),
    "near the longest is not told it is the longest": ("prediction = 3.2", "you answered 3.2"),
    "near the average is not told it is the average": ("prediction = 8.6", "you answered 8.6"),
    "a string": ('prediction = "9 seconds"', "expected a number"),
    "a bool": ("prediction = True", "expected a number"),
    "a list": ("prediction = [1, 3, 2, 3]", "expected a number"),
    "milliseconds": ("prediction = 9000", "you answered 9000"),
}


@pytest.mark.parametrize(("cells", "says"), Q1_WRONG.values(), ids=Q1_WRONG.keys())
def test_q1_wrong(cells: str, says: str) -> None:
    assert_cells_fail(q1, "prediction", SETUP, cells, says=(says,))


def test_q1_every_prediction_within_the_tolerance_passes() -> None:
    for x in np.linspace(8.75, 9.25, 21):
        assert_passes(q1, float(x))
        assert_passes(q1, np.float64(x))
    assert_passes(q1, Fraction(37, 4))
    for x in (8, 10, 8.7, 9.3, -9):
        assert_fails(q1, x, "not quite")
    assert_not_attempted(q1, None)


# ------------------------------------------------------------------ q2: a Timer
Q2_RIGHT = {
    "model answer": _solution("q2"),
    "contextmanager with try/finally": """
        import contextlib
        from types import SimpleNamespace

        @contextlib.contextmanager
        def Timer():
            t = SimpleNamespace()
            start = time.perf_counter()
            try:
                yield t
            finally:
                t.elapsed = time.perf_counter() - start
        """,
    "contextmanager on perf_counter_ns, no try": """
        from contextlib import contextmanager

        class Box:
            pass

        @contextmanager
        def Timer():
            box = Box()
            t0 = time.perf_counter_ns()
            yield box
            box.elapsed = (time.perf_counter_ns() - t0) / 1e9
        """,
    "dataclass on monotonic": """
        from dataclasses import dataclass

        @dataclass
        class Timer:
            start: float = 0.0
            elapsed: float = 0.0

            def __enter__(self):
                self.start = time.monotonic()
                return self

            def __exit__(self, exc_type, exc, tb):
                self.elapsed = time.monotonic() - self.start
                return False
        """,
    "from-import, a comment naming time.time()": """
        from time import perf_counter

        class Timer:
            # perf_counter, not time.time(): the wall clock can be set while we measure
            def __init__(self):
                self.elapsed = None

            def __enter__(self):
                self._t0 = perf_counter()
                return self

            def __exit__(self, *args):
                self.elapsed = perf_counter() - self._t0
        """,
    "a helper named get_time()": """
        def get_time():
            return time.perf_counter()

        class Timer:
            def __enter__(self):
                self.begin = get_time()
                return self

            def __exit__(self, *exc):
                self.end = get_time()
                self.elapsed = self.end - self.begin
        """,
    "a property over stored times": """
        import timeit

        class Timer:
            def __enter__(self):
                self.t0 = timeit.default_timer()
                self.t1 = None
                return self

            def __exit__(self, *exc):
                self.t1 = timeit.default_timer()

            @property
            def elapsed(self):
                return self.t1 - self.t0
        """,
    "clock_gettime(CLOCK_MONOTONIC), a class attribute clock": """
        class Timer:
            clock = time.perf_counter

            def __enter__(self):
                self.t0 = time.clock_gettime(time.CLOCK_MONOTONIC)
                self.c0 = self.clock()
                return self

            def __exit__(self, *exc):
                self.elapsed = time.clock_gettime(time.CLOCK_MONOTONIC) - self.t0
        """,
    "beginner-verbose": """
        class Timer:
            def __init__(self):
                self.start_time = 0
                self.end_time = 0
                self.elapsed = 0

            def __enter__(self):
                print("timer started")
                self.start_time = time.perf_counter()
                return self

            def __exit__(self, exc_type, exc_value, traceback):
                self.end_time = time.perf_counter()
                self.elapsed = self.end_time - self.start_time
                print("timer stopped:", self.elapsed)
                return None
        """,
}


@pytest.mark.parametrize("cells", Q2_RIGHT.values(), ids=Q2_RIGHT.keys())
def test_q2_right(cells: str) -> None:
    assert_cells_pass(q2, "Timer", SETUP, cells)


def _timer(enter: str, exit_: str, extra: str = "") -> str:
    return f"""
class Timer:
    def __enter__(self):
        {enter}
    def __exit__(self, *exc):
        {exit_}
{extra}"""


Q2_WRONG = {
    "time.time()": (
        _timer(
            "self.start = time.time(); return self",
            "self.elapsed = time.time() - self.start",
        ),
        ("system clock", "NTP", "perf_counter"),
    ),
    "from time import time": (
        "from time import time\n"
        + _timer("self.start = time(); return self", "self.elapsed = time() - self.start"),
        ("system clock",),
    ),
    "a class attribute clock = time.time": (
        """
        class Timer:
            clock = time.time

            def __enter__(self):
                self.start = self.clock()
                return self

            def __exit__(self, *exc):
                self.elapsed = self.clock() - self.start
        """,
        ("system clock",),
    ),
    "clock_gettime(CLOCK_REALTIME)": (
        _timer(
            "self.start = time.clock_gettime(time.CLOCK_REALTIME); return self",
            "self.elapsed = time.clock_gettime(time.CLOCK_REALTIME) - self.start",
        ),
        ("system clock",),
    ),
    "datetime.now()": (
        "from datetime import datetime\n"
        + _timer(
            "self.start = datetime.now(); return self",
            "self.elapsed = (datetime.now() - self.start).total_seconds()",
        ),
        ("system clock",),
    ),
    "enter does not return self": (
        _timer(
            "self.start = time.perf_counter()", "self.elapsed = time.perf_counter() - self.start"
        ),
        ("t = None", "return `self`"),
    ),
    "a clock reading, not a difference": (
        _timer(
            "self.start = time.perf_counter(); return self", "self.elapsed = time.perf_counter()"
        ),
        ("clock reading",),
    ),
    "live elapsed": (
        _timer(
            "self.start = time.perf_counter(); return self",
            "pass",
            "    @property\n    def elapsed(self):\n"
            "        return time.perf_counter() - self.start",
        ),
        ("keeps growing",),
    ),
    "milliseconds": (
        _timer(
            "self.start = time.perf_counter(); return self",
            "self.elapsed = (time.perf_counter() - self.start) * 1000",
        ),
        ("milliseconds",),
    ),
    "nanoseconds": (
        _timer(
            "self.start = time.perf_counter_ns(); return self",
            "self.elapsed = time.perf_counter_ns() - self.start",
        ),
        ("nanoseconds",),
    ),
    "a CPU clock": (
        _timer(
            "self.start = time.process_time(); return self",
            "self.elapsed = time.process_time() - self.start",
        ),
        ("hardly moved", "process_time"),
    ),
    "start minus end": (
        _timer(
            "self.start = time.perf_counter(); return self",
            "self.elapsed = self.start - time.perf_counter()",
        ),
        ("negative",),
    ),
    "exit returns self": (
        _timer(
            "self.start = time.perf_counter(); return self",
            "self.elapsed = time.perf_counter() - self.start; return self",
        ),
        ("swallowed",),
    ),
    "elapsed is a method": (
        _timer(
            "self.start = time.perf_counter(); return self",
            "self.end = time.perf_counter()",
            "    def elapsed(self):\n        return self.end - self.start",
        ),
        ("a method",),
    ),
    "no elapsed": (
        _timer("self.start = time.perf_counter(); return self", "self.took = 1"),
        ("no `elapsed`",),
    ),
    "typo in exit": (
        _timer(
            "self.start = time.perf_counter(); return self",
            "self.elapsed = time.perf_counter() - self.strat",
        ),
        ("AttributeError", "strat"),
    ),
}


@pytest.mark.parametrize(("cells", "says"), Q2_WRONG.values(), ids=Q2_WRONG.keys())
def test_q2_wrong(cells: str, says: tuple[str, ...]) -> None:
    assert_cells_fail(q2, "Timer", SETUP, cells, says=says)


def test_q2_stub_is_not_attempted() -> None:
    verdict = cells_verdict(
        q2, "Timer", SETUP, _timer("raise NotImplementedError()", "raise NotImplementedError()")
    )
    assert verdict.status == "not attempted"


def test_q2_the_clock_jump_is_undone_and_seen_by_the_check_thread_only() -> None:
    import time

    real = time.time
    assert_cells_fail(q2, "Timer", SETUP, Q2_WRONG["time.time()"][0], says=("system clock",))
    assert time.time is real
    assert abs(time.time() - time.clock_gettime(time.CLOCK_REALTIME)) < 1


# ------------------------------------------------------------------ q3: wall vs CPU
Q3_RIGHT = {
    "model answer": _solution("q3"),
    "a list, time.time for the wall": """
        def measure(fn):
            wall_start = time.time()
            cpu_start = time.process_time()
            fn()
            wall_end = time.time()
            cpu_end = time.process_time()
            return [wall_end - wall_start, cpu_end - cpu_start]
        """,
    "nanosecond clocks": """
        def measure(fn):
            w, c = time.perf_counter_ns(), time.process_time_ns()
            fn()
            return (time.perf_counter_ns() - w) / 1e9, (time.process_time_ns() - c) / 1e9
        """,
    "os.times": """
        import os

        def measure(fn):
            start = time.perf_counter()
            before = os.times()
            fn()
            after = os.times()
            cpu = (after.user - before.user) + (after.system - before.system)
            return time.perf_counter() - start, cpu
        """,
    "user CPU time only": """
        import os

        def measure(fn):
            t0, u0 = time.perf_counter(), os.times().user
            fn()
            return time.perf_counter() - t0, os.times().user - u0
        """,
    "resource, the whole process": """
        import resource

        def measure(fn):
            def cpu():
                r = resource.getrusage(resource.RUSAGE_SELF)
                return r.ru_utime + r.ru_stime
            w0, c0 = time.perf_counter(), cpu()
            fn()
            return time.perf_counter() - w0, cpu() - c0
        """,
    "numpy floats": """
        import numpy as np

        def measure(fn):
            t = np.array([time.perf_counter(), time.process_time()])
            fn()
            wall, cpu = np.array([time.perf_counter(), time.process_time()]) - t
            return wall, cpu
        """,
    "a Timer-style helper": """
        from timeit import default_timer

        def measure(fn):
            started = (default_timer(), time.process_time())
            result = fn()  # the return value is not needed
            wall = default_timer() - started[0]
            cpu = time.process_time() - started[1]
            return (wall, cpu)
        """,
}


@pytest.mark.parametrize("cells", Q3_RIGHT.values(), ids=Q3_RIGHT.keys())
def test_q3_right(cells: str) -> None:
    assert_cells_pass(q3, "measure", SETUP, cells)


def _measure(body: str) -> str:
    return "def measure(fn):\n" + "\n".join(f"    {line}" for line in body.splitlines())


Q3_WRONG = {
    "fn called twice": (
        _measure(
            "w = time.perf_counter(); fn(); w = time.perf_counter() - w\n"
            "c = time.process_time(); fn(); c = time.process_time() - c\nreturn w, c"
        ),
        ("called fn 2 times", "once"),
    ),
    "thread_time": (
        _measure(
            "w, c = time.perf_counter(), time.thread_time()\nfn()\n"
            "return time.perf_counter() - w, time.thread_time() - c"
        ),
        ("another thread", "thread_time", "process_time"),
    ),
    "RUSAGE_THREAD": (
        "import resource\n"
        + _measure(
            "w = time.perf_counter(); c = resource.getrusage(resource.RUSAGE_THREAD).ru_utime\n"
            "fn()\nreturn (time.perf_counter() - w,\n"
            "        resource.getrusage(resource.RUSAGE_THREAD).ru_utime - c)"
        ),
        ("only the thread that called measure",),
    ),
    "wall time twice": (
        _measure("w = time.perf_counter(); fn(); d = time.perf_counter() - w\nreturn d, d"),
        ("wall-clock time", "process_time"),
    ),
    "swapped": (
        _measure(
            "w, c = time.perf_counter(), time.process_time()\nfn()\n"
            "return time.process_time() - c, time.perf_counter() - w"
        ),
        ("swapped",),
    ),
    "never calls fn": (_measure("return 0.0, 0.0"), ("never called fn",)),
    "one number": (
        _measure("w = time.perf_counter(); fn()\nreturn time.perf_counter() - w"),
        ("pair",),
    ),
    "CPU clock for both": (
        _measure("c = time.process_time(); fn(); d = time.process_time() - c\nreturn d, d"),
        ("you returned wall = ",),
    ),
    "start minus end": (
        _measure(
            "w, c = time.perf_counter(), time.process_time()\nfn()\n"
            "return w - time.perf_counter(), c - time.process_time()"
        ),
        ("negative",),
    ),
    "milliseconds of wall": (
        _measure(
            "w, c = time.perf_counter(), time.process_time()\nfn()\n"
            "return (time.perf_counter() - w) * 1000, time.process_time() - c"
        ),
        ("milliseconds",),
    ),
    "a typo": (
        _measure("start = time.perf_counter()\nfn()\nreturn time.perf_counter() - strat, 0"),
        ("NameError", "strat"),
    ),
}


@pytest.mark.parametrize(("cells", "says"), Q3_WRONG.values(), ids=Q3_WRONG.keys())
def test_q3_wrong(cells: str, says: tuple[str, ...]) -> None:
    verdict = assert_cells_fail(q3, "measure", SETUP, cells, says=says)
    if "strat" in says:
        assert "strat" in verdict.code  # the student's own line is shown


# ------------------------------------------------------------------ q4: why the gap
def test_q4() -> None:
    assert_cells_pass(q4, "answer", _solution("q4"))
    for right in ("b", " B ", "B"):
        assert_passes(q4, right)
    assert_fails(q4, "A", "It can")
    assert_fails(q4, "C", "Nothing ran anywhere")
    assert_fails(q4, "D", "GIL")
    assert_fails(q4, "E", "one of the letters")
    assert_fails(q4, 2, "one of the letters")
    assert_not_attempted(q4, None)
