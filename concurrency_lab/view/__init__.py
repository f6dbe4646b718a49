"""What a notebook shows: pictures (``plotting``), the explorer widget (``explorer``), and
the Dask cluster (``cluster``). May import third-party libraries (matplotlib, ipywidgets,
distributed) and :mod:`concurrency_lab.work`; never imported by a child process.
"""
