"""``cookie_session.testing``: a session put into each kind of test client reaches the
application, and the one the application leaves is read back, in the signed and the encrypted
format, under the configured cookie name, domain and path; the cookie values themselves; and
docs/testing.md's code and citations. The store's side is
tests/store/test_store_testing_helpers.py, which drives the same browsers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import re
import subprocess
import sys
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import Any, Protocol, cast

import httpx
import httpx2
import pytest
from litestar import Litestar, get, post
from litestar import Request as LitestarRequest
from litestar.middleware import DefineMiddleware
from litestar.testing import AsyncTestClient as LitestarAsyncTestClient
from litestar.testing import TestClient as LitestarTestClient
from quart import Quart
from quart import session as quart_session
from quart.testing import QuartClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

import cookie_session
from conftest import OTHER_SECRET, REFERENCE_SECRET, SECRET, tampered
from cookie_session import (
    SealedCodec,
    SessionCodec,
    SessionConfig,
    SessionMiddleware,
    SessionTooLarge,
)
from cookie_session.cookie import SessionCookie, attributes
from cookie_session.quart import use_cookie_session
from cookie_session.session import MAX_AGE_KEY
from cookie_session.store import RedisSessionStore
from cookie_session.testing import (
    aclient_session,
    aread_session_cookie,
    asession_cookie,
    aset_client_session,
    client_session,
    read_session_cookie,
    session_cookie,
    set_client_session,
)
from redis_server import RedisServer
from test_docs_guarantees import guarantee_tables, uncited_table_rows
from test_docs_security import missing_citations
from test_examples import FRAMEWORKS_PAGE, python_blocks_by_section

ROOT = Path(__file__).resolve().parent.parent
TESTING_PAGE = ROOT / "docs" / "testing.md"
VARIANTS = [
    pytest.param({}, id="signed"),
    pytest.param({"encrypt": True}, id="encrypted"),
    pytest.param({"session_cookie": "shop_session", "path": "/app"}, id="named, under /app"),
]
KINDS = [
    "starlette",
    "httpx2 async",
    "httpx async",
    "litestar",
    "litestar async",
    "quart",
]
"""Every kind of client the helpers take: Starlette's TestClient (an httpx2.Client), an
httpx2.AsyncClient, an httpx.AsyncClient, Litestar's two (httpx.Client and AsyncClient) and
Quart's."""
HTTPX_KINDS = [kind for kind in KINDS if kind != "quart"]
"""The clients whose cookie jar sends a cookie only where its Domain, Path and Secure allow
(Quart's sends every cookie it holds)."""
DATA = {"user": "ada", "roles": ["admin"], "n": 1}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the applications: one per framework, the same routes ---------------------------------------
# GET /app/session and /other/session: the session; POST /app/cart: adds "tea" to the cart;
# POST /app/logout: clears the session.


def starlette_app(config: SessionConfig) -> SessionMiddleware:
    async def show(request: Request) -> Response:
        return JSONResponse(dict(request.session))

    async def add_to_cart(request: Request) -> Response:
        request.session.setdefault("cart", []).append("tea")
        return JSONResponse(dict(request.session))

    async def log_out(request: Request) -> Response:
        request.session.clear()
        return JSONResponse({})

    routes = [
        Route("/app/session", show),
        Route("/other/session", show),
        Route("/app/cart", add_to_cart, methods=["POST"]),
        Route("/app/logout", log_out, methods=["POST"]),
    ]
    return SessionMiddleware(Starlette(routes=routes), config=config)


def litestar_app(config: SessionConfig) -> Litestar:
    @get(["/app/session", "/other/session"])
    async def show(request: LitestarRequest[Any, Any, Any]) -> dict[str, Any]:
        return dict(request.session)

    @post("/app/cart", status_code=200)
    async def add_to_cart(request: LitestarRequest[Any, Any, Any]) -> dict[str, Any]:
        request.session.setdefault("cart", []).append("tea")
        return dict(request.session)

    @post("/app/logout", status_code=200)
    async def log_out(request: LitestarRequest[Any, Any, Any]) -> dict[str, Any]:
        request.session.clear()
        return {}

    return Litestar(
        route_handlers=[show, add_to_cart, log_out],
        middleware=[DefineMiddleware(SessionMiddleware, config=config)],
    )


