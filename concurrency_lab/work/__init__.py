"""Everything a child process may import: the standard library only, and light.

A pool worker under spawn or forkserver is a fresh Python that imports the module of the
function it runs; whatever that module imports, every worker pays for at start-up. So the
rule of this room is one line — **import nothing outside the standard library and this
room** — and ``tests/test_house.py`` enforces it in a fresh interpreter.

Modules: ``scale`` (the ``CONCURRENCY_LAB_SCALE`` knob), ``tasks`` (``io_task``,
``cpu_task``), ``flaky``, ``timing``, ``timeline`` (what ran when, in threads and
processes), ``machine`` (the CPUs you may really use), ``build`` (GIL or free-threaded),
``speedup``, ``pool_demos``, ``data``, ``batching``, ``project`` (the file-batching
project), ``aio`` (asyncio twins), ``waits`` (threads vs asyncio: N waits), ``probes`` /
``pool_probes`` / ``worker_call`` (instrumented tasks the checks send to workers).
"""
