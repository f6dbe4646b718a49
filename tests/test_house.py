"""The house rules of ``concurrency_lab``, checked on the code itself.

The package has four rooms, one per audience (README, "The house"):

* ``work/`` — what a child process may import: the standard library only, and light;
* ``view/`` — what a notebook shows: pictures, widgets, the Dask cluster;
* ``exercises/`` — the checks behind ``qN.check()``;
* ``dev/`` — running and testing the course (notebook runner, pytest plugin, generator);
* ``grade/`` — grading a class (instructors): submissions run in a sandbox, judged by the
  checks.

Arrows point down only: ``grade``/``dev`` → ``exercises`` → ``view`` → ``work``, and no module
imports itself round a circle. These tests read the imports from the source (function-
level imports too) and import every ``work`` module in a fresh interpreter, the way a
spawned pool worker (macOS, Windows, Python 3.14 Linux) imports them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import concurrency_lab

PACKAGE = Path(concurrency_lab.__file__).resolve().parent
ROOMS = ("work", "view", "exercises", "dev", "grade")
MAY_IMPORT = {
    "work": {"work"},
    "view": {"view", "work"},
    "exercises": {"exercises", "view", "work"},
    "dev": {"dev", "exercises", "view", "work"},
    "grade": {"grade", "dev", "exercises", "view", "work"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _course_imports(path: Path) -> set[str]:
    """Every ``concurrency_lab.*`` module ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("concurrency_lab."):
                found.add(name)
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    return {n for n in found if n in modules}


def import_graph() -> dict[str, set[str]]:
    return {
        _module_name(p): _course_imports(p) - {_module_name(p)} for p in PACKAGE.rglob("*.py")
    }


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ROOMS else None


def test_every_module_lives_in_a_room() -> None:
    homeless = [m for m in import_graph() if m != "concurrency_lab" and _room(m) is None]
    assert homeless == [], f"modules outside the rooms {ROOMS}: {homeless}"


def test_arrows_point_down_only() -> None:
    upward = [
        f"{source} imports {target}"
        for source, targets in import_graph().items()
        for target in targets
        if _room(source) and _room(target) not in MAY_IMPORT[_room(source)]
    ]
    assert upward == []


def find_circles(graph: dict[str, set[str]]) -> list[str]:
    """Every path of imports that leads from a module back to itself."""
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    circles.append(" → ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    return circles


def test_no_import_circles() -> None:
    assert find_circles(import_graph()) == []


def test_a_circle_would_be_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert "a → b → c → a" in find_circles(graph)
    assert find_circles({"a": {"b"}, "b": set()}) == []


# sitecustomize/usercustomize: a distribution's own start-up hooks (Debian's Python has one)
CHILD = """
import importlib, pkgutil, sys
import concurrency_lab.work
for info in pkgutil.iter_modules(concurrency_lab.work.__path__, "concurrency_lab.work."):
    importlib.import_module(info.name)
print("\\n".join(sorted(
    name for name in sys.modules
    if name.split(".")[0] not in sys.stdlib_module_names
    and name.split(".")[0] not in ("concurrency_lab", "sitecustomize", "usercustomize")
    and not name.startswith("_")
)))
"""


def test_a_new_interpreter_imports_all_of_work_with_the_standard_library_only() -> None:
    """What a spawned worker does first: a fresh Python that imports the work it will run."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = done.stdout.split()
    assert loaded == [], f"importing concurrency_lab.work.* loaded third-party {loaded}"
