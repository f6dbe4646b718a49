"""A real JupyterLab server and a real Chromium for the browser tests (``make test-browser``).

The server runs on 127.0.0.1 with a random token, at test scale, in a temporary folder
that holds a *copy* of ``notebooks/`` (running and saving there never touches the
committed lessons), with its own settings (light theme, all cells kept in the page) and
its own runtime folder. At the end it is shut down through its API and every process it
started (kernels, their pool workers) must be gone.

Chromium is Debian's (``/usr/bin/chromium``, or ``$CHROMIUM``), driven by Playwright
through ``executable_path``: Playwright's own browser download is not needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from concurrency_lab.dev.nbtesting import TEST_SCALE

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LIGHT, DARK = "JupyterLab Light", "JupyterLab Dark"

# JupyterLab settings for the run: every cell stays in the DOM (the default windowing
# detaches cells that are scrolled out of view), and no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/apputils-extension/themes": {"theme": LIGHT},
}

screenshots: list[Path] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: where it is, how to call its API, where its files live."""

    base: str
    token: str
    root: Path
    settings_dir: Path
    process: subprocess.Popen

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?token={self.token}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def set_theme(self, theme: str) -> None:
        """Change JupyterLab's theme setting (pages opened afterwards use it)."""
        raw = json.dumps({**LAB_SETTINGS["@jupyterlab/apputils-extension/themes"], "theme": theme})
        self.api("PUT", "lab/api/settings/@jupyterlab/apputils-extension:themes", {"raw": raw})

    def shut_down_kernels(self) -> None:
        """End every session (and so every kernel): one lesson's kernel at a time."""
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        log = self.root.parent / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_up(lab: Lab, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited at start-up:\n{lab.log_tail()}")
        try:
            lab.api("GET", "api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}")


def _stop(lab: Lab) -> list[str]:
    """Shut the server down through its API; return what had to be killed (should be none)."""
    import psutil

    try:
        started = psutil.Process(lab.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
        lab.api("POST", "api/shutdown")  # ends every kernel, then the server
    killed = []
    try:
        lab.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        killed.append(f"jupyter lab (pid {lab.process.pid})")
        os.killpg(lab.process.pid, signal.SIGKILL)
        lab.process.wait(timeout=10)
    _, alive = psutil.wait_procs(started, timeout=10)
    for proc in alive:
        try:
            killed.append(f"{proc.name()} (pid {proc.pid})")
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return killed


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    settings_dir = base / "settings"
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))

    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env.update(
        CONCURRENCY_LAB_SCALE=TEST_SCALE,
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_CONFIG_DIR=str(base / "config"),  # no personal ~/.jupyter config
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.getuid() == 0:
        cmd.append("--allow-root")
    with open(base / "server.log", "w") as log:
        process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Lab(f"http://127.0.0.1:{port}", token, root, settings_dir, process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        killed = _stop(server)
        assert not killed, f"processes left after the server shut down: {killed}"


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) "
            f"or point $CHROMIUM at a Chromium binary"
        )
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1100},
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session", autouse=True)
def _artifacts() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("# screenshots of the last browser run\n*\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if screenshots:
        terminalreporter.write_sep("-", "browser screenshots")
        for path in screenshots:
            terminalreporter.write_line(str(path))
