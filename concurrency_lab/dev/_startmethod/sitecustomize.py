"""Force one multiprocessing start method for a whole Python process (tests only).

The test-suite (:mod:`concurrency_lab.dev.nbtesting`) puts this folder on ``PYTHONPATH`` of
every notebook kernel it starts and sets ``CONCURRENCY_LAB_START_METHOD`` to ``fork``,
``spawn`` or ``forkserver``. Python imports ``sitecustomize`` at start-up, before any
notebook code runs, so every pool the notebook creates without an explicit context uses
that method — which is how a student on macOS or Windows (spawn) or on Python 3.14 Linux
(forkserver) runs the same cells. Child processes inherit the variable and set the same
method: harmless.
"""

import os

_method = os.environ.get("CONCURRENCY_LAB_START_METHOD")
if _method:
    import multiprocessing

    multiprocessing.set_start_method(_method, force=True)