def quart_app(config: SessionConfig) -> Quart:
    app = Quart(__name__)
    use_cookie_session(app, config)

    async def show() -> dict[str, Any]:
        return dict(quart_session)

    async def add_to_cart() -> dict[str, Any]:
        quart_session.setdefault("cart", []).append("tea")
        return dict(quart_session)

    async def log_out() -> dict[str, Any]:
        quart_session.clear()
        return {}

    app.add_url_rule("/app/session", view_func=show)
    app.add_url_rule("/other/session", "other", view_func=show)
    app.add_url_rule("/app/cart", view_func=add_to_cart, methods=["POST"])
    app.add_url_rule("/app/logout", view_func=log_out, methods=["POST"])
    return app


# -- the browsers: a client of each kind, and a way to ask it for a page ------------------------


@dataclass
class Browser:
    client: object
    """What the helpers are given."""
    jar: CookieJar
    send: Callable[[str, str], Awaitable[tuple[int, Any]]]
    """Sends a request (method, path); gives back its status and JSON body."""

    async def get(self, path: str) -> Any:
        status, body = await self.send("GET", path)
        assert status == 200, body
        return body

    async def post(self, path: str) -> Any:
        status, body = await self.send("POST", path)
        assert status == 200, body
        return body

    def session_cookies(self, name: str) -> list[Cookie]:
        return [cookie for cookie in self.jar if cookie.name == name]


class OpenBrowser(Protocol):
    def __call__(
        self, kind: str, config: SessionConfig, base_url: str = "http://testserver.local"
    ) -> Awaitable[Browser]: ...


@contextlib.asynccontextmanager
async def browsers() -> AsyncIterator[OpenBrowser]:
    """Opens clients of a ``kind`` on an application of its framework made with ``config``;
    closes them on the way out."""
    async with contextlib.AsyncExitStack() as opened:

        async def open_one(
            kind: str, config: SessionConfig, base_url: str = "http://testserver.local"
        ) -> Browser:
            if kind == "quart":
                quart_client = cast(QuartClient, quart_app(config).test_client())

                async def send_quart(method: str, path: str) -> tuple[int, Any]:
                    response = await quart_client.open(path, method=method)
                    return response.status_code, await response.get_json()

                assert quart_client.cookie_jar is not None
                return Browser(quart_client, quart_client.cookie_jar, send_quart)
            if kind in ("starlette", "litestar"):
                client: httpx.Client | httpx2.Client
                if kind == "starlette":
                    client = TestClient(starlette_app(config), base_url=base_url)
                else:
                    client = LitestarTestClient(app=litestar_app(config), base_url=base_url)
                opened.enter_context(client)

                async def send(method: str, path: str) -> tuple[int, Any]:
                    response = client.request(method, path)
                    return response.status_code, response.json()

                return Browser(client, client.cookies.jar, send)
            async_client: httpx.AsyncClient | httpx2.AsyncClient
            if kind == "httpx2 async":
                transport = httpx2.ASGITransport(app=starlette_app(config))
                async_client = httpx2.AsyncClient(transport=transport, base_url=base_url)
            elif kind == "httpx async":
                plain = httpx.ASGITransport(app=starlette_app(config))
                async_client = httpx.AsyncClient(transport=plain, base_url=base_url)
            else:
                app = litestar_app(config)
                async_client = LitestarAsyncTestClient(app=app, base_url=base_url)
            await opened.enter_async_context(async_client)

            async def send_async(method: str, path: str) -> tuple[int, Any]:
                response = await async_client.request(method, path)
                return response.status_code, response.json()

            return Browser(async_client, async_client.cookies.jar, send_async)

        yield open_one


@pytest.fixture
async def open_browser() -> AsyncIterator[OpenBrowser]:
    async with browsers() as open_one:
        yield open_one


def config_of(variant: dict[str, Any]) -> SessionConfig:
    return SessionConfig(secret_key=SECRET, **variant)


