"""The static site as a reader sees it: built by ``make site``'s builder, opened in Chromium.

Builds the site into a temporary folder (Sphinx + MyST-NB, stored outputs, link check),
serves it on 127.0.0.1 and opens three lesson pages. Each must show its timeline pictures:
every ``<img>`` in the page's cell outputs has loaded (``complete`` and ``naturalWidth >
0``), and the navigation reaches the exercises and, separately, the solutions.

Run with ``make test-browser`` (``make test`` does not collect this folder). Needs the
site's packages (``site/requirements.txt``).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS, screenshots

PAGES = [
    "notebooks/02_threads.html",
    "notebooks/04_multiprocessing.html",
    "notebooks/06_asyncio.html",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("myst_nb", reason="the site needs site/requirements.txt installed")
    from concurrency_lab.dev.site import build

    base = tmp_path_factory.mktemp("site")
    output = base / "site"
    assert build(source=base / "src", output=output) == 0, "the site did not build cleanly"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(output))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.mark.parametrize("page_path", PAGES)
def test_lesson_page_shows_its_timeline_pictures(
    site: str, browser_context: Any, page_path: str
) -> None:
    page = browser_context.new_page()
    try:
        response = page.goto(f"{site}/{page_path}", wait_until="load")
        assert response is not None and response.ok, (
            f"{page_path}: HTTP {response and response.status}"
        )
        images = page.locator(".cell_output img")
        count = images.count()
        assert count >= 1, f"{page_path}: no pictures in the cell outputs"
        sizes = page.eval_on_selector_all(
            ".cell_output img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.src])"
        )
        unloaded = [src for complete, width, src in sizes if not (complete and width > 0)]
        assert not unloaded, f"{page_path}: pictures that did not load: {unloaded}"
        nav = page.locator("nav a").evaluate_all("links => links.map(a => a.href)")
        assert any("/exercises/" in href for href in nav), "no link to the exercises"
        assert any("/solutions/" in href for href in nav), "no link to the solutions"
        shot = ARTIFACTS / f"site-{Path(page_path).stem}.png"
        images.first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
        screenshots.append(shot)
    finally:
        page.close()
