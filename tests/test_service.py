"""The course's HTTP service (``concurrency_lab.work.service``) and its clients.

What the lessons rely on: the endpoints and their seeded, scaled waits; the limit (429
with ``Retry-After``, or a queue) held by the server's own count; injected failures;
keep-alive; the server's record; clear errors for bad use; and nothing left behind — no
thread, no listening socket — after ``with``, ``close()``, garbage collection or an
interrupted block.

No test here needs a quiet machine: they check counts, statuses and the order of events,
and every duration is compared only as a lower bound (load can make a wait longer, never
shorter) or with a wide margin against a deadline the test sets itself.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import math
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from concurrency_lab.work.http_client import (
    Connection,
    Reply,
    ServiceNotRunning,
    StatusError,
    explain_refused,
    get,
    get_json,
)
from concurrency_lab.work.scale import get_scale
from concurrency_lab.work.service import (
    HOST,
    IN_PROGRESS,
    Service,
    close_all,
    running_services,
    start_service,
)
from concurrency_lab.work.tasks import nominal_duration, result_of

THREAD_PREFIX = "course-http-service"


def service_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


def listening(port: int) -> bool:
    """Whether anything on this machine accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex((HOST, port)) == 0


def my_tcp_sockets(port: int) -> list[object]:
    """This process's TCP sockets on ``port`` (listening or connected), via psutil."""
    psutil = pytest.importorskip("psutil")
    conns = psutil.Process().net_connections(kind="tcp")
    return [
        c for c in conns if (c.laddr and c.laddr.port == port) or (c.raddr and c.raddr.port == port)
    ]


def wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached within the deadline")
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Every test must leave no service running and no service thread alive."""
    yield
    leftover = running_services()
    close_all()
    assert leftover == [], f"a test left services running: {leftover}"
    wait_until(lambda: not service_threads(), timeout=10)


@pytest.fixture
def service() -> Iterator[Service]:
    with Service() as svc:
        yield svc


# -- endpoints ----------------------------------------------------------------------------
def test_items_answer_with_the_seeded_duration(service: Service) -> None:
    reply = get(service.item_url(3))
    assert reply.status == 200 and reply.ok
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.data["id"] == 3
    assert reply.data["result"] == result_of(3)
    assert reply.data["seconds"] == nominal_duration(3)


def test_waits_are_scaled_and_ms_is_not(service: Service) -> None:
    for item in range(5):
        get(service.item_url(item))
    get(service.item_url(9, ms=30))
    records = {r.item: r for r in service.stats().requests}
    for item in range(5):  # a lower bound: load can only make the wait longer
        assert records[item].ended - records[item].started >= nominal_duration(item) * get_scale()
    assert records[9].ended - records[9].started >= 0.030


def test_durations_are_deterministic_across_servers() -> None:
    seen = []
    for _ in range(2):
        with Service() as svc:
            seen.append([get(svc.item_url(i)).data["seconds"] for i in range(5)])
    assert seen[0] == seen[1] == [nominal_duration(i) for i in range(5)]


def test_index_and_stats_endpoints(service: Service) -> None:
    index = get_json(service.url + "/")
    assert "/items/{id}" in index["endpoints"] and index["limit"] is None
    get(service.item_url(1, ms=0))
    stats = get_json(service.url + "/stats")
    assert stats["status_counts"] == {"200": 1}
    [request] = stats["requests"]
    assert request["item"] == 1 and request["status"] == 200
    assert request["arrived"] <= request["started"] <= request["ended"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/nope", 404),
        ("/items/abc", 404),
        ("/items/3?colour=red", 400),
        ("/items/3?fail=explode", 400),
        ("/items/3?ms=-5", 400),
        ("/items/3?ms=many", 400),
    ],
)
def test_bad_requests_get_clear_answers(service: Service, path: str, status: int) -> None:
    reply = get(service.url + path)
    assert reply.status == status
    assert reply.data["error"]
    with pytest.raises(StatusError, match=str(status)):
        get_json(service.url + path)


def test_other_methods_are_refused(service: Service) -> None:
    conn = http.client.HTTPConnection(HOST, service.port, timeout=30)
    conn.request("POST", "/items/3", body=b"{}")
    response = conn.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "GET"
    response.read()
    conn.close()


def test_head_sends_no_body(service: Service) -> None:
    conn = http.client.HTTPConnection(HOST, service.port, timeout=30)
    conn.request("HEAD", "/items/3?ms=0")
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b""
    conn.close()


# -- keep-alive and independent clients ----------------------------------------------------
def test_a_kept_alive_connection_carries_many_requests(service: Service) -> None:
    with Connection(service.url) as conn:
        answers = [conn.get(f"/items/{i}?ms=0").data for i in range(5)]
    assert len({a["connection"] for a in answers}) == 1
    assert service.stats().connections == 1
    for i in range(3):  # urllib: one connection per request
        get(service.item_url(i, ms=0))
    assert service.stats().connections == 4


def test_connection_close_is_honoured(service: Service) -> None:
    with Connection(service.url) as conn:
        first = conn.get("/items/1?ms=0", headers={"Connection": "close"})
        assert first.headers["Connection"] == "close"
        second = conn.get("/items/2?ms=0")  # reopens by itself
    assert first.data["connection"] != second.data["connection"]


def raw_http(port: int, request: bytes) -> bytes:
    """Send ``request`` over a plain socket and read until the server closes."""
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_plain_socket_speaks_http_1_1_and_1_0(service: Service) -> None:
    answer = raw_http(
        service.port, b"GET /items/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(body)["result"] == result_of(3)
    answer = raw_http(service.port, b"GET /items/4?ms=0 HTTP/1.0\r\n\r\n")  # closes after
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in answer


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_can_talk_to_it(service: Service) -> None:
    done = subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "60", service.item_url(3)],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    assert json.loads(done.stdout)["result"] == result_of(3)


# -- the limit ----------------------------------------------------------------------------
def hold(service: Service, n: int, ms: int) -> list[threading.Thread]:
    """Start ``n`` requests of ``ms`` in threads and wait until the server serves them all."""
    threads = [
        threading.Thread(target=get, args=(service.item_url(100 + k, ms=ms),)) for k in range(n)
    ]
    for t in threads:
        t.start()
    wait_until(lambda: service.in_flight == n)
    return threads


def test_over_the_limit_is_answered_429_with_retry_after() -> None:
    with Service(limit=2, retry_after=1.0) as svc:
        threads = hold(svc, 2, ms=1500)
        reply = get(svc.item_url(3, ms=0))
        for t in threads:
            t.join()
        stats = svc.stats()
    assert reply.status == 429 and not reply.ok
    assert reply.headers["Retry-After"] == str(math.ceil(1.0 * get_scale()))
    assert reply.retry_after == pytest.approx(1.0 * get_scale())
    assert stats.rejected == 1 and stats.status_counts()[200] == 2
    assert stats.max_in_flight() == 2


def test_requests_being_served_are_in_progress_until_answered() -> None:
    # what a live picture of the server draws as growing bars (view.live.live_server)
    with Service(limit=2) as svc:
        threads = hold(svc, 2, ms=1500)
        during = svc.stats()
        for t in threads:
            t.join()
        after = svc.stats()
    assert sorted(r.item for r in during.in_progress) == [100, 101]
    assert all(r.status is None and r.ended >= r.started for r in during.in_progress)
    assert during.requests == [] and during.status_counts() == {}  # not counted yet
    now = max(r.ended for r in during.in_progress) + 1.0
    growing = during.events(now=now)
    assert {e.label for e in growing} == {IN_PROGRESS} and {e.end for e in growing} == {now}
    assert {e.thread for e in growing} == {"server slot 1", "server slot 2"}
    assert after.in_progress == () and after.status_counts()[200] == 2


@pytest.mark.parametrize("mode", ["reject", "queue"])
def test_the_server_never_serves_more_than_its_limit(mode: str) -> None:
    with Service(limit=3, mode=mode, retry_after=0) as svc:  # type: ignore[arg-type]
        with ThreadPoolExecutor(max_workers=20) as pool:
            replies = list(pool.map(get, [svc.item_url(i, ms=50) for i in range(20)]))
        stats = svc.stats()
    assert stats.max_in_flight() <= 3
    if mode == "queue":
        assert [r.status for r in replies] == [200] * 20 and stats.rejected == 0
    else:
        statuses = {r.status for r in replies}
        assert statuses <= {200, 429}
        assert stats.status_counts()[200] + stats.rejected == 20


def test_queue_mode_serves_in_turn() -> None:
    with Service(limit=1, mode="queue") as svc:
        [first] = hold(svc, 1, ms=300)
        reply = get(svc.item_url(7, ms=0))
        first.join()
        stats = svc.stats()
    assert reply.status == 200
    by_item = {r.item: r for r in stats.requests}
    assert by_item[7].in_line and not by_item[100].in_line
    assert by_item[7].started >= by_item[100].ended  # it waited for the slot
    assert stats.peak_queued == 1 and stats.max_in_flight() == 1


def test_a_semaphore_sized_to_the_limit_gets_no_429() -> None:
    slots = threading.Semaphore(3)

    def polite(url: str) -> Reply:
        with slots:
            return get(url)

    with Service(limit=3) as svc:
        with ThreadPoolExecutor(max_workers=12) as pool:
            replies = list(pool.map(polite, [svc.item_url(i, ms=20) for i in range(12)]))
        stats = svc.stats()
    assert [r.status for r in replies] == [200] * 12
    assert stats.rejected == 0 and stats.max_in_flight() <= 3
    assert sorted(stats.fetched()) == list(range(12)) and set(stats.fetched().values()) == {1}


# -- failures ------------------------------------------------------------------------------
def test_fail_500_only_the_first_time(service: Service) -> None:
    url = service.item_url(5, ms=0, fail=500, fail_first=1)
    first, second = get(url), get(url)
    assert first.status == 500 and "injected" in first.data["error"]
    assert second.status == 200 and second.data["attempt"] == 2
    assert get(service.item_url(6, ms=0, fail=500)).status == 500  # every time
    assert get(service.item_url(6, ms=0, fail=500)).status == 500


def test_fail_reset_drops_the_connection(service: Service) -> None:
    with pytest.raises(ConnectionResetError):
        get(service.item_url(2, ms=0, fail="reset"))
    with Connection(service.url) as conn, pytest.raises(ConnectionResetError):
        conn.get("/items/2?ms=0&fail=reset")
    assert service.stats().status_counts()[0] == 2


def test_a_slow_body_arrives_whole_and_a_socket_timeout_is_per_read(service: Service) -> None:
    # ten pieces 60 ms apart: 0.6 s in all, though each read waits far less than 0.5 s
    reply = get(service.item_url(4, ms=600, fail="slow"), timeout=0.5)
    assert reply.status == 200 and reply.data["result"] == result_of(4)
    [record] = service.stats().requests
    assert record.ended - record.started >= 0.6


def test_a_client_timeout_raises_timeout_error(service: Service) -> None:
    with pytest.raises(TimeoutError):
        get(service.item_url(1, ms=3000), timeout=0.1)


# -- the server's record ---------------------------------------------------------------------
def test_events_draw_slots_and_connections() -> None:
    with Service(limit=2) as svc:
        threads = hold(svc, 2, ms=200)
        get(svc.item_url(1, ms=0))  # turned away
        for t in threads:
            t.join()
        stats = svc.stats()
    slot_lanes = {e.thread for e in stats.events("slot")}
    assert slot_lanes == {"server slot 1", "server slot 2", "server: turned away (429)"}
    assert {e.thread for e in stats.events("connection")} == {
        f"connection {r.connection}" for r in stats.requests
    }
    assert [e.ok for e in stats.events() if e.label == "429"] == [False]
    tl = stats.timeline()
    assert tl.t0 == min(r.started for r in stats.requests)  # slot lanes start at service
    with pytest.raises(ValueError, match="lanes"):
        stats.events("thread")  # type: ignore[arg-type]
    assert "at most 2 in flight" in str(stats)


def test_reset_stats_starts_a_fresh_record(service: Service) -> None:
    url = service.item_url(1, ms=0, fail=500, fail_first=1)
    assert get(url).status == 500
    service.reset_stats()
    assert service.stats().requests == [] and service.stats().connections_opened == 0
    assert get(url).status == 500  # fail_first counts again from the reset


# -- bad use, clear errors -------------------------------------------------------------------
def test_a_port_in_use_gives_another_with_a_warning() -> None:
    with socket.socket() as squatter:
        squatter.bind((HOST, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with pytest.warns(UserWarning, match=f"port {taken} is in use"), Service(port=taken) as svc:
            assert svc.port != taken
            assert get(svc.item_url(1, ms=0)).ok


def test_a_stopped_server_says_so() -> None:
    svc = start_service()
    url = svc.item_url(3, ms=0)
    svc.close()
    with pytest.raises(ServiceNotRunning, match=r"not running.*start_service"):
        get(url)
    with pytest.raises(ConnectionRefusedError):  # ServiceNotRunning is one
        get(url)
    with Connection(svc.url) as conn, pytest.raises(ServiceNotRunning):
        conn.get("/items/3")
    with pytest.raises(ServiceNotRunning), explain_refused(svc.url):
        socket.create_connection((HOST, svc.port), timeout=5)


def test_a_stopped_server_says_so_to_httpx_too() -> None:
    httpx = pytest.importorskip("httpx")
    with Service() as svc:
        url = svc.item_url(3, ms=0)
    with pytest.raises(ServiceNotRunning) as info, explain_refused(url):
        httpx.get(url)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    with explain_refused(url), pytest.raises(ValueError):  # other errors pass through
        raise ValueError("not a connection problem")


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="limit"):
        Service(limit=0)
    with pytest.raises(ValueError, match="mode"):
        Service(mode="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        Service(port=70000)
    svc = Service().start()
    svc.close()
    with pytest.raises(RuntimeError, match="closed"):
        svc.start()
    svc.close()  # closing twice is fine


# -- nothing left behind ---------------------------------------------------------------------
def test_with_and_close_leave_no_thread_and_no_socket() -> None:
    before = set(threading.enumerate())
    psutil = pytest.importorskip("psutil")
    fds_before = {c.fd for c in psutil.Process().net_connections(kind="tcp")}
    with Service() as svc:
        port = svc.port
        with Connection(svc.url) as conn:
            conn.get("/items/1?ms=0")
        get(svc.item_url(2, ms=0))
        assert listening(port) and svc.running
    assert not svc.running and not listening(port)
    assert set(threading.enumerate()) <= before

    def new_sockets() -> list[object]:  # sockets this test opened (others may share the port)
        gc.collect()  # a socket object nobody holds any more is closed when it is collected
        return [c for c in my_tcp_sockets(port) if c.fd not in fds_before]  # type: ignore[attr-defined]

    try:
        wait_until(lambda: new_sockets() == [], timeout=10)  # closes are asynchronous
    except AssertionError:
        raise AssertionError(f"sockets left open: {new_sockets()}") from None

    svc = start_service()
    port = svc.port
    idle = Connection(svc.url)
    idle.get("/items/1?ms=0")  # a kept-alive connection still open at close
    svc.close()
    idle.close()
    assert not listening(port) and my_tcp_sockets(port) == []
    assert set(threading.enumerate()) <= before


def test_a_request_in_progress_does_not_keep_the_server_alive() -> None:
    svc = start_service()
    port = svc.port
    errors: list[BaseException] = []

    def slow_client() -> None:
        try:
            get(svc.item_url(1, ms=60_000))
        except OSError as exc:
            errors.append(exc)

    client = threading.Thread(target=slow_client)
    client.start()
    wait_until(lambda: svc.in_flight == 1)
    svc.close()  # drops the request: the client sees its connection end
    client.join(timeout=30)
    assert not client.is_alive() and len(errors) == 1
    assert not listening(port)


def test_an_interrupted_with_block_closes_the_service() -> None:
    with pytest.raises(KeyboardInterrupt), Service() as svc:
        port = svc.port
        raise KeyboardInterrupt
    assert not svc.running and not listening(port)


def test_a_forgotten_service_is_closed_when_collected() -> None:
    svc = start_service()
    port = svc.port
    assert running_services() == [svc]
    del svc
    gc.collect()
    wait_until(lambda: not service_threads(), timeout=10)
    assert not listening(port) and running_services() == []


def test_close_all() -> None:
    services = [start_service(), start_service()]
    assert set(running_services()) == set(services)
    assert close_all() == 2
    assert running_services() == [] and not any(s.running for s in services)


def test_a_forgotten_service_dies_with_its_python() -> None:
    script = (
        "from concurrency_lab.work.service import start_service\n"
        "s = start_service()\n"
        "print(s.port, flush=True)\n"  # and exit without closing it
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert not listening(int(done.stdout))
    assert done.stderr == ""


# -- many connections at once ----------------------------------------------------------------
def test_a_thousand_connections_at_once() -> None:
    """Lesson 06's fan-out: 1 000 concurrent connections, every one answered."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * 1000 + 200  # client and server sockets live in this one process
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"needs {need} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    async def one(port: int, item: int) -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"GET /items/{item}?ms=300 HTTP/1.1\r\nConnection: close\r\n\r\n".encode())
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        return answer

    async def fan_out(port: int) -> list[bytes]:
        return await asyncio.gather(*(one(port, i) for i in range(1000)))

    try:
        with Service() as svc:
            answers = asyncio.run(fan_out(svc.port))
            stats = svc.stats()
    finally:
        if soft < need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert all(a.startswith(b"HTTP/1.1 200 OK") for a in answers)
    assert sorted(stats.fetched()) == list(range(1000)) and stats.connections == 1000
    assert stats.max_in_flight() > 1  # they overlapped (how many depends on the machine)


