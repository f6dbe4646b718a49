"""Small standard-library clients for the course's HTTP service, with errors that explain.

Two ways to send a ``GET`` with nothing but the standard library:

* :func:`get` uses ``urllib.request``: simple, and **one new TCP connection per request**
  (urllib asks the server to close each connection after its answer).
* :class:`Connection` keeps one ``http.client.HTTPConnection`` open and sends request
  after request over it (HTTP keep-alive): no connection set-up after the first. Like the
  ``HTTPConnection`` inside it, it carries **one request at a time**: it is not
  thread-safe. Give each thread its own (``threading.local``, lesson 02).

Both return a :class:`Reply` — status, JSON body, headers — for every answer the server
gives, 429 and 500 included: deciding what a 429 means (wait and retry?) is the caller's
job. What is *not* an answer raises:

* :class:`ServiceNotRunning` (a ``ConnectionRefusedError``) when nothing listens at the
  address: "the course server is not running — start it with ...";
* ``TimeoutError`` when no answer came within ``timeout`` seconds (a socket timeout bounds
  each wait for data, not the whole request: a body that trickles in slowly can take
  longer);
* ``ConnectionResetError`` when the server dropped the connection instead of answering.

:func:`explain_refused` gives any other client (``httpx`` for example) the same clear
message, without this module importing it.

Only the standard library is imported here.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Connection",
    "Reply",
    "ServiceNotRunning",
    "StatusError",
    "explain_refused",
    "get",
    "get_json",
    "is_refused",
]

START_HINT = (
    "start it with `service = start_service()` "
    "(from concurrency_lab.work.service import start_service), "
    "or use `with Service() as service:` around the requests"
)


class ServiceNotRunning(ConnectionRefusedError):
    """Nothing listens at the service's address: it was never started, or it was closed."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
        super().__init__(f"the course server is not running at {where} — {START_HINT}")
        self.url = url


class StatusError(RuntimeError):
    """:func:`get_json` got an answer that is not a success (429, 500, ...)."""

    def __init__(self, url: str, reply: Reply) -> None:
        detail = reply.data.get("error") if isinstance(reply.data, dict) else None
        super().__init__(f"{url} answered {reply.status}" + (f": {detail}" if detail else ""))
        self.reply = reply


@dataclass(frozen=True)
class Reply:
    """One answer: its HTTP status, its JSON body (``None`` if empty) and its headers."""

    status: int
    data: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        """How long the server asked us to wait before retrying, in seconds (or ``None``).

        The course server puts the exact value in the JSON body; the ``Retry-After``
        header holds it rounded up to whole seconds, as HTTP requires.
        """
        if isinstance(self.data, dict) and isinstance(self.data.get("retry_after"), int | float):
            return float(self.data["retry_after"])
        raw = self.headers.get("Retry-After") or self.headers.get("retry-after")
        try:
            return float(raw) if raw is not None else None
        except ValueError:  # an HTTP date: not something this server sends
            return None


def _decode(raw: bytes) -> Any:
    return json.loads(raw) if raw.strip() else None


def is_refused(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from, is a refused connection."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        if isinstance(current, urllib.error.URLError) and isinstance(
            current.reason, ConnectionRefusedError
        ):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def explain_refused(url: str = "the service's address") -> Iterator[None]:
    """Turn "connection refused", from any client, into :class:`ServiceNotRunning`.

    ``httpx`` raises ``httpx.ConnectError`` with the ``ConnectionRefusedError`` further
    down its chain of causes; this walks the chain, so it works for any client::

        with explain_refused(service.url):
            httpx.get(service.item_url(3))
    """
    try:
        yield
    except ServiceNotRunning:
        raise
    except Exception as exc:
        if is_refused(exc):
            raise ServiceNotRunning(url) from exc
        raise


# urllib honours http_proxy & co. from the environment; the course server is on this
# machine, so never send its requests to a proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(
    url: str, *, timeout: float | None = 30.0, headers: Mapping[str, str] | None = None
) -> Reply:
    """``GET url`` with ``urllib.request`` (a new connection each time); return the answer.

    Statuses such as 429 and 500 come back as a :class:`Reply` (``reply.ok`` is False);
    a refused connection raises :class:`ServiceNotRunning`, a timeout ``TimeoutError``,
    a dropped connection ``ConnectionResetError``.
    """
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(response.status, _decode(response.read()), dict(response.headers))
    except urllib.error.HTTPError as answer:  # an answer, just not a 2xx one
        with answer:
            return Reply(answer.code, _decode(answer.read()), dict(answer.headers))
    except urllib.error.URLError as exc:  # urllib wraps errors raised while connecting
        if is_refused(exc):
            raise ServiceNotRunning(url) from exc
        if isinstance(exc.reason, OSError):
            raise exc.reason from exc
        raise


def get_json(url: str, *, timeout: float | None = 30.0) -> Any:
    """``GET url`` and return its JSON body; any status but 2xx raises :class:`StatusError`."""
    reply = get(url, timeout=timeout)
    if not reply.ok:
        raise StatusError(url, reply)
    return reply.data


class Connection:
    """One kept-alive HTTP/1.1 connection to a server: many requests, one TCP handshake.

    ``Connection("http://127.0.0.1:PORT")``, then ``conn.get("/items/3")`` as often as you
    like; ``close()`` it (or use ``with``). It opens lazily, on the first request, and
    again after an error or a server's ``Connection: close``. **Not thread-safe**: the
    connection carries one request at a time, so a thread must not send while another is
    still waiting for its answer. Give each thread its own.
    """

    def __init__(self, base_url: str, *, timeout: float | None = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected a base URL such as http://127.0.0.1:8000, got {base_url!r}")
        self.base_url = f"http://{parts.netloc}"
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        self.requests = 0

    def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> Reply:
        """``GET path`` over this connection; the same answers and errors as :func:`get`."""
        if path.startswith(("http://", "https://")):
            path = path[len(self.base_url) :] if path.startswith(self.base_url) else path
        try:
            return self._send(path, headers)
        except ConnectionRefusedError as exc:
            self._conn.close()
            raise ServiceNotRunning(self.base_url) from exc
        except OSError:  # reset, timeout: this connection is no longer usable
            self._conn.close()
            raise

    def _send(self, path: str, headers: Mapping[str, str] | None) -> Reply:
        self._conn.request("GET", path, headers=dict(headers or {}))
        response = self._conn.getresponse()
        body = response.read()
        self.requests += 1
        if response.will_close:
            self._conn.close()
        return Reply(response.status, _decode(body), dict(response.headers))

    def close(self) -> None:
        """Close the connection (a later :meth:`get` opens a new one)."""
        self._conn.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def http_connection(self) -> http.client.HTTPConnection:
        """The ``http.client.HTTPConnection`` inside (to show what sharing it does)."""
        return self._conn

    def __repr__(self) -> str:
        state = "open" if self._conn.sock is not None else "not connected"
        return f"<Connection to {self.base_url} · {state} · {self.requests} request(s)>"
