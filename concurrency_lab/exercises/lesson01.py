"""Exercises for lesson 01, sequential IO: predict, time, and explain a loop of waits.

``from concurrency_lab.exercises.lesson01 import q1, q2, q3, q4``

* q1 — predict the wall time of a sequential loop (a value).
* q2 — write a ``Timer`` context manager on ``time.perf_counter`` (a class or function).
* q3 — write ``measure(fn)`` returning ``(wall, cpu)`` seconds (a function).
* q4 — explain the gap between CPU time and wall time (a choice).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from concurrency_lab.exercises.core import (
    ChoiceProblem,
    FunctionProblem,
    ValueProblem,
    Verdict,
    call_student,
    failed,
    passed,
    register,
)
from concurrency_lab.work.tasks import nominal_duration
from concurrency_lab.work.timing import fmt_seconds

Q1_IDS = [3, 4, 5, 6]

# ---------------------------------------------------------------------------- q1
_q1_expected = sum(nominal_duration(i) for i in Q1_IDS)
q1 = ValueProblem(
    name="q1",
    expected=_q1_expected,
    tolerance=0.25,
    unit="s",
    praise=(
        f"Right: {_q1_expected} s. A loop waits for each call before starting the next, "
        "so its wall time is the sum of the durations."
    ),
    feedback={
        max(nominal_duration(i) for i in Q1_IDS): (
            "That is the longest single task: the time if all four waited *at the same "
            "time*. In a plain loop, each waits only after the previous one finished."
        ),
        2 * len(Q1_IDS): (
            "That is four tasks × the average of 2 s. These four tasks have their own "
            "durations: look each one up with nominal_duration(task_id)."
        ),
        0: "The CPU time would be about 0 — but the wall clock keeps running while we wait.",
    },
    hints=[
        "In a loop, each call must finish before the next one starts. Nothing overlaps.",
        "Look up each task's seconds with `nominal_duration(task_id)` and add them up.",
    ],
)


# ---------------------------------------------------------------------------- q2
def _uses_wall_clock(obj: Any) -> bool:
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return False
    return "time.time()" in source or ("perf_counter" not in source and "time()" in source)


def _timed(factory: Callable[[], Any], seconds: float) -> Any:
    with factory() as t:
        time.sleep(seconds)
    return t


def _q2_trial(factory: Callable[[], Any]) -> Verdict:
    t = call_student(_timed, factory, 0.05)
    if t is None:
        return failed(
            "`with Timer() as t:` gave `t = None`.",
            "The value after `as` is what `__enter__` returns (or what a @contextmanager "
            "function yields): return `self` from `__enter__`.",
        )
    if not hasattr(t, "elapsed"):
        return failed(
            f"The timer object ({type(t).__name__}) has no `elapsed` attribute.",
            "After the block, `t.elapsed` should hold the seconds it took.",
        )
    first = t.elapsed
    if not isinstance(first, (int, float)):
        return failed(f"`t.elapsed` should be a number of seconds, got {first!r}.")
    if first > 1000 or min(abs(first - clock()) for clock in (time.perf_counter, time.time)) < 5:
        return failed(
            f"`t.elapsed` is {first:.0f}: that looks like a clock reading, not a duration.",
            "Store the start in `__enter__`, and in `__exit__` the difference end − start.",
        )
    if 20 <= first <= 500:
        return failed(
            f"A 0.05 s sleep measured as {first:g}: that is milliseconds.",
            "`perf_counter()` counts seconds; keep `elapsed` in seconds.",
        )
    if not 0.04 <= first <= 0.5:
        return failed(f"A 0.05 s sleep measured as {first:g} s.", "Expected about 0.05.")
    time.sleep(0.03)
    if t.elapsed != first:
        return failed(
            "`t.elapsed` keeps growing after the `with` block ended.",
            "Record the end time in `__exit__` so the measurement is frozen at the block's end.",
        )
    if _uses_wall_clock(factory):
        return failed(
            "It measures, but with `time.time()`: the wall clock, which can jump when the "
            "system clock is adjusted (NTP, daylight saving, a user).",
            "Use `time.perf_counter()`: monotonic, and the highest resolution available.",
        )
    quick = call_student(_timed, factory, 0.0)
    if not 0 <= quick.elapsed < 0.03:
        return failed(f"An empty block measured {fmt_seconds(quick.elapsed)}; expected ≈ 0.")
    return passed(
        "Your timer works: a 0.05 s sleep measured "
        "as 0.05 s, frozen when the block ends, on a monotonic clock."
    )


q2 = FunctionProblem(
    name="q2",
    trial=_q2_trial,
    hints=[
        "A context manager is a class with `__enter__(self)` and `__exit__(self, *exc)`.",
        "`__enter__` stores `time.perf_counter()` and returns `self`; `__exit__` sets "
        "`self.elapsed = time.perf_counter() - self.start`.",
    ],
    solution_note="A generator with `@contextlib.contextmanager` that yields an object "
    "and sets its `elapsed` after the `yield` works too.",
)


# ---------------------------------------------------------------------------- q3
def _spin(cpu_seconds: float) -> None:
    """Keep the CPU busy until this thread has *used* ``cpu_seconds`` of CPU time.

    Counting CPU time rather than wall time makes the check fair on a busy machine: the
    loop may take longer to finish, but it always does the same amount of work.
    """
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def _q3_trial(measure: Callable[[Callable[[], Any]], Any]) -> Verdict:
    got = call_student(measure, lambda: time.sleep(0.06))
    if not (isinstance(got, tuple) and len(got) == 2):
        return failed(f"`measure` should return a pair `(wall, cpu)`, got {got!r}.")
    wall, cpu = got
    if not all(isinstance(x, (int, float)) for x in got):
        return failed(f"Both values should be seconds (numbers), got {got!r}.")
    if cpu > 0.04 and wall < 0.03:
        return failed(
            f"For a 0.06 s sleep you returned wall={wall:.3f}, cpu={cpu:.3f}: swapped?",
            "Return `(wall, cpu)` in that order.",
        )
    if not 0.05 <= wall <= 0.5:
        return failed(f"A 0.06 s sleep gave wall = {wall:.3f} s; expected about 0.06.")
    if cpu > 0.03:
        return failed(
            f"A 0.06 s sleep gave cpu = {cpu:.3f} s: that is wall-clock time.",
            "A sleeping process uses no CPU: measure CPU time with `time.process_time()`.",
        )
    wall2, cpu2 = call_student(measure, lambda: _spin(0.05))
    if cpu2 < 0.04:
        return failed(
            f"A busy loop that used 0.05 s of CPU gave cpu = {cpu2:.3f} s (wall = {wall2:.3f}).",
            "When the CPU does the work, CPU time should grow with it: "
            "`time.process_time()` counts it.",
        )
    return passed(
        "Right: a sleep costs wall time but almost no CPU time; "
        "a busy loop costs both. That gap is the opening for concurrency."
    )


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "Read two clocks before and after calling `fn()`: one for wall time, one for CPU time.",
        "`time.perf_counter()` for wall time, `time.process_time()` for this process's CPU time.",
    ],
)

# ---------------------------------------------------------------------------- q4
q4 = ChoiceProblem(
    name="q4",
    correct="B",
    choices={
        "A": "%%time cannot measure CPU time inside a loop.",
        "B": "While a task waits for its response, the CPU has nothing to do for it.",
        "C": "The tasks ran on another core, so this process's CPU time did not count them.",
        "D": "Python releases the GIL, so CPU time is not recorded.",
    },
    why={
        "A": "It can: time a `cpu_task` loop and CPU time ≈ wall time.",
        "C": "Nothing ran anywhere: `time.sleep` (like a socket read) just waits.",
        "D": "The GIL decides which thread runs Python code; it has nothing to do with "
        "how CPU time is counted.",
    },
    praise="Yes: waiting is not working. 8 s of wall time, ~0 s of CPU — the CPU was idle.",
    hints=["Compare what the CPU does during `time.sleep(2)` with `sum(range(10**8))`."],
    solution_code='q4.check("B")',
)

PROBLEMS = register(globals())
