"""The course without its repository: the built wheel, a fresh venv, the notebooks elsewhere.

What a student on Colab or with ``pip install`` gets: no checkout, so no ``solutions/``
folder, no ``data/`` folder and no ``scripts/`` next to the notebooks. This test

1. builds the wheel (``pip wheel --no-deps .``);
2. creates a FRESH venv (no system site-packages) and installs the wheel and ipykernel
   into it (pip takes the dependencies from its cache when it can);
3. copies ``notebooks/`` and ``exercises/`` into an empty folder;
4. runs every lesson there, at the test scale, in a kernel of that venv (nbclient), with
   ``$XDG_CACHE_HOME`` in the temporary folder so that datasets go to the per-user cache;
5. imports every checker in that venv and calls every ``qN.solution()``.

It takes minutes, so it runs only when asked: ``make test-wheel`` (which sets
``CONCURRENCY_LAB_TEST_WHEEL=1``); in ``make test`` it is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

import nbformat
import pytest

from concurrency_lab.dev.nbtesting import TEST_SCALE

ROOT = Path(__file__).resolve().parents[1]
ENABLE = "CONCURRENCY_LAB_TEST_WHEEL"

pytestmark = pytest.mark.skipif(
    os.environ.get(ENABLE) != "1",
    reason=f"builds and installs the wheel (minutes): run `make test-wheel` ({ENABLE}=1)",
)

# Lesson output that means a file of the checkout was missing (a `!python ../x.py` cell
# fails without raising, so its error is only in the stream).
MISSING_FILE = ("can't open file", "No such file or directory")

SOLUTIONS_PROBE = """
import importlib, json, pkgutil
import concurrency_lab, concurrency_lab.exercises as ex
from concurrency_lab.exercises.core import SOLUTIONS_DIR
from concurrency_lab.work.data import DATA_DIR
shown = {}
for info in sorted(pkgutil.iter_modules(ex.__path__), key=lambda m: m.name):
    if not info.name.startswith("lesson"):
        continue
    module = importlib.import_module(f"concurrency_lab.exercises.{info.name}")
    for problem in module.PROBLEMS:
        shown[f"{info.name}.{problem.name}"] = str(problem.solution())
print(json.dumps({"package": concurrency_lab.__file__, "solutions": str(SOLUTIONS_DIR),
                  "data": str(DATA_DIR), "shown": shown}))
"""


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, (
        f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def _kernelspec(folder: Path, python: Path) -> str:
    name = "concurrency-lab-wheel"
    spec = folder / "kernels" / name
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "wheel venv", "language": "python"})
    )
    return name


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        allowed = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            if out.output_type == "error" and not allowed:
                found.append(f"cell {index}: {out.ename}: {out.evalue}")
            text = out.get("text", "") if out.output_type == "stream" else ""
            if any(marker in text for marker in MISSING_FILE):
                found.append(f"cell {index}: a file of the checkout is missing: {text.strip()}")
    return found


def test_the_wheel_runs_every_lesson_and_shows_every_solution(tmp_path: Path) -> None:
    from nbclient import NotebookClient

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("concurrency_lab-*.whl")
    timings["build the wheel"] = time.perf_counter() - t0

    t = time.perf_counter()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, clear=True)  # fresh: no system site-packages
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel), "ipykernel>=7.4"])
    timings["fresh venv + install"] = time.perf_counter() - t

    course = tmp_path / "course"  # an empty folder, far from the checkout
    shutil.copytree(ROOT / "notebooks", course / "notebooks")
    shutil.copytree(ROOT / "exercises", course / "exercises")
    jupyter_path = tmp_path / "jupyter"
    kernel = _kernelspec(jupyter_path, python)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTEST_CURRENT_TEST", "VIRTUAL_ENV", "CONCURRENCY_LAB_DATA"}
    }
    env.update(
        CONCURRENCY_LAB_SCALE=TEST_SCALE,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        JUPYTER_PATH=str(jupyter_path),
    )
    probe = _run([str(python), "-c", SOLUTIONS_PROBE], cwd=course, env=env)
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    assert str(env_dir) in report["package"], report["package"]  # not the checkout
    assert report["solutions"].endswith("_solutions"), report["solutions"]
    assert report["data"] == str(tmp_path / "cache" / "concurrency-lab" / "data")
    assert report["shown"], "no problems found"
    # the very text qN.solution() shows in the checkout: the packaged copy is the same
    expected = json.loads(
        _run([sys.executable, "-c", SOLUTIONS_PROBE], cwd=ROOT).stdout.strip().splitlines()[-1]
    )["shown"]
    assert report["shown"] == expected
    assert all(text.startswith("Solution to") for text in expected.values())

    old_path = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(jupyter_path)  # where nbclient finds the kernelspec
    failures: dict[str, list[str]] = {}
    try:
        for lesson in sorted((course / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            t = time.perf_counter()
            nb = nbformat.read(lesson, as_version=4)
            client = NotebookClient(
                nb,
                timeout=300,
                kernel_name=kernel,
                allow_errors=True,
                resources={"metadata": {"path": str(lesson.parent)}},
                shutdown_kernel="immediate",
            )
            client.execute(env=env, stderr=subprocess.DEVNULL)
            timings[lesson.stem] = time.perf_counter() - t
            if problems := _errors(nb):
                failures[lesson.name] = problems
    finally:
        if old_path is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old_path
    timings["total"] = time.perf_counter() - t0
    print("\n" + "\n".join(f"{k:<32} {v:6.1f} s" for k, v in timings.items()))
    print(f"{len(report['shown'])} solutions shown from {report['solutions']}")
    assert not failures, json.dumps(failures, indent=1)
