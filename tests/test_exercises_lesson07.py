"""Lesson 07 checks: the model answers pass, realistic wrong answers fail *specifically*.

q1 needs a Dask cluster: one LocalCluster serves the whole module (the check reuses the
client :func:`concurrency_lab.view.cluster.connect` made, as it does in the exercise notebook).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from concurrency_lab.dev.answers import (
    assert_fails,
    assert_not_attempted,
    assert_passes,
    solution_namespace,
)
from concurrency_lab.exercises.lesson07 import (
    Q2_CASES,
    expected_files_per_task,
    q1,
    q2,
    q3,
)
from concurrency_lab.view.cluster import connect, current_client
from concurrency_lab.work import project

SETUP: dict[str, Any] = {"project": project, "math": math}


def _stub(*args: Any) -> None:
    raise NotImplementedError()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with connect(dashboard=False) as c:
        yield c


# ------------------------------------------------------------------ q1: on the cluster
def test_q1_model_answer_reuses_the_notebooks_client(client: Any) -> None:
    assert current_client() is client
    assert_passes(q1, solution_namespace(q1.notebook, "q1", **SETUP)["total_on_cluster"])
    assert current_client() is client  # the check started no cluster of its own


def test_q1_stub_is_not_attempted(client: Any) -> None:
    assert_not_attempted(q1, _stub)
    assert_not_attempted(q1, None)


def test_q1_submit_one_by_one_and_the_executor_also_pass(client: Any) -> None:
    def one_by_one(client, batches):
        futures = [client.submit(project.run, b, i) for i, b in enumerate(batches)]
        return client.submit(project.combine, futures).result()

    def executor_then_remote_combine(client, batches):
        executor = client.get_executor()
        partials = list(executor.map(project.run, batches, range(len(batches))))
        return client.submit(project.combine, partials).result()

    assert_passes(q1, one_by_one)
    assert_passes(q1, executor_then_remote_combine)


def test_q1_work_done_in_the_notebook_is_named(client: Any) -> None:
    def all_local(client, batches):
        return project.combine([project.run(b, i) for i, b in enumerate(batches)])

    def only_combine_remote(client, batches):
        partials = [project.run(b, i) for i, b in enumerate(batches)]
        return client.submit(project.combine, partials).result()

    def one_big_task(client, batches):
        paths = [p for b in batches for p in b]
        return client.submit(project.run_sequential, paths).result()

    assert_fails(q1, all_local, "nothing ran on the cluster", "client.map")
    assert_fails(q1, only_combine_remote, "ran only 1 task(s) (combine) for 4 batches")
    assert_fails(q1, one_big_task, "ran only 1 task(s) (run_sequential)")


def test_q1_combine_in_the_notebook_is_named(client: Any) -> None:
    def gather_then_combine(client, batches):
        futures = client.map(project.run, batches, range(len(batches)))
        return project.combine(client.gather(futures))

    assert_fails(q1, gather_then_combine, "combine ran in this process", "submit(project.combine")


def test_q1_wrong_values_and_types(client: Any) -> None:
    def drops_first_batch(client, batches):
        futures = client.map(project.run, batches[1:], range(1, len(batches)))
        return client.submit(project.combine, futures).result()

    def returns_future(client, batches):
        futures = client.map(project.run, batches, range(len(batches)))
        return client.submit(project.combine, futures)

    def returns_partials(client, batches):
        return client.gather(client.map(project.run, batches, range(len(batches))))

    def forgets_batch_ids(client, batches):
        return client.submit(project.combine, client.map(project.run, batches)).result()

    def workers_see_other_files(client, batches):
        elsewhere = [[f"/nowhere/{i}.csv" for i, _ in enumerate(b)] for b in batches]
        futures = client.map(project.run, elsewhere, range(len(batches)))
        return client.submit(project.combine, futures).result()

    assert_fails(q1, drops_first_batch, "not equal to the sequential", "files:")
    assert_fails(q1, workers_see_other_files, "cannot see this machine's files")
    assert_fails(q1, returns_future, "returned a Future", ".result()")
    assert_fails(q1, returns_partials, "4 partial results", "project.combine")
    # every batch gets id 0: the totals are still right, which is the point of ids being
    # bookkeeping only; the answer passes (combine sorts by id, it does not need them unique)
    assert_passes(q1, forgets_batch_ids)


# ------------------------------------------------------------------ q2: files per task
def test_q2_model_answer_and_cases() -> None:
    assert_passes(q2, solution_namespace(q1.notebook, "q2", **SETUP)["files_per_task"])
    assert [expected_files_per_task(*c) for c in Q2_CASES] == [7, 234, 13, 1, 1]


def test_q2_stub_is_not_attempted() -> None:
    assert_not_attempted(q2, _stub)


def test_q2_written_differently_passes() -> None:
    def with_a_loop(n_files, seconds_per_file, overhead, n_workers):
        files = 1
        while overhead > 0.1 * files * seconds_per_file and files < -(-n_files // n_workers):
            files += 1
        return files

    def float_result(n_files, seconds_per_file, overhead, n_workers):
        return float(
            max(1, min(math.ceil(overhead / seconds_per_file * 10), math.ceil(n_files / n_workers)))
        )

    assert_passes(q2, with_a_loop)
    assert_passes(q2, float_result)


def test_q2_wrong_answers_name_the_broken_rule() -> None:
    def always_one(n_files, seconds_per_file, overhead, n_workers):
        return 1

    def rounds_down(n_files, seconds_per_file, overhead, n_workers):
        return max(1, min(int(10 * overhead / seconds_per_file), math.ceil(n_files / n_workers)))

    def no_cap(n_files, seconds_per_file, overhead, n_workers):
        return max(1, math.ceil(10 * overhead / seconds_per_file))

    def one_task_per_worker(n_files, seconds_per_file, overhead, n_workers):
        return math.ceil(n_files / n_workers)

    def unrounded(n_files, seconds_per_file, overhead, n_workers):
        return max(1.0, min(10 * overhead / seconds_per_file, n_files / n_workers))

    assert_fails(q2, always_one, "too few", "more than 10 %", "files_per_task(200")
    assert_fails(q2, rounds_down, "too few", "round *up*")
    assert_fails(q2, no_cap, "more than an equal share", "at most 13 each")
    assert_fails(q2, one_task_per_worker, "but 7 already would", "smallest")
    assert_fails(q2, unrounded, "whole number", "math.ceil")


# ------------------------------------------------------------------ q3: where is the data
def test_q3_answers() -> None:
    assert_passes(q3, solution_namespace(q1.notebook, "q3")["answer"])
    assert_passes(q3, " b ")
    assert_not_attempted(q3, None)
    assert_fails(q3, "C", "ModuleNotFoundError")
    assert_fails(q3, "D", "cached")
    assert_fails(q3, "A", "does not drop tasks")
    assert_fails(q3, "E", "one of the letters")
