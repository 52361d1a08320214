"""A "remember me" login in a real browser, across a real restart: headless Chromium (driven
by Playwright) on a persistent profile, against real uvicorn servers in signed, encrypted and store
mode (on the shared redis-server).

A restart closes the browser completely and launches a new one on the same profile directory, so
only what Chromium wrote to disk survives: a cookie with a ``Max-Age`` does, a browser-session
cookie does not (a fresh profile does not "continue where you left off"; the browser-session test
shows that it is so here). Lifetimes are read from the browser's own cookie store.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.sync_api import BrowserContext, Cookie, Page, Playwright, sync_playwright

from ci import unavailable
from conftest import SECRET
from redis_server import RedisServer

from .conftest import BROWSER_TIMEOUT_MS, CHROMIUM_ARGS, Server, StartServer
from .lifetime_apps import REMEMBER_ME

pytestmark = pytest.mark.timeout(120)

LIFETIME_APP = "tests.integration.lifetime_apps:lifetime_app"
SHORT = 600
"""The configured ``max_age`` of the servers whose sessions may choose another: ten minutes."""
MODES = ["signed", "encrypted", "store"]
STORE_KEYS = "cookie-session:session:*"


class Servers(Protocol):
    """The ``servers`` fixture: the server of one mode with one configured ``max_age``."""

    def __call__(self, mode: str, max_age: int | None) -> Server: ...


@pytest.fixture(scope="module")
def servers(start_server: StartServer, request: pytest.FixtureRequest) -> Servers:
    """Servers of ``lifetime_app`` by mode and ``max_age``, each started on first use and kept
    for the module; store mode uses the shared redis-server."""
    started: dict[tuple[str, int | None], Server] = {}

    def server(mode: str, max_age: int | None) -> Server:
        if (mode, max_age) not in started:
            store_url = ""  # none: sessions in the cookie
            if mode == "store":
                redis_server: RedisServer = request.getfixturevalue("redis_server")
                store_url = redis_server.url
            started[mode, max_age] = start_server(
                app=LIFETIME_APP,
                secret_key=SECRET,
                max_age="none" if max_age is None else str(max_age),
                encrypt="true" if mode == "encrypted" else "false",
                store_url=store_url,
            )
        return started[mode, max_age]

    return server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright, stopped after the module (so that its event loop is gone before other
    modules run their own)."""
    with sync_playwright() as playwright:
        yield playwright


class Profile:
    """One persistent Chromium profile directory, and the browser running on it, if any."""

    def __init__(self, playwright: Playwright, chromium: str, directory: Path) -> None:
        self._playwright = playwright
        self._chromium = chromium
        self._directory = directory
        self._running: BrowserContext | None = None

    def launch(self) -> BrowserContext:
        """Start Chromium on this profile: whatever it kept on disk, and nothing else."""
        assert self._running is None, "the browser is already running"
        context = self._playwright.chromium.launch_persistent_context(
            self._directory, executable_path=self._chromium, args=CHROMIUM_ARGS
        )
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        self._running = context
        return context

    def close(self) -> None:
        """Close the browser completely, as a person quitting it does."""
        context, self._running = self._running, None
        if context is not None:
            context.close()

    def restart(self) -> BrowserContext:
        self.close()
        return self.launch()


@pytest.fixture
def profile(playwright: Playwright, tmp_path: Path) -> Iterator[Profile]:
    """A fresh persistent profile, its browser closed after the test."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        unavailable("Chromium is not installed (Debian package 'chromium')")
    profile = Profile(playwright, chromium, tmp_path / "profile")
    try:
        yield profile
    finally:
        profile.close()


def _json(page: Page, url: str) -> Any:
    """Navigate to ``url`` as a person would, and return the JSON it answered."""
    response = page.goto(url)
    assert response is not None
    return response.json()


def _session_cookie(context: BrowserContext) -> Cookie:
    (cookie,) = [cookie for cookie in context.cookies() if cookie["name"] == "session"]
    return cookie


@pytest.mark.parametrize("mode", MODES)
def test_a_remembered_login_survives_a_browser_restart(
    mode: str, servers: Servers, profile: Profile
) -> None:
    # No max_age of its own: without set_max_age the cookie would end with the browser.
    server = servers(mode, max_age=None)
    page = profile.launch().new_page()
    logged_in = _json(page, f"{server.url}/login?user=alice&remember=1")

    after_restart = _json(profile.restart().new_page(), f"{server.url}/whoami")

    remembered = {"user": "alice", "max_age": REMEMBER_ME}
    assert (logged_in, after_restart) == (remembered, remembered)


@pytest.mark.parametrize("mode", MODES)
def test_a_browser_session_login_does_not_survive_a_browser_restart(
    mode: str, servers: Servers, profile: Profile
) -> None:
    # A configured max_age of its own: without set_max_age(None) the cookie would outlive this.
    server = servers(mode, max_age=SHORT)
    page = profile.launch().new_page()
    _json(page, f"{server.url}/login?user=alice&remember=0")
    before_restart = _json(page, f"{server.url}/whoami")

    after_restart = _json(profile.restart().new_page(), f"{server.url}/whoami")

    assert before_restart == {"user": "alice", "max_age": None}  # logged in while it runs...
    assert after_restart == {"user": None, "max_age": SHORT}  # ...anonymous after the restart


@pytest.mark.parametrize("mode", MODES)
def test_a_remembered_cookie_keeps_the_chosen_max_age_across_later_requests(
    mode: str, servers: Servers, profile: Profile
) -> None:
    server = servers(mode, max_age=SHORT)
    context = profile.launch()
    page = context.new_page()
    # The browser counts Max-Age from when it received the response, in whole seconds.
    before_login = time.time()
    page.goto(f"{server.url}/login?user=alice&remember=1")
    after_login = time.time()
    expires_at_login = _session_cookie(context)["expires"]
    before_visit = time.time()
    visit = page.goto(f"{server.url}/visit")  # a change, without calling set_max_age
    after_visit = time.time()
    expires_at_visit = _session_cookie(context)["expires"]

    assert before_login + REMEMBER_ME - 1 <= expires_at_login <= after_login + REMEMBER_ME + 1
    assert visit is not None
    assert visit.json() == {"user": "alice", "visits": 1}
    assert (visit.header_value("set-cookie") or "").startswith("session=")  # sent again...
    # ...with the session's own lifetime, not the configured ten minutes
    assert before_visit + REMEMBER_ME - 1 <= expires_at_visit <= after_visit + REMEMBER_ME + 1
    assert _json(page, f"{server.url}/whoami") == {"user": "alice", "max_age": REMEMBER_ME}


def test_a_remembered_store_session_s_data_keeps_the_chosen_expiry_in_redis(
    servers: Servers, profile: Profile, store_url: str, redis_server: RedisServer
) -> None:
    server = servers("store", max_age=SHORT)  # store_url: the shared redis-server, emptied
    page = profile.launch().new_page()
    page.goto(f"{server.url}/login?user=alice&remember=1")
    page.goto(f"{server.url}/visit")  # a write, without calling set_max_age

    client = redis_server.client()
    try:
        (key,) = client.keys(STORE_KEYS)
        visits = client.hget(key, "visits")
        ttl = client.ttl(key)
    finally:
        client.close()
    assert visits == b"1"  # the key of this browser's session, after the later write
    assert REMEMBER_ME - 10 <= ttl <= REMEMBER_ME  # not the configured ten minutes
