"""Exercises for lesson 01, sequential IO: predict, time, and explain a loop of waits.

``from concurrency_lab.exercises.lesson01 import q1, q2, q3, q4``

* q1 — predict the wall time of a sequential loop (a value).
* q2 — write a ``Timer`` context manager on a monotonic clock (a class or function).
* q3 — write ``measure(fn)`` returning ``(wall, cpu)`` seconds (a function).
* q4 — explain the gap between CPU time and wall time (a choice).

q2 and q3 are judged by what the answer *does*: q2 runs blocks of known length, makes the
system clock jump in the middle of one (for the check's thread only) and sees whether
``t.elapsed`` follows it; q3 counts the calls of ``fn`` and gives it work to do in the
calling thread and in another thread of the process. Every bound comes from the check's
own measurement of the same block, so a busy machine moves the bounds with the answer.
"""

from __future__ import annotations

import datetime as _dt
import random
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from concurrency_lab.exercises.probing import first_failure, is_real_number
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
    # Shown only for exactly these answers (ValueProblem.feedback_tolerance).
    feedback={
        max(nominal_duration(i) for i in Q1_IDS): (
            "That is the longest single task: the time if all four waited *at the same "
            "time*. In a plain loop, each waits only after the previous one finished."
        ),
        2 * len(Q1_IDS): (
            "That is four tasks × 2 s, the average of the 1, 2 or 3 s a task can take. These "
            "four tasks have their own durations: look each one up with "
            "nominal_duration(task_id)."
        ),
        0: "The CPU time would be about 0 — but the wall clock keeps running while we wait.",
    },
    hints=[
        "In a loop, each call must finish before the next one starts. Nothing overlaps.",
        "Look up each task's seconds with `nominal_duration(task_id)` and add them up.",
    ],
)


# ---------------------------------------------------------------------------- q2
Q2_JUMP = 1000.0
"""How far (seconds) the check sets the system clock forward in the middle of a block."""
_JUMP = threading.local()  # .seconds: the jump, for the thread that armed it only


def _jump_seconds() -> float:
    return float(getattr(_JUMP, "seconds", 0.0))


_REAL_TIME = time.time
_REAL_TIME_NS = time.time_ns
_REAL_DATETIME = _dt.datetime
_REAL_CLOCK_GETTIME = getattr(time, "clock_gettime", None)  # not on Windows
_REAL_CLOCK_GETTIME_NS = getattr(time, "clock_gettime_ns", None)
_REALTIME = getattr(time, "CLOCK_REALTIME", None)


def _jumping_time() -> float:
    return _REAL_TIME() + _jump_seconds()


def _jumping_time_ns() -> int:
    return _REAL_TIME_NS() + int(_jump_seconds() * 1e9)


def _jumping_clock_gettime(clock_id: int) -> float:
    jump = _jump_seconds() if clock_id == _REALTIME else 0.0
    return _REAL_CLOCK_GETTIME(clock_id) + jump  # type: ignore[misc]


def _jumping_clock_gettime_ns(clock_id: int) -> int:
    jump = int(_jump_seconds() * 1e9) if clock_id == _REALTIME else 0
    return _REAL_CLOCK_GETTIME_NS(clock_id) + jump  # type: ignore[misc]


_TIME_STAND_INS: dict[str, Any] = {"time": _jumping_time, "time_ns": _jumping_time_ns}
if _REAL_CLOCK_GETTIME is not None and _REAL_CLOCK_GETTIME_NS is not None:
    _TIME_STAND_INS |= {
        "clock_gettime": _jumping_clock_gettime,
        "clock_gettime_ns": _jumping_clock_gettime_ns,
    }


