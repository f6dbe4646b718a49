"""The course's HTTP service: a real server on 127.0.0.1 that lessons call over real sockets.

Every IO task in the early lessons is a ``time.sleep``. Real calls bring what a sleep never
does: connections to open (and reuse), a server that takes only so many requests at once,
timeouts, failures half-way through, retries. The internet is not needed for any of that:
this module brings the server to you. One call starts it, in a background thread of your
Python (your notebook's kernel)::

    from concurrency_lab.work.service import Service, start_service

    service = start_service()            # serving on http://127.0.0.1:<free port>
    ...
    service.close()

    with Service(limit=4) as service:    # or for one block only: closed at the end
        ...

While it runs, any HTTP client can talk to it, ``curl`` in a terminal included:
``curl http://127.0.0.1:PORT/items/3``. It listens on ``127.0.0.1`` only (never on a
network address other machines could reach), on a free port the operating system picks
(or the one you ask for; if that one is taken, on another, with a warning).

**Endpoints** (every body is JSON):

* ``GET /items/{id}`` — the course's simulated database call, over HTTP. Item ``id`` waits
  ``nominal_duration(id)`` seconds (the same seeded 1-3 s as ``io_task(id)``) times
  ``CONCURRENCY_LAB_SCALE``, read when the request arrives, then answers
  ``{"id": 3, "result": "result of task 3", "seconds": 1, ...}``. So lesson 01's
  "eight seconds in a loop, three when they overlap" holds over HTTP too. Query options:
  ``?seconds=0.5`` (another nominal wait, scaled), ``?ms=50`` (a fixed wait in real
  milliseconds, not scaled: for benchmarks), ``?fail=500`` (answer 500 after the wait),
  ``?fail=reset`` (drop the connection with a TCP reset after the wait: no answer at all),
  ``?fail=slow`` (send the headers, then trickle the body out over the wait), and
  ``&fail_first=N`` (only the first ``N`` requests for this id fail: a retry succeeds).
* ``GET /stats`` — what the server saw (:meth:`Service.stats` as JSON): every ``/items``
  request with its arrival, start and end (``time.perf_counter`` seconds, the same clock as
  a :class:`~concurrency_lab.work.timeline.Timeline`), its status and its connection.
* ``GET /`` — this list of endpoints and the server's settings.

**A concurrency limit** (``Service(limit=N)``): at most ``N`` ``/items`` requests are
served at once. With ``mode="reject"`` (the default) a request over the limit is answered
at once with ``429 Too Many Requests`` and a ``Retry-After`` header, as public APIs do;
with ``mode="queue"`` it waits in line for a free slot, as a database connection pool
does. Either way the server's count of requests in flight never exceeds ``N``, and
:meth:`ServerStats.max_in_flight` reports the most it had at once.

**Deterministic.** Durations come from the item id (seeded), failures from the query, and
``fail_first`` counts requests per id: the same requests get the same answers in every run.

**Why asyncio, not ``http.server.ThreadingHTTPServer``.** Lesson 06 fans out 1 000
requests at once. ``ThreadingHTTPServer`` starts one thread per *connection*, and a
keep-alive connection holds its thread while idle: 1 000 connections are 1 000 threads
(each with its own stack) whose ``sleep``s and handshakes all compete for the GIL with
the notebook's own threads. Here one event loop, in one background thread, holds every
connection as a small object; a waiting request costs a timer, not a thread. The HTTP
part is a minimal HTTP/1.1 (and 1.0) parser for ``GET``/``HEAD`` requests with
``Content-Length`` bodies and keep-alive: all a course client needs, and few enough lines
to read. Measured side by side (course build machine, 2 vCPUs, Python 3.11.7,
2026-11-29, with other programs busy on it): 1 000 connections at once, one 300 ms request
each, from an asyncio client in another process. This server answered all of them in
1.15-1.28 s, with 2 threads and 31 MiB of peak memory; a ``ThreadingHTTPServer`` doing the
same in 1.36-1.55 s, with 1 001 threads and 47 MiB. ``benchmarks/http.py`` measures the
clients against it (1 000 requests, the ideal time against the measured one).

One limit is the operating system's: every open connection is a file descriptor on each
side, so 1 000 connections between a client and a server in the *same* process need about
2 000, more than a common soft limit (often 1 024 on Linux, 256 on macOS; ``ulimit -n`` shows
it, and ``resource.setrlimit`` raises it up to the hard limit).

**Nothing left behind.** :meth:`Service.close` (or the end of a ``with`` block, even one
interrupted by a ``KeyboardInterrupt``) stops listening, drops every connection, cancels
requests in progress and joins the thread. A service you forget to close is closed when
it is garbage-collected or when Python exits (a ``weakref.finalize``, which also runs at
interpreter exit): a stopped kernel leaves no server behind.

This module imports only the standard library: it lives in ``concurrency_lab/work``,
which a child process may import.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import itertools
import json
import math
import os
import socket
import struct
import threading
import time
import warnings
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from concurrency_lab.work.scale import get_scale
from concurrency_lab.work.tasks import nominal_duration, result_of
from concurrency_lab.work.timeline import Event, Timeline

__all__ = [
    "HOST",
    "RequestRecord",
    "ServerStats",
    "Service",
    "close_all",
    "running_services",
    "start_service",
]

HOST = "127.0.0.1"
"""The only address the service ever listens on: this machine, unreachable from others."""

Mode = Literal["reject", "queue"]
FAILURES = ("500", "reset", "slow")
_MAX_HEAD = 64 * 1024  # bytes of request line + headers we accept
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}
RESET = 0
IN_PROGRESS = "in progress"
"""The label :meth:`ServerStats.events` gives a request still being served (``now=...``)."""
"""The status recorded for a request the server answered by resetting the connection."""


# -- what the server saw ------------------------------------------------------------------
@dataclass(frozen=True)
class RequestRecord:
    """One ``/items`` request as the server saw it.

    ``seq``: arrival order at the server, from 0. ``connection``: which TCP connection it
    came on (numbered from 0 in the order they were opened), so requests that share a
    number came over one kept-alive connection. ``arrived``: when its head had been read;
    ``started``: when it got a slot (later than ``arrived`` only while it queued);
    ``ended``: when its answer was handed to the socket (for ``fail=slow``, the last
    byte). All three are ``time.perf_counter()`` seconds, the clock of a ``Timeline``.
    ``status``: 200, 429, 500, or 0 for a connection reset. ``tag``: the request's
    ``X-Request-Id`` header, if it sent one. ``in_line``: it found every slot taken and
    waited in the queue (``mode="queue"``).
    """

    seq: int
    item: int
    target: str
    connection: int
    arrived: float
    started: float
    ended: float
    status: int | None  # None: still being served (ServerStats.in_progress only)
    tag: str | None = None
    in_line: bool = False

    @property
    def served(self) -> bool:
        """True unless it was turned away with 429 (it took a slot, whatever its answer)."""
        return self.status != 429

    @property
    def queued(self) -> float:
        """Seconds it waited in the server's queue for a slot (``mode="queue"``)."""
        return self.started - self.arrived


