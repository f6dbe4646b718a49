"""Answers written as a module with ``%%writefile``, checked the way a spawned worker sees them.

Under ``spawn`` (macOS, Windows) and ``forkserver`` (Linux from Python 3.14) a pool worker
is a fresh Python. It receives a function as *module name + function name* and imports it;
a function defined in a notebook cell lives in ``__main__``, which in the worker is not the
notebook, so the pool breaks. The fix is to put the worker function in a module. In an
exercise the student writes that module from the notebook::

    %%writefile primes_worker.py          <- the answer cell (grade_id "q2")
    def count_primes(limit):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

    from primes_worker import count_primes  <- the check cell
    q2.check(count_primes)

In the generated exercise the function body is the stub (``raise NotImplementedError()``):
the file is written, the import works, and the check reports "not attempted" when that
error comes back from the worker (:func:`spawn_trial` runs the function through
:func:`~concurrency_lab.exercises.core.call_student`). :mod:`~concurrency_lab.dev.generate`
never tags a ``%%writefile`` cell ``raises-exception``: writing a file does not run it.

:func:`spawn_trial` is the whole check up to the results; a lesson's trial then judges
them. In order, it

1. refuses a function that a worker cannot import by name — defined in a cell
   (``__module__ == '__main__'``), a lambda, a function nested in another — and says so
   precisely (:func:`importable_problem`), without starting a pool;
2. refuses a module that *does work* when imported (a pool started at top level, a loop,
   a print) — every worker imports the file, and a pool started on import would start
   pools in its workers (:func:`import_time_code`);
3. re-imports the module from its file (:func:`fresh_function`), so a student who edits
   the ``%%writefile`` cell, runs it again and re-runs the check is judged on the new
   file — even if their ``from … import`` line ran before the edit;
4. runs the function in a pool with an explicit ``spawn`` context — a
   ``ProcessPoolExecutor``, which raises ``BrokenProcessPool`` where ``Pool.map`` would
   hang — and returns each result with the id of the process that computed it
   (:class:`SpawnRun`). Spawned workers import the file anew, so they run what is on disk.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import multiprocessing
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import repeat
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from concurrency_lab.exercises.core import (
    StudentError,
    Verdict,
    _is_course_code,
    call_student,
    failed,
    solution_from_notebook,
)
from concurrency_lab.work.worker_call import call_in_worker

__all__ = [
    "ChildWatch",
    "MissingFunction",
    "SpawnRun",
    "fresh_function",
    "import_time_code",
    "import_time_problem",
    "importable_problem",
    "load_fresh",
    "module_file",
    "pool_size",
    "run_in_spawned_workers",
    "spawn_trial",
    "stop_children",
    "threads_are_not_processes",
    "timeout_verdict",
    "write_solution_module",
    "writefile_parts",
]

_MAIN_GUARD = "__main__"


def _function_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def importable_problem(fn: Any, *, module: str, why_module: str | None = None) -> Verdict | None:
    """A ✗ verdict if a spawned worker could not import ``fn`` by name; else ``None``.

    ``module`` is the module the exercise asks for (``'primes_worker'``): the verdict
    tells the student to write ``module.py`` and import the function from it.
    ``why_module`` replaces the explanation for a function defined in a cell, for an
    exercise where the function runs in the caller and only what it sends must travel.
    """
    name = getattr(fn, "__name__", None) or _function_name(fn)
    qualname = _function_name(fn)
    fix = (
        f"Write the function into {module}.py with %%writefile (the cell's first line is "
        f"`%%writefile {module}.py`), run that cell, then import it — "
        f"`from {module} import {name}` — and check the imported function."
    )
    if getattr(fn, "__module__", None) == "__main__":
        return failed(
            f"{name} was defined in a notebook cell: its __module__ is '__main__', not '{module}'.",
            why_module
            or "A spawned worker is a fresh Python: it is sent only the module and the name, "
            f"'__main__.{qualname}', and imports them. Its __main__ is not your notebook, so "
            f"it cannot find {name}: a ProcessPoolExecutor fails with BrokenProcessPool, and "
            "multiprocessing's Pool.map waits forever.",
            fix,
        )
    if name == "<lambda>":
        return failed(
            "A lambda has no name a worker could import it by.",
            "Define the function with `def` in a module and pass that function.",
            fix,
        )
    if "<locals>" in qualname:
        return failed(
            f"{qualname} is defined inside another function: a worker cannot import it by name.",
            fix,
        )
    return None


def module_file(fn: Any) -> Path | None:
    """The ``.py`` file ``fn``'s module was loaded from (``None`` for built-ins, ``__main__``)."""
    mod = sys.modules.get(getattr(fn, "__module__", None) or "")
    filename = getattr(mod, "__file__", None)
    if not filename or not filename.endswith(".py"):
        return None
    return Path(filename)


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    sides = [test.left, *test.comparators]
    names = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
    main = any(isinstance(s, ast.Constant) and s.value == _MAIN_GUARD for s in sides)
    return names and main and isinstance(test.ops[0], ast.Eq)