class _JumpingDatetime(_dt.datetime):
    """``datetime.now()`` that follows the check's clock jump (in the armed thread only)."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        return _REAL_DATETIME.now(tz) + _dt.timedelta(seconds=_jump_seconds())

    @classmethod
    def today(cls) -> _dt.datetime:  # type: ignore[override]
        return cls.now()

    @classmethod
    def utcnow(cls) -> _dt.datetime:  # type: ignore[override]
        return _REAL_DATETIME.utcnow() + _dt.timedelta(seconds=_jump_seconds())


class _ProxyModule(types.ModuleType):
    """A stand-in for the ``time`` or ``datetime`` module in the answer's own namespace."""

    def __init__(self, real: types.ModuleType, overrides: dict[str, Any]) -> None:
        super().__init__(real.__name__)
        self.__dict__.update(overrides)
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _answer_namespaces(factory: Any) -> list[dict[str, Any]]:
    """The global namespaces the answer's code reads names from (a notebook's ``__main__``)."""
    objects = [factory, getattr(factory, "__wrapped__", None)]
    if isinstance(factory, type):
        for klass in factory.__mro__[:-1]:
            for member in vars(klass).values():
                objects += [member, getattr(member, "__func__", None)]
                objects += [getattr(member, "fget", None), getattr(member, "fset", None)]
    namespaces: dict[int, dict[str, Any]] = {}
    for obj in objects:
        found = getattr(obj, "__globals__", None)
        if isinstance(found, dict):
            namespaces[id(found)] = found
    return list(namespaces.values())


@contextmanager
def _system_clock_can_jump(factory: Any) -> Iterator[None]:
    """Let the system clock jump for the armed thread, wherever the answer reads it from.

    The ``time`` module's readings of the system clock (``time``, ``time_ns``,
    ``clock_gettime(CLOCK_REALTIME)``) are replaced (other threads still get the real clock:
    the jump is per thread); and names that the answer's namespace or its class bind to
    them, to the ``time``/``datetime`` modules or to ``datetime.datetime`` are swapped for
    jumping stand-ins. All are put back afterwards.
    """
    real_time = {name: getattr(time, name) for name in _TIME_STAND_INS}
    replacements: dict[Any, Any] = {real_time[n]: new for n, new in _TIME_STAND_INS.items()}
    replacements |= {
        _REAL_DATETIME: _JumpingDatetime,
        time: _ProxyModule(time, _TIME_STAND_INS),
        _dt: _ProxyModule(_dt, {"datetime": _JumpingDatetime}),
    }

    def stand_in_for(value: Any) -> Any:
        return next((new for old, new in replacements.items() if value is old), None)

    undo: list[Callable[[], None]] = []
    for namespace in _answer_namespaces(factory):
        for name, value in list(namespace.items()):
            if (new := stand_in_for(value)) is not None:
                namespace[name] = new
                undo.append(lambda ns=namespace, n=name, v=value: ns.__setitem__(n, v))
    if isinstance(factory, type):  # class attributes: `clock = time.time`
        for klass in factory.__mro__[:-1]:
            for name, value in list(vars(klass).items()):
                if (new := stand_in_for(value)) is not None:
                    setattr(klass, name, staticmethod(new))
                    undo.append(lambda k=klass, n=name, v=value: setattr(k, n, v))
    for name, new in _TIME_STAND_INS.items():
        setattr(time, name, new)
    try:
        yield
    finally:
        for name, value in real_time.items():
            setattr(time, name, value)
        for step in reversed(undo):
            step()


class _BlockError(Exception):
    """Raised inside a timed block, to see whether the timer lets it through."""


_MISSING = object()


def _timed(factory: Callable[[], Any], seconds: float, *, jump: bool = False) -> Any:
    """``with factory() as t: time.sleep(seconds)``; returns ``(t, t.elapsed, inner, outer)``.

    ``inner`` is the sleep alone, ``outer`` the whole ``with`` statement (seconds): a right
    timer's ``elapsed`` lies between them. ``t.elapsed`` is read right after the block
    (``_MISSING`` if there is none). With ``jump``, the system clock jumps forward by
    :data:`Q2_JUMP` seconds (for this thread only) just after the block starts.
    """
    outer0 = time.perf_counter()
    try:
        with factory() as t:
            if jump:
                _JUMP.seconds = Q2_JUMP
            inner0 = time.perf_counter()
            time.sleep(seconds)
            inner = time.perf_counter() - inner0
    finally:
        _JUMP.seconds = 0.0
    outer = time.perf_counter() - outer0
    return t, getattr(t, "elapsed", _MISSING), inner, outer


def _raises_through(factory: Callable[[], Any]) -> bool:
    """True if an exception raised inside the block reaches the code after it."""
    try:
        with factory():
            raise _BlockError("raised inside the with block")
    except _BlockError:
        return True
    return False


