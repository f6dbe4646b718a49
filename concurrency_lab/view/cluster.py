"""Connect to a Dask cluster: a ``LocalCluster`` on this machine, or a real one by address.

Lesson 07 runs the same ``concurrent.futures`` code as lessons 03-05 on Dask distributed.
:func:`connect` hides the set-up that has nothing to teach but must be right:

* **Where.** With no address it starts a ``LocalCluster``: a scheduler in this process
  and two worker *processes* of one thread each (the shape of the lesson 04-05 pools).
  An address -- the argument, or the ``CONCURRENCY_LAB_SCHEDULER`` environment variable,
  e.g. ``tcp://10.0.0.5:8786`` -- connects to a running scheduler instead, so the same
  notebook runs on a real cluster without an edit.
* **Quiet.** Dask logs at INFO level (to stderr, which the tests compare) and wants port
  8787 for its dashboard ("Port 8787 is already in use" when two notebooks run). Logs are
  raised to ERROR and the dashboard takes a free port, so outputs are the same every run.
* **Clean.** The returned ``Client`` is a context manager, and ``client.close()`` also
  stops the ``LocalCluster`` it started (its processes and ports). Every client made
  here is also closed when Python exits, so a cell that fails half-way does not leave
  worker processes behind.

Dask's task stream (what ran on which worker, when) becomes our own timeline with
:func:`cluster_timeline`, so a cluster run is drawn exactly like a process pool's. The
workers of a LocalCluster are :class:`SameClockWorker` s: they report their task times on
the clock of this machine, unshifted, so the bars line up with the notebook's own timers
however busy the machine is (see :func:`task_events`).

Dask is imported only inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from concurrency_lab.work.timeline import Event, Timeline

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DEFAULT_THREADS",
    "DEFAULT_WORKERS",
    "ENV_VAR",
    "cluster_timeline",
    "connect",
    "current_client",
    "describe",
    "scheduler_address",
    "task_events",
    "worker_pids",
]

ENV_VAR = "CONCURRENCY_LAB_SCHEDULER"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 1

_open_clients: list[Client] = []
_lock = threading.Lock()


def scheduler_address(address: str | None = None) -> str | None:
    """The scheduler to connect to: ``address``, else ``$CONCURRENCY_LAB_SCHEDULER``.

    ``None`` (neither is set, or both are blank) means "start a LocalCluster here".
    """
    for candidate in (address, os.environ.get(ENV_VAR)):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return None


def connect(
    address: str | None = None,
    *,
    n_workers: int = DEFAULT_WORKERS,
    threads_per_worker: int = DEFAULT_THREADS,
    dashboard: bool = True,
    quiet: bool = True,
    timeout: float = 30,
) -> Client:
    """Return a Dask ``Client``: to a running scheduler, or to a new ``LocalCluster``.

    The scheduler is ``address`` or ``$CONCURRENCY_LAB_SCHEDULER``; with neither, a
    ``LocalCluster`` of ``n_workers`` processes × ``threads_per_worker`` threads starts
    (its dashboard on a free port, or none with ``dashboard=False``). Use the client in a
    ``with`` block, or call ``client.close()`` when done: that stops a LocalCluster too.

    A LocalCluster's workers are :class:`SameClockWorker` s (times in its task stream are
    this machine's clock, as :func:`cluster_timeline` needs). The worker processes are
    started with Dask's default method, ``spawn`` (the configuration key
    ``distributed.worker.multiprocessing-method`` can choose ``fork`` or ``forkserver``).

    ``quiet`` (the default) raises the ``distributed`` loggers of this process to ERROR:
    Dask's INFO and WARNING lines (workers starting and stopping, slow shutdowns) would
    otherwise reach any handler you configured, and a notebook's stderr.
    """
    from distributed import Client

    if quiet:
        logging.getLogger("distributed").setLevel(logging.ERROR)

    target = scheduler_address(address)
    if target is not None:
        client = Client(target, timeout=timeout)
    else:
        from distributed import Nanny

        client = Client(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            # each worker process is a SameClockWorker, started by Dask's usual Nanny
            worker_class=functools.partial(Nanny, worker_class=_same_clock_worker()),
            dashboard_address=":0" if dashboard else None,
            silence_logs=logging.ERROR,
            timeout=timeout,
        )
    with _lock:
        _open_clients[:] = [c for c in _open_clients if c.status != "closed"]
        _open_clients.append(client)
    return client


def current_client() -> Client | None:
    """The most recent client made by :func:`connect` that is still open, or ``None``."""
    with _lock:
        for client in reversed(_open_clients):
            if client.status in ("running", "connecting", "newly-created"):
                return client
    return None


@atexit.register
def _close_all() -> None:
    """Close every client made here (and their LocalClusters) when Python exits."""
    with _lock:
        clients, _open_clients[:] = list(_open_clients), []
    for client in reversed(clients):
        with contextlib.suppress(Exception):
            client.close()


def worker_pids(client: Client) -> dict[str, int]:
    """Map each worker's address to its process id (asks the workers themselves)."""
    return dict(client.run(os.getpid))


def describe(client: Client) -> str:
    """One deterministic line about the cluster: what kind, how many workers and threads.

    No ports, addresses or pids (they change every run), except a remote scheduler's
    address, which you chose yourself.
    """
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    threads = sorted({w.get("nthreads", 0) for w in workers.values()})
    if len(threads) == 1:
        per = f"{threads[0]} thread{'s' if threads[0] != 1 else ''}"
    else:
        per = "a mix of threads"
    kind = (
        "a LocalCluster on this machine"
        if type(client.cluster).__name__ == "LocalCluster"
        else f"the scheduler at {client.scheduler.address}"
    )
    n = len(workers)
    return f"Connected to {kind}: {n} worker process{'es' if n != 1 else ''} × {per} each."


