"""Execute the course's notebooks: ``make notebooks`` (store outputs) and the test-suite.

``python -m concurrency_lab.dev.nbrun notebooks/*.ipynb solutions/*.ipynb`` re-executes each
notebook top to bottom in a fresh kernel, in its own folder, at the scale given by
``CONCURRENCY_LAB_SCALE`` (lecture scale, 1, unless you say otherwise) and writes the
outputs back. Those stored outputs are what students read before they run anything and
what nbval compares against at test scale.

Cells tagged ``raises-exception`` may raise (they demonstrate an error); any other error
stops the run and names the notebook and cell.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbclient import NotebookClient

KERNEL_NAME = "python3"


def execute_notebook(
    path: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: int = 600,
    kernel_name: str = KERNEL_NAME,
) -> nbformat.NotebookNode:
    """Run ``path`` in a new kernel (working directory = its folder); return the result.

    ``env`` is the kernel's whole environment (default: this process's); ``kernel_name``
    a kernelspec (the tests use one per start method, see
    :mod:`concurrency_lab.dev.nbtesting`). ``timeout`` is
    per cell, in seconds: a cell that hangs (a pool under spawn with a function defined in
    the notebook, say) fails the run instead of blocking it forever.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        # Every output is in `nb` by then; a graceful shutdown would only wait (~2.5 s)
        # while ipykernel signals its children one by one, and multiprocessing's resource
        # tracker (started by any spawn/forkserver pool) ignores SIGINT and SIGTERM.
        shutdown_kernel="immediate",
    )
    kernel_env = dict(os.environ if env is None else env)
    kernel_env.pop("PYTEST_CURRENT_TEST", None)  # else ipykernel hides children's output
    client.execute(env=kernel_env, stderr=subprocess.DEVNULL)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        start = time.perf_counter()
        print(f"executing {path} ...", flush=True)
        nb = execute_notebook(path, timeout=args.timeout)
        nbformat.write(nb, path)
        print(f"  wrote {path} ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
