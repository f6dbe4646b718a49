"""concurrency_lab.view.cluster: where connect() goes, a clean stop, task stream → timeline."""

from __future__ import annotations

import logging
import os
import pickle
import socket
from urllib.parse import urlparse

import psutil
import pytest

from concurrency_lab.view import cluster
from concurrency_lab.view.cluster import (
    ENV_VAR,
    cluster_timeline,
    connect,
    current_client,
    describe,
    scheduler_address,
    task_events,
    worker_pids,
)
from concurrency_lab.work.tasks import cpu_task

# Helpers that outlive a pool or cluster by design: multiprocessing's resource tracker and
# the forkserver (one per parent process, started by the first spawn/forkserver child).
_HELPERS = ("resource_tracker", "forkserver")


def _children() -> set[psutil.Process]:
    """This process's live descendants, except the helpers above."""
    found = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if not any(h in " ".join(p.cmdline()) for h in _HELPERS):
                found.add(p)
        except psutil.NoSuchProcess:
            continue
    return found


def _listening(port: int) -> bool:
    conns = psutil.Process().net_connections(kind="inet")
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns)


def _port(address: str) -> int:
    port = urlparse(address).port
    assert port is not None, address
    return port


def _can_listen(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def _delay_and_kind(dask_worker: object) -> tuple[str, float]:
    """Run on each worker by ``client.run``: its class and its clock shift."""
    return type(dask_worker).__name__, float(dask_worker.scheduler_delay)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- where to connect
def test_scheduler_address_argument_beats_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert scheduler_address() is None
    assert scheduler_address("  ") is None
    monkeypatch.setenv(ENV_VAR, " tcp://10.0.0.5:8786 ")
    assert scheduler_address() == "tcp://10.0.0.5:8786"
    assert scheduler_address("tcp://other:8786") == "tcp://other:8786"
    monkeypatch.setenv(ENV_VAR, "")
    assert scheduler_address() is None


# ---------------------------------------------------------------- one LocalCluster, start to stop
def test_local_cluster_lifecycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """One cluster (starting one costs a second): run, join by address, draw, stop clean."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    before = _children()
    client = connect()
    try:
        # a LocalCluster of two single-threaded worker processes, quiet
        assert current_client() is client
        assert describe(client) == (
            "Connected to a LocalCluster on this machine: 2 worker processes × 1 thread each."
        )
        assert logging.getLogger("distributed").getEffectiveLevel() >= logging.ERROR
        pids = worker_pids(client)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        assert set(pids.values()) <= {p.pid for p in _children() - before}
        assert client.submit(cpu_task, 1, 10).result() == cpu_task(1, 10)
        ports = [_port(client.scheduler.address), _port(client.dashboard_link)]
        assert all(_listening(p) for p in ports)

        # the same scheduler, joined by address from the environment: a "real cluster"
        address = client.scheduler.address
        monkeypatch.setenv(ENV_VAR, address)
        with connect() as remote:
            assert current_client() is remote
            assert describe(remote) == (
                f"Connected to the scheduler at {address}: 2 worker processes × 1 thread each."
            )
            assert remote.submit(abs, -3).result() == 3
        assert remote.status == "closed"
        assert current_client() is client  # closing a client leaves the cluster running
        monkeypatch.delenv(ENV_VAR)

        # the task stream, drawn as our timeline. The workers report times on this
        # machine's clock, unshifted. Dask's usual per-heartbeat estimate of the scheduler's
        # clock offset put bars outside the block when a core was busy: up to 31 ms in 25
        # runs (2026-11-29), past the 50 ms slack below in issue #18's failure.
        assert set(client.run(_delay_and_kind).values()) == {("SameClockWorker", 0.0)}
        with cluster_timeline(client, "four tasks and a sum") as tl:
            futures = client.map(cpu_task, range(4), n=1_000, pure=False)
            client.submit(sum, futures).result()
        assert sorted(e.label for e in tl.events) == ["cpu_task"] * 4 + ["sum"]
        assert sorted(e.task_id for e in tl.events if e.label == "cpu_task") == [0, 1, 2, 3]
        assert {e.pid for e in tl.events} <= set(pids.values())
        slack = 0.05  # clocks of one machine; the block's edges are taken in this process
        assert tl.t_end is not None
        assert all(tl.t0 - slack <= e.start <= e.end <= tl.t_end + slack for e in tl.events)
        total = next(e for e in tl.events if e.label == "sum")
        assert total.start >= max(e.end for e in tl.events if e.label == "cpu_task") - slack
    finally:
        cluster._close_all()  # what runs at interpreter exit, e.g. after a failed cell
    assert client.status == "closed"
    assert current_client() is None
    # generous: on a busy machine the workers may need a few seconds to exit
    _gone, alive = psutil.wait_procs(list(_children() - before), timeout=30)
    assert not alive, f"processes left behind: {[p.cmdline() for p in alive]}"
    for port in ports:
        assert not _listening(port), f"port {port} still open"
        assert _can_listen(port), f"port {port} not released"


# ---------------------------------------------------------------- records → events (no cluster)
def test_task_events_keep_compute_spans_number_them_and_mark_errors() -> None:
    records = [
        {
            "key": "run-0e0852f35f75f70bf3c4392bf9671de1",
            "worker": "tcp://w2:1",
            "status": "OK",
            "startstops": (
                {"action": "transfer", "start": 9.0, "stop": 9.5},
                {"action": "compute", "start": 10.0, "stop": 11.0},
            ),
        },
        {
            "key": "run-5f3a9d1c2b7e4f60a1b2c3d4e5f6a7b8",
            "worker": "tcp://w1:1",
            "status": "OK",
            "startstops": ({"action": "compute", "start": 5.0, "stop": 6.0},),
        },
        {
            "key": ("combine-188e95ca284a13dcbe885bd39906bd17", 0),
            "worker": "tcp://w1:1",
            "status": "error",
            "startstops": ({"action": "compute", "start": 12.0, "stop": 12.5},),
        },
    ]
    events = task_events(
        records, pids={"tcp://w1:1": 11}, clock_offset=-5.0, delays={"tcp://w2:1": 1.0}
    )
    assert [(e.label, e.task_id, e.pid, e.ok) for e in events] == [
        ("run", 0, 11, True),
        ("run", 1, 0, True),
        ("combine", 0, 11, False),
    ]
    assert [(e.start, e.end) for e in events] == [(0.0, 1.0), (4.0, 5.0), (7.0, 7.5)]
    assert events[1].thread == "tcp://w2:1"
    assert task_events([]) == []


# ---------------------------------------------------------------- the LocalCluster's worker class
def test_same_clock_worker_is_importable_by_name_and_keeps_its_shift_at_zero() -> None:
    cls = cluster.SameClockWorker  # made on first use: importing the module does not import Dask
    assert cls.__module__ == "concurrency_lab.view.cluster" and cls.__qualname__ == cls.__name__
    assert pickle.loads(pickle.dumps(cls)) is cls  # how the spawned worker processes get it
    worker = cls.__new__(cls)  # no need to start one: the property is the whole point
    worker.scheduler_delay = 0.25  # what a heartbeat does
    assert worker.scheduler_delay == 0.0
    with pytest.raises(AttributeError):
        _ = cluster.NoSuchThing  # type: ignore[attr-defined]
