"""Exercises with instant feedback: ``q1.check(answer)``, ``q1.hint()``, ``q1.solution()``.

Each lesson has a module here (``lesson01``, ``lesson02``...) defining its questions
``q1``, ``q2``... with the classes in :mod:`concurrency_lab.exercises.core`. Checks run the
student's code at a small, seeded scale with instrumented tasks
(:mod:`concurrency_lab.work.probes`), so a verdict takes well under a second and
says *what* is wrong: a wrong value, an exception, work that ran one task at a time,
threads where processes were asked, a hang.

The model answers live in ``solutions/NN_topic.ipynb`` (the single source);
``make exercises`` (:mod:`concurrency_lab.dev.generate`) turns them into the
student notebooks in ``exercises/``.

This ``__init__`` imports nothing, so a child process that imports a probe stays light.
"""