_POOLISH = re.compile(r"Pool|Executor|Process\b|Process\(|\.map\(|\.submit\(")


def import_time_code(source: str) -> list[str]:
    """The top-level statements of ``source`` that do work when the module is imported.

    Definitions, imports, docstrings and plain assignments are fine; a loop, a ``with``
    block, a bare call (``print(...)``, ``pool.map(...)``) or an assignment that starts a
    pool is not — every spawned worker imports the module, so that code would run in every
    worker too. Code under ``if __name__ == "__main__":`` runs only when the file is run as
    a script, and is fine. Returns ``'line N: <code>'`` texts (empty if all is well, or
    if the source does not parse — importing it will report the syntax error).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines()
    found: list[str] = []

    def visit(body: Sequence[ast.stmt]) -> None:
        for node in body:
            if isinstance(
                node,
                (
                    ast.Import,
                    ast.ImportFrom,
                    ast.FunctionDef,
                    ast.AsyncFunctionDef,
                    ast.ClassDef,
                    ast.Pass,
                    ast.Raise,  # the exercise stub at top level: importing reports it
                ),
            ):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # a docstring
            if isinstance(node, ast.If):
                if not _is_main_guard(node):
                    visit(node.body)
                    visit(node.orelse)
                continue
            if isinstance(node, ast.Try):
                visit(node.body)
                continue
            text = lines[node.lineno - 1].strip()
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                segment = ast.get_source_segment(source, node) or text
                if not _POOLISH.search(segment):
                    continue
            found.append(f"line {node.lineno}: {text}")

    visit(tree.body)
    return found


class MissingFunction(LookupError):
    """The module, imported anew, no longer defines the function (renamed or deleted)."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module} has no {name}")
        self.module = module
        self.name = name


def fresh_function(fn: Any) -> Any:
    """Re-import ``fn``'s module from its file and return the function as the file defines it now.

    The notebook's ``from primes_worker import count_primes`` keeps the function object
    it first imported: Python imports a module once per process. This reloads the
    module — emptied first, and after dropping its cached bytecode, which a quick
    same-size edit could leave looking up to date — and looks the name up again. The
    module object stays the same, so the student's ``importlib.reload(module)`` still
    works. Modules of this course, the standard library and installed packages are
    returned as they are, never reloaded. Raises whatever importing the file raises;
    :class:`MissingFunction` if the name is gone (either way the module is removed from
    ``sys.modules``, so the next ``import`` reads the fixed file).
    """
    name = getattr(fn, "__module__", None) or ""
    mod = sys.modules.get(name)
    path = module_file(fn)
    if mod is None or path is None or _is_course_code(str(path)):
        return fn
    with contextlib.suppress(OSError, NotImplementedError, ValueError):
        os.remove(importlib.util.cache_from_source(str(path)))
    importlib.invalidate_caches()
    # reload() runs the file again in the *same* namespace, so a function the student
    # renamed or deleted would survive it (and then be missing in a spawned worker, which
    # imports the file from scratch): start from an empty namespace, as a worker does.
    for key in [k for k in vars(mod) if not (k.startswith("__") and k.endswith("__"))]:
        delattr(mod, key)
    try:
        mod = importlib.reload(mod)
        obj: Any = mod
        for part in _function_name(fn).split("."):
            if not hasattr(obj, part):
                raise MissingFunction(name, _function_name(fn))
            obj = getattr(obj, part)
    except BaseException:
        # Forget the broken module, as a failed first import does: once the student has
        # fixed the file, their `from module import name` imports it afresh instead of
        # finding this half-empty one in sys.modules.
        sys.modules.pop(name, None)
        raise
    return obj


def run_in_spawned_workers(
    fn: Callable[[Any], Any], inputs: Sequence[Any], *, max_workers: int = 2
) -> list[tuple[int, Any]]:
    """``[(pid, fn(x)) for x in inputs]``, computed in a pool of freshly *spawned* workers.

    An explicit spawn context makes the check the same on every OS and Python version,
    and a ``ProcessPoolExecutor`` reports a worker that cannot load ``fn``
    (``BrokenProcessPool``) where ``multiprocessing.Pool.map`` would wait forever.
    """
    with ProcessPoolExecutor(max_workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(call_in_worker, repeat(fn), inputs))


@dataclass(frozen=True)
class SpawnRun:
    """What :func:`spawn_trial` saw: the function it ran, results in input order, pids."""

    function: Callable[[Any], Any]
    results: list[Any]
    pids: list[int]
    wall: float

    @property
    def in_other_processes(self) -> bool:
        """True if no result was computed in this process."""
        return bool(self.pids) and os.getpid() not in self.pids