# -- a session put into the client, and read back -----------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_the_application_sees_the_session_put_in_the_client(
    open_browser: OpenBrowser, kind: str, variant: dict[str, Any]
) -> None:
    config = config_of(variant)
    browser = await open_browser(kind, config)

    set_client_session(browser.client, config, DATA)

    assert await browser.get("/app/session") == DATA


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_the_applications_cookie_replaces_the_one_put_in_the_client(
    open_browser: OpenBrowser, kind: str, variant: dict[str, Any]
) -> None:
    config = config_of(variant)
    browser = await open_browser(kind, config)
    set_client_session(browser.client, config, {"user": "ada"})

    await browser.post("/app/cart")

    assert client_session(browser.client, config) == {"user": "ada", "cart": ["tea"]}
    assert len(browser.session_cookies(config.session_cookie)) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_client_session_is_empty_without_a_cookie_and_after_a_logout(
    open_browser: OpenBrowser, kind: str, variant: dict[str, Any]
) -> None:
    config = config_of(variant)
    browser = await open_browser(kind, config)
    assert client_session(browser.client, config) == {}
    set_client_session(browser.client, config, {"user": "ada"})

    await browser.post("/app/logout")

    assert client_session(browser.client, config) == {}
    assert browser.session_cookies(config.session_cookie) == []


@pytest.mark.anyio
@pytest.mark.parametrize("kind", HTTPX_KINDS)
async def test_a_cookie_under_a_path_is_sent_under_that_path_only(
    open_browser: OpenBrowser, kind: str
) -> None:
    config = config_of({"session_cookie": "shop_session", "path": "/app"})
    browser = await open_browser(kind, config)

    set_client_session(browser.client, config, DATA)

    assert await browser.get("/app/session") == DATA
    assert await browser.get("/other/session") == {}


@pytest.mark.anyio
async def test_quarts_client_keeps_the_cookie_under_the_configured_path(
    open_browser: OpenBrowser,
) -> None:
    # Quart's test client sends every cookie it holds, whatever its Path; the cookie is still
    # the one the application would set.
    config = config_of({"session_cookie": "shop_session", "path": "/app"})
    browser = await open_browser("quart", config)

    set_client_session(browser.client, config, DATA)

    [cookie] = browser.session_cookies("shop_session")
    assert (cookie.path, cookie.domain, cookie.secure) == ("/app", "localhost.local", False)


DOMAIN_CONFIG = {"domain": ".example.com", "https_only": True}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("base_url", "sent"),
    [
        pytest.param("https://www.example.com", True, id="https, in the domain"),
        pytest.param("https://example.com", True, id="https, the domain itself"),
        pytest.param("http://www.example.com", False, id="plain http"),
        pytest.param("https://www.example.org", False, id="another domain"),
    ],
)
@pytest.mark.parametrize("kind", HTTPX_KINDS)
async def test_a_cookie_with_a_domain_and_secure_goes_where_the_applications_would(
    open_browser: OpenBrowser, kind: str, base_url: str, sent: bool
) -> None:
    config = config_of(DOMAIN_CONFIG)
    browser = await open_browser(kind, config, base_url)

    set_client_session(browser.client, config, DATA)

    assert await browser.get("/app/session") == (DATA if sent else {})


@pytest.mark.anyio
@pytest.mark.parametrize("kind", HTTPX_KINDS)
async def test_the_applications_cookie_with_a_domain_replaces_the_one_put_in_the_client(
    open_browser: OpenBrowser, kind: str
) -> None:
    config = config_of(DOMAIN_CONFIG)
    browser = await open_browser(kind, config, "https://www.example.com")
    set_client_session(browser.client, config, {"user": "ada"})

    await browser.post("/app/cart")

    assert client_session(browser.client, config) == {"user": "ada", "cart": ["tea"]}
    assert len(browser.session_cookies("session")) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_the_awaitable_forms_work_without_a_store(
    open_browser: OpenBrowser, kind: str, variant: dict[str, Any]
) -> None:
    config = config_of(variant)
    browser = await open_browser(kind, config)

    await aset_client_session(browser.client, config, {"user": "ada"})
    await browser.post("/app/cart")

    assert await aclient_session(browser.client, config) == {"user": "ada", "cart": ["tea"]}