def _clock_readings() -> dict[str, float]:
    return {
        "time.perf_counter()": time.perf_counter(),
        "time.monotonic()": time.monotonic(),
        "time.time()": time.time(),
    }


def _elapsed_rules(
    t: Any, elapsed: Any, seconds: float, inner: float, outer: float
) -> Verdict | None:
    """What can be wrong with ``t.elapsed`` (read as ``elapsed``) after a block of ``seconds``."""
    slack = 0.02  # clock resolution: 15 ms for monotonic/time on Windows
    low, high = inner - slack, outer + slack
    block = f"A block that slept {fmt_seconds(seconds)} (it took {fmt_seconds(inner)})"

    def not_none() -> Verdict | None:
        if t is not None:
            return None
        return failed(
            "`with Timer() as t:` gave `t = None`.",
            "The value after `as` is what `__enter__` returns (or what a @contextmanager "
            "function yields): return `self` from `__enter__`.",
        )

    def has_elapsed() -> Verdict | None:
        if elapsed is not _MISSING:
            return None
        return failed(
            f"The timer object ({type(t).__name__}) has no `elapsed` attribute after the block.",
            "After the block, `t.elapsed` should hold the seconds it took.",
        )

    def is_number() -> Verdict | None:
        value = elapsed
        if is_real_number(value):
            return None
        extra = []
        if callable(value):
            extra.append(
                "It is a method: `print(t.elapsed)` should print seconds, so store "
                "the number itself (or make `elapsed` a @property)."
            )
        elif isinstance(value, _dt.timedelta):
            extra.append("A timedelta: `.total_seconds()` turns it into seconds.")
        return failed(
            f"`t.elapsed` should be a number of seconds, got {type(value).__name__} {value!r}.",
            *extra,
        )

    def in_range() -> Verdict | None:
        e = float(elapsed)
        if low <= e <= high:
            return None
        if low <= -e <= high:
            return failed(
                f"{block} measured as {e:.3f} s: negative.",
                "That is start − end: subtract the other way round, end − start.",
            )
        if low <= e / 1000 <= high:
            return failed(
                f"{block} measured as {e:g}: that is milliseconds.",
                "`time.perf_counter()` counts seconds; keep `elapsed` in seconds.",
            )
        if low <= e / 1e9 <= high:
            return failed(
                f"{block} measured as {e:g}: that is nanoseconds.",
                "`perf_counter_ns()` counts nanoseconds: divide by 1e9, or use "
                "`time.perf_counter()`, which counts seconds.",
            )
        for name, now in _clock_readings().items():
            if abs(e - now) < 5 or abs(e / 1e9 - now) < 5:
                return failed(
                    f"`t.elapsed` is {e:.0f}: that looks like a clock reading, not a duration "
                    f"(it is close to {name}{' in nanoseconds' if abs(e - now) >= 5 else ''} "
                    "now).",
                    "Store the start in `__enter__`, and in `__exit__` the difference end − start.",
                )
        if abs(e) < low / 2:
            return failed(
                f"{block} measured as {fmt_seconds(e)}: your clock hardly moved while the "
                "block waited.",
                "Did you read a CPU-time clock? `time.process_time()` counts only work, and "
                "a sleeping block does none. Or was `elapsed` set before the block ran? "
                "Measure with `time.perf_counter()`, ending in `__exit__`.",
            )
        return failed(
            f"{block} measured as {fmt_seconds(e)}.",
            f"By the check's own clock the block took {fmt_seconds(inner)} and the whole "
            f"`with` statement {fmt_seconds(outer)}: start the clock in `__enter__` and stop "
            "it in `__exit__`.",
        )

    return first_failure(not_none, has_elapsed, is_number, in_range)