_REMOTE_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>[^\n]+)\n')


def _worker_error_verdict(exc: BaseException, name: str) -> Verdict:
    """'Your function raised X in a worker', with the student's line from the worker's traceback."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    remote = getattr(exc.__cause__, "tb", "")
    where, code = "", ""
    for match in _REMOTE_FRAME.finditer(remote):
        if not _is_course_code(match["file"]):
            file = Path(match["file"]).name
            where = f"raised at line {match['line']} of {file}, in {match['name']}"
            rest = remote[match.end() :].splitlines()
            code = rest[0].strip() if rest else ""
    if not where:
        return StudentError(exc).verdict()
    return failed(
        f"{name} raised {type(exc).__name__} in a worker process.",
        message,
        where,
        "The pool sends the worker's exception back and raises it again in your process.",
        code=code,
    )


def import_time_problem(fn: Any, *, why: str, fix: str) -> Verdict | None:
    """A ✗ if the file ``fn`` came from does work when imported (a loop, a pool, a print).

    Only student files are read (never the course's own modules); ``why`` says who imports
    the file in this exercise, ``fix`` what to do.
    """
    path = module_file(fn)
    if path is None or _is_course_code(str(path)):
        return None
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return None
    code = import_time_code(source)
    if not code:
        return None
    return failed(
        f"{path.name} does work when it is imported, not only define functions.",
        why,
        fix,
        code="\n".join(code),
    )


def load_fresh(fn: Any, *, timeout: float) -> Any:
    """``fn`` re-imported from its file (:func:`fresh_function`), or a ✗ if it is gone.

    Run through :func:`~concurrency_lab.exercises.core.call_student`, so a stub that raises
    ``NotImplementedError`` on import counts as not attempted.
    """
    name = getattr(fn, "__name__", None) or _function_name(fn)
    try:
        return call_student(fresh_function, fn, timeout=timeout)
    except StudentError as error:
        if isinstance(error.exc, MissingFunction):
            path = module_file(fn)
            return failed(
                f"{path.name if path else error.exc.module} no longer defines {name}.",
                f"The check imports {error.exc.module} anew from its file: did you rename "
                "the function, or forget to run the %%writefile cell after editing it?",
            )
        raise


def spawn_trial(
    fn: Any, inputs: Sequence[Any], *, module: str, timeout: float = 30.0
) -> Verdict | SpawnRun:
    """Run ``fn`` over ``inputs`` in spawned workers, as the exercise's module answer.

    Returns a ✗ :class:`~concurrency_lab.exercises.core.Verdict` for a function a worker
    cannot import, a module that does work on import, a function missing from the file, a
    broken pool or an exception raised in a worker; otherwise a :class:`SpawnRun` for the
    caller to judge. The stub's ``NotImplementedError`` (raised on import or in a worker)
    and timeouts propagate as ``NotAttempted`` / ``StudentTimeout``, which
    :meth:`~concurrency_lab.exercises.core.Problem.verdict` turns into verdicts.
    ``module`` is the module name the exercise asks for, used in advice.
    """
    problem = importable_problem(fn, module=module)
    if problem is not None:
        return problem
    name = getattr(fn, "__name__", None) or _function_name(fn)
    problem = import_time_problem(
        fn,
        why=f"Every spawned worker imports this file to find {name}, so that code would run "
        "again in every worker — a pool started there would start pools of its own.",
        fix="Keep only imports and definitions at the top level (or put the code under "
        '`if __name__ == "__main__":`), and start the pool in the notebook.',
    )
    if problem is not None:
        return problem
    fresh = load_fresh(fn, timeout=timeout)
    if isinstance(fresh, Verdict):
        return fresh
    start = time.perf_counter()
    try:
        pairs = call_student(run_in_spawned_workers, fresh, inputs, timeout=timeout)
    except StudentError as error:
        if isinstance(error.exc, BrokenProcessPool):
            return failed(
                f"The spawned workers could not run {name}: the pool broke (BrokenProcessPool).",
                f"A worker died before it could return a result — usually because it could "
                f"not import {getattr(fn, '__module__', '?')}. Is {module}.py in the "
                "notebook's folder, and does `import "
                f"{module}` work in a new cell?",
            )
        return _worker_error_verdict(error.exc, name)
    wall = time.perf_counter() - start
    return SpawnRun(fresh, [r for _, r in pairs], [p for p, _ in pairs], wall)


# --------------------------------------------------------------------------- self-tests
def writefile_parts(source: str) -> tuple[str, str]:
    """Split a ``%%writefile name.py`` cell into (file name, file text), as IPython writes it."""
    first, _, body = source.partition("\n")
    words = first.split()
    if not words or words[0] not in ("%%writefile", "%%file") or len(words) < 2:
        raise ValueError(f"not a %%writefile cell: {first!r}")
    return words[-1], body


def write_solution_module(
    notebook: str, grade_id: str, directory: Path, *, module_name: str | None = None
) -> str:
    """Write the model answer's ``%%writefile`` cell into ``directory``; return the module name.

    For self-tests (``tests/test_exercises_lessonNN.py``): put ``directory`` on
    ``sys.path``, then ``importlib.import_module(name)``. ``module_name`` overrides the
    file's name, so each test can import a module of its own.
    """
    filename, body = writefile_parts(solution_from_notebook(notebook, grade_id))
    name = module_name or Path(filename).stem
    (Path(directory) / f"{name}.py").write_text(body + "\n", encoding="utf-8")
    return name


def threads_are_not_processes() -> str:
    """Why CPU work gains nothing from threads — true on this build, GIL or free-threaded.

    On a GIL build only one thread at a time runs Python code; on a free-threaded build
    (3.13t, 3.14t) with the GIL off, threads *can* compute in parallel, so the message
    says so and gives the reason the exercise still asks for processes.
    """
    from concurrency_lab.work.build import gil_enabled

    if gil_enabled():
        return (
            "This Python runs with the GIL (the usual build): only one thread at a time runs "
            "Python code, so CPU-bound work gains nothing from threads."
        )
    return (
        "This Python runs without the GIL (a free-threaded build), so threads can compute in "
        "parallel here — but the exercise asks for worker processes, which speed up CPU work "
        "on every build, the usual GIL one included."
    )


# --------------------------------------------------------------------------- pools started
def _child_pids() -> set[int]:
    """Pids of the processes this process started with :mod:`multiprocessing` (alive or not
    yet joined). Read without reaping any (``active_children()`` would join them)."""
    children = getattr(multiprocessing.process, "_children", set())
    return {p.pid for p in list(children) if getattr(p, "pid", None)}


class ChildWatch:
    """Which new child processes appeared while a ``with`` block ran (sampled every 2 ms).

    With ``report_to`` (a folder), the count is also written to its ``children`` file, for
    :class:`TracedPath`: a worker of a pool of one need not wait for a sibling.

    A pool's workers live for the whole ``with ProcessPoolExecutor(...)`` block (tens of
    milliseconds at least), so sampling sees every one; children that existed before (a
    Dask cluster's, an earlier pool's) are left out.
    """

    def __init__(self, report_to: str | os.PathLike[str] | None = None) -> None:
        self.report_to = Path(report_to) if report_to is not None else None
        self.seen: set[int] = set()
        self._before: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="check-child-watch", daemon=True)

    def _sample(self) -> None:
        reported = -1
        while True:
            self.seen |= _child_pids() - self._before
            if self.report_to is not None and len(self.seen) != reported:
                reported = len(self.seen)  # for the traced paths' wait (a pool of one?)
                tmp = self.report_to / "children.part"
                with contextlib.suppress(OSError):
                    tmp.write_text(str(reported), encoding="utf-8")
                    tmp.replace(self.report_to / "children")
            if self._stop.wait(0.002):
                self.seen |= _child_pids() - self._before
                return

    def __enter__(self) -> ChildWatch:
        self._before = _child_pids()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pool_size(folder: str | os.PathLike[str]) -> int | None:
    """How many processes the caller has started so far (:class:`ChildWatch`), if known."""
    try:
        return int((Path(folder) / "children").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def stop_children(pids: set[int]) -> int:
    """Terminate the processes with these pids that this process started; return how many.

    For a check whose answer hung: the pool it started would otherwise keep running in the
    student's kernel. (A ``multiprocessing.Pool`` replaces workers that die while it is
    open, so some may come back; the timeout verdict says so.)
    """
    alive = [
        p
        for p in list(getattr(multiprocessing.process, "_children", set()))
        if getattr(p, "pid", None) in pids and p.is_alive()
    ]
    for process in alive:  # (a pool may end its other workers itself once one is gone)
        with contextlib.suppress(Exception):
            process.terminate()
    for process in alive:
        with contextlib.suppress(Exception):
            process.join(1.0)
    return len(alive)


def timeout_verdict(seconds: float, stopped: int) -> Verdict:
    """The timeout ✗ for a pool check: what hung, and what the check stopped."""
    return failed(
        f"Your code did not finish within {seconds:g} seconds (the model answer needs a "
        "fraction of a second).",
        "Look for a pool waiting for a task that can never arrive (a function defined in a "
        "cell, under spawn), a result never collected, or a lock acquired twice.",
        (
            f"The check stopped the {stopped} worker process(es) your code had started. If "
            "the cell still looks busy, restart the kernel (Kernel → Restart): a thread "
            "waiting on a stopped pool cannot be ended from outside."
            if stopped
            else "If the cell still looks busy, restart the kernel (Kernel → Restart)."
        ),
    )
