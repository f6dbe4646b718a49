"""The course's HTTP service under a fan-out: 1 000 requests, a limit of K, several clients.

Run from the repository root::

    python -m benchmarks.http            # print the table
    python -m benchmarks.http --check    # ... and exit 1 if a client misses the target

Each client sends ``--requests`` requests (default 1 000) of a fixed latency L
(``--latency-ms``, default 100 ms: ``/items/{id}?ms=L``, not scaled) to the course's
server (:mod:`concurrency_lab.work.service`) with a limit of K requests at once
(``--limit``, default 50), keeping at most K requests out at a time itself. The server
then can never do better than the **ideal** ``requests x L / K`` (20 waves of 100 ms: 2 s),
and the table shows how close each client came:

* ``asyncio + aiohttp``: the course's asyncio client (lesson 06): one event loop, an
  ``asyncio.Semaphore(K)``, one ``ClientSession`` whose connector keeps K connections alive;
* ``threads + urllib``: a ``ThreadPoolExecutor(K)``, the standard library's ``urllib`` (a
  new connection per request: :func:`concurrency_lab.work.http_client.get`);
* ``threads + http.client``: the same pool, a kept-alive connection per thread
  (``threading.local``, :class:`concurrency_lab.work.http_client.Connection`);
* ``asyncio + streams (stdlib, kept)``: the floor for asyncio, no client library: K
  coroutines, each with one kept-alive connection (``asyncio.open_connection``) and a few
  lines of HTTP/1.1;
* ``asyncio + streams, server in-process``: the same with the server in a thread of this
  Python, as in the lessons (client and server then share one GIL);
* ``asyncio + httpx.AsyncClient`` and ``threads + httpx.Client``: only where ``httpx`` is
  installed (it is not a course dependency; these rows are skipped without it). They stay
  as the measured reason the course chose aiohttp: one ``AsyncClient`` whose pool keeps K
  connections, with the semaphore; and the thread pool sharing one ``httpx.Client`` ("It can
  be shared between threads", says its docstring).

Every other row runs the server in a **separate process** (``python -m
concurrency_lab.work.service``), started fresh for each measured round, so that the client's
CPU time is the client's alone. Columns: wall time (median of ``--rounds`` rounds, the
clients taking turns in each round so background noise hits all alike), wall / ideal,
**client CPU per request** (``time.process_time()`` of this process over the run, divided by
the number of requests: the client library's cost, which another busy program cannot
inflate the way it inflates wall time), **slot overhead per request** (wall x K / requests
- L: what each request added to its slot beyond the server's wait), and what the server
counted: the most requests in flight, the 429s (there should be none: the clients respect
the limit), and the connections opened.

Target: wall <= 1.2 x ideal, for every client the course uses (``--check``; the httpx rows
are shown for reference and not judged). It is a benchmark, not a test:
the machine must be quiet enough to give the clients the CPU they need.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from concurrency_lab.work.http_client import Connection, get
from concurrency_lab.work.service import Service
from concurrency_lab.work.timing import fmt_seconds

TARGET = 1.2


@dataclass
class Server:
    """A course server: in a child process (``proc``) or in this one (``service``)."""

    url: str
    proc: subprocess.Popen[str] | None = None
    service: Service | None = None

    @classmethod
    def start(cls, limit: int, *, in_process: bool = False) -> Server:
        if in_process:
            service = Service(limit=limit).start()
            return cls(service.url, service=service)
        proc = subprocess.Popen(
            [sys.executable, "-m", "concurrency_lab.work.service", "--limit", str(limit)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "serving on http://127.0.0.1:PORT (...)"
        if not line.startswith("serving on "):
            proc.kill()
            raise RuntimeError(f"the server did not start: {line!r}")
        return cls(line.split()[2], proc=proc)

    def stats(self) -> dict[str, Any]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.url + "/stats", timeout=60) as response:
            return json.load(response)

    def stop(self) -> None:
        if self.service is not None:
            self.service.close()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


# -- the clients: each sends every URL, at most `limit` at a time, and checks the answers --
def asyncio_httpx(urls: list[str], limit: int) -> None:
    import httpx  # optional: a row only where it is installed

    async def main() -> None:
        slots = asyncio.Semaphore(limit)
        pool = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        async with httpx.AsyncClient(limits=pool, trust_env=False, timeout=60) as client:

            async def one(url: str) -> None:
                async with slots:
                    response = await client.get(url)
                response.raise_for_status()

            async with asyncio.TaskGroup() as group:
                for url in urls:
                    group.create_task(one(url))

    asyncio.run(main())


def asyncio_streams(urls: list[str], limit: int) -> None:
    """The floor for asyncio: ``limit`` workers, each with one kept-alive connection made
    of ``asyncio.open_connection`` and a few lines of HTTP/1.1 (the standard library only)."""

    async def main() -> None:
        todo: asyncio.Queue[str] = asyncio.Queue()
        for url in urls:
            todo.put_nowait(url)
        parts = urlsplit(urls[0])
        host, port = parts.hostname or "127.0.0.1", parts.port or 80

        async def worker() -> None:
            reader, writer = await asyncio.open_connection(host, port)
            try:
                while not todo.empty():
                    target = urlsplit(todo.get_nowait())
                    path = f"{target.path}?{target.query}" if target.query else target.path
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                    head = await reader.readuntil(b"\r\n\r\n")
                    assert head.startswith(b"HTTP/1.1 200 "), head[:40]
                    length = next(
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                    await reader.readexactly(length)
            finally:
                writer.close()
                await writer.wait_closed()

        async with asyncio.TaskGroup() as group:
            for _ in range(limit):
                group.create_task(worker())

    asyncio.run(main())


def asyncio_aiohttp(urls: list[str], limit: int) -> None:
    async def main() -> None:
        slots = asyncio.Semaphore(limit)
        connector = aiohttp.TCPConnector(limit=limit)
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

            async def one(url: str) -> None:
                async with slots, session.get(url) as response:
                    response.raise_for_status()
                    await response.read()

            async with asyncio.TaskGroup() as group:
                for url in urls:
                    group.create_task(one(url))

    asyncio.run(main())


def threads_urllib(urls: list[str], limit: int) -> None:
    with ThreadPoolExecutor(max_workers=limit) as pool:
        for reply in pool.map(get, urls):
            assert reply.ok, reply


def threads_http_client(urls: list[str], limit: int) -> None:
    local = threading.local()
    opened: list[Connection] = []

    def one(url: str) -> None:
        if not hasattr(local, "conn"):
            local.conn = Connection(url)
            opened.append(local.conn)
        reply = local.conn.get(url)
        assert reply.ok, reply

    with ThreadPoolExecutor(max_workers=limit) as pool:
        list(pool.map(one, urls))
    for conn in opened:
        conn.close()


def threads_httpx(urls: list[str], limit: int) -> None:
    import httpx  # optional: a row only where it is installed

    pool_limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
    with (
        httpx.Client(limits=pool_limits, trust_env=False, timeout=60) as client,
        ThreadPoolExecutor(max_workers=limit) as pool,
    ):
        for response in pool.map(client.get, urls):
            response.raise_for_status()


HAVE_HTTPX = importlib.util.find_spec("httpx") is not None
CLIENTS: dict[str, tuple[Callable[[list[str], int], None], bool]] = {
    # name: (client, server in this process?)
    "asyncio + aiohttp": (asyncio_aiohttp, False),
    "asyncio + streams (stdlib, kept)": (asyncio_streams, False),
    "threads + urllib (new conn.)": (threads_urllib, False),
    "threads + http.client (kept)": (threads_http_client, False),
    "asyncio + streams, server in-process": (asyncio_streams, True),
}
REFERENCE_ONLY = {"asyncio + httpx.AsyncClient", "threads + httpx.Client"}  # not judged
if HAVE_HTTPX:  # optional, for comparison: the measured reason for choosing aiohttp
    CLIENTS["asyncio + httpx.AsyncClient"] = (asyncio_httpx, False)
    CLIENTS["threads + httpx.Client"] = (threads_httpx, False)


@dataclass
class Run:
    wall: float
    cpu: float
    peak: int
    rejected: int
    connections: int


def measure(
    client: Callable[[list[str], int], None], n: int, ms: float, limit: int, in_process: bool
) -> Run:
    server = Server.start(limit, in_process=in_process)
    try:
        urls = [f"{server.url}/items/{i}?ms={ms:g}" for i in range(n)]
        wall0, cpu0 = time.perf_counter(), time.process_time()
        client(urls, limit)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        seen = server.stats()
    finally:
        server.stop()
    statuses = seen["status_counts"]
    assert statuses.get("200") == n, f"not every request got 200: {statuses}"
    return Run(
        wall=wall,
        cpu=cpu,
        peak=seen["peak_in_flight"],
        rejected=int(statuses.get("429", 0)),
        connections=len({r["connection"] for r in seen["requests"]}),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--only", default="", help="run only the clients whose name contains this text"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    n, ms, k = args.requests, args.latency_ms, args.limit
    ideal = n * ms / 1000 / k

    print(
        f"{n} requests of {ms:g} ms, server limit {k}, every client at most {k} at a time: "
        f"ideal {fmt_seconds(ideal)} ({n} x {ms:g} ms / {k})"
    )
    if HAVE_HTTPX:
        import httpx

        httpx_version = f"httpx {httpx.__version__}"
    else:
        httpx_version = "httpx not installed (its rows skipped)"
    print(
        f"Python {platform.python_version()} · aiohttp {aiohttp.__version__} · {httpx_version} · "
        f"{os.cpu_count()} CPUs · {platform.platform()}"
    )
    clients = {name: c for name, c in CLIENTS.items() if args.only in name}
    # a warm-up of each client (imports, first connections), not timed
    for client, in_process in clients.values():
        measure(client, min(n, 2 * k), ms, k, in_process)
    runs: dict[str, list[Run]] = {name: [] for name in clients}
    for _ in range(args.rounds):
        for name, (client, in_process) in clients.items():
            runs[name].append(measure(client, n, ms, k, in_process))

    header = (
        f"{'client':<36} {'wall':>8} {'/ideal':>7} {'client CPU/req':>15} "
        f"{'slot overhead/req':>18} {'peak':>5} {'429s':>5} {'conns':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    missed = []
    for name, rs in runs.items():
        wall = statistics.median(r.wall for r in rs)
        cpu = statistics.median(r.cpu for r in rs) / n
        overhead = max(0.0, wall * k / n - ms / 1000)
        ratio = wall / ideal
        last = rs[-1]
        mark = "" if ratio <= TARGET else "  ✗"
        if ratio > TARGET and name in REFERENCE_ONLY:
            mark += " (reference, not judged)"
        elif ratio > TARGET:
            missed.append(name)
        print(
            f"{name:<36} {fmt_seconds(wall):>8} {ratio:>6.2f}× {fmt_seconds(cpu):>15} "
            f"{fmt_seconds(overhead):>18} {last.peak:>5} {last.rejected:>5} "
            f"{last.connections:>6}{mark}"
        )
    print()
    print(
        f"wall: median of {args.rounds} rounds (clients interleaved); peak, 429s and "
        f"connections: the server's own counts in the last round. Target: wall <= "
        f"{TARGET} x ideal."
    )
    if missed:
        print(f"missed the target: {', '.join(missed)}")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
