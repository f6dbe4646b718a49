"""Self-test helpers for checkers (like learntools' ``assert_check_passed/failed``).

A checker is only useful if it passes the model answer *and* fails realistic wrong
answers with the right message. Tests in ``tests/test_exercises_lessonNN.py`` use:

* :func:`solution_namespace` — run the model answer cell of ``solutions/NN_topic.ipynb``
  (the single source) and return the names it defined;
* :func:`assert_passes` / :func:`assert_fails` — judge an answer and assert the verdict,
  including words that must appear in a failure message.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from concurrency_lab.exercises.core import Problem, Verdict, solution_from_notebook


def solution_namespace(notebook: str, grade_id: str, **preset: Any) -> dict[str, Any]:
    """Execute the model answer cell ``grade_id`` and return its namespace.

    ``preset`` names are defined first (e.g. imports the set-up cell provides).
    """
    namespace: dict[str, Any] = {"__name__": f"solution_{notebook}_{grade_id}", **preset}
    exec(compile(solution_from_notebook(notebook, grade_id), f"<{grade_id}>", "exec"), namespace)
    return namespace


def assert_passes(problem: Problem, answer: Any) -> Verdict:
    """Assert that ``answer`` passes ``problem``'s check."""
    verdict = problem.verdict(answer)
    assert verdict.status == "passed", f"expected ✓, got:\n{verdict.plain(problem.name)}"
    return verdict


def assert_fails(problem: Problem, answer: Any, *fragments: str) -> Verdict:
    """Assert that ``answer`` fails, and that each fragment appears in the message.

    Fragments are matched case-insensitively against the headline, details and code.
    """
    verdict = problem.verdict(answer)
    text = verdict.plain(problem.name)
    assert verdict.status == "failed", f"expected ✗, got:\n{text}"
    for fragment in fragments:
        assert fragment.lower() in text.lower(), f"{fragment!r} not in verdict:\n{text}"
    return verdict


def assert_not_attempted(problem: Problem, answer: Any) -> Verdict:
    """Assert that ``answer`` counts as not attempted yet (the exercise stub)."""
    verdict = problem.verdict(answer)
    assert verdict.status == "not attempted", f"expected ○, got:\n{verdict.plain(problem.name)}"
    return verdict


@contextmanager
def module_writer(folder: Path, prefix: str) -> Iterator[Callable[..., str]]:
    """Write student modules (what a ``%%writefile`` answer cell writes) into ``folder``.

    Yields ``write(text, name=None) -> module name``; a name defaults to ``prefix`` plus a
    random suffix, so tests never see each other's modules. ``folder`` must be on
    ``sys.path`` (pytest: ``monkeypatch.syspath_prepend``). On exit the modules are
    forgotten from ``sys.modules``.
    """
    written: list[str] = []

    def write(text: str, name: str | None = None) -> str:
        name = name or f"{prefix}_{uuid.uuid4().hex[:8]}"
        (folder / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
        written.append(name)
        return name

    try:
        yield write
    finally:
        for name in written:
            sys.modules.pop(name, None)


# ------------------------------------------------------------------ answers as notebook cells
CHECK_SECONDS: dict[str, float] = {}
"""The longest check seen per ``module.qN`` in this process (reported by the self-tests)."""


def timed_verdict(problem: Problem, answer: Any) -> Verdict:
    """``problem.verdict(answer)``, remembering the longest time per question."""
    import time

    start = time.perf_counter()
    verdict = problem.verdict(answer)
    seconds = time.perf_counter() - start
    key = f"{problem.notebook or '?'}:{problem.name}"
    CHECK_SECONDS[key] = max(CHECK_SECONDS.get(key, 0.0), seconds)
    return verdict


def cells_verdict(problem: Problem, name: str | tuple[str, ...], *cells: str) -> Verdict:
    """Run ``cells`` as notebook cells, then judge what they named ``name`` (or names)."""
    from concurrency_lab.dev.cells import CellError, run_cells

    namespace = run_cells(*cells)
    names = (name,) if isinstance(name, str) else name
    try:
        values = tuple(namespace[n] for n in names)
    except KeyError as exc:
        raise CellError(f"the cells defined no {exc.args[0]!r}") from None
    return timed_verdict(problem, values[0] if len(values) == 1 else values)


def assert_cells_pass(problem: Problem, name: str | tuple[str, ...], *cells: str) -> Verdict:
    """Assert that the answer the cells define passes."""
    verdict = cells_verdict(problem, name, *cells)
    assert verdict.status == "passed", f"expected ✓, got:\n{verdict.plain(problem.name)}"
    return verdict


def assert_cells_fail(
    problem: Problem, name: str | tuple[str, ...], *cells: str, says: tuple[str, ...]
) -> Verdict:
    """Assert that the answer the cells define fails with a message containing ``says``."""
    verdict = cells_verdict(problem, name, *cells)
    text = verdict.plain(problem.name)
    assert verdict.status == "failed", f"expected ✗, got:\n{text}"
    for fragment in says:
        assert fragment.lower() in text.lower(), f"{fragment!r} not in verdict:\n{text}"
    return verdict


def verdict_error(
    problem: Problem, cell: str, verdict: Verdict, expected: tuple[str, ...] | str
) -> str | None:
    """What is wrong with ``verdict`` for the answer ``cell``, or ``None``: ``expected`` is
    ``"pass"`` or the fragments its ✗ message must contain (the first from the headline)."""
    text = verdict.plain(problem.name)
    if expected == "pass":
        return None if verdict.ok else f"expected ✓ for:\n{cell}\ngot:\n{text}"
    if verdict.status != "failed":
        return f"expected ✗ for:\n{cell}\ngot:\n{text}"
    missing = [f for f in expected if f.lower() not in text.lower()]
    return f"{missing} not in the verdict for:\n{cell}\ngot:\n{text}" if missing else None


def judge_all(
    problem: Problem, name: str, cases: dict[str, tuple[str, ...] | str], *setup: str
) -> None:
    """Judge many answers at once, each in its own thread (so each check also runs beside
    others, on a busy process); ``cases`` maps an answer cell to ``"pass"`` or to message
    fragments, the first from the headline (*which* diagnosis the answer gets). Each answer
    runs as notebook cells after ``setup``."""
    from concurrent.futures import ThreadPoolExecutor

    from concurrency_lab.dev.cells import answer

    answers = {cell: answer(name, *setup, cell) for cell in cases}
    with ThreadPoolExecutor(max_workers=len(answers)) as pool:
        futures = {cell: pool.submit(timed_verdict, problem, fn) for cell, fn in answers.items()}
    errors = [
        error
        for cell, expected in cases.items()
        if (error := verdict_error(problem, cell, futures[cell].result(), expected))
    ]
    assert not errors, "\n\n".join(errors)
