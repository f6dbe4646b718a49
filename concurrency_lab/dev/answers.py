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