def _lowest_free_slots(records: list[RequestRecord]) -> dict[int, int]:
    """Give each served request the lowest slot number free when it started (from 1)."""
    slot_of: dict[int, int] = {}
    busy_until: list[float] = []  # busy_until[k]: when slot k + 1 frees up
    for r in sorted(records, key=lambda r: (r.started, r.seq)):
        for k, until in enumerate(busy_until):
            if until <= r.started:
                busy_until[k] = r.ended
                slot_of[r.seq] = k + 1
                break
        else:
            busy_until.append(r.ended)
            slot_of[r.seq] = len(busy_until)
    return slot_of


@dataclass(frozen=True)
class ServerStats:
    """A snapshot of what the server saw: its settings and every ``/items`` request.

    ``peak_in_flight`` is the server's own live count (the most requests it was serving
    at once: turned-away ones do not count, queued ones count once they get a slot);
    ``connections_opened`` counts TCP connections since the server started or was reset.
    """

    url: str
    limit: int | None
    mode: str
    requests: list[RequestRecord]
    peak_in_flight: int
    peak_queued: int
    connections_opened: int
    pid: int = field(default_factory=os.getpid)
    in_progress: tuple[RequestRecord, ...] = ()
    """Requests being served (admitted, not answered yet) when the snapshot was taken:
    status ``None``, ``ended`` the snapshot's time. What a live picture draws as growing
    bars; not in ``requests`` or any count."""

    # -- counts: what a lesson asserts (a busy machine cannot change them) -------------------
    def status_counts(self) -> Counter[int]:
        """How many requests got each status: ``Counter({200: 20, 429: 31})``."""
        return Counter(r.status for r in self.requests)

    @property
    def rejected(self) -> int:
        """How many requests were turned away with 429."""
        return self.status_counts()[429]

    def fetched(self) -> Counter[int]:
        """How many times each item was answered with 200: ``{3: 1, 4: 1, ...}``."""
        return Counter(r.item for r in self.requests if r.status == 200)

    def max_in_flight(self) -> int:
        """The most requests the server was serving at the same moment.

        The server's own counter: exact, whatever the machine's load. Never above the
        limit, if there is one.
        """
        return self.peak_in_flight

    @property
    def connections(self) -> int:
        """How many distinct connections the recorded requests came over."""
        return len({r.connection for r in self.requests})

    # -- pictures: events for plot_timeline -----------------------------------------------------
    def events(
        self, lanes: Literal["slot", "connection"] = "slot", *, now: float | None = None
    ) -> list[Event]:
        """The server's-eye view as :class:`Event` s, for ``plot_timeline``.

        ``lanes="slot"``: one lane per slot, each request in the lowest slot free when it
        started, so the number of lanes is the most requests served at once (a limit of 4
        gives at most 4 lanes); requests turned away (429) go to a lane of their own as
        zero-length red marks. ``lanes="connection"``: one lane per TCP connection, each
        request as its time in the queue (label ``queued``, if it queued) and its service.
        Labels are the status (``200``, ``500``, ``429``, ``reset``); anything but 200 is
        drawn as a failure. With ``now`` (a ``time.perf_counter()`` reading), the requests
        still :attr:`in_progress` come too, ending at ``now`` and labelled
        :data:`IN_PROGRESS`: a live picture's growing bars.
        """
        if lanes not in ("slot", "connection"):
            raise ValueError(f"lanes must be 'slot' or 'connection', got {lanes!r}")
        records = list(self.requests)
        if now is not None:
            records += [replace(r, ended=max(now, r.started)) for r in self.in_progress]
        served = [r for r in records if r.served]
        slot_of = _lowest_free_slots(served)
        out = []
        for r in sorted(records, key=lambda r: r.seq):
            if r.status is None:
                label = IN_PROGRESS
            else:
                label = "reset" if r.status == RESET else str(r.status)
            if lanes == "connection":
                lane = f"connection {r.connection}"
                if r.in_line:
                    out.append(Event(r.item, "queued", self.pid, lane, r.arrived, r.started))
            elif r.served:
                lane = f"server slot {slot_of[r.seq]}"
            else:
                lane = "server: turned away (429)"
            ok = r.status in (200, None)
            out.append(Event(r.item, label, self.pid, lane, r.started, r.ended, ok=ok))
        return out

    def timeline(
        self,
        title: str = "what the server saw",
        *,
        lanes: Literal["slot", "connection"] = "slot",
        like: Timeline | None = None,
    ) -> Timeline:
        """:meth:`events` as a :class:`Timeline`; ``like=client_tl`` shares its time axis.

        With ``like``, the server's timeline starts and ends where the client's does, so
        the two pictures line up second for second (both use ``time.perf_counter``).
        """
        events = self.events(lanes)
        tl = Timeline(title, events=events)
        if like is not None:
            tl.t0, tl.t_end = like.t0, like.t_end
        elif events:
            tl.t0, tl.t_end = min(e.start for e in events), max(e.end for e in events)
        return tl

    def as_dict(self) -> dict[str, Any]:
        """Everything, as plain data (what ``GET /stats`` sends)."""
        return {
            "url": self.url,
            "limit": self.limit,
            "mode": self.mode,
            "peak_in_flight": self.peak_in_flight,
            "peak_queued": self.peak_queued,
            "connections_opened": self.connections_opened,
            "status_counts": {str(k): v for k, v in sorted(self.status_counts().items())},
            "requests": [asdict(r) for r in self.requests],
        }

    def __str__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.status_counts().items()))
        limit = f"limit {self.limit} ({self.mode})" if self.limit else "no limit"
        return (
            f"{len(self.requests)} requests ({counts or 'none'}) over "
            f"{self.connections} connection(s) · at most {self.peak_in_flight} in flight "
            f"· {limit}"
        )


