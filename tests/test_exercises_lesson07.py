"""Lesson 07 checks: right answers pass in many idioms, wrong ones fail *specifically*.

q1 needs a Dask cluster: one LocalCluster serves the whole module (the check reuses the
client :func:`concurrency_lab.view.cluster.connect` made, as it does in the exercise notebook).
Its answers run as notebook cells (:func:`concurrency_lab.dev.cells.run_cells`), the client
taken from ``current_client()`` as the notebook's set-up cell made it. All q1 answers are
judged in one test (Dask start-up is the expensive part; each check takes well under a
second once the cluster runs).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

from concurrency_lab.dev.answers import (
    assert_not_attempted,
)
from concurrency_lab.dev.cells import run_cells
from concurrency_lab.exercises.core import Verdict, solution_from_notebook
from concurrency_lab.exercises.lesson07 import (
    Q2_CASES,
    expected_files_per_task,
    q1,
    q2,
    q2_cases,
)
from concurrency_lab.view.cluster import connect, current_client
from concurrency_lab.work import project

SETUP: dict[str, Any] = {"project": project, "math": math}
NOTEBOOK = q1.notebook

HANG_GUARD = 15.0
"""Seconds after which a check counts as stuck. Check times are a goal (≤ 2 s on a quiet
machine, measured and reported separately), not something a test may assert: a busy
machine stretches them, and a test must not be flippable by load."""
CELL_SETUP = """
import math
from concurrency_lab.exercises.lesson07 import q1
from concurrency_lab.view.cluster import current_client
from concurrency_lab.work import project
client = current_client()
"""


def _stub(*args: Any) -> None:
    raise NotImplementedError()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with connect(dashboard=False) as c:
        yield c


def judge_q1(cell: str) -> tuple[Verdict, float]:
    ns = run_cells(
        CELL_SETUP,
        cell,
        "import time as _t\n_start = _t.perf_counter()\nverdict = q1.verdict(total_on_cluster)\n"
        "_took = _t.perf_counter() - _start",
    )
    return ns["verdict"], ns["_took"]


# ------------------------------------------------------------------ q1: on the cluster
Q1_RIGHT = {
    "model": solution_from_notebook(NOTEBOOK, "q1"),
    "submit one by one": """
        def total_on_cluster(client, batches):
            futures = [client.submit(project.run, b, i) for i, b in enumerate(batches)]
            return client.submit(project.combine, futures).result()
    """,
    "dask.delayed": """
        import dask
        def total_on_cluster(client, batches):
            parts = [dask.delayed(project.run)(b, i) for i, b in enumerate(batches)]
            return dask.delayed(project.combine)(parts).compute()
    """,
    "client.compute on a delayed": """
        from dask import delayed
        def total_on_cluster(client, batches):
            parts = [delayed(project.run)(batch, n) for n, batch in enumerate(batches)]
            return client.compute(delayed(project.combine)(parts)).result()
    """,
    "the executor for the reduction": """
        def total_on_cluster(client, batches):
            futures = client.map(project.run, batches, range(len(batches)))
            executor = client.get_executor()
            return executor.submit(project.combine, futures).result()
    """,
    "verbose, gather of the final future": """
        def total_on_cluster(client, batches):
            partial_futures = []
            batch_id = 0
            for batch in batches:
                partial_futures.append(client.submit(project.run, batch, batch_id))
                batch_id = batch_id + 1
            total_future = client.submit(project.combine, partial_futures)
            total = client.gather(total_future)
            return total
    """,
}

Q1_WRONG = {
    "all in the notebook": (
        """
        def total_on_cluster(client, batches):
            return project.combine([project.run(b, i) for i, b in enumerate(batches)])
        """,
        ("no batch ran on the cluster", "client.map"),
    ),
    "only combine on the cluster": (
        """
        def total_on_cluster(client, batches):
            partials = [project.run(b, i) for i, b in enumerate(batches)]
            return client.submit(project.combine, partials).result()
        """,
        ("no batch ran on the cluster",),
    ),
    "one big task": (
        """
        def total_on_cluster(client, batches):
            paths = [p for b in batches for p in b]
            return client.submit(project.run_sequential, paths).result()
        """,
        ("in one task", "no task per batch"),
    ),
    "gathered, combined here": (
        """
        def total_on_cluster(client, batches):
            futures = client.map(project.run, batches, range(len(batches)))
            return project.combine(client.gather(futures))
        """,
        ("combine ran in this process", "submit(project.combine"),
    ),
    "gathered, submitted back": (
        """
        def total_on_cluster(client, batches):
            futures = client.map(project.run, batches, range(len(batches)))
            partials = client.gather(futures)
            return client.submit(project.combine, partials).result()
        """,
        ("its inputs came from the notebook", "futures themselves"),
    ),
    "the executor's map, then combine on the cluster": (
        """
        def total_on_cluster(client, batches):
            executor = client.get_executor()
            partials = list(executor.map(project.run, batches, range(len(batches))))
            return client.submit(project.combine, partials).result()
        """,
        ("its inputs came from the notebook",),
    ),
    "a warm-up task, then combine here": (
        """
        def total_on_cluster(client, batches):
            client.submit(sum, [1, 2, 3]).result()  # warm up the workers
            futures = client.map(project.run, batches, range(len(batches)))
            return project.combine([f.result() for f in futures])
        """,
        ("combine ran in this process",),
    ),
    "partials printed on the way": (
        """
        def total_on_cluster(client, batches):
            futures = client.map(project.run, batches, range(len(batches)))
            for f in futures:
                print(f.result().files, end=" ")
            return client.submit(project.combine, futures).result()
        """,
        ("also travelled back to the notebook", "4 of the 4"),
    ),
    "one task per file": (
        """
        def total_on_cluster(client, batches):
            paths = [p for b in batches for p in b]
            futures = client.map(project.run, [[p] for p in paths], range(len(paths)))
            return client.submit(project.combine, futures).result()
        """,
        ("12 partial result(s) for 4 batches",),
    ),
    "every batch id 0": (
        """
        def total_on_cluster(client, batches):
            return client.submit(project.combine, client.map(project.run, batches)).result()
        """,
        ("batch ids were [0, 0, 0, 0]",),
    ),
    "the first batch dropped": (
        """
        def total_on_cluster(client, batches):
            futures = client.map(project.run, batches[1:], range(1, len(batches)))
            return client.submit(project.combine, futures).result()
        """,
        # what differs depends on which files the dropped batch drew (good ones: "files:",
        # only bad ones: their errors), so only the headline is asserted
        ("not equal to the sequential",),
    ),
    "a future returned": (
        """
        def total_on_cluster(client, batches):
            futures = client.map(project.run, batches, range(len(batches)))
            return client.submit(project.combine, futures)
        """,
        ("returned a Future", ".result()"),
    ),
    "the partials returned": (
        """
        def total_on_cluster(client, batches):
            return client.gather(client.map(project.run, batches, range(len(batches))))
        """,
        ("4 partial results", "project.combine"),
    ),
    "paths the workers cannot see": (
        """
        def total_on_cluster(client, batches):
            elsewhere = [[f"/nowhere/{i}.csv" for i, _ in enumerate(b)] for b in batches]
            futures = client.map(project.run, elsewhere, range(len(batches)))
            return client.submit(project.combine, futures).result()
        """,
        ("cannot see this machine's files",),
    ),
}


def test_q1_answers_as_cells(client: Any) -> None:
    """Every q1 answer, right and wrong, on one cluster; each check well under 2 s."""
    assert current_client() is client
    slowest = 0.0
    problems = []
    for name, cell in Q1_RIGHT.items():
        verdict, took = judge_q1(cell)
        slowest = max(slowest, took)
        if verdict.status != "passed":
            problems.append(f"{name}: expected ✓, got\n{verdict.plain()}")
    for name, (cell, phrases) in Q1_WRONG.items():
        verdict, took = judge_q1(cell)
        slowest = max(slowest, took)
        text = verdict.plain()
        if verdict.status != "failed" or not all(p.lower() in text.lower() for p in phrases):
            problems.append(f"{name}: expected ✗ with {phrases}, got\n{text}")
    assert not problems, "\n\n".join(problems)
    assert current_client() is client  # the check started no cluster of its own
    assert (
        client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.plugins)).count(
            "concurrency-lab-q1-recorder"
        )
        == 0
    )  # the check's plugin is gone
    print(f"slowest q1 check: {slowest:.2f} s")
    assert slowest < HANG_GUARD, slowest


def test_q1_stub_is_not_attempted(client: Any) -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


# ------------------------------------------------------------------ q2: files per task
def judge_cell(question: str, name: str, cell: str) -> Verdict:
    ns = run_cells(
        f"import math\nfrom concurrency_lab.exercises.lesson07 import {question}",
        cell,
        f"verdict = {question}.verdict({name})",
    )
    return ns["verdict"]


_SIG = "def files_per_task(n_files, seconds_per_file, overhead, n_workers):\n"

Q2_RIGHT = {
    "model": solution_from_notebook(NOTEBOOK, "q2"),
    "a loop": _SIG
    + """    files = 1
    while overhead > 0.1 * files * seconds_per_file and files < -(-n_files // n_workers):
        files += 1
    return files
""",
    "a float that is whole": _SIG
    + """    hide = math.ceil(overhead / seconds_per_file * 10)
    return float(max(1, min(hide, math.ceil(n_files / n_workers))))
""",
    "numpy ints": _SIG
    + """    import numpy as np
    hide = np.ceil(10 * overhead / seconds_per_file).astype(np.int64)
    return np.int64(max(1, min(hide, -(-n_files // n_workers))))
""",
    "verbose ifs": _SIG
    + """    needed = 10 * overhead / seconds_per_file
    files = math.ceil(needed)
    equal_share = math.ceil(n_files / n_workers)
    if files > equal_share:
        files = equal_share
    if files < 1:
        files = 1
    return files
""",
    "integer ceiling division": _SIG
    + """    per_task = -(-overhead * 10 // seconds_per_file)
    share = (n_files + n_workers - 1) // n_workers
    return int(max(1, min(per_task, share)))
""",
}

Q2_WRONG = {
    "always one": (_SIG + "    return 1\n", ("too few", "more than 10 %", "files_per_task(200")),
    "rounded down": (
        _SIG + "    return max(1, min(int(10 * overhead / seconds_per_file), "
        "math.ceil(n_files / n_workers)))\n",
        ("too few", "round *up*"),
    ),
    "no cap": (
        _SIG + "    return max(1, math.ceil(10 * overhead / seconds_per_file))\n",
        ("more than an equal share", "at most 13 each"),
    ),
    "one task per worker": (
        _SIG + "    return math.ceil(n_files / n_workers)\n",
        ("but 7 already would", "smallest"),
    ),
    "not rounded": (
        _SIG + "    return max(1.0, min(10 * overhead / seconds_per_file, n_files / n_workers))\n",
        ("whole number", "math.ceil"),
    ),
    "the overhead rule upside down": (
        _SIG + "    return max(1, min(math.ceil(overhead / (10 * seconds_per_file)), "
        "math.ceil(n_files / n_workers)))\n",
        ("too few", "more than 10 %"),
    ),
    "max instead of min": (
        _SIG + "    return max(1, max(math.ceil(10 * overhead / seconds_per_file), "
        "math.ceil(n_files / n_workers)))\n",
        ("100 files per task", "already would"),
    ),
    "a string": (_SIG + "    return str(7)\n", ("whole number", "str")),
    "1 % instead of 10 %": (
        _SIG + "    return max(1, min(math.ceil(100 * overhead / seconds_per_file), "
        "math.ceil(n_files / n_workers)))\n",
        ("already would",),
    ),
}


@pytest.mark.parametrize("name", list(Q2_RIGHT))
def test_q2_right_answers_pass(name: str) -> None:
    if "numpy" in name:
        pytest.importorskip("numpy")
    verdict = judge_cell("q2", "files_per_task", Q2_RIGHT[name])
    assert verdict.status == "passed", verdict.plain()


@pytest.mark.parametrize("name", list(Q2_WRONG))
def test_q2_wrong_answers_name_the_broken_rule(name: str) -> None:
    cell, phrases = Q2_WRONG[name]
    verdict = judge_cell("q2", "files_per_task", cell)
    text = verdict.plain()
    assert verdict.status == "failed", text
    for phrase in phrases:
        assert phrase.lower() in text.lower(), f"{phrase!r} not in:\n{text}"


def test_q2_cases() -> None:
    assert [expected_files_per_task(*c) for c in Q2_CASES] == [7, 234, 13, 1, 1]
    a, b = q2_cases(random.Random(1)), q2_cases(random.Random(2))
    assert a[: len(Q2_CASES)] == list(Q2_CASES) and a != b
    assert_not_attempted(q2, _stub)


# ------------------------------------------------------------------ q3: where is the data
def test_q3_answers() -> None:
    for cell in (solution_from_notebook(NOTEBOOK, "q3"), 'answer = " b "', "answer = 'b'"):
        assert judge_cell("q3", "answer", cell).status == "passed"
    for letter, phrase in [
        ("C", "ModuleNotFoundError"),
        ("D", "cached"),
        ("A", "does not drop tasks"),
        ("E", "one of the letters"),
        ("2", "one of the letters"),
    ]:
        verdict = judge_cell("q3", "answer", f"answer = {letter!r}")
        assert verdict.status == "failed" and phrase in verdict.plain(), verdict.plain()
    assert judge_cell("q3", "answer", "answer = None").status == "not attempted"
