"""For maintainers, not students: ``nbrun`` (``make notebooks``), ``nbtesting`` (the pytest
plugin: test scale, a kernel per start method, nbval's count), ``stage`` (the course as
shipped, copied for a test run), ``generate`` (``exercises/`` from ``solutions/``),
``cells`` and ``answers`` (checker self-tests: answers run as notebook cells).
"""