# -- the server, inside its event loop ----------------------------------------------------
class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Settings:
    limit: int | None
    mode: Mode
    retry_after: float  # nominal seconds


class _Core:
    """The server itself: state shared by the loop thread and the caller's thread.

    It holds no reference to the :class:`Service` that owns it, so that the service can be
    garbage-collected (and its finalizer close this core) while the thread runs.
    """

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.port = 0
        self.owner_pid = os.getpid()
        self.lock = threading.Lock()  # guards the records and counters below
        self.records: list[RequestRecord] = []
        self.open: dict[int, RequestRecord] = {}  # arrived, not answered yet: seq -> record
        self.seq = itertools.count()
        self.conn_ids = itertools.count()
        self.connections_opened = 0
        self.attempts: Counter[int] = Counter()
        self.in_flight = self.peak_in_flight = 0
        self.queued = self.peak_queued = 0
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.ready = threading.Event()
        self.startup_error: BaseException | None = None
        self.closed = False
        self.tasks: set[asyncio.Task[Any]] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.slots: asyncio.Semaphore | None = None

    # -- life cycle, called from the caller's thread ------------------------------------------
    def start(self, port: int, backlog: int) -> None:
        self.thread = threading.Thread(
            target=self._run, args=(port, backlog), name="course-http-service", daemon=True
        )
        self.thread.start()
        if not self.ready.wait(timeout=30):
            self.close()
            raise RuntimeError("the course server did not start within 30 s")
        if self.startup_error is not None:
            self.thread.join(timeout=5)
            raise self.startup_error
        self.thread.name = f"course-http-service-{self.port}"

    def close(self) -> None:
        """Stop serving and join the thread; safe to call twice, from any thread."""
        if self.closed or os.getpid() != self.owner_pid:  # a forked child owns no thread
            return
        self.closed = True
        loop, stopping, thread = self.loop, self.stopping, self.thread
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)
        _RUNNING.pop(id(self), None)

    # -- the loop thread ----------------------------------------------------------------------
    def _run(self, port: int, backlog: int) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._serve(port, backlog))
        except BaseException as exc:  # reported to start(), which re-raises it
            if not self.ready.is_set():
                self.startup_error = exc
                self.ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, port: int, backlog: int) -> None:
        self.stopping = asyncio.Event()
        if self.settings.limit is not None:
            self.slots = asyncio.Semaphore(self.settings.limit)
        server = await asyncio.start_server(
            self._connection, HOST, port, backlog=backlog, limit=_MAX_HEAD
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        try:
            await self.stopping.wait()
        finally:
            server.close()
            # a connection accepted just before the close gets its transport on the next
            # loop turns: let it attach now, so that it is aborted with the others (one
            # that attached after wait_closed() had finished made asyncio's Server wake
            # its waiters twice, a TypeError seen on 3.15)
            for _ in range(3):
                await asyncio.sleep(0)
            if hasattr(server, "abort_clients"):  # 3.13+: also the connections whose
                server.abort_clients()  # handler has not run yet (else 3.15 warns at gc)
            for writer in list(self.writers):
                writer.transport.abort()
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=10)
            await asyncio.wait_for(server.wait_closed(), timeout=10)
            # a connection accepted just before the stop may have got its handler only
            # now, and an aborted transport closes its socket one loop turn later: turn
            # the loop until every connection is gone (or a second has passed)
            for _ in range(100):
                for writer in list(self.writers):
                    writer.transport.abort()
                await asyncio.sleep(0.01)
                if not self.writers and not self.tasks:
                    break
            if hasattr(server, "abort_clients"):
                server.abort_clients()  # any connection accepted meanwhile
            # an aborted transport closes its socket in a callback on the next loop turns:
            # let them run, or the loop closes first and the transport, never closed, is
            # met at garbage collection (3.15 then raises inside asyncio's __del__)
            for _ in range(3):
                await asyncio.sleep(0)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        with self.lock:
            connection = next(self.conn_ids)
            self.connections_opened += 1
        try:
            while not self.stopping or not self.stopping.is_set():
                if not await self._one_request(reader, writer, connection):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the server is closing
        finally:
            self.writers.discard(writer)
            self.tasks.discard(task)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> bool:
        """Read and answer one request; return whether to keep the connection open."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # the client closed the connection (between requests: normal)
        except asyncio.LimitOverrunError:
            await self._send(writer, 431, {"error": "request head over 64 KiB"}, False)
            return False
        try:
            method, target, version, headers = _parse_head(head)
        except _BadRequest as bad:
            await self._send(writer, bad.status, {"error": str(bad)}, False)
            return False
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)  # a GET with a body: read it, ignore it
        keep = _keep_alive(version, headers)
        if method not in ("GET", "HEAD"):
            body = {"error": f"{method} is not supported here: use GET"}
            await self._send(writer, 405, body, keep, head_only=False, extra={"Allow": "GET"})
            return keep
        head_only = method == "HEAD"
        path = urlsplit(target).path
        try:
            if path.startswith("/items/"):
                return await self._item(writer, target, headers, connection, keep, head_only)
            if path == "/stats":
                body = self.snapshot().as_dict()
            elif path in ("/", ""):
                body = self._index()
            else:
                raise _BadRequest(404, f"no such endpoint: {path} (try / for the list)")
        except _BadRequest as bad:
            body, status = {"error": str(bad)}, bad.status
        else:
            status = 200
        await self._send(writer, status, body, keep, head_only=head_only)
        return keep

    async def _item(
        self,
        writer: asyncio.StreamWriter,
        target: str,
        headers: Mapping[str, str],
        connection: int,
        keep: bool,
        head_only: bool,
    ) -> bool:
        item, wait, nominal, fail = _parse_item(target)  # raises _BadRequest
        arrived = time.perf_counter()
        limit, mode = self.settings.limit, self.settings.mode
        tag = headers.get("x-request-id")
        with self.lock:
            seq = next(self.seq)

        in_line = False

        def record(status: int, started: float) -> None:
            ended = time.perf_counter()
            rec = RequestRecord(
                seq, item, target, connection, arrived, started, ended, status, tag, in_line
            )
            with self.lock:
                self.open.pop(seq, None)
                self.records.append(rec)

        admitted, in_line = await self._enter(limit, mode)
        if not admitted:
            retry = self.settings.retry_after * get_scale()
            body = {"error": f"over the limit of {limit} requests at once", "retry_after": retry}
            record(429, arrived)
            extra = {"Retry-After": str(math.ceil(retry))}
            await self._send(writer, 429, body, keep, head_only=head_only, extra=extra)
            return keep

        started = time.perf_counter()
        with self.lock:  # being served: a live picture draws it until record() ends it
            self.open[seq] = RequestRecord(
                seq, item, target, connection, arrived, started, started, None, tag, in_line
            )
        left = False

        def leave(status: int) -> None:
            # Count the request out *before* its answer is written: a client that sends
            # its next request the moment it reads this answer must find the slot free.
            nonlocal left
            if not left:
                left = True
                self._exit(mode)
                record(status, started)

        with self.lock:
            self.attempts[item] += 1
            attempt = self.attempts[item]
        kind = fail[0] if fail is not None and attempt <= fail[1] else None
        body: dict[str, Any] = {
            "id": item,
            "result": result_of(item),
            "seconds": nominal,
            "attempt": attempt,
            "connection": connection,
            "request": seq,
        }
        try:
            if kind == "slow":
                await self._send_slowly(writer, body, wait, keep, head_only, leave)
                return keep
            await asyncio.sleep(wait)
            if kind == "reset":
                leave(RESET)
                _reset(writer)
                return False
            status = 500 if kind == "500" else 200
            if status == 500:
                body = {"id": item, "error": "injected failure (fail=500)", "attempt": attempt}
            leave(status)
        finally:
            leave(RESET)  # cancelled, or the client went away: count it out all the same
        await self._send(writer, status, body, keep, head_only=head_only)
        return keep

    async def _enter(self, limit: int | None, mode: str) -> tuple[bool, bool]:
        """Take a slot, at once or after queueing: (admitted, waited in line).

        Not admitted means "turn it away" (429).
        """
        in_line = False
        if limit is not None and mode == "queue":
            assert self.slots is not None
            in_line = self.slots.locked()
            with self.lock:
                self.queued += 1
                self.peak_queued = max(self.peak_queued, self.queued)
            try:
                await self.slots.acquire()
            finally:
                with self.lock:
                    self.queued -= 1
        with self.lock:
            if limit is not None and mode == "reject" and self.in_flight >= limit:
                return False, False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True, in_line

    def _exit(self, mode: str) -> None:
        with self.lock:
            self.in_flight -= 1
        if self.slots is not None and mode == "queue":
            self.slots.release()

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: Any,
        keep: bool,
        *,
        head_only: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        payload = (json.dumps(body) + "\n").encode()
        writer.write(_head(status, len(payload), keep, extra) + (b"" if head_only else payload))
        await writer.drain()

    async def _send_slowly(
        self,
        writer: asyncio.StreamWriter,
        body: Any,
        wait: float,
        keep: bool,
        head_only: bool,
        leave: Any,
    ) -> None:
        """``fail=slow``: the head at once, then the body in ten pieces over ``wait``."""
        payload = (json.dumps(body) + "\n").encode()
        writer.write(_head(200, len(payload), keep, None))
        await writer.drain()
        pieces = 10
        step = math.ceil(len(payload) / pieces)
        for k in range(pieces):
            await asyncio.sleep(wait / pieces)
            if k == pieces - 1:
                leave(200)
            if not head_only:
                writer.write(payload[k * step : (k + 1) * step])
                await writer.drain()

    def _index(self) -> dict[str, Any]:
        s = self.settings
        return {
            "service": "concurrency-lab course server",
            "endpoints": {
                "/items/{id}": "wait nominal_duration(id) x CONCURRENCY_LAB_SCALE, then answer",
                "/items/{id}?seconds=0.5": "another nominal wait (scaled)",
                "/items/{id}?ms=50": "a fixed wait in real milliseconds (not scaled)",
                "/items/{id}?fail=500|reset|slow&fail_first=N": "injected failures",
                "/stats": "what the server saw",
            },
            "limit": s.limit,
            "mode": s.mode,
            "scale": get_scale(),
        }

    def snapshot(self) -> ServerStats:
        with self.lock:
            now = time.perf_counter()
            return ServerStats(
                url=f"http://{HOST}:{self.port}",
                limit=self.settings.limit,
                mode=self.settings.mode,
                requests=list(self.records),
                peak_in_flight=self.peak_in_flight,
                peak_queued=self.peak_queued,
                connections_opened=self.connections_opened,
                in_progress=tuple(replace(r, ended=now) for r in self.open.values()),
            )

    def reset_stats(self) -> None:
        with self.lock:
            self.records.clear()
            self.seq = itertools.count()
            self.attempts.clear()
            self.peak_in_flight = self.in_flight
            self.peak_queued = self.queued
            self.connections_opened = 0


# -- HTTP/1.1, the minimum -----------------------------------------------------------------
def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Split a request head into method, target, version and lower-cased headers."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise _BadRequest(400, "request head is not text") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, f"not an HTTP/1.x request line: {lines[0][:100]!r}")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise _BadRequest(400, f"malformed header line: {line[:100]!r}")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise _BadRequest(400, "chunked request bodies are not supported: send Content-Length")
    if not headers.get("content-length", "0").isdigit():
        raise _BadRequest(400, "Content-Length must be a whole number")
    return parts[0], parts[1], parts[2], headers


def _keep_alive(version: str, headers: Mapping[str, str]) -> bool:
    tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def _head(status: int, length: int, keep: bool, extra: Mapping[str, str] | None) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
        "Server: concurrency-lab",
        "Content-Type: application/json",
        f"Content-Length: {length}",
        f"Connection: {'keep-alive' if keep else 'close'}",
        *(f"{k}: {v}" for k, v in (extra or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _parse_item(target: str) -> tuple[int, float, float, tuple[str, float] | None]:
    """``/items/3?ms=50`` → item 3, the real wait, the nominal one, and the failure asked."""
    parts = urlsplit(target)
    raw = parts.path[len("/items/") :]
    if not raw.isdigit():
        raise _BadRequest(404, f"no such item: {raw!r} (items are whole numbers: /items/3)")
    item = int(raw)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"ms", "seconds", "fail", "fail_first"}
    if unknown:
        raise _BadRequest(400, f"unknown option(s) {sorted(unknown)}: use ms, seconds, fail")
    try:
        if "ms" in query:
            nominal = wait = float(query["ms"]) / 1000
        else:
            nominal = float(query["seconds"]) if "seconds" in query else nominal_duration(item)
            wait = nominal * get_scale()
        fail_first = float(query["fail_first"]) if "fail_first" in query else math.inf
    except ValueError:
        raise _BadRequest(400, "ms, seconds and fail_first must be numbers") from None
    if not (math.isfinite(wait) and wait >= 0 and fail_first >= 0):
        raise _BadRequest(400, "ms, seconds and fail_first must be finite and >= 0")
    fail = None
    if "fail" in query:
        if query["fail"] not in FAILURES:
            raise _BadRequest(400, f"fail must be one of {', '.join(FAILURES)}")
        fail = (query["fail"], fail_first)
    return item, wait, nominal, fail


def _reset(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP reset (RST): the client sees "connection reset"."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# -- the handle you hold --------------------------------------------------------------------
_RUNNING: dict[int, weakref.ref[Service]] = {}


class Service:
    """The course's HTTP server, running in a background thread of this Python.

    ``Service(limit=None, mode="reject", retry_after=1.0, port=0)``; then ``.start()``, or
    use it as a ``with`` block. ``limit``: the most ``/items`` requests served at once
    (``None``: no limit). ``mode``: what happens over the limit, ``"reject"`` (429 with
    ``Retry-After``) or ``"queue"`` (wait for a free slot). ``retry_after``: the nominal
    seconds a 429 asks the client to wait (times the scale; the ``Retry-After`` header holds
    it rounded up to whole seconds, as HTTP requires, and the JSON body the exact value).
    ``port``: 0 lets the operating system pick a free one; a port that is taken is replaced
    by a free one, with a warning.
    """

    def __init__(
        self,
        *,
        limit: int | None = None,
        mode: Mode = "reject",
        retry_after: float = 1.0,
        port: int = 0,
        backlog: int = 4096,
    ) -> None:
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a whole number >= 1 or None, got {limit!r}")
        if mode not in ("reject", "queue"):
            raise ValueError(f"mode must be 'reject' (answer 429) or 'queue', got {mode!r}")
        if not (isinstance(port, int) and 0 <= port < 65536):
            raise ValueError(f"port must be a number from 0 to 65535, got {port!r}")
        if not retry_after >= 0:
            raise ValueError(f"retry_after must be >= 0 seconds, got {retry_after!r}")
        self._core = _Core(_Settings(limit, mode, float(retry_after)))
        self._port_asked = port
        self._backlog = backlog
        self._finalizer = weakref.finalize(self, self._core.close)

    # -- starting and stopping ------------------------------------------------------------------
    def start(self) -> Service:
        """Start serving (returns ``self``, so ``service = Service().start()`` works)."""
        if self._core.thread is not None:
            if self._core.closed:
                raise RuntimeError("this service was closed; start a new one: Service().start()")
            return self
        try:
            self._core.start(self._port_asked, self._backlog)
        except OSError as exc:
            if self._port_asked == 0 or exc.errno != errno.EADDRINUSE:
                raise
            asked = self._port_asked
            self._core = _Core(self._core.settings)
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, self._core.close)
            self._core.start(0, self._backlog)
            warnings.warn(
                f"port {asked} is in use (another program, or a course server you did not "
                f"close); serving on {self.url} instead",
                stacklevel=2,
            )
        _RUNNING[id(self._core)] = weakref.ref(self)
        return self

    def close(self) -> None:
        """Stop serving: no more connections, requests in progress dropped, thread joined."""
        self._finalizer()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`close`."""
        thread = self._core.thread
        return thread is not None and thread.is_alive() and not self._core.closed

    # -- where it is --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port it listens on (0 before :meth:`start`)."""
        return self._core.port

    @property
    def url(self) -> str:
        """``'http://127.0.0.1:PORT'``, the base of every endpoint."""
        return f"http://{HOST}:{self.port}"

    def item_url(self, item: int, **options: Any) -> str:
        """The URL of item ``item``: ``service.item_url(3, ms=50)`` → ``.../items/3?ms=50``."""
        query = f"?{urlencode(options)}" if options else ""
        return f"{self.url}/items/{item}{query}"

    def curl(self, item: int = 3) -> str:
        """A command to try in a terminal while the service runs."""
        return f"curl {self.item_url(item)}"

    # -- what it saw --------------------------------------------------------------------------
    @property
    def limit(self) -> int | None:
        """The most ``/items`` requests it serves at once (``None``: no limit)."""
        return self._core.settings.limit

    @property
    def mode(self) -> str:
        """What happens over the limit: ``"reject"`` (429) or ``"queue"``."""
        return self._core.settings.mode

    @property
    def in_flight(self) -> int:
        """How many ``/items`` requests it is serving right now (queued ones not counted)."""
        with self._core.lock:
            return self._core.in_flight

    def stats(self) -> ServerStats:
        """A snapshot of what the server saw so far (also ``GET /stats``)."""
        return self._core.snapshot()

    def reset_stats(self) -> None:
        """Forget the requests seen so far (and the ``fail_first`` counts): a fresh record."""
        self._core.reset_stats()

    def __repr__(self) -> str:
        state = "running" if self.running else ("closed" if self._core.closed else "not started")
        limit = f"limit {self.limit} ({self.mode})" if self.limit else "no limit"
        where = self.url if self.port else "no port yet"
        return f"<Service {where} · {limit} · {state}>"


