"""The child-importable half of the asyncio checks: web pages, and a blocking parser.

Lesson 06's third exercise hands the student's coroutine a ``parse(page)`` that blocks its
thread (like a slow HTML parser). The student may run it in the loop's thread (wrong), in a
worker thread (``asyncio.to_thread``) or in a worker *process* (``run_in_executor`` with a
``ProcessPoolExecutor``, as the lesson suggests for CPU-heavy work). So :class:`BlockingParse`
is a frozen dataclass of a module-level class — it pickles under every start method — and it
records each call as a file (process id, thread ident, start, end, whether that thread was
running an event loop), which the parent reads back whichever process made the call.

Imports only the standard library: child processes import this module.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BlockingParse", "ParseCall", "html_page", "page_title"]

_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def html_page(url: Any) -> str:
    """A tiny web page for ``url``: its title is ``Page <last part of the url>``."""
    name = str(url).rstrip("/").rsplit("/", 1)[-1]
    return f"<html><head><title>Page {name}</title></head><body>…</body></html>"


def page_title(page: str) -> str:
    """The text between ``<title>`` and ``</title>`` (what :func:`html_page` put there)."""
    if not isinstance(page, str):
        raise TypeError(f"parse expects the page's text (a str), got {type(page).__name__}")
    match = _TITLE.search(page)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class ParseCall:
    """One recorded call of :class:`BlockingParse`: where it ran and when."""

    pid: int
    thread_ident: int
    thread: str
    in_loop: bool
    start: float
    end: float


@dataclass(frozen=True)
class BlockingParse:
    """``parse(page)``: blocks its thread for ``seconds`` (``time.sleep``), returns the title.

    Each call leaves a record in ``log_dir``. The wait is cut short once ``log_dir`` is
    gone (the check has ended), so a parse left running by a hung answer stops by itself.
    """

    log_dir: str
    seconds: float

    def __call__(self, page: str) -> str:
        try:
            asyncio.get_running_loop()
            in_loop = True
        except RuntimeError:
            in_loop = False
        if inspect.iscoroutine(page):
            page.close()  # the verdict says it was never awaited; spare the warning
        title = page_title(page)  # a wrong argument fails at once, before the wait
        start = time.perf_counter()
        end = start + self.seconds
        while (left := end - time.perf_counter()) > 0 and os.path.isdir(self.log_dir):
            time.sleep(min(0.02, left))
        record = {
            "pid": os.getpid(),
            "thread_ident": threading.get_ident(),
            "thread": threading.current_thread().name,
            "in_loop": in_loop,
            "start": start,
            "end": time.perf_counter(),
        }
        path = Path(self.log_dir) / f"{uuid.uuid4().hex}.json"
        try:
            tmp = path.with_suffix(".part")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            tmp.replace(path)  # readers never see half a record
        except OSError:
            pass  # the check has ended and removed the folder
        return title

    def __repr__(self) -> str:
        return "<function parse: blocks its thread for a moment>"

    def calls(self) -> list[ParseCall]:
        """Every finished call so far, in start order (read in the parent)."""
        calls = []
        for path in Path(self.log_dir).glob("*.json"):
            try:
                calls.append(ParseCall(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return sorted(calls, key=lambda c: c.start)
