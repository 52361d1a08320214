"""Real servers and a real browser for the integration tests.

Servers are uvicorn subprocesses serving ``tests.integration.apps:counter_app`` (or another
factory there, such as ``demo_app``) on 127.0.0.1, each configured only through the ``SESSION_*``
variables of its own environment. Every wait is bounded, and every process group started here
is killed when its module's tests are done.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import httpx2
import hypothesis
import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from ci import in_ci, unavailable
from cookie_session import SessionConfig
from redis_server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = "tests.integration.apps:counter_app"
DEMO_APP = "tests.integration.apps:demo_app"
STARTUP_TIMEOUT = 120.0
"""Seconds a server may take to start before the test fails: usually about one, but a module
may start 18 at once, each importing its framework, on two slow cores."""
STOP_TIMEOUT = 10.0
BROWSER_TIMEOUT_MS = 15_000
"""How long a browser step (or an expect()) may wait, in milliseconds."""

# One fixed, generous budget for every property test (test_properties.py applies it); in CI the
# examples are derandomized, so a failure there is reproducible from the log.
hypothesis.settings.register_profile(
    "integration",
    max_examples=400,
    deadline=None,
    derandomize=in_ci(),
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
    print_blob=True,
)

Setting = str | Sequence[str]


def _server_environment(settings: Mapping[str, Setting]) -> dict[str, str]:
    """This process's environment without its SESSION_* variables, plus ``settings`` as the
    variables that set them (sequences, such as the fallback keys, as JSON lists)."""
    environment = {
        name: value for name, value in os.environ.items() if not name.upper().startswith("SESSION_")
    }
    for field, value in settings.items():
        variable = SessionConfig.env_variable(field)
        environment[variable] = value if isinstance(value, str) else json.dumps(list(value))
    return environment


class Server:
    """One uvicorn process group serving the factory ``app`` on a fixed 127.0.0.1 port,
    restartable with new settings."""

    def __init__(self, log_dir: Path, *, workers: int = 1, app: str = APP) -> None:
        self.port = free_port()
        self.workers = workers
        self.app = app
        self._log_dir = log_dir
        self._starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, settings: Mapping[str, Setting]) -> None:
        """Start serving with ``settings`` and return once every worker is ready."""
        self._starts += 1
        log_path = self._log_dir / f"server-{self.port}-{self._starts}.log"
        command = [
            sys.executable, "-m", "uvicorn", self.app, "--factory",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), "--no-access-log",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=_server_environment(settings),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, workers included
            )
        self._wait_until_ready(log_path)

    def _wait_until_ready(self, log_path: Path) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self.stop()
                pytest.fail(f"uvicorn exited during start-up:\n{log_path.read_text()}")
            log = log_path.read_text()
            # Bound to its port, not only started: a server whose port was taken meanwhile
            # logs "startup complete" and exits, while another may answer on that port.
            bound = f"Uvicorn running on {self.url} " in log
            started = log.count("Application startup complete.")
            if bound and started >= self.workers and self._answers() and self._running():
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"uvicorn not ready after {STARTUP_TIMEOUT} s:\n{log_path.read_text()}")

    def _running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _answers(self) -> bool:
        try:
            return httpx2.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx2.TransportError:
            return False

    def stop(self) -> None:
        """Stop the whole process group: politely, then by force."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            process.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers, if any
        process.wait(timeout=STOP_TIMEOUT)

    def restart(self, settings: Mapping[str, Setting]) -> None:
        """Replace the running server by one with ``settings``, on the same port."""
        self.stop()
        self.start(settings)


class StartServer(Protocol):
    """The ``start_server`` fixture: settings by SessionConfig field name, e.g. ``path="/app"``;
    ``app`` is the factory to serve (``counter_app`` unless given)."""

    def __call__(self, *, workers: int = 1, app: str = APP, **settings: Setting) -> Server: ...


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Start servers configured by SessionConfig field names; all stop after the module."""
    log_dir = tmp_path_factory.mktemp("servers")
    servers: list[Server] = []

    def start(*, workers: int = 1, app: str = APP, **settings: Setting) -> Server:
        server = Server(log_dir, workers=workers, app=app)
        servers.append(server)
        server.start(settings)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system, driven by Playwright; closed after the module, so
    that Playwright's event loop is gone before other modules run their own."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        unavailable("Chromium is not installed (Debian package 'chromium')")
    # expect() keeps its own 5 s default, which a context's default timeout does not change:
    # the same 15 s for both (a form post, Redis and a redirect on a slow, busy machine).
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: an empty cookie jar for each test."""
    context = browser.new_context()
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()