def test_client_session_reads_the_cookie_under_the_configured_path_only() -> None:
    at_root, under_app = config_of({}), config_of({"path": "/app"})
    client = TestClient(starlette_app(under_app))
    set_client_session(client, at_root, {"user": "root"})  # another application's cookie

    assert client_session(client, under_app) == {}
    set_client_session(client, under_app, {"user": "ada"})
    assert client_session(client, under_app) == {"user": "ada"}
    assert client_session(client, at_root) == {"user": "root"}


def test_a_client_without_a_cookie_jar_is_refused() -> None:
    with pytest.raises(TypeError, match=r"expected a test client with a cookie jar.*not dict"):
        set_client_session({}, config_of({}), DATA)
    quart_client = quart_app(config_of({})).test_client()
    quart_client.cookie_jar = None
    with pytest.raises(TypeError, match="keeps no cookies"):
        client_session(quart_client, config_of({}))


# -- cookie values -------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_cookie_value_reads_back_as_its_session(variant: dict[str, Any]) -> None:
    config = config_of(variant)

    assert read_session_cookie(config, session_cookie(config, DATA)) == DATA


def test_a_signed_cookie_value_is_starlettes_format() -> None:
    value = session_cookie(config_of({}), DATA)

    assert SessionCodec([SECRET], max_age=None).verify(value).data == DATA


def test_an_encrypted_cookie_value_hides_the_session() -> None:
    value = session_cookie(config_of({"encrypt": True}), DATA)

    assert value.startswith("~1.")
    body = base64.urlsafe_b64decode(value[3:] + "=" * (-len(value[3:]) % 4))
    assert b"ada" not in body
    assert "ada" not in value


def signed_long_ago(data: dict[str, Any], seconds: int) -> str:
    return SessionCodec([SECRET], max_age=None, clock=lambda: time.time() - seconds).encode(data)


@pytest.mark.parametrize(
    ("variant", "value", "reason"),
    [
        pytest.param({}, lambda: tampered(session_cookie(config_of({}), DATA)), "signature"),
        pytest.param(
            {"encrypt": True},
            lambda: tampered(session_cookie(config_of({"encrypt": True}), DATA)),
            "decrypt",
        ),
        pytest.param(
            {},
            lambda: SessionCodec([OTHER_SECRET], max_age=None).encode(DATA),
            "signature",
            id="another secret",
        ),
        pytest.param({"max_age": 60}, lambda: signed_long_ago(DATA, 120), "expired", id="old"),
        pytest.param({}, lambda: "not a cookie", "malformed", id="malformed"),
    ],
)
def test_a_refused_cookie_value_is_a_value_error_saying_why(
    variant: dict[str, Any], value: Callable[[], str], reason: str
) -> None:
    with pytest.raises(ValueError, match=rf"the session cookie is refused \({reason}\): "):
        read_session_cookie(config_of(variant), value())


DAY = 24 * 60 * 60


def made_days_ago(variant: dict[str, Any], data: dict[str, Any], days: int) -> str:
    """The cookie value of ``config_of(variant)`` carrying ``data``, made ``days`` ago."""
    keys = [SECRET]

    def clock() -> float:
        return time.time() - days * DAY

    if variant.get("encrypt"):
        return SealedCodec(keys, max_age=None, clock=clock).encode(data)
    return SessionCodec(keys, max_age=None, clock=clock).encode(data)


@pytest.mark.parametrize("variant", VARIANTS[:2])
def test_a_session_longer_lived_than_max_age_by_its_own_lifetime_reads_back(
    variant: dict[str, Any],
) -> None:
    # set_max_age(30 days), "remember me": 20 days on, past the configured 14, the middleware
    # still reads it, and so must the helpers.
    config = config_of(variant)
    remembered = {"user": "ada", MAX_AGE_KEY: 30 * DAY}
    value = made_days_ago(variant, remembered, 20)

    assert read_session_cookie(config, value) == remembered
    assert SessionCookie(config).verify(value.encode()).data == remembered


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS[:2])
async def test_the_awaitable_read_honours_a_sessions_own_lifetime(
    variant: dict[str, Any],
) -> None:
    config = config_of(variant)
    remembered = {"user": "ada", MAX_AGE_KEY: 30 * DAY}

    assert await aread_session_cookie(config, made_days_ago(variant, remembered, 20)) == remembered


