"""A workload that sometimes fails: ``flaky_task``, the database call that hangs up.

Lesson 03 needs tasks that raise, to show where an exception goes when it happens in a
worker thread (into the task's ``Future``) and how to collect results and failures
without losing either. Like :mod:`concurrency_lab.work.tasks`, the failures are
deterministic: the same ids fail in every run, on every machine and at every scale, so
a notebook can print which ids failed and compare that output in a test.

The rule is simple enough to say in one breath: **every third task fails** (ids 2, 5,
8, ...), after waiting as long as a successful call would. Ask :func:`will_fail`.
This module imports only the standard library, so process pools can use it too.
"""

from __future__ import annotations

from concurrency_lab.work.tasks import result_of, say, wait_for_response

__all__ = ["FAIL_EVERY", "flaky_task", "will_fail"]

FAIL_EVERY = 3
"""Integer ids ``n`` with ``n % FAIL_EVERY == FAIL_EVERY - 1`` fail: 2, 5, 8, ..."""


def will_fail(task_id: object) -> bool:
    """Return whether :func:`flaky_task` raises for ``task_id`` (ids 2, 5, 8, ... do).

    Only integer ids fail (``bool`` is not treated as an integer here); any other id
    always succeeds.
    """
    return (
        isinstance(task_id, int)
        and not isinstance(task_id, bool)
        and task_id % FAIL_EVERY == FAIL_EVERY - 1
    )


def flaky_task(task_id: object, *, seconds: float | None = None, verbose: bool = False) -> str:
    """Simulate a database call that fails for every third id; return ``'result of task N'``.

    Waits like :func:`concurrency_lab.work.tasks.io_task_with_return` (the seeded nominal 1-3
    seconds, or ``seconds``, times the scale), then raises ``ConnectionError`` if
    :func:`will_fail` says so. Quiet by default (``verbose=True`` announces start and
    end): in this lesson results and errors are printed by the main thread.
    """
    wait_for_response(task_id, seconds=seconds, verbose=verbose)
    if will_fail(task_id):
        if verbose:
            say(f"Task {task_id} failed")
        raise ConnectionError(f"task {task_id}: the database hung up")
    if verbose:
        say(f"Task {task_id} finished")
    return result_of(task_id)
