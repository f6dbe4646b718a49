"""Helpers for the Python concurrency course: workloads, the scale knob, timelines, checks.

Modules, one concern each:

* :mod:`concurrency_lab.scale` - the ``CONCURRENCY_LAB_SCALE`` knob.
* :mod:`concurrency_lab.tasks` - ``io_task`` and ``cpu_task`` (importable, picklable).
* :mod:`concurrency_lab.flaky` - ``flaky_task``: a call that fails for every third id.
* :mod:`concurrency_lab.timing` - ``Stopwatch`` and the way durations are written.
* :mod:`concurrency_lab.timeline` - record what ran when, in threads and processes.
* :mod:`concurrency_lab.plotting` - Gantt timelines and wall-time plots (matplotlib).
* :mod:`concurrency_lab.machine` - how many CPUs this process may really use.
* :mod:`concurrency_lab.exercises` - ``q1.check()``, ``q1.hint()``, ``q1.solution()``.
* :mod:`concurrency_lab.nbrun`, :mod:`concurrency_lab.nbtesting` - executing and testing
  the notebooks (``make notebooks``, ``make test``).

Importing the package itself imports none of them, so a child process pays only for
what it uses.
"""

__version__ = "0.1.0"