@pytest.mark.anyio
async def test_with_a_store_a_sessions_own_lifetime_rides_in_its_cookie_and_keeps_it(
    redis_server: RedisServer, store_url: str
) -> None:
    # As the store's request path does: the cookie carries it, so that the middleware, and
    # aread_session_cookie, judge the cookie's age by it, and Redis keeps the session as long.
    config = SessionConfig(secret_key=SECRET, store_url=store_url)
    remembered = {"user": "ada", MAX_AGE_KEY: 30 * DAY}

    carried = SessionCodec([SECRET], max_age=None).verify(await asession_cookie(config, remembered))

    assert carried.data[MAX_AGE_KEY] == 30 * DAY
    assert await aread_session_cookie(config, made_days_ago({}, carried.data, 20)) == remembered
    store = RedisSessionStore.from_config(config)
    key = store.session_key(carried.data["sid"])
    await store.aclose()
    with contextlib.closing(redis_server.client()) as redis_client:
        assert 30 * DAY - 60 <= redis_client.ttl(key) <= 30 * DAY


@pytest.mark.parametrize("variant", VARIANTS[:2])
def test_a_session_shorter_lived_than_max_age_by_its_own_lifetime_is_refused_once_over_it(
    variant: dict[str, Any],
) -> None:
    config = config_of(variant)
    value = made_days_ago(variant, {"user": "ada", MAX_AGE_KEY: DAY}, 2)

    with pytest.raises(ValueError, match=r"refused \(expired\): .*own max_age is 86400"):
        read_session_cookie(config, value)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_a_session_put_into_a_client_expires_with_its_own_lifetime(
    kind: str, open_browser: OpenBrowser
) -> None:
    config = config_of({})
    browser = await open_browser(kind, config)
    remembered = {"user": "ada", MAX_AGE_KEY: 30 * DAY}
    before = int(time.time())

    set_client_session(browser.client, config, remembered)

    [cookie] = browser.session_cookies(config.session_cookie)
    assert cookie.expires is not None
    assert before + 30 * DAY <= cookie.expires <= time.time() + 30 * DAY
    assert await browser.get("/app/session") == remembered


def test_a_session_the_middleware_could_not_send_is_refused() -> None:
    with pytest.raises(SessionTooLarge, match="over the browsers' limit of 4096 bytes"):
        session_cookie(config_of({}), {"note": "x" * 4000})


def test_a_browser_session_cookie_is_measured_without_the_configured_max_age() -> None:
    # set_max_age(None): the middleware sends it with no Max-Age, so it fits where the same
    # session with the configured Max-Age would not.
    config = config_of({})
    codec = SessionCodec([SECRET], max_age=None)
    without_max_age = [each for each in attributes(config) if not each.startswith("Max-Age=")]

    def header_length(data: dict[str, Any]) -> int:
        return len("; ".join((f"session={codec.encode(data)}", *without_max_age)))

    def browser_session(size: int) -> dict[str, Any]:
        return {"note": "x" * size, MAX_AGE_KEY: None}

    size = max(size for size in range(4096) if header_length(browser_session(size)) <= 4096)
    data = browser_session(size)
    assert header_length(data) + len(f"Max-Age={config.max_age}; ") > 4096

    assert read_session_cookie(config, session_cookie(config, data)) == data


def test_a_value_json_cannot_hold_is_a_type_error_naming_its_key() -> None:
    with pytest.raises(TypeError, match=r"session\['when'\]"):
        session_cookie(config_of({}), {"when": object()})


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
async def test_the_awaitable_cookie_values_are_the_synchronous_ones_without_a_store(
    variant: dict[str, Any],
) -> None:
    config = config_of(variant)

    assert await aread_session_cookie(config, await asession_cookie(config, DATA)) == DATA
    assert read_session_cookie(config, await asession_cookie(config, DATA)) == DATA


