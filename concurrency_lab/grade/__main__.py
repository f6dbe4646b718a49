"""``python -m concurrency_lab.grade SUBMISSIONS...`` — grade a class (``make grade``).

SUBMISSIONS are exercise notebooks (``exercises/NN_topic.ipynb`` as students hand them
in), or folders holding them: a folder per student (``alice/03_futures.ipynb``) or files
named by student (``alice_03_futures.ipynb``). Writes ``grades.csv`` (student, lesson,
one column per question, total, out of) and ``feedback/<student>/<lesson>.txt`` (the ✓/✗
messages the student would have seen, plus anything the grader noticed) into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from queue import Queue

from concurrency_lab.grade import sandbox
from concurrency_lab.grade.runner import (
    Graded,
    Limits,
    find_submissions,
    grade_notebook,
    identify,
    lessons,
    question_points,
)


def _kernels(workers: int, limits: Limits) -> tuple[Path, list[tuple[str, Path | None]]]:
    """One kernelspec (and, as root, one pids cgroup) per parallel slot."""
    folder = Path(tempfile.mkdtemp(prefix="concurrency-lab-grader-"))
    slots = []
    for slot in range(workers):
        name = f"concurrency-lab-grader-{slot}"
        isolated = sandbox.isolation_available()
        group = sandbox.make_cgroup(name, limits.processes) if isolated else None
        argv = [
            sys.executable, "-m", "concurrency_lab.grade.sandbox",
            "--memory", str(limits.memory_mib),
            "--processes", str(limits.processes),
            "--cpu", str(limits.cpu_seconds),
        ]
        if group is not None:
            argv += ["--cgroup", str(group)]
        sandbox.install_kernelspec(folder, name, argv)
        slots.append((name, group))
    return folder, slots


def write_reports(results: list[Graded], out: Path) -> Path:
    """``grades.csv`` and one feedback file per student and lesson; returns the CSV's path."""
    out.mkdir(parents=True, exist_ok=True)
    questions = sorted({q.name for g in results for q in g.questions}, key=lambda n: int(n[1:]))
    table = out / "grades.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "lesson", *questions, "total", "out_of"])
        for g in sorted(results, key=lambda g: (g.student, g.lesson)):
            scores = {q.name: f"{q.score:g}" for q in g.questions}
            writer.writerow([
                g.student, g.lesson, *(scores.get(q, "") for q in questions),
                f"{g.total:g}", f"{g.max_total:g}",
            ])
    for g in results:
        folder = out / "feedback" / g.student
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"{g.lesson} — {g.student}: {g.total:g} / {g.max_total:g}", ""]
        for q in g.questions:
            lines += [q.feedback or f"○ {q.name}: not judged.", ""]
        if g.notes:
            lines += ["Notes from the grader:", *(f"- {n}" for n in g.notes)]
        (folder / f"{g.lesson}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m concurrency_lab.grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("submissions", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("grading"), help="where to write")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once")
    parser.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per cell")
    parser.add_argument("--memory", type=int, default=4096, help="MiB per submission")
    parser.add_argument(
        "--processes", type=int, default=512, help="processes and threads per submission"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    known = lessons()
    limits = Limits(args.cell_timeout, args.memory, args.processes)
    jobs, results = [], []
    for path in find_submissions(args.submissions):
        student, lesson = identify(path, known)
        if lesson is None:
            print(f"skipped {path}: its name names no lesson ({', '.join(known)})",
                  file=sys.stderr)
            continue
        jobs.append((path, student, lesson))
    if not jobs:
        parser.error("no submissions found")
    folder, slots = _kernels(args.workers, limits)
    problem = sandbox.isolation_problem()
    if problem is not None:
        print(f"note: no namespaces here ({problem}), so submissions run with resource "
              "limits only; they can write wherever you can (see python -m pydoc "
              "concurrency_lab.grade)", file=sys.stderr)
    env = {**os.environ, "JUPYTER_PATH": os.pathsep.join(
        p for p in (str(folder), os.environ.get("JUPYTER_PATH", "")) if p)}
    os.environ["JUPYTER_PATH"] = env["JUPYTER_PATH"]
    free: Queue[tuple[str, Path | None]] = Queue()
    for slot in slots:
        free.put(slot)

    def grade(job: tuple[Path, str, str]) -> Graded:
        kernel, group = free.get()
        try:
            path, student, lesson = job
            return grade_notebook(
                path, student, lesson, kernel_name=kernel, limits=limits, env=env, cgroup=group
            )
        finally:
            free.put((kernel, group))

    from tqdm import tqdm

    for lesson in {job[2] for job in jobs}:
        question_points(lesson)  # fail early on a lesson whose solutions cannot be read
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(grade, job) for job in jobs]
        for future in tqdm(as_completed(futures), total=len(futures), desc="grading",
                           unit="notebook"):
            results.append(future.result())
    for _name, group in slots:
        if group is not None:
            sandbox.kill_cgroup(group, remove=True)
    table = write_reports(results, args.out)
    print(f"wrote {table} and {args.out / 'feedback'}/ for {len(results)} submission(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
