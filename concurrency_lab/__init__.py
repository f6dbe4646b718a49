"""Helpers for the Python concurrency course: workloads, the scale knob, timelines, checks.

Modules, one concern each:

* :mod:`concurrency_lab.work.scale` - the ``CONCURRENCY_LAB_SCALE`` knob.
* :mod:`concurrency_lab.work.tasks` - ``io_task`` and ``cpu_task`` (importable, picklable).
* :mod:`concurrency_lab.work.flaky` - ``flaky_task``: a call that fails for every third id.
* :mod:`concurrency_lab.work.timing` - ``Stopwatch`` and the way durations are written.
* :mod:`concurrency_lab.work.timeline` - record what ran when, in threads and processes.
* :mod:`concurrency_lab.view.plotting` - Gantt timelines and wall-time plots (matplotlib).
* :mod:`concurrency_lab.work.machine` - how many CPUs this process may really use.
* :mod:`concurrency_lab.work.speedup` - speed-up, efficiency and Amdahl's law (plain arithmetic).
* :mod:`concurrency_lab.work.pool_demos` - small worker functions lesson 04 sends to pools.
* :mod:`concurrency_lab.work.data` - the seeded CSV dataset of the file-batching project.
* :mod:`concurrency_lab.work.batching` - split files into batches (round-robin, contiguous, LPT).
* :mod:`concurrency_lab.work.project` - the project: ``run`` one batch, ``combine``, ``main``.
* :mod:`concurrency_lab.work.project_demos` - measure the project batch by batch (lesson 05).
* :mod:`concurrency_lab.work.aio` - asyncio twins of the tasks, coroutine timelines.
* :mod:`concurrency_lab.work.waits` - N concurrent waits as threads or asyncio tasks: time, memory.
* :mod:`concurrency_lab.view.cluster` - connect to Dask (a LocalCluster or a scheduler address).
* :mod:`concurrency_lab.view.explorer` - the "play with it" widget (ipywidgets).
* :mod:`concurrency_lab.exercises` - ``q1.check()``, ``q1.hint()``, ``q1.solution()``.
* :mod:`concurrency_lab.dev.nbrun`, :mod:`concurrency_lab.dev.nbtesting` - executing and testing
  the notebooks (``make notebooks``, ``make test``).

Importing the package itself imports none of them, so a child process pays only for
what it uses.
"""

__version__ = "0.1.0"