# ------------------------------------------------------------------ task stream → timeline
def _key_name(key: Any) -> str:
    """``'run-5f3a…'`` → ``'run'`` (Dask's key_split, without importing dask here)."""
    from dask.utils import key_split

    return str(key_split(key))


def task_events(
    records: Iterable[Mapping[str, Any]],
    *,
    pids: Mapping[str, int] | None = None,
    clock_offset: float | None = None,
    delays: Mapping[str, float] | None = None,
) -> list[Event]:
    """Turn Dask task-stream records into :class:`~concurrency_lab.work.timeline.Event` s.

    Each record's ``compute`` interval becomes one event: its label is the task's
    function name (``run``, ``combine``), its task id a running number per label in
    start order, its lane the worker (``pid`` from ``pids`` if given, else 0, and the
    worker's address as the thread). Dask stamps times with ``time.time()``; they are
    moved onto this process's ``perf_counter`` clock (``clock_offset`` = perf_counter -
    time, measured now if not given) so they line up with a :class:`Timeline`.
    Erred tasks are kept with ``ok=False``. Transfers and deserialisation are left out.

    A Dask worker reports its times shifted by its estimate of the scheduler's clock
    offset (``scheduler_delay``, re-estimated from a message round trip at every
    heartbeat: noise of milliseconds on a quiet machine, tens of milliseconds on a busy
    one). ``delays`` maps a worker to that shift, to undo it; the value read
    after a run is the latest estimate, which may differ from the one a task was stamped
    with. That is why :func:`connect` starts its LocalCluster with
    :class:`SameClockWorker` s, whose shift is always 0: on one machine every process reads
    the same clock, so their times need no correction at all.
    """
    if clock_offset is None:
        clock_offset = time.perf_counter() - time.time()
    pids = pids or {}
    delays = delays or {}
    computed = []
    for record in records:
        for span in record.get("startstops", ()):
            if span.get("action") == "compute":
                computed.append((span["start"], span["stop"], record))
    computed.sort(key=lambda item: item[0])
    counters: dict[str, int] = {}
    events = []
    for start, stop, record in computed:
        name = _key_name(record.get("key", "task"))
        number = counters.get(name, 0)
        counters[name] = number + 1
        worker = str(record.get("worker", "?"))
        shift = clock_offset - delays.get(worker, 0.0)
        events.append(
            Event(
                task_id=number,
                label=name,
                pid=int(pids.get(worker, 0)),
                thread=worker,
                start=start + shift,
                end=stop + shift,
                ok=record.get("status", "OK") == "OK",
            )
        )
    return events


@contextlib.contextmanager
def cluster_timeline(client: Client, title: str = "") -> Iterator[Timeline]:
    """Record every task the cluster runs during the block into a :class:`Timeline`.

    ::

        with cluster_timeline(client, "the project on 2 Dask workers") as tl:
            result = client.submit(combine, client.map(run, batches, ids)).result()
        plot_timeline(tl)

    The same picture as the process-pool timelines of lessons 04-05, drawn from Dask's
    task stream (the data behind the dashboard's "Task Stream" chart). The timeline's
    wall time is the block's duration; tasks of other users of the cluster in that
    window are drawn too. A LocalCluster made by :func:`connect` reports unshifted times
    (:class:`SameClockWorker`), so its bars fall inside the block even on a busy machine;
    a remote cluster's bars line up only as closely as the workers' estimates of the
    scheduler's clock (see :func:`task_events`).
    """
    from distributed import get_task_stream

    pids = worker_pids(client)
    with get_task_stream(client) as stream, Timeline(title) as tl:
        yield tl
    delays = dict(client.run(_scheduler_delay))
    for event in task_events(stream.data, pids=pids, delays=delays):
        tl.add(event)


def _scheduler_delay(dask_worker: Any) -> float:
    """Run on a worker by ``client.run``: how much it shifts the times it reports."""
    return float(dask_worker.scheduler_delay)


# ------------------------------------------------------------------ workers on one clock
def _same_clock_worker() -> type:
    """The :class:`SameClockWorker` class, made on first use (it needs Dask imported)."""
    cls = globals().get("SameClockWorker")
    if cls is None:
        from distributed import Worker

        class SameClockWorker(Worker):  # type: ignore[misc]
            """A Dask worker whose ``scheduler_delay`` is always 0 (for a LocalCluster).

            A Dask worker stamps the times it reports (the task stream, the dashboard)
            with ``time.time() + scheduler_delay``, its guess of how far the scheduler's
            clock is ahead, taken afresh at every heartbeat from a message round trip. On
            one machine every process reads the same clock, so the guess is pure noise,
            and on a busy machine the noise reaches tens of milliseconds. This worker keeps
            the shift at 0 (Dask's own test suite does the same, ``NoSchedulerDelayWorker``).
            It lives in this module so that the spawned worker processes can import it
            by name.
            """

            @property  # type: ignore[override]
            def scheduler_delay(self) -> float:
                return 0.0

            @scheduler_delay.setter
            def scheduler_delay(self, value: float) -> None:
                pass  # Dask sets it at start and at every heartbeat: keep 0

        SameClockWorker.__module__ = __name__
        SameClockWorker.__qualname__ = "SameClockWorker"
        globals()["SameClockWorker"] = cls = SameClockWorker
    return cls


def __getattr__(name: str) -> Any:
    """``cluster.SameClockWorker`` imports Dask only when asked for (pickle asks for it)."""
    if name == "SameClockWorker":
        return _same_clock_worker()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