def start_service(
    *, limit: int | None = None, mode: Mode = "reject", retry_after: float = 1.0, port: int = 0
) -> Service:
    """Start the course server in the background and return it: ``service = start_service()``.

    Close it with ``service.close()`` (or let the kernel's exit do it).
    """
    return Service(limit=limit, mode=mode, retry_after=retry_after, port=port).start()


def running_services() -> list[Service]:
    """The services started in this Python and not closed yet."""
    found = [ref() for ref in list(_RUNNING.values())]
    return [s for s in found if s is not None and s.running]


def close_all() -> int:
    """Close every running service of this Python; return how many there were."""
    services = running_services()
    for service in services:
        service.close()
    return len(services)


def main(argv: Iterable[str] | None = None) -> None:  # pragma: no cover - run by hand
    """``python -m concurrency_lab.work.service [--port P] [--limit N] [--mode queue]``."""
    parser = argparse.ArgumentParser(description="Run the course's HTTP server until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (default)")
    parser.add_argument("--limit", type=int, default=None, help="requests at once (default: any)")
    parser.add_argument("--mode", choices=["reject", "queue"], default="reject")
    parser.add_argument("--retry-after", type=float, default=1.0)
    args = parser.parse_args(None if argv is None else list(argv))
    service = start_service(
        limit=args.limit, mode=args.mode, retry_after=args.retry_after, port=args.port
    )
    print(f"serving on {service.url} (Ctrl-C stops it); try: {service.curl()}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
        print(service.stats())


if __name__ == "__main__":  # pragma: no cover
    main()