def _q2_trial(factory: Callable[[], Any]) -> Verdict:
    seconds = random.uniform(0.05, 0.08)  # a different block length every check
    t, first, inner, outer = call_student(_timed, factory, seconds, timeout=2.0)

    def frozen() -> Verdict | None:
        time.sleep(0.03)
        if call_student(getattr, t, "elapsed", timeout=2.0) == first:
            return None
        return failed(
            "`t.elapsed` keeps growing after the `with` block ended.",
            "Record the end time in `__exit__` so the measurement is frozen at the block's end.",
        )

    def lets_exceptions_through() -> Verdict | None:
        if call_student(_raises_through, factory, timeout=2.0):
            return None
        return failed(
            "An exception raised inside the `with` block disappeared: your timer swallowed it.",
            "When `__exit__` returns a true value (for example `self`), Python suppresses "
            "the block's exception. Return nothing (None) from `__exit__`.",
        )

    def ignores_clock_jumps() -> Verdict | None:
        # a second block, clearly longer than the first: an elapsed that does not follow the
        # block (a constant, say) cannot fit both
        longer = seconds + random.uniform(0.08, 0.12)
        with _system_clock_can_jump(factory):
            t2, e, inner2, outer2 = call_student(_timed, factory, longer, jump=True, timeout=2.0)
        if is_real_number(e) and inner2 - 0.02 <= e <= outer2 + 0.02:
            return None
        if is_real_number(e) and abs(e - Q2_JUMP - inner2) < 0.1 * Q2_JUMP:
            return failed(
                "It measures, but on the system clock: when that clock jumped "
                f"{Q2_JUMP:.0f} s forward during a {fmt_seconds(inner2)} block, `t.elapsed` "
                f"said {e:.2f} s.",
                "`time.time()` (and `datetime.now()`) read the system clock, which jumps "
                "whenever it is set: an NTP correction that steps it, or a person changing "
                "the time. The check made it appear to jump, as seen from its own thread only.",
                "Use `time.perf_counter()`: it is monotonic (never jumps) and has the highest "
                "resolution available.",
            )
        return _elapsed_rules(t2, e, longer, inner2, outer2)

    return first_failure(
        lambda: _elapsed_rules(t, first, seconds, inner, outer),
        frozen,
        lets_exceptions_through,
        ignores_clock_jumps,
    ) or passed(
        f"Your timer works: a {fmt_seconds(inner)} sleep measured as {fmt_seconds(first)}, "
        "frozen when the block ends, on a monotonic clock.",
        f"When the check made the system clock appear to jump {Q2_JUMP:.0f} s forward in the "
        "middle of a second, longer block, your timer was not fooled.",
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
    loop may take longer to finish, but it always does the same amount of work. The clock
    is read only every few thousand turns, so the work is user time (reading a thread's
    CPU clock is a system call): an answer that counts only user time measures it too.
    """
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        for _ in range(20_000):
            pass


def _spin_in_another_thread(cpu_seconds: float) -> None:
    worker = threading.Thread(target=_spin, args=(cpu_seconds,), name="check-busy-thread")
    worker.start()
    worker.join()


class _Counted:
    """A zero-argument ``fn`` that counts how often it is called."""

    def __init__(self, work: Callable[[], None], what: str) -> None:
        self.work, self.what, self.calls = work, what, 0

    def __call__(self) -> None:
        self.calls += 1
        self.work()

    def __repr__(self) -> str:
        return f"<fn: {self.what}>"


def _measured(measure: Callable[..., Any], fn: _Counted) -> tuple[Any, float, float]:
    """``measure(fn)``, with the check's own wall and process-CPU seconds around it."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    got = measure(fn)
    return got, time.perf_counter() - wall0, time.process_time() - cpu0


def _q3_trial(measure: Callable[[Callable[[], Any]], Any]) -> Verdict:
    rng = random.Random()
    sleep_s = rng.uniform(0.05, 0.08)
    spin_s = rng.uniform(0.04, 0.05)
    slack = 0.02  # clock resolution (os.times() ticks at 10 ms)

    def run(work: Callable[[], None], what: str) -> tuple[Any, _Counted, float, float]:
        fn = _Counted(work, what)
        got, outer_wall, outer_cpu = call_student(_measured, measure, fn, timeout=2.0)
        return got, fn, outer_wall, outer_cpu

    def shape_rules(got: Any, fn: _Counted) -> Verdict | None:
        if fn.calls != 1:
            return failed(
                f"measure called fn {fn.calls} times; the question says to call it once."
                if fn.calls
                else "measure never called fn.",
                "Read both clocks, call fn() once, read both clocks again: one call gives "
                "both numbers (calling it twice would do the work twice).",
            )
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            return failed(f"`measure` should return a pair `(wall, cpu)`, got {got!r}.")
        if not all(is_real_number(x) for x in got):
            return failed(f"Both values should be seconds (numbers), got {got!r}.")
        return None

    # 1. A sleep: wall time, no CPU time.
    got, fn, outer_wall, outer_cpu = run(lambda: time.sleep(sleep_s), f"sleeps {sleep_s:.2f} s")
    failure = shape_rules(got, fn)
    if failure:
        return failure
    wall, cpu = (float(x) for x in got)
    sleeping = f"fn() slept {fmt_seconds(sleep_s)}"
    wall_ok = sleep_s - slack <= wall <= outer_wall + slack
    if not wall_ok and sleep_s - slack <= cpu <= outer_wall + slack and wall < sleep_s / 2:
        return failed(
            f"{sleeping}; you returned wall={wall:.3f}, cpu={cpu:.3f}: swapped?",
            "Return `(wall, cpu)` in that order.",
        )
    if not wall_ok and sleep_s - slack <= -wall <= outer_wall + slack:
        return failed(
            f"{sleeping}; you returned wall = {wall:.3f} s: negative.",
            "That is start − end: subtract the other way round, end − start.",
        )
    if not wall_ok:
        unit = " (milliseconds?)" if sleep_s - slack <= wall / 1000 <= outer_wall + slack else ""
        return failed(
            f"{sleeping}; you returned wall = {wall:.3f} s{unit}.",
            f"The call took {fmt_seconds(outer_wall)} by the check's clock: read "
            "`time.perf_counter()` before and after fn().",
        )
    if cpu > outer_cpu + slack:
        if outer_cpu < sleep_s / 2 and abs(cpu - wall) <= slack + 0.1 * wall:
            return failed(
                f"{sleeping}; you returned cpu = {cpu:.3f} s: that is wall-clock time.",
                "A sleeping process uses no CPU: measure CPU time with `time.process_time()`.",
            )
        return failed(
            f"{sleeping}; you returned cpu = {cpu:.3f} s, but the whole process used only "
            f"{fmt_seconds(outer_cpu)} of CPU during the call.",
            "Measure CPU time with `time.process_time()`, before and after fn().",
        )
    if cpu < -slack:
        return failed(f"{sleeping}; you returned cpu = {cpu:.3f} s: negative (end − start?).")

    # 2. CPU work in the calling thread, then 3. in another thread of the process.
    for work, where in (
        (lambda: _spin(spin_s), "in the thread that called measure"),
        (lambda: _spin_in_another_thread(spin_s), "in another thread it started and joined"),
    ):
        got, fn, outer_wall, outer_cpu = run(work, f"uses {spin_s:.2f} s of CPU {where}")
        failure = shape_rules(got, fn)
        if failure:
            return failure
        wall, cpu = (float(x) for x in got)
        busy = f"fn() kept a CPU busy for {fmt_seconds(spin_s)} {where}"
        if cpu >= spin_s - slack:
            continue
        if where.startswith("in another"):
            return failed(
                f"{busy}, but you returned cpu = {cpu:.3f} s.",
                "Your CPU clock counts only the thread that called measure (like "
                "`time.thread_time()`); the question asks for the CPU time of the whole "
                "process, all its threads: `time.process_time()`.",
            )
        return failed(
            f"{busy}, but you returned cpu = {cpu:.3f} s (wall = {wall:.3f}).",
            "When the CPU does the work, CPU time should grow with it: "
            "`time.process_time()` counts it.",
        )
    return passed(
        "Right: a sleep costs wall time but almost no CPU time; CPU work costs CPU time, "
        "in whichever thread of the process it runs. That gap is the opening for concurrency."
    )


q3 = FunctionProblem(
    name="q3",
    trial=_q3_trial,
    hints=[
        "Read two clocks before and after calling `fn()` once: one for wall time, one for "
        "CPU time.",
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
        "D": "The GIL decides which thread runs Python code (on a GIL build); it has nothing "
        "to do with how CPU time is counted.",
    },
    praise="Yes: waiting is not working. Seconds of wall time, milliseconds of CPU time — "
    "the CPU was idle while the tasks waited.",
    hints=["Compare what the CPU does during `time.sleep(2)` with `sum(range(10**8))`."],
    solution_code='q4.check("B")',
)

PROBLEMS = register(globals())
