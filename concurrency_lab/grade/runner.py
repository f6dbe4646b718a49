"""Grade one submitted exercise notebook: the course's cells, the student's answers, fresh checks.

A submission is never trusted as a whole. The graded notebook is rebuilt from the course's
own exercise notebook (generated from ``solutions/``): every cell is the course's, except
the answer cells (nbgrader ``solution`` cells, found by ``grade_id``), which are the
student's. So extra cells a student added — one that prints a fake "✓", one that
redefines ``q1.check`` — are simply not there, and stored outputs are never read.

Each check cell ``q1.check(answer)`` runs with ``q1`` bound to a recorder that only keeps
the answer; the next cell (the *judge*) re-imports the course's checkers from disk, so a
patched checker module left behind by an answer is gone, and judges the recorded answer.
The judge prints its verdict on one line marked with a random nonce that appears nowhere
before that cell, and only that line counts.

Cells run with a per-cell timeout (interrupted, then killed if the kernel does not
answer); a cell that raises does not stop the cells after it. When an answer kills the
kernel (``os._exit``, the memory limit), that question scores 0, a new kernel starts, the
course's set-up cells run again, and grading goes on with the next question.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from concurrency_lab.dev.generate import make_exercise
from concurrency_lab.exercises.core import SOLUTIONS_DIR
from concurrency_lab.grade import sandbox

CHECK_CALL = re.compile(r"\b(q\d+)\.check\(")


# --------------------------------------------------------------------------- results
@dataclass
class QuestionResult:
    """One question's score and the feedback the student would have seen."""

    name: str
    points: float
    score: float = 0.0
    status: str = "failed"  # "passed" | "failed" | "not attempted"
    feedback: str = ""