def test_no_warnings_from_a_normal_run(service: Service) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get(service.item_url(1, ms=0))
        with Connection(service.url) as conn:
            conn.get("/items/2?ms=0")


# -- lesson 06: aiohttp against the service ---------------------------------------------------
def test_aiohttp_one_session_and_a_semaphore_as_in_lesson_06() -> None:
    """Lesson 06's pattern: one ``aiohttp.ClientSession``, a semaphore sized to the limit.

    No 429, every item once, at most ``limit`` connections; a 429 read through the course's
    ``Reply`` from aiohttp's headers gives its ``retry_after``; nothing left unclosed.
    """
    aiohttp = pytest.importorskip("aiohttp")

    async def fetch(session: Any, url: str) -> Reply:
        async with session.get(url) as response:
            return Reply(response.status, await response.json(), response.headers)

    async def run(svc: Service) -> tuple[list[Reply], Reply, int]:
        slots = asyncio.Semaphore(4)
        async with aiohttp.ClientSession() as session:

            async def polite(url: str) -> Reply:
                async with slots:
                    return await fetch(session, url)

            replies = await asyncio.gather(*(polite(svc.item_url(i, ms=20)) for i in range(40)))
            connections = svc.stats().connections
            # fill every slot with slow requests, then one more: turned away
            slow_urls = [svc.item_url(100 + k, ms=1500) for k in range(4)]
            slow = [asyncio.create_task(fetch(session, url)) for url in slow_urls]
            while svc.in_flight < 4:
                await asyncio.sleep(0.005)
            turned_away = await fetch(session, svc.item_url(200, ms=0))
            await asyncio.gather(*slow)
        return replies, turned_away, connections

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Service(limit=4, retry_after=0.5) as svc:
            replies, turned_away, connections = asyncio.run(run(svc))
            stats = svc.stats()
        gc.collect()
    assert [r.status for r in replies] == [200] * 40 and connections <= 4
    assert all(stats.fetched()[i] == 1 for i in range(40))  # every item once
    assert stats.max_in_flight() <= 4 and stats.rejected == 1
    assert turned_away.status == 429
    assert turned_away.headers["retry-after"] == str(math.ceil(0.5 * get_scale()))
    assert turned_away.retry_after == pytest.approx(0.5 * get_scale())
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], caught
