"""Helpers for the Python concurrency course, in four rooms — one per audience.

* :mod:`concurrency_lab.work` — what a **child process** may import: the workloads
  (``io_task``, ``cpu_task``), the scale knob, timelines, the project's batching and
  pipeline, asyncio twins, the probes the checks hand to workers. Standard library only,
  so a spawned worker starts fast and never drags in plotting or Jupyter.
* :mod:`concurrency_lab.view` — what a **notebook** shows: Gantt timelines and speed-up
  plots (matplotlib), the explorer widget (ipywidgets), the Dask cluster.
* :mod:`concurrency_lab.exercises` — the **checks** behind ``q1.check(answer)``,
  ``q1.hint()``, ``q1.solution()``, one module per lesson.
* :mod:`concurrency_lab.dev` — for **maintainers**: run notebooks (``make notebooks``),
  the pytest plugin, the exercise generator, running answers as notebook cells.

Imports point down only (dev → exercises → view → work); ``tests/test_house.py`` checks
that, and that a fresh interpreter importing all of ``work`` loads nothing but the
standard library. Importing this package imports none of its modules.
"""

__version__ = "0.2.0"