@dataclass
class Graded:
    """A whole submission: who, which lesson, each question, and anything notable."""

    student: str
    lesson: str
    path: Path
    questions: list[QuestionResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_total(self) -> float:
        return sum(q.points for q in self.questions)


# --------------------------------------------------------------------------- the plan
@dataclass
class Step:
    """One cell of the graded notebook: ``kind`` is setup, answer, record or judge."""

    kind: str
    source: str
    question: str = ""
    nonce: str = ""


def template(lesson: str) -> nbformat.NotebookNode:
    """The course's exercise notebook for ``lesson``, as generated from ``solutions/``."""
    return make_exercise(nbformat.read(SOLUTIONS_DIR / f"{lesson}.ipynb", as_version=4))


def question_points(lesson: str) -> dict[str, float]:
    """Points per question: nbgrader ``points`` on the check cell (autograder test), else 1."""
    points: dict[str, float] = {}
    for cell in template(lesson).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id"):
            points.setdefault(meta["grade_id"], 1.0)
        found = CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
        if found and meta.get("grade"):
            points[found.group(1)] = float(meta.get("points", 1))
    return points


def answer_cells(submission: nbformat.NotebookNode) -> dict[str, str]:
    """The student's answer cells by nbgrader ``grade_id`` (the first one, if repeated)."""
    answers: dict[str, str] = {}
    for cell in submission.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if meta.get("solution") and isinstance(grade_id, str) and grade_id not in answers:
            answers[grade_id] = cell.get("source", "")
    return answers


def _recorder(question: str, nonce: str, check_source: str) -> str:
    return (
        f"class _Recorder_{nonce}:\n"
        "    called = False\n"
        "    answer = None\n"
        "    def check(self, answer):\n"
        "        type(self).called, type(self).answer = True, answer\n"
        "    def __getattr__(self, name):\n"
        "        return lambda *args, **kwargs: None\n"
        f"{question} = _Recorder_{nonce}()\n"
        f"{check_source}\n"
    )


def _judge(lesson: str, question: str, nonce: str) -> str:
    module = f"concurrency_lab.exercises.lesson{lesson[:2]}"
    return (
        f"def _judge_{nonce}():\n"
        "    import importlib, json, sys\n"
        f"    recorder = globals().get('_Recorder_{nonce}')\n"
        "    for name in [m for m in sys.modules if m.split('.')[0] == 'concurrency_lab']:\n"
        "        del sys.modules[name]\n"
        f"    problem = getattr(importlib.import_module({module!r}), {question!r})\n"
        "    if recorder is None or not recorder.called:\n"
        f"        out = {{'status': 'failed', 'text': '✗ {question}: the check cell stopped "
        "before the check (an error in it or in your answer): nothing was judged.'}\n"
        "    else:\n"
        "        verdict = problem.verdict(recorder.answer)\n"
        f"        out = {{'status': verdict.status, 'text': verdict.plain({question!r})}}\n"
        f"    print({nonce!r} + json.dumps(out))\n"
        f"_judge_{nonce}()\n"
    )


def plan(lesson: str, submission: nbformat.NotebookNode) -> tuple[list[Step], list[str]]:
    """The graded notebook's cells, and notes on answers that are missing."""
    answers = answer_cells(submission)
    steps: list[Step] = []
    notes: list[str] = []
    for cell in template(lesson).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        found = CHECK_CALL.search(cell.source)
        if meta.get("solution"):
            grade_id = meta["grade_id"]
            if grade_id not in answers:
                notes.append(f"no answer cell with grade_id {grade_id!r} (deleted or renamed?)")
            steps.append(Step("answer", answers.get(grade_id, cell.source), grade_id))
        elif found:
            question, nonce = found.group(1), secrets.token_hex(12)
            steps.append(Step("record", _recorder(question, nonce, cell.source), question, nonce))
            steps.append(Step("judge", _judge(lesson, question, nonce), question, nonce))
        else:
            steps.append(Step("setup", cell.source))
    return steps, notes


# --------------------------------------------------------------------------- running
@dataclass
class Limits:
    """What one submission may use."""

    cell_timeout: float = 60.0
    memory_mib: int = 4096
    processes: int = 512
    cpu_seconds: int = 900


def _verdict_line(cell: nbformat.NotebookNode, nonce: str) -> dict | None:
    lines = [
        line[len(nonce) :]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream" and out.get("name") == "stdout"
        for line in out.get("text", "").splitlines()
        if line.startswith(nonce)
    ]
    if len(lines) != 1:
        return None
    try:
        found = json.loads(lines[0])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


class _Watchdog:
    """Kill the kernel's process group if one cell overruns its time by a margin."""

    def __init__(self, pid: int, seconds: float) -> None:
        self._timer = threading.Timer(seconds, sandbox.kill_tree, args=(pid,))
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _starved(cgroup: Path | None, limit: int) -> bool:
    """True when the submission's processes and threads use over half of its budget."""
    if cgroup is None:
        return False
    try:
        current = int((cgroup / "pids.current").read_text())
    except (OSError, ValueError):
        return False
    return current > limit // 2


def run_steps(
    steps: list[Step],
    *,
    kernel_name: str,
    workdir: Path,
    env: dict[str, str],
    limits: Limits,
    cgroup: Path | None = None,
) -> tuple[dict[int, nbformat.NotebookNode], list[str]]:
    """Execute ``steps`` in order; returns the executed cells by index, and notes.

    One kernel for the whole notebook, while it stays healthy. When a question leaves it
    dead (``os._exit``, the memory limit, a cell that ignores interrupts) or starved (its
    leftover processes hold over half the process budget), that question is done, and a
    new kernel runs the course's set-up cells and the *other* questions' answers again —
    a later answer may use a name an earlier one defined — before the next question.
    """
    done: dict[int, nbformat.NotebookNode] = {}
    notes: list[str] = []
    bad: set[str] = set()
    start = 0
    failed_starts = 0
    while start < len(steps):
        cells = [nbformat.v4.new_code_cell(s.source) for s in steps]
        client = NotebookClient(
            nbformat.v4.new_notebook(cells=cells),
            kernel_name=kernel_name,
            timeout=int(limits.cell_timeout),
            allow_errors=True,
            interrupt_on_timeout=True,
            record_timing=False,
            shutdown_kernel="immediate",
            resources={"metadata": {"path": str(workdir)}},
        )
        stopped_at = None
        try:
            starting = client.setup_kernel(env=env, stderr=subprocess.DEVNULL)
            starting.__enter__()
        except RuntimeError as exc:  # the kernel died while starting: once more, then give up
            if cgroup is not None:
                sandbox.kill_cgroup(cgroup)
            failed_starts += 1
            if failed_starts >= 2:
                notes.append(f"no kernel could be started ({exc}): questions not run score 0")
                break
            continue
        with contextlib.ExitStack() as started:
            started.push(starting)
            pid = client.km.provisioner.process.pid  # type: ignore[union-attr]
            i = start
            try:
                for i, step in enumerate(steps[:start]):  # a new kernel: replay
                    if step.kind == "setup" or (step.kind == "answer" and step.question not in bad):
                        with _Watchdog(pid, limits.cell_timeout + 15):
                            client.execute_cell(cells[i], i)
                for i in range(start, len(steps)):
                    with _Watchdog(pid, limits.cell_timeout + 15):
                        client.execute_cell(cells[i], i)
                    done[i] = cells[i]
                    if steps[i].kind == "judge" and _starved(cgroup, limits.processes):
                        notes.append(
                            f"{steps[i].question} left processes behind that used over half "
                            "of the process budget: the kernel was restarted after it"
                        )
                        stopped_at = i
                        break
            except (DeadKernelError, CellTimeoutError) as exc:
                stopped_at = i
                done[i] = cells[i]
                what = steps[i].question or "a set-up cell"
                notes.append(f"the kernel stopped during {what} ({type(exc).__name__})")
            finally:
                sandbox.kill_tree(pid)
                if cgroup is not None:
                    sandbox.kill_cgroup(cgroup)
        if stopped_at is None:
            break
        if steps[stopped_at].question:
            bad.add(steps[stopped_at].question)
        # go on with the next question (and the set-up cells just before it)
        start = next(
            (j for j in range(stopped_at + 1, len(steps))
             if steps[j].question and steps[j].question not in bad
             and steps[j].question != steps[stopped_at].question),
            len(steps),
        )
        while start > stopped_at + 1 and steps[start - 1].kind == "setup":
            start -= 1
    return done, notes


def grade_notebook(
    path: Path,
    student: str,
    lesson: str,
    *,
    kernel_name: str,
    limits: Limits,
    env: dict[str, str],
    cgroup: Path | None = None,
) -> Graded:
    """Grade one submission file (see the module docstring); never raises for bad input."""
    points = question_points(lesson)
    graded = Graded(student, lesson, path, [QuestionResult(q, p) for q, p in points.items()])
    by_name = {q.name: q for q in graded.questions}
    try:
        submission = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as exc:  # not JSON, not a notebook, not readable: all zero, said why
        graded.notes.append(f"not a readable notebook: {type(exc).__name__}: {exc}")
        for q in graded.questions:
            q.feedback = f"✗ {q.name}: the submission is not a readable notebook."
        return graded
    steps, notes = plan(lesson, submission)
    graded.notes.extend(notes)
    workdir = Path(tempfile.mkdtemp(prefix=f"grade-{lesson[:2]}-"))
    try:
        (workdir / "data").mkdir()
        kernel_env = {**env, "CONCURRENCY_LAB_GRADE_WORKDIR": str(workdir),
                      "CONCURRENCY_LAB_DATA": str(workdir / "data")}
        done, run_notes = run_steps(
            steps, kernel_name=kernel_name, workdir=workdir, env=kernel_env, limits=limits,
            cgroup=cgroup,
        )
        graded.notes.extend(run_notes)
    finally:
        if cgroup is not None:
            sandbox.kill_cgroup(cgroup)
        shutil.rmtree(workdir, ignore_errors=True)
    for i, step in enumerate(steps):
        if step.kind != "judge" or step.question not in by_name:
            continue
        result = by_name[step.question]
        cell = done.get(i)
        verdict = _verdict_line(cell, step.nonce) if cell is not None else None
        if verdict is None:
            answer_errors = [
                e for j, s in enumerate(steps) if s.question == step.question and j in done
                for e in _errors(done[j])
            ]
            why = "; ".join(answer_errors) or "the kernel stopped or the cell timed out"
            result.feedback = f"✗ {result.name}: not judged — {why}"
            continue
        result.status = str(verdict.get("status"))
        result.feedback = str(verdict.get("text", ""))
        result.score = result.points if result.status == "passed" else 0.0
    return graded


def lessons() -> list[str]:
    """The lessons that have exercises: the stems of ``solutions/*.ipynb``."""
    return sorted(p.stem for p in SOLUTIONS_DIR.glob("*.ipynb"))


def identify(path: Path, known: list[str]) -> tuple[str, str | None]:
    """(student, lesson) from a submission's path: ``alice/03_futures.ipynb`` or
    ``alice_03_futures.ipynb``; the lesson is ``None`` when the name contains none."""
    lesson = next((name for name in known if name in path.stem), None)
    rest = path.stem.replace(lesson, "") if lesson else path.stem
    student = re.sub(r"^[\W_]+|[\W_]+$", "", rest)
    if not student:  # named just like the lesson: the student is the folder
        folders = [p.name for p in path.parents if p.name and p.name != "exercises"]
        student = folders[0] if folders else "unknown"
    return student, lesson


def find_submissions(paths: list[Path]) -> Iterator[Path]:
    """Every ``.ipynb`` under the given files and folders (checkpoints skipped), sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            found.add(path)
    yield from sorted(found)