@pytest.mark.parametrize(
    ("function", "arguments"),
    [
        pytest.param(session_cookie, (DATA,), id="session_cookie"),
        pytest.param(read_session_cookie, ("value",), id="read_session_cookie"),
        pytest.param(set_client_session, (DATA,), id="set_client_session"),
        pytest.param(client_session, (), id="client_session"),
    ],
)
def test_with_a_store_the_synchronous_forms_point_at_the_awaitable_ones(
    function: Callable[..., object], arguments: tuple[object, ...]
) -> None:
    config = SessionConfig(secret_key=SECRET, store_url="redis://localhost:1/0")
    name = function.__name__
    client_or_config: tuple[object, ...]
    if name in ("set_client_session", "client_session"):
        client_or_config = (TestClient(starlette_app(config_of({}))), config)
    else:
        client_or_config = (config,)

    with pytest.raises(TypeError, match=rf"store_url set.*await a{name}\(\) instead"):
        function(*client_or_config, *arguments)


# -- the module -------------------------------------------------------------------------------


def test_importing_the_helpers_imports_no_framework_nor_http_client() -> None:
    code = (
        "import sys, cookie_session.testing; "
        "loaded = {name.split('.')[0] for name in sys.modules}; "
        "print(sorted(loaded & {'starlette', 'fastapi', 'litestar', 'quart', 'httpx', "
        "'httpx2', 'redis', 'cryptography'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def test_the_helpers_are_not_exported_from_the_package() -> None:
    assert [name for name in dir(cookie_session) if "session_cookie" in name] == []
    assert not hasattr(cookie_session, "set_client_session")


# -- docs/testing.md and the recipes of docs/frameworks.md ---------------------------------------


STORE_SECTION = "With a store"
"""The section of docs/testing.md whose tests need Redis (tests/store runs them)."""


def run_page(
    path: Path, headings: list[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> dict[str, Any]:
    """The namespace of a module made of the page's Python blocks under ``headings``, in the
    page's order."""
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    for heading, blocks in python_blocks_by_section(path).items():
        if heading in headings:
            for source in blocks:
                # The docs are ours; running their examples is the point.
                exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


def section_tests(path: Path, heading: str, namespace: dict[str, Any]) -> list[Callable[[], Any]]:
    """The test functions the page's blocks under ``heading`` define, as ``namespace`` holds
    them."""
    names = [
        name
        for source in python_blocks_by_section(path)[heading]
        for name in re.findall(r"^(?:async )?def (test_\w+)", source, flags=re.MULTILINE)
    ]
    return [namespace[name] for name in names]


def run_tests(tests: list[Callable[[], Any]]) -> None:
    """Call each test, running an async one to its end."""
    for test in tests:
        result = test()
        if inspect.iscoroutine(result):
            asyncio.run(result)


@pytest.mark.usefixtures("clean_env")
def test_the_pages_tests_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    headings = [
        heading for heading in python_blocks_by_section(TESTING_PAGE) if heading != STORE_SECTION
    ]
    namespace = run_page(TESTING_PAGE, headings, monkeypatch, "docs_testing")
    tests = [
        test for heading in headings for test in section_tests(TESTING_PAGE, heading, namespace)
    ]

    assert len(tests) >= 5
    run_tests(tests)


def test_every_guarantee_of_the_page_cites_a_test_that_exists() -> None:
    text = TESTING_PAGE.read_text(encoding="utf-8")

    assert guarantee_tables(text) >= 1
    assert uncited_table_rows(text) == []
    assert missing_citations(text) == []


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("framework", ["Starlette", "FastAPI", "Litestar", "Bare ASGI"])
def test_the_framework_recipes_test_that_starts_signed_in_passes(
    framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", REFERENCE_SECRET)
    name = "frameworks_testing_" + framework.lower().replace(" ", "_")
    namespace = run_page(FRAMEWORKS_PAGE, [framework], monkeypatch, name)
    tests = section_tests(FRAMEWORKS_PAGE, framework, namespace)

    assert [test.__name__ for test in tests if "signed_in" in test.__name__] != []
    run_tests(tests)
