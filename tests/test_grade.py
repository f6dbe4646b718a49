"""The autograder on right, partial, broken and hostile submissions (lesson 01's exercises).

One grading run over a class of submissions built from ``solutions/01_sequential_io``:
the model answers, the untouched exercise, a partly answered one, and one per attack the
grader must contain (see :mod:`concurrency_lab.grade`). Each is scored exactly, nothing
outside the grading folder is touched, and no process is left behind.
"""

from __future__ import annotations

import copy
import csv
import json
import os
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.generate import make_exercise
from concurrency_lab.dev.nbtesting import ROOT
from concurrency_lab.grade import sandbox
from concurrency_lab.grade.__main__ import main as grade_main
from concurrency_lab.grade.runner import identify, lessons

LESSON = "01_sequential_io"
SOLUTION = ROOT / "solutions" / f"{LESSON}.ipynb"


def _solution() -> nbformat.NotebookNode:
    return nbformat.read(SOLUTION, as_version=4)


def _answer_cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise LookupError(grade_id)


def _with(grade_id: str, source: str, *, prepend: bool = False) -> nbformat.NotebookNode:
    """The model answers, with answer cell ``grade_id`` replaced (or prefixed) by ``source``."""
    nb = _solution()
    cell = _answer_cell(nb, grade_id)
    cell.source = f"{source}\n{cell.source}" if prepend else source
    return nb


def _class(tmp: Path, sentinel: Path) -> dict[str, tuple[nbformat.NotebookNode | str, int]]:
    """student → (submission, expected total out of 4)."""
    exercise = make_exercise(_solution())
    partial = copy.deepcopy(exercise)
    for grade_id in ("q1", "q4"):
        _answer_cell(partial, grade_id).source = _answer_cell(_solution(), grade_id).source
    renamed = _solution()
    _answer_cell(renamed, "q3").metadata["nbgrader"]["grade_id"] = "q3_renamed"
    extra_cell = _solution()
    extra_cell.cells.insert(
        5, nbformat.v4.new_code_cell("q1.check = lambda answer: print('✓ q1: Right') or True")
    )
    _answer_cell(extra_cell, "q1").source = "prediction = 5"
    return {
        "right": (_solution(), 4),
        "untouched": (exercise, 0),
        "partial": (partial, 2),
        "loops_forever": (_with("q2", "import time\nwhile True:\n    pass", prepend=True), 3),
        "fork_bomb": (
            _with(
                "q1",
                "import os, time\n"
                "for _ in range(500):  # bounded: at most 500 children\n"
                "    if os.fork() == 0:\n"
                "        time.sleep(120)\n"
                "        os._exit(0)\n"
                "prediction = 9",
            ),
            3,
        ),
        "ten_gigabytes": (_with("q3", "blob = bytearray(10 * 2**30)", prepend=True), 3),
        "exits": (_with("q1", "import os\nos._exit(1)"), 3),
        "deletes": (
            _with(
                "q1",
                "import shutil\n"
                f"shutil.rmtree({str(sentinel.parent)!r}, ignore_errors=True)\n"
                f"open({str(ROOT / 'README.md')!r}, 'w')\n",
                prepend=True,
            ),
            3,  # q1's cell raises (read-only file system) before `prediction` is set
        ),
        "fake_tick": (_with("q1", "prediction = 5\nprint('✓ q1: Right: 9 s.')\nTrue"), 3),
        "patches_checker": (
            _with(
                "q2",
                "import time\n"
                "import concurrency_lab.exercises.core as core\n"
                "core.Problem.verdict = lambda self, answer: core.passed('hacked')\n"
                "class Timer:\n"
                "    def __enter__(self):\n"
                "        return self\n"
                "    def __exit__(self, *exc):\n"
                "        self.elapsed = 1.0  # wrong whatever the block took\n",
            ),
            3,
        ),
        "extra_cell": (extra_cell, 3),
        "renamed": (renamed, 3),
        "not_json": ("{ this is not a notebook", 0),
    }


@pytest.mark.skipif(not sandbox.isolation_available(), reason="needs root on Linux")
@pytest.mark.long
def test_a_class_of_right_partial_broken_and_hostile_submissions(tmp_path: Path) -> None:
    sentinel = tmp_path / "outside" / "keep.txt"
    sentinel.parent.mkdir()
    sentinel.write_text("still here")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    submissions = tmp_path / "submissions"
    expected = {}
    for student, (nb, total) in _class(tmp_path, sentinel).items():
        folder = submissions / student
        folder.mkdir(parents=True)
        text = nb if isinstance(nb, str) else nbformat.writes(nb)
        (folder / f"{LESSON}.ipynb").write_text(text, encoding="utf-8")
        expected[student] = total
    out = tmp_path / "out"
    status = grade_main([
        str(submissions), "--out", str(out), "--cell-timeout", "8", "--processes", "100",
        "--memory", "3072",
    ])
    assert status == 0
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
    got = {student: int(float(rows[student]["total"])) for student in expected}
    assert got == expected
    assert rows["partial"]["q1"] == "1" and rows["partial"]["q2"] == "0"
    assert sentinel.read_text() == "still here"
    assert (ROOT / "README.md").read_text(encoding="utf-8") == readme
    leftovers = [
        pid for pid in os.listdir("/proc") if pid.isdigit() and _grading_process(int(pid))
    ]
    assert leftovers == []
    feedback = (out / "feedback" / "fake_tick" / f"{LESSON}.txt").read_text(encoding="utf-8")
    assert "✗ q1" in feedback
    notes = (out / "feedback" / "not_json" / f"{LESSON}.txt").read_text(encoding="utf-8")
    assert "not a readable notebook" in notes
    renamed = (out / "feedback" / "renamed" / f"{LESSON}.txt").read_text(encoding="utf-8")
    assert "no answer cell with grade_id 'q3'" in renamed


def _grading_process(pid: int) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return b"CONCURRENCY_LAB_GRADE_WORKDIR=" in environ


def test_submissions_are_named_by_folder_or_file() -> None:
    known = lessons()
    assert identify(Path("class/alice/03_futures.ipynb"), known) == ("alice", "03_futures")
    assert identify(Path("class/bob/exercises/03_futures.ipynb"), known) == ("bob", "03_futures")
    assert identify(Path("in/carol_03_futures.ipynb"), known) == ("carol", "03_futures")
    assert identify(Path("in/03_futures-dave.ipynb"), known) == ("dave", "03_futures")
    assert identify(Path("in/notes.ipynb"), known) == ("notes", None)


def test_every_lesson_with_exercises_is_gradable() -> None:
    assert lessons() == sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    json.dumps(lessons())


def test_namespaces_that_cannot_be_made_are_found_before_any_kernel_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # as root in a chroot or a container without CAP_SYS_ADMIN: unshare exists but refuses;
    # without this probe every kernel died and every submission scored 0
    import shutil

    which = shutil.which
    monkeypatch.setattr(sandbox.sys, "platform", "linux")
    monkeypatch.setattr(sandbox.os, "getuid", lambda: 0)
    monkeypatch.setattr(
        sandbox.shutil, "which", lambda name: "/bin/false" if name == "unshare" else which(name)
    )
    problem = sandbox.isolation_problem.__wrapped__()
    assert problem is not None and problem.startswith("unshare refused"), problem
    monkeypatch.setattr(sandbox.os, "getuid", lambda: 1000)
    assert sandbox.isolation_problem.__wrapped__() == "not root"
