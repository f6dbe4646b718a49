"""The exercise machinery: verdicts, hints, solutions, student-code calls, probes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
)
from concurrency_lab.exercises.core import (
    ChoiceProblem,
    FunctionProblem,
    Message,
    NotAttempted,
    StudentError,
    StudentTimeout,
    ValueProblem,
    call_student,
    failed,
    first_difference,
    passed,
    solution_from_notebook,
)
from concurrency_lab.exercises.probing import (
    ProbeOutcome,
    first_failure,
    is_real_number,
    is_whole_number,
    overlap_of,
    run_with_probe,
    whole_number_failure,
)
from concurrency_lab.work.arguments import whole_number
from concurrency_lab.work.probes import (
    ProbeFailure,
    idle_slot_time,
    overlap_verdict,
    processes_verdict,
)
from concurrency_lab.work.timeline import Event

DURATIONS = {0: 0.04, 1: 0.08, 2: 0.06, 3: 0.1}


def test_check_returns_bool_and_prints_plain_text_outside_jupyter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    q = ValueProblem(name="q9", expected=8, unit="s", praise="Right!")
    assert q.check(8) is True
    assert capsys.readouterr().out == "✓ q9: Right!\n"
    assert q.check(7) is False
    assert capsys.readouterr().out.startswith("✗ q9: Not quite: you answered 7 s.")


def test_value_feedback_explains_known_wrong_answers() -> None:
    q = ValueProblem(name="q", expected=9, feedback={3: "longest task"}, tolerance=0.25)
    assert_passes(q, 9.2)
    assert_fails(q, 3, "longest task")
    assert_fails(q, "9", "expected a number")
    assert_not_attempted(q, None)


def test_choice_problem() -> None:
    q = ChoiceProblem(name="q", correct="B", choices={"A": "no", "B": "yes"}, why={"A": "nope"})
    assert_passes(q, "b")
    assert_fails(q, "A", "nope")
    assert_fails(q, "Z", "one of the letters")
    assert "**B**: yes" in q.options().markdown


def test_hints_one_at_a_time_and_by_number() -> None:
    q = ValueProblem(name="q3", expected=1, hints=["first", "second"])
    h1 = q.hint()
    assert "Hint 1 of 2" in str(h1) and "first" in str(h1) and "q3.hint()" in str(h1)
    assert "second" in str(q.hint())
    assert "second" in str(q.hint())  # stays on the last one
    assert "first" in str(q.hint(1))
    with pytest.raises(ValueError, match="hints 1 to 2"):
        q.hint(3)
    assert isinstance(h1, Message) and h1._repr_markdown_().startswith("**Hint 1 of 2")


def test_solution_renders_code_as_markdown_and_plain() -> None:
    q = ValueProblem(name="q1", expected=1, solution_code="x = 1")
    sol = q.solution()
    assert "```python\nx = 1\n```" in sol.markdown
    assert str(sol).endswith("x = 1")


def test_solution_is_read_from_the_solutions_notebook() -> None:
    code = solution_from_notebook("01_sequential_io", "q3")
    assert code.startswith("def measure(fn):")
    assert "BEGIN SOLUTION" not in code and "perf_counter" in code
    with pytest.raises(LookupError, match="q99"):
        solution_from_notebook("01_sequential_io", "q99")
    with pytest.raises(FileNotFoundError, match="solutions"):
        solution_from_notebook("99_nothing", "q1")


def test_verdict_markdown_and_plain() -> None:
    v = failed("Ran one after another.", "wall 3 s", code="task 0 ███")
    assert v.plain("q1").splitlines()[0] == "✗ q1: Ran one after another."
    assert "- wall 3 s" in v.markdown("q1") and "task 0 ███" in v.markdown("q1")
    assert passed("Good.").ok and not v.ok


def _student_function_that_divides(x: int) -> float:
    return 1 / x


def test_call_student_names_the_exception_and_the_students_line() -> None:
    with pytest.raises(StudentError) as info:
        call_student(_student_function_that_divides, 0)
    verdict = info.value.verdict()
    assert verdict.headline == "Your code raised ZeroDivisionError."
    assert "return 1 / x" in verdict.code
    assert "in _student_function_that_divides" in " ".join(verdict.details)


def test_call_student_stub_and_timeout() -> None:
    def stub() -> None:
        raise NotImplementedError()

    with pytest.raises(NotAttempted):
        call_student(stub)
    with pytest.raises(StudentTimeout) as info:
        call_student(time.sleep, 2, timeout=0.1)
    assert "did not finish within 0.1 seconds" in info.value.verdict().headline


def test_function_problem_rejects_non_functions() -> None:
    q = FunctionProblem(name="q", trial=lambda fn: passed("ok"))
    assert_fails(q, 42, "expected a function", "without calling it")
    assert_passes(q, print)


def test_first_difference() -> None:
    assert first_difference([1, 2, 3], [1, 2, 4]) == "position 2: expected 4, got 3"
    assert "missing [3]" in first_difference([1, 2], [1, 2, 3])
    assert "unexpected [9]" in first_difference([1, 2, 3, 9], [1, 2, 3])


# -- probes: telling concurrent from sequential, threads from processes -------------
def _start_all_then_join(task, ids):
    threads = [threading.Thread(target=task, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _join_in_loop(task, ids):
    for i in ids:
        t = threading.Thread(target=task, args=(i,))
        t.start()
        t.join()


def _forget_to_join(task, ids):
    for i in ids:
        threading.Thread(target=task, args=(i,)).start()


def test_probe_tells_concurrent_from_sequential() -> None:
    good = run_with_probe(_start_all_then_join, DURATIONS)
    assert overlap_verdict(good.events, good.wall) is None
    assert good.calls_verdict() is None and not good.unfinished_at_return
    bad = run_with_probe(_join_in_loop, DURATIONS)
    reason = overlap_verdict(bad.events, bad.wall)
    assert reason is not None and "task(s) ran at a time on average" in reason
    assert "task 3" in bad.describe()


def test_probe_sees_a_function_that_does_not_wait() -> None:
    out = run_with_probe(_forget_to_join, DURATIONS)
    assert out.unfinished_at_return == [0, 1, 2, 3]
    assert sorted(e.task_id for e in out.events) == [0, 1, 2, 3]  # they finished later


def test_probe_sees_missing_and_repeated_ids() -> None:
    out = run_with_probe(lambda task, ids: [task(i) for i in ids[:-1] + ids[:1]], DURATIONS)
    assert out.calls_verdict() == "task ids never run: [3]"
    again = run_with_probe(lambda task, ids: [task(i) for i in ids + ids[:1]], DURATIONS)
    assert again.calls_verdict() == ("task ids run more than once: [0]")


def test_probe_failures_and_results() -> None:
    def collect(task, ids):
        with ThreadPoolExecutor() as pool:
            futures = [pool.submit(task, i) for i in ids]
        return [f.exception() or f.result() for f in futures]

    out = run_with_probe(collect, DURATIONS, fail_ids={2})
    assert out.value[:2] == ["result of task 0", "result of task 1"]
    assert isinstance(out.value[2], ProbeFailure) and "task 2 failed" in str(out.value[2])
    assert [e.ok for e in out.events if e.task_id == 2] == [False]


def _in_processes(task, ids):
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        return list(pool.map(task, ids))


def test_probe_tells_processes_from_threads() -> None:
    procs = run_with_probe(_in_processes, DURATIONS, timeout=60)
    assert procs.value == [f"result of task {i}" for i in DURATIONS]
    assert processes_verdict(procs.events) is None
    threads = run_with_probe(_start_all_then_join, DURATIONS)
    reason = processes_verdict(threads.events)
    assert reason is not None and "threads, not processes" in reason


def test_probe_names_an_unknown_id() -> None:
    with pytest.raises(StudentError) as info:
        run_with_probe(lambda task, ids: task(99), DURATIONS)
    assert "no id 99" in str(info.value)


# ------------------------------------------------------------------ the rule machinery
def test_first_failure_runs_rules_in_order_until_one_fails() -> None:
    seen: list[str] = []

    def ok(name: str):
        return lambda: seen.append(name)  # returns None

    def bad(name: str):
        return lambda: seen.append(name) or failed(f"{name} failed")

    assert first_failure(ok("a"), None, ok("b")) is None
    verdict = first_failure(ok("c"), bad("d"), bad("e"))
    assert verdict is not None and verdict.headline == "d failed"
    assert seen == ["a", "b", "c", "d"]  # "e" never ran


def test_one_whole_number_validator() -> None:
    import numpy as np

    assert whole_number("n", np.int64(3)) == 3 and type(whole_number("n", np.int64(3))) is int
    assert whole_number("n", 0, minimum=None) == 0
    for bad, error in ((7.5, TypeError), (True, TypeError), ("3", TypeError), (0, ValueError)):
        with pytest.raises(error, match="n must be"):
            whole_number("n", bad)
    assert whole_number_failure(np.int32(4), "chunksize") is None
    assert "bool" in whole_number_failure(True, "chunksize").headline
    assert "float 7.5" in whole_number_failure(7.5, "chunksize").headline
    assert "at least 1" in whole_number_failure(0, "chunksize", minimum=1).headline
    assert is_real_number(np.float32(0.5)) and not is_real_number(float("nan"))
    assert not is_real_number(False) and not is_whole_number(3.0)


def _events(*spans: tuple[float, float]) -> list[Event]:
    return [Event(i, "probe", 1, f"t{i}", a, b) for i, (a, b) in enumerate(spans)]


def test_overlap_of_measures_in_flight_pairs_and_mean() -> None:
    together = overlap_of(_events((0, 1), (0.2, 1.2), (0.5, 1.1)))
    assert together.max_in_flight == 3 and together.all_at_once and together.apart is None
    staircase = overlap_of(_events((0, 1), (0.5, 2), (1.5, 3)), wall=3.0)
    assert staircase.max_in_flight == 2 and not staircase.all_at_once
    assert [e.task_id for e in staircase.apart] == [0, 2]  # ended first, started last
    assert staircase.mean_concurrency == pytest.approx(4.0 / 3.0)
    touching = overlap_of(_events((0, 1), (1, 2)))  # end == start is not an overlap
    assert touching.max_in_flight == 1 and not touching.all_at_once
    assert overlap_of([]).max_in_flight == 0 and not overlap_of(_events((0, 1))).all_at_once
    assert idle_slot_time(_events((0, 1), (0, 1), (1, 2)), 2) == pytest.approx(0.0)
    assert idle_slot_time(_events((0, 2), (0, 1), (1.5, 2)), 2) == pytest.approx(0.5)


def test_outcome_names_pairs_that_never_overlapped_and_words_requests() -> None:
    out = run_with_probe(_join_in_loop, DURATIONS)
    verdict = out.apart_failure("Not together.", "why")
    assert verdict is not None and "never ran at the same time" in verdict.details[0]
    assert run_with_probe(_start_all_then_join, DURATIONS).apart_failure("x") is None
    requests = ProbeOutcome(None, out.wall, out.events, out.probe, noun="request")
    reason = requests.overlap_failure("Not together.", "why", min_concurrency=3)
    assert reason is not None and "request(s) ran at a time" in reason.details[0]
    labelled = ProbeOutcome(None, 1.0, out.events, out.probe, label=lambda i: f"req /{i}")
    assert "req /3" in labelled.describe()


def test_probe_records_numpy_ids_and_stops_when_the_check_gives_up() -> None:
    import numpy as np

    out = run_with_probe(lambda task, ids: [task(i) for i in np.array(ids)], DURATIONS)
    assert out.calls_verdict() is None
    assert out.value == [f"result of task {i}" for i in DURATIONS]
    before = set(threading.enumerate())
    started = time.perf_counter()
    with pytest.raises(StudentTimeout):
        run_with_probe(lambda task, ids: task(0), {0: 5.0}, timeout=0.2)
    # the watchdog gave up on the student's thread; the probe task notices that its folder
    # is gone and stops (on a busy machine it may have stopped already)
    stuck = [t for t in set(threading.enumerate()) - before if t.name == "check-student-code"]
    for t in stuck:
        t.join(4.0)
    assert not any(t.is_alive() for t in stuck)
    assert time.perf_counter() - started < 4.5  # ...long before its 5 s were up


def test_value_problem_accepts_any_real_and_gives_feedback_only_on_a_match() -> None:
    import numpy as np

    q = ValueProblem(name="q", expected=9, tolerance=0.25, feedback={3: "longest"}, unit="s")
    assert_passes(q, np.int64(9))
    assert_passes(q, np.float32(9.2))
    assert_fails(q, 3.0, "longest")
    verdict = assert_fails(q, np.float64(3.2), "you answered 3.2 s")
    assert "longest" not in verdict.plain() and "np.float64" not in verdict.plain()
    assert_fails(q, True, "expected a number")


def test_finishing_order_allows_ties_a_stalled_machine_makes() -> None:
    # a stall woke three tasks at once: the order they were handed back in may differ from
    # their recorded ends by microseconds, and is still "finishing order"
    from concurrency_lab.exercises.probing import order_verdict
    from concurrency_lab.work.probes import probe_result
    from concurrency_lab.work.timeline import Event

    ends = {7: 0.2201, 3: 0.2200, 9: 0.2203}
    events = [Event(i, "probe", 1, "t", 0.0, end) for i, end in ends.items()]
    expected = [probe_result(i) for i in (7, 3, 9)]

    def verdict(order: list[int]) -> str:
        got = [probe_result(i) for i in order]
        v = order_verdict(got, expected, [7, 3, 9], events, advice="keep input order")
        assert v is not None
        return v.headline

    assert "finishing order" in verdict([9, 3, 7])  # all within the tie: finishing order
    events[2] = Event(9, "probe", 1, "t", 0.0, 0.30)  # now 9 clearly ended last
    assert "finishing order" in verdict([3, 7, 9])
    assert "finishing order" not in verdict([9, 3, 7])  # 9 first: some other order
