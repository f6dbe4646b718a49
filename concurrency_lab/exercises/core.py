"""The machinery behind ``qN.check(answer)``, ``qN.hint()`` and ``qN.solution()``.

A :class:`Problem` owns hints, a model answer and a way to judge an answer. Judging
returns a :class:`Verdict`: passed (✓), failed (✗, with the *specific* problem) or not
attempted (○). ``check`` shows the verdict (Markdown in JupyterLab, plain text
elsewhere) and returns ``True``/``False``.

Three kinds of problem cover the course (modelled on Kaggle's learntools):

* :class:`ValueProblem` — the answer is a value (a predicted time, a count); known wrong
  answers can get their own explanation.
* :class:`ChoiceProblem` — pick the right explanation among lettered choices.
* :class:`FunctionProblem` — the answer is a function; a *trial* runs it against seeded,
  instrumented tasks (a watchdog stops waiting after a timeout) and returns the verdict.

Whatever the student's code does — raise ``NotImplementedError`` (not attempted yet),
raise anything else (named, with the student's own line), hang (timeout) — ``check``
never raises: the feedback *is* the output.
"""

from __future__ import annotations

import html
import inspect
import json
import linecache
import numbers
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ChoiceProblem",
    "FunctionProblem",
    "Message",
    "NotAttempted",
    "Problem",
    "StudentError",
    "StudentTimeout",
    "ValueProblem",
    "Verdict",
    "call_student",
    "failed",
    "not_attempted",
    "too_busy",
    "passed",
    "register",
    "solution_from_notebook",
]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGED_SOLUTIONS_DIR = Path(__file__).resolve().parent / "_solutions"
"""The copy of ``solutions/*.ipynb`` that a built wheel carries (``setup.py`` puts it there)."""


