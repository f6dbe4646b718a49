"""Build hook: the wheel carries the solutions notebooks, so ``qN.solution()`` works anywhere.

Everything else about the package is in ``pyproject.toml``. ``qN.solution()`` reads the
model answer from ``solutions/NN_topic.ipynb``: in a checkout of the course that is the
repository's ``solutions/`` folder; a ``pip install``-ed package (Colab, a fresh venv) has
no checkout, so building the package copies ``solutions/*.ipynb`` into
``concurrency_lab/exercises/_solutions/`` inside the build, never into the source tree
(``concurrency_lab.exercises.core.SOLUTIONS_DIR`` prefers the checkout, then this copy).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithSolutions(build_py):
    """``build_py`` plus a copy of ``solutions/*.ipynb`` into the built package."""

    def run(self) -> None:
        super().run()
        source = HERE / "solutions"
        notebooks = sorted(source.glob("*.ipynb"))
        if not notebooks:  # an sdist without solutions/ would build a wheel without answers
            raise SystemExit(f"no solutions notebooks in {source}: cannot build the package")
        target = Path(self.build_lib) / "concurrency_lab" / "exercises" / "_solutions"
        target.mkdir(parents=True, exist_ok=True)
        for notebook in notebooks:
            shutil.copyfile(notebook, target / notebook.name)


setup(cmdclass={"build_py": BuildWithSolutions})
