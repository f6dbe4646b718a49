"""Exercises with instant feedback: ``q1.check(answer)``, ``q1.hint()``, ``q1.solution()``.

Each lesson has a module here (``lesson01``, ``lesson02``...) defining its questions
``q1``, ``q2``... with the classes in :mod:`concurrency_lab.exercises.core`. Checks run the
student's code at a small, seeded scale with instrumented tasks
(:mod:`concurrency_lab.work.probes`), so a verdict takes about a second at most and
says *what* is wrong: a wrong value, an exception, work that ran one task at a time,
threads where processes were asked, a hang.

The model answers live in ``solutions/NN_topic.ipynb`` (the single source);
``make exercises`` (:mod:`concurrency_lab.dev.generate`) turns them into the
student notebooks in ``exercises/``.

**How to add a question.** (1) In ``solutions/NN_topic.ipynb`` add the question's
markdown, an answer cell whose nbgrader ``grade_id`` is the question's name (``q4``) with
the model answer between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, and a check cell
``q4.check(answer)``. (2) In ``lessonNN.py`` add ``q4 = FunctionProblem(name="q4",
trial=..., hints=[...])`` (or a ``ValueProblem``/``ChoiceProblem``) above the closing
``PROBLEMS = register(globals())``, which ties it to its cell by name. Write the trial as
an ordered list of small rules, each a zero-argument callable returning a ✗ verdict or
``None``: ``return first_failure(rule, rule, ...) or passed(...)``. The tools are in
:mod:`concurrency_lab.exercises.probing`: ``run_with_probe`` and ``ProbeOutcome`` (what
ran when and where), ``overlap_of`` (overlap), ``whole_number_failure`` (counts),
``varied_ids`` (fresh ids per trial). Judge behaviour, never the answer's source; vary
the trial's inputs per check; derive every bound from the question's words and the
probe's own measured durations. (3) In ``tests/test_exercises_lessonNN.py`` add right
and wrong answers run as notebook cells (``assert_cells_pass`` / ``assert_cells_fail``
in :mod:`concurrency_lab.dev.answers`), each wrong one asserting its message. Then
``make exercises`` regenerates the student notebook.

This ``__init__`` imports nothing, so a child process that imports a probe stays light.
"""