def _solutions_dir() -> Path:
    """The checkout's ``solutions/`` when running from the course's repository, else the
    copy installed with the package (``pip install`` of the wheel, Colab)."""
    checkout = _PACKAGE_DIR.parent / "solutions"
    if checkout.is_dir() and (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
        return checkout
    return PACKAGED_SOLUTIONS_DIR


SOLUTIONS_DIR = _solutions_dir()
STUDENT_THREAD = "check-student-code"
"""The name of the thread :func:`call_student` runs an answer in: a task that ran in this
thread ran in no worker at all (the answer called it directly, or used ``Thread.run``)."""
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"


# --------------------------------------------------------------------------- display
@dataclass(frozen=True)
class Message:
    """Text that renders as Markdown in Jupyter and as plain text when printed."""

    markdown: str
    plain: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.plain

    def __repr__(self) -> str:
        return self.plain

    def show(self) -> None:
        """Display in Jupyter (Markdown), or print plain text outside it."""
        _show(self.markdown, self.plain)


def _in_ipython() -> bool:
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None  # type: ignore[attr-defined]


def _show(markdown: str, plain: str) -> None:
    if _in_ipython():
        from IPython.display import display

        display({"text/markdown": markdown, "text/plain": plain}, raw=True)
    else:
        print(plain)


def _md_code(code: str, lang: str = "python") -> str:
    fence = "````" if "```" in code else "```"
    return f"{fence}{lang}\n{code}\n{fence}"


# --------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class Verdict:
    """The outcome of one check: status, a one-line headline, and supporting details.

    ``details`` are short lines (expected vs got, measured times); ``code`` is an
    optional excerpt (the student's failing line, a text timeline) shown verbatim.
    """

    status: str  # "passed" | "failed" | "not attempted"
    headline: str
    details: tuple[str, ...] = ()
    code: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @property
    def mark(self) -> str:
        return {"passed": "✓", "failed": "✗"}.get(self.status, "○")

    def plain(self, name: str = "") -> str:
        prefix = f"{self.mark} {name}: " if name else f"{self.mark} "
        lines = [prefix + self.headline, *(f"  {d}" for d in self.details)]
        if self.code:
            lines += ["", *(f"    {c}" for c in self.code.splitlines())]
        return "\n".join(lines)

    def markdown(self, name: str = "") -> str:
        color = {"passed": "#2e7d32", "failed": "#c62828"}.get(self.status, "#6d6d6d")
        title = f"{self.mark} {name}: " if name else f"{self.mark} "
        head = (
            f'<span style="color:{color}; font-weight:bold">{html.escape(title)}</span>'
            f"{html.escape(self.headline)}"
        )
        parts = [head]
        if self.details:
            parts.append("\n".join(f"- {d}" for d in self.details))
        if self.code:
            parts.append(_md_code(self.code, ""))
        return "\n\n".join(parts)


def passed(headline: str, *details: str) -> Verdict:
    """A ✓ verdict: one line of praise and what the result shows."""
    return Verdict("passed", headline, details)


def failed(headline: str, *details: str, code: str = "") -> Verdict:
    """A ✗ verdict naming the specific problem; details say expected vs got etc."""
    return Verdict("failed", headline, details, code)


def too_busy(headline: str, *details: str, code: str = "") -> Verdict:
    """A ○ verdict: the machine was too busy for the check to tell right from wrong.

    Neither ✓ nor ✗: the check could not see what it needs (a task that should have
    finished, a worker that should have run), and says so instead of guessing."""
    return Verdict("not attempted", headline, details, code)


def not_attempted(what: str = "your code") -> Verdict:
    return Verdict(
        "not attempted",
        "Not attempted yet.",
        (
            f"Replace `raise NotImplementedError` in {what} with your answer, run that cell, "
            "then run this check again.",
        ),
    )


# --------------------------------------------------------------------------- student code
class NotAttempted(Exception):
    """The student's code still raises ``NotImplementedError`` (the exercise stub)."""


class StudentError(Exception):
    """The student's code raised; carries the original exception and its traceback."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(f"{type(exc).__name__}: {exc}")
        self.exc = exc

    def verdict(self) -> Verdict:
        """'Your code raised X' with the student's own line, where we can find it."""
        exc = self.exc
        where, line = student_frame(exc)
        details = [f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__]
        if where:
            details.append(f"raised at {where}")
        return failed(f"Your code raised {type(exc).__name__}.", *details, code=line)


class StudentTimeout(Exception):
    """The student's code did not finish within the check's time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} seconds")
        self.seconds = seconds

    def verdict(self) -> Verdict:
        return failed(
            f"Your code did not finish within {self.seconds:g} seconds (the model answer "
            "needs a fraction of a second).",
            "Look for a thread that is never joined, a queue.get() with nothing to get, "
            "a lock acquired twice, or a pool waiting for a task that can never arrive.",
            "The check stopped waiting and its own tasks stop by themselves, but a thread "
            "of yours that is stuck (on a lock, a join, a queue) keeps waiting until you "
            "restart the kernel.",
        )


def _is_course_code(filename: str) -> bool:
    path = Path(filename)
    try:
        path.resolve().relative_to(_PACKAGE_DIR)
        return True
    except (ValueError, OSError):
        pass
    stdlib = Path(inspect.getfile(threading)).resolve().parent
    try:
        path.resolve().relative_to(stdlib)
        return True
    except (ValueError, OSError):
        return "site-packages" in filename or filename.startswith("<frozen")


def student_frame(exc: BaseException) -> tuple[str, str]:
    """Find the innermost traceback frame in the student's code: (``where``, source line).

    Frames in this package, the standard library and installed packages are skipped, so
    the student sees the line *they* wrote (a notebook cell or their own module).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        if not _is_course_code(frame.filename):
            line = frame.line or linecache.getline(frame.filename, frame.lineno or 0).strip()
            return f"line {frame.lineno}, in {frame.name}", line
    return "", ""


def call_student(fn: Callable[..., Any], *args: Any, timeout: float = 5.0, **kwargs: Any) -> Any:
    """Call the student's ``fn`` in a watchdog thread; return its result.

    Raises :class:`NotAttempted` for the stub's ``NotImplementedError``,
    :class:`StudentError` for any other exception, :class:`StudentTimeout` when it runs
    longer than ``timeout`` seconds (the thread is left behind as a daemon: Python cannot
    kill a thread, so a hung answer keeps running until the kernel restarts).
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except NotImplementedError as exc:
            box["not_implemented"] = exc
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name=STUDENT_THREAD, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise StudentTimeout(timeout)
    if "not_implemented" in box:
        raise NotAttempted() from box["not_implemented"]
    if "error" in box:
        raise StudentError(box["error"])
    return box["value"]


# --------------------------------------------------------------------------- solutions
def solution_from_notebook(notebook: str, grade_id: str) -> str:
    """Return the model answer: the cell of ``solutions/<notebook>.ipynb`` with that id.

    Cells are found by their nbgrader ``grade_id``; the marker lines are dropped. Keeping
    the answer only in the solutions notebook means the text ``qN.solution()`` shows can
    never drift from the answer that the tests run.
    """
    path = SOLUTIONS_DIR / f"{notebook}.ipynb"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(
            f"solution notebook {path} not found ({exc.strerror}); solutions live in the "
            "course's solutions/ folder"
        ) from exc
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == grade_id:
            source = "".join(cell["source"])
            kept = [
                line
                for line in source.splitlines()
                if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
            ]
            return "\n".join(kept).strip("\n")
    raise LookupError(f"no cell with nbgrader grade_id {grade_id!r} in {path}")


# --------------------------------------------------------------------------- lessons
def lesson_notebook(module_name: str) -> str:
    """The solutions notebook of a checker: ``...exercises.lesson04`` → ``04_multiprocessing``.

    Derived from the module's number and the files in ``solutions/``, never typed twice.
    """
    number = module_name.rsplit(".", 1)[-1].removeprefix("lesson")
    matches = sorted(SOLUTIONS_DIR.glob(f"{number}_*.ipynb"))
    if len(matches) != 1:
        raise LookupError(
            f"{module_name}: expected one solutions/{number}_*.ipynb, found {len(matches)}"
        )
    return matches[0].stem


def register(namespace: Mapping[str, Any]) -> list[Problem]:
    """Tie a lesson module's questions to its solutions notebook; call it last in the module.

    Every :class:`Problem` bound to a module-level name must carry that name (``q1 =
    ValueProblem(name="q1", ...)``), and its model answer is the solutions cell with the
    same nbgrader ``grade_id`` unless the problem gives ``solution_code`` itself. Adding a
    question is then: the solution cell, the problem, its self-test answers.
    """
    notebook = lesson_notebook(str(namespace["__name__"]))
    problems = []
    for name, value in namespace.items():
        if not isinstance(value, Problem):
            continue
        if value.name != name:
            raise ValueError(f"{name} = {type(value).__name__}(name={value.name!r}): names differ")
        value.notebook = notebook
        if not value.solution_code:
            value.solution_code = (notebook, name)
        problems.append(value)
    return problems


# --------------------------------------------------------------------------- problems
@dataclass
class Problem:
    """A question: ``check`` judges an answer, ``hint`` and ``solution`` help.

    ``solution`` is either the model answer as code, or a ``(notebook, grade_id)`` pair
    read lazily from the solutions notebook (the single source).
    """

    name: str
    hints: Sequence[str] = ()
    solution_code: str | tuple[str, str] = ""
    solution_note: str = ""
    notebook: str = field(default="", repr=False)
    _hints_shown: int = field(default=0, init=False, repr=False)

    # Subclasses implement this.
    def judge(self, answer: Any) -> Verdict:
        raise NotImplementedError

    def verdict(self, answer: Any) -> Verdict:
        """Judge ``answer`` without displaying anything; never raises."""
        if answer is None or answer is Ellipsis:
            return not_attempted("the answer cell")
        try:
            return self.judge(answer)
        except NotAttempted:
            return not_attempted()
        except StudentError as exc:
            return exc.verdict()
        except StudentTimeout as exc:
            return exc.verdict()

    def check(self, answer: Any) -> bool:
        """Judge ``answer``, show the verdict, return whether it passed."""
        v = self.verdict(answer)
        _show(v.markdown(self.name), v.plain(self.name))
        return v.ok

    def hint(self, n: int | None = None) -> Message:
        """Show the next hint (or hint ``n``, counting from 1)."""
        if not self.hints:
            return Message("No hints for this one: try it!", "No hints for this one: try it!")
        if n is None:
            n = min(self._hints_shown + 1, len(self.hints))
        if not 1 <= n <= len(self.hints):
            raise ValueError(f"{self.name} has hints 1 to {len(self.hints)}; you asked for {n}")
        self._hints_shown = max(self._hints_shown, n)
        more = f" (`{self.name}.hint()` again for hint {n + 1})" if n < len(self.hints) else ""
        head = f"Hint {n} of {len(self.hints)}{more}"
        text = self.hints[n - 1]
        return Message(f"**{head}:** {text}", f"{head.replace('`', '')}: {text}")

    def solution(self) -> Message:
        """Show the model answer as highlighted code."""
        if isinstance(self.solution_code, tuple):
            code = solution_from_notebook(*self.solution_code)
        else:
            code = self.solution_code
        note = f"\n\n{self.solution_note}" if self.solution_note else ""
        return Message(
            f"**Solution to {self.name}:**\n\n{_md_code(code)}{note}",
            f"Solution to {self.name}:\n\n{code}{note}",
        )


@dataclass
class ValueProblem(Problem):
    """The answer is a value. ``tolerance`` allows numeric slack; ``feedback`` maps known
    wrong answers to an explanation of the misconception behind them.

    Any real number type counts as a number (``numpy.float64``, ``numpy.int64``,
    ``fractions.Fraction``), never ``bool``. A ``feedback`` explanation is shown only for
    an answer within ``feedback_tolerance`` of its key (default: the same number), so an
    answer that merely lands *near* a misconception is not told it holds it.
    """

    expected: Any = None
    tolerance: float = 0.0
    unit: str = ""
    feedback: Mapping[Any, str] = field(default_factory=dict)
    feedback_tolerance: float = 1e-9
    praise: str = "Correct!"

    @staticmethod
    def _is_number(x: Any) -> bool:
        return isinstance(x, numbers.Real) and not isinstance(x, bool)

    def _matches(self, answer: Any, target: Any, tolerance: float) -> bool:
        if self._is_number(target):
            if not self._is_number(answer):
                return False
            try:
                return abs(float(answer) - float(target)) <= tolerance
            except (TypeError, ValueError, OverflowError):
                return False
        return bool(answer == target)

    def judge(self, answer: Any) -> Verdict:
        if self._is_number(self.expected) and not self._is_number(answer):
            return failed(
                f"Expected a number{f' of {self.unit}' if self.unit else ''}, "
                f"got {type(answer).__name__} {answer!r}."
            )
        if self._matches(answer, self.expected, self.tolerance):
            return passed(self.praise)
        unit = f" {self.unit}" if self.unit else ""
        shown = str(answer) if self._is_number(answer) else repr(answer)  # 3.0, not np.float64(3.0)
        for wrong, why in self.feedback.items():
            if self._matches(answer, wrong, self.feedback_tolerance):
                return failed(f"Not quite: {shown}{unit}.", why)
        return failed(f"Not quite: you answered {shown}{unit}.", "Try `hint()` for a nudge.")


@dataclass
class ChoiceProblem(Problem):
    """Pick the right explanation: ``choices`` maps letters to statements; ``why`` maps
    each wrong letter to why it is wrong."""

    correct: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)
    praise: str = "Correct!"

    def judge(self, answer: Any) -> Verdict:
        letters = ", ".join(f"'{k}'" for k in self.choices)
        if not isinstance(answer, str) or answer.strip().upper() not in self.choices:
            return failed(f"Answer with one of the letters {letters}; got {answer!r}.")
        letter = answer.strip().upper()
        if letter == self.correct:
            return passed(self.praise)
        return failed(f"Not {letter}: {self.choices[letter]}", self.why.get(letter, ""))

    def options(self) -> Message:
        """The choices, for the exercise text."""
        md = "\n".join(f"- **{k}**: {v}" for k, v in self.choices.items())
        return Message(md, "\n".join(f"{k}: {v}" for k, v in self.choices.items()))


@dataclass
class FunctionProblem(Problem):
    """The answer is a function; ``trial(fn)`` runs it and returns the verdict.

    The trial uses :func:`call_student` to call the student's function (timeouts,
    exceptions and the stub are turned into verdicts by :meth:`Problem.verdict`).
    """

    trial: Callable[[Callable[..., Any]], Verdict] | None = None

    def judge(self, answer: Any) -> Verdict:
        if not callable(answer):
            return failed(
                f"Expected a function (or a class), got {type(answer).__name__} {answer!r}.",
                f"Pass it itself, without calling it: `{self.name}.check(my_function)`, "
                f"not `{self.name}.check(my_function())`.",
            )
        if self.trial is None:
            raise TypeError(f"{self.name} has no trial function")
        return self.trial(answer)


def first_difference(got: Sequence[Any], expected: Sequence[Any]) -> str:
    """Describe where two sequences first differ, for a 'wrong value' verdict."""
    if len(got) != len(expected):
        missing = [x for x in expected if x not in got]
        extra = [x for x in got if x not in expected]
        parts = [f"expected {len(expected)} items, got {len(got)}"]
        if missing:
            parts.append(f"missing {_short(missing)}")
        if extra:
            parts.append(f"unexpected {_short(extra)}")
        return "; ".join(parts)
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        if g != e:
            return f"position {i}: expected {e!r}, got {g!r}"
    return "no difference"


def _short(items: Iterable[Any], limit: int = 5) -> str:
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    return f"[{shown}{', …' if len(items) > limit else ''}]"
