"""Flash messages (``cookie_session.flash``): recorded in the session, shown once, oldest first,
in every framework and cookie mode; what a concurrent request can lose in cookie mode; and
docs/flash.md's code and citations. The store's side is tests/store/test_store_flash.py."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from fastapi import FastAPI
from litestar import Litestar, get, post
from litestar import Request as LitestarRequest
from litestar.middleware import DefineMiddleware
from litestar.response import Redirect
from litestar.testing import TestClient as LitestarTestClient
from quart import Quart
from quart import redirect as quart_redirect
from quart import session as quart_session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, REFERENCE_SECRET, SECRET
from cookie_session import (
    Flash,
    Session,
    SessionCodec,
    SessionConfig,
    SessionMiddleware,
    flash,
    get_session,
    peek_flashes,
    pop_flashes,
)
from cookie_session.flash import FLASHES_KEY
from cookie_session.quart import use_cookie_session
from cookie_session.testing import client_session
from cookie_session.types import Receive, Scope, Send
from test_docs_guarantees import guarantee_tables, uncited_table_rows
from test_docs_security import missing_citations
from test_examples import FRAMEWORKS_PAGE
from test_testing_helpers import run_page

ROOT = Path(__file__).resolve().parent.parent
FLASH_PAGE = ROOT / "docs" / "flash.md"
MODES = [pytest.param({}, id="signed"), pytest.param({"encrypt": True}, id="encrypted")]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the functions, over any mapping -----------------------------------------------------------


def test_popped_flashes_come_oldest_first_as_flash_tuples() -> None:
    session: dict[str, Any] = {}
    flash(session, "Saved")
    flash(session, "Disk nearly full", "warning")

    assert pop_flashes(session) == [
        Flash(category="message", message="Saved"),
        Flash(category="warning", message="Disk nearly full"),
    ]


def test_a_popped_flash_is_gone() -> None:
    session: dict[str, Any] = {}
    flash(session, "Saved")
    pop_flashes(session)

    assert pop_flashes(session) == []


def test_popping_a_category_leaves_the_others_in_order() -> None:
    session: dict[str, Any] = {}
    for category, message in [("error", "a"), ("info", "b"), ("error", "c"), ("info", "d")]:
        flash(session, message, category)

    assert pop_flashes(session, "error") == [Flash("error", "a"), Flash("error", "c")]
    assert pop_flashes(session) == [Flash("info", "b"), Flash("info", "d")]


def test_popping_an_absent_category_writes_nothing() -> None:
    session = Session()
    dict.__setitem__(session, FLASHES_KEY, [["info", "b"]])

    assert pop_flashes(session, "error") == []
    assert not session.modified
    assert session == {FLASHES_KEY: [["info", "b"]]}


def test_peeking_leaves_the_flashes_waiting() -> None:
    session = Session()
    flash(session, "Saved", "success")
    session.modified = False

    assert peek_flashes(session) == [Flash("success", "Saved")]
    assert peek_flashes(session) == [Flash("success", "Saved")]
    assert not session.modified


def test_flashes_wait_under_the_reserved_key_as_category_message_pairs() -> None:
    session: dict[str, Any] = {"user": "ada"}
    flash(session, "Saved")
    flash(session, "Careful", "warning")

    assert session == {"user": "ada", "_cs.flashes": [["message", "Saved"], ["warning", "Careful"]]}


def test_popping_the_last_flash_removes_the_key() -> None:
    session: dict[str, Any] = {"user": "ada"}
    flash(session, "Saved", "success")
    flash(session, "Careful", "warning")
    pop_flashes(session, "success")
    pop_flashes(session, "warning")

    assert session == {"user": "ada"}


def test_with_no_flash_waiting_pop_and_peek_write_nothing() -> None:
    session = Session({"user": "ada"})

    assert pop_flashes(session) == []
    assert pop_flashes(session, "error") == []
    assert peek_flashes(session) == []
    assert not session.modified
    assert session == {"user": "ada"}


@pytest.mark.parametrize(
    ("function", "arguments", "name"),
    [
        pytest.param(flash, (b"Saved",), "message", id="bytes message"),
        pytest.param(flash, (None,), "message", id="None message"),
        pytest.param(flash, ("Saved", 1), "category", id="int category"),
        pytest.param(flash, ("Saved", None), "category", id="None category"),
        pytest.param(pop_flashes, (1,), "category", id="int category to pop"),
    ],
)
def test_a_message_or_category_that_is_not_a_str_is_a_type_error(
    function: Callable[..., object], arguments: tuple[object, ...], name: str
) -> None:
    session: dict[str, Any] = {}

    with pytest.raises(TypeError, match=f"flash {name} must be a str"):
        function(session, *arguments)
    assert session == {}


def test_anything_under_the_key_but_pairs_of_strings_is_no_flash() -> None:
    session: dict[str, Any] = {FLASHES_KEY: [["info", "kept"], "loose", ["a", 1], ["a", "b", "c"]]}

    assert peek_flashes(session) == [Flash("info", "kept")]
    flash(session, "new")
    assert session[FLASHES_KEY] == [["info", "kept"], ["message", "new"]]
    assert peek_flashes({FLASHES_KEY: "not a list"}) == []


# -- through the middleware, in each cookie mode -------------------------------------------------


async def save(request: Request) -> Response:
    """A form post: flash, and redirect to the page that shows the messages."""
    flash(request.session, request.query_params.get("message", "Saved"), "success")
    return RedirectResponse("/page", status_code=303)


async def page(request: Request) -> Response:
    return JSONResponse({"flashes": pop_flashes(request.session)})


async def log_in(request: Request) -> Response:
    request.session["user"] = "ada"
    return JSONResponse({})


async def whoami(request: Request) -> Response:
    return JSONResponse({"user": request.session.get("user")})


async def add_to_cart(request: Request) -> Response:
    request.session.setdefault("cart", []).append("tea")
    return JSONResponse({})


def site(**settings: Any) -> SessionMiddleware:
    routes = [
        Route("/save", save, methods=["POST"]),
        Route("/page", page),
        Route("/login", log_in, methods=["POST"]),
        Route("/whoami", whoami),
        Route("/cart", add_to_cart, methods=["POST"]),
    ]
    return SessionMiddleware(Starlette(routes=routes), secret_key=SECRET, **settings)


@pytest.mark.parametrize("mode", MODES)
def test_a_flash_survives_a_redirect_and_shows_once(mode: dict[str, Any]) -> None:
    client = TestClient(site(**mode))

    shown = client.post("/save", params={"message": "Saved"})

    assert [r.status_code for r in shown.history] == [303]
    assert shown.json() == {"flashes": [["success", "Saved"]]}
    assert client.get("/page").json() == {"flashes": []}


@pytest.mark.parametrize("mode", MODES)
def test_showing_the_last_flash_leaves_no_trace_in_the_cookie(mode: dict[str, Any]) -> None:
    app = site(**mode)
    client = TestClient(app, follow_redirects=False)
    client.post("/login")
    client.post("/save")
    assert client_session(client, app.config) == {
        "user": "ada",
        "_cs.flashes": [["success", "Saved"]],
    }

    client.get("/page")

    assert client_session(client, app.config) == {"user": "ada"}


@pytest.mark.parametrize("mode", MODES)
def test_a_session_that_only_held_flashes_is_deleted_once_they_are_shown(
    mode: dict[str, Any],
) -> None:
    client = TestClient(site(**mode), follow_redirects=False)
    client.post("/save")

    response = client.get("/page")

    assert response.headers["set-cookie"].startswith("session=; Max-Age=0; ")
    assert "session" not in client.cookies


def test_a_session_that_never_flashes_carries_no_trace() -> None:
    app = site()
    client = TestClient(app)
    client.post("/login")
    client.post("/cart")

    visit = client.get("/page")  # looks for flashes: there are none

    assert visit.json() == {"flashes": []}
    assert "set-cookie" not in visit.headers
    assert client_session(client, app.config) == {"user": "ada", "cart": ["tea"]}


# -- every framework -------------------------------------------------------------------------
# Each application: ``POST /save`` flashes "Saved" and redirects to ``/page``, which pops the
# messages; ``/peek`` peeks at them. The store's side runs the same applications on Redis.


def fastapi_app(**settings: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, secret_key=SECRET, **settings)

    @app.post("/save")
    def save(request: Request) -> RedirectResponse:
        flash(request.session, "Saved", "success")
        return RedirectResponse("/page", status_code=303)

    @app.get("/page")
    def page(request: Request) -> dict[str, list[Flash]]:
        return {"flashes": pop_flashes(request.session)}

    @app.get("/peek")
    def peek(request: Request) -> dict[str, list[Flash]]:
        return {"flashes": peek_flashes(request.session)}

    return app


def litestar_app(**settings: Any) -> Litestar:
    @post("/save")
    async def save(request: LitestarRequest[Any, Any, Any]) -> Redirect:
        flash(request.session, "Saved", "success")
        return Redirect("/page", status_code=303)

    @get("/page")
    async def page(request: LitestarRequest[Any, Any, Any]) -> dict[str, list[Flash]]:
        return {"flashes": pop_flashes(request.session)}

    @get("/peek")
    async def peek(request: LitestarRequest[Any, Any, Any]) -> dict[str, list[Flash]]:
        return {"flashes": peek_flashes(request.session)}

    return Litestar(
        route_handlers=[save, page, peek],
        middleware=[DefineMiddleware(SessionMiddleware, secret_key=SECRET, **settings)],
    )


def bare_asgi_app(**settings: Any) -> SessionMiddleware:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        session = get_session(scope)
        if scope["path"] == "/save":
            flash(session, "Saved", "success")
            await Response(status_code=303, headers={"location": "/page"})(scope, receive, send)
        elif scope["path"] == "/peek":
            await JSONResponse({"flashes": peek_flashes(session)})(scope, receive, send)
        else:
            await JSONResponse({"flashes": pop_flashes(session)})(scope, receive, send)

    return SessionMiddleware(app, secret_key=SECRET, **settings)


FRAMEWORKS = [
    pytest.param(fastapi_app, id="fastapi"),
    pytest.param(litestar_app, id="litestar"),
    pytest.param(bare_asgi_app, id="bare asgi"),
]
"""The ASGI applications above, each made with a ``SessionMiddleware``'s settings."""


def framework_client(app: Any) -> httpx.Client | httpx2.Client:
    """A test client of ``app``: Litestar's for a Litestar application, else Starlette's."""
    return LitestarTestClient(app=app) if isinstance(app, Litestar) else TestClient(app)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make_app", FRAMEWORKS)
def test_a_flash_shows_once_after_a_redirect_in_every_asgi_framework(
    make_app: Callable[..., Any], mode: dict[str, Any]
) -> None:
    client = framework_client(make_app(**mode))

    shown = client.post("/save", follow_redirects=True)
    again = client.get("/page")

    assert shown.json() == {"flashes": [["success", "Saved"]]}
    assert again.json() == {"flashes": []}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make_app", FRAMEWORKS)
def test_a_peeked_flash_is_still_shown_by_the_next_request_in_every_asgi_framework(
    make_app: Callable[..., Any], mode: dict[str, Any]
) -> None:
    client = framework_client(make_app(**mode))
    client.post("/save", follow_redirects=False)

    peeked = client.get("/peek")
    shown = client.get("/page")

    assert peeked.json() == {"flashes": [["success", "Saved"]]}
    assert "set-cookie" not in peeked.headers
    assert shown.json() == {"flashes": [["success", "Saved"]]}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_flash_shows_once_after_a_redirect_in_quart(mode: dict[str, Any]) -> None:
    app = Quart(__name__)
    use_cookie_session(app, SessionConfig(secret_key=SECRET, **mode))

    @app.post("/save")
    async def save() -> Any:
        flash(quart_session, "Saved", "success")
        return quart_redirect("/page", 303)

    @app.get("/page")
    async def page() -> dict[str, list[Flash]]:
        return {"flashes": pop_flashes(quart_session)}

    client = app.test_client()
    shown = await client.post("/save", follow_redirects=True)
    again = await client.get("/page")

    assert await shown.get_json() == {"flashes": [["success", "Saved"]]}
    assert await again.get_json() == {"flashes": []}


# -- what a concurrent request can lose, with the session in the cookie -----------------------


class Gate:
    """Holds one request in its handler, its session already read, while others run."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def hold(self) -> None:
        self.entered.set()
        await self.release.wait()


def interleaving_app(gate: Gate, **settings: Any) -> SessionMiddleware:
    """``/slow?then=read|write|mark_modified|regenerate|clear|flash|pop`` waits at the gate,
    its session already read, then reads the session, writes another key, calls
    mark_modified(), regenerate() or clear(), flashes "Slow" or pops the flashes;
    ``/flash?message=M`` flashes and ``/flashes`` pops, at once; ``/cart`` writes a key;
    ``/session`` shows the session."""

    async def slow(request: Request) -> Response:
        session = get_session(request)
        await gate.hold()
        then = request.query_params["then"]
        if then == "read":
            return JSONResponse({"user": session.get("user")})
        if then == "write":
            session["cart"] = ["tea"]
            return JSONResponse({})
        if then == "mark_modified":
            session.mark_modified()
            return JSONResponse({})
        if then == "regenerate":
            session.regenerate()
            return JSONResponse({})
        if then == "clear":
            session.clear()
            return JSONResponse({})
        if then == "flash":
            flash(session, "Slow")
            return JSONResponse({})
        return JSONResponse({"flashes": pop_flashes(session)})

    async def record(request: Request) -> Response:
        flash(request.session, request.query_params["message"])
        return JSONResponse({})

    async def show(request: Request) -> Response:
        return JSONResponse(dict(request.session))

    routes = [
        Route("/login", log_in, methods=["POST"]),
        Route("/slow", slow),
        Route("/flash", record, methods=["POST"]),
        Route("/flashes", page),
        Route("/session", show),
        Route("/cart", add_to_cart, methods=["POST"]),
    ]
    return SessionMiddleware(Starlette(routes=routes), **{"secret_key": SECRET, **settings})


@dataclass
class Interleaved:
    slow: httpx2.Response
    """The response to ``/slow``, which read its session before the other request and
    finished after it."""
    meanwhile: httpx2.Response
    """The response to the request that ran whole while ``/slow`` waited."""
    session_after: dict[str, Any]
    """The session once both are done."""
    shown_after: list[list[str]]
    """What ``/flashes`` shows then."""


async def interleave(
    then: str,
    meanwhile: str,
    *,
    flashed_first: str | None = None,
    signed_in_by: str | None = None,
    anonymous: bool = False,
    after_login: Callable[[str], None] | None = None,
    carted: bool = False,
    **settings: Any,
) -> Interleaved:
    """One browser (one cookie jar), signed in: ``/slow?then=...`` reads its session, then a
    whole request runs (``meanwhile``: ``"flash"`` records "Saved", ``"pop"`` shows the
    flashes), then ``/slow`` ends; ``flashed_first`` is a message flashed before all that.
    ``signed_in_by``: a cookie carrying ``{"user": "ada"}`` put in the jar instead of
    ``/login``'s (one an earlier deployment sent); ``anonymous``: never signed in;
    ``after_login``: called with the session cookie once signed in; ``carted``: a cart is
    put in the session first. ``meanwhile`` may also be ``"login"``."""
    gate = Gate()
    transport = httpx2.ASGITransport(app=interleaving_app(gate, **settings))
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if anonymous:
            pass
        elif signed_in_by is None:
            await client.post("/login")
            if after_login is not None:
                after_login(client.cookies["session"])
        else:
            # where the application's own Set-Cookie goes: http.cookiejar files a host
            # without a dot under "<host>.local"
            client.cookies.set("session", signed_in_by, domain="testserver.local")
        if carted:
            await client.post("/cart")
        if flashed_first is not None:
            await client.post("/flash", params={"message": flashed_first})
        slow = asyncio.create_task(client.get("/slow", params={"then": then}))
        await gate.entered.wait()
        if meanwhile == "flash":
            during = await client.post("/flash", params={"message": "Saved"})
        elif meanwhile == "login":
            during = await client.post("/login")
        else:
            during = await client.get("/flashes")
        gate.release.set()
        slow_response = await slow
        session_after = (await client.get("/session")).json()
        shown_after = (await client.get("/flashes")).json()["flashes"]
    return Interleaved(slow_response, during, session_after, shown_after)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_concurrent_read_only_request_loses_no_flash(mode: dict[str, Any]) -> None:
    interleaved = await interleave("read", "flash", **mode)

    assert "set-cookie" not in interleaved.slow.headers
    assert interleaved.shown_after == [["message", "Saved"]]


@pytest.mark.anyio
async def test_a_concurrent_request_that_writes_resends_a_cookie_without_a_later_flash() -> None:
    # The loss docs/flash.md admits in cookie mode: the slow request's cookie predates the
    # flash, and its Set-Cookie, arriving last, replaces the one that carried it.
    interleaved = await interleave("write", "flash")

    assert "set-cookie" in interleaved.slow.headers
    assert interleaved.shown_after == []


@pytest.mark.anyio
async def test_a_concurrent_request_that_writes_resends_a_flash_popped_meanwhile() -> None:
    interleaved = await interleave("write", "pop", flashed_first="Saved")

    assert interleaved.meanwhile.json() == {"flashes": [["message", "Saved"]]}
    assert interleaved.shown_after == [["message", "Saved"]]  # shown a second time


def signed_in(seconds_ago: float = 0) -> str:
    """A cookie carrying ``{"user": "ada"}``, signed with ``SECRET`` ``seconds_ago``."""
    signed_at = time.time() - seconds_ago
    return SessionCodec([SECRET], max_age=None, clock=lambda: signed_at).encode({"user": "ada"})


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("settings", "signed_in_by", "then"),
    [
        pytest.param(
            {"max_age": 3600, "refresh_after": 10},
            lambda: signed_in(60),
            "read",
            id="older than refresh_after",
        ),
        pytest.param(
            {"secret_key": OTHER_SECRET, "secret_key_fallbacks": [SECRET]},
            signed_in,
            "read",
            id="signed with a fallback key",
        ),
        pytest.param({"encrypt": True}, signed_in, "read", id="in the other format"),
        pytest.param({}, None, "mark_modified", id="mark_modified()"),
        pytest.param({}, None, "regenerate", id="regenerate()"),
    ],
)
async def test_a_read_only_request_whose_cookie_is_resent_drops_a_flash_made_meanwhile(
    settings: dict[str, Any], signed_in_by: Callable[[], str] | None, then: str
) -> None:
    # As behind a write: the re-sent cookie, arriving last, carries the session its request
    # read, from before the flash.
    cookie = None if signed_in_by is None else signed_in_by()
    interleaved = await interleave(then, "flash", signed_in_by=cookie, **settings)

    assert "set-cookie" in interleaved.slow.headers
    assert interleaved.session_after == {"user": "ada"}
    assert interleaved.shown_after == []


# -- docs/flash.md ---------------------------------------------------------------------------


def page_blocks() -> list[str]:
    text = FLASH_PAGE.read_text(encoding="utf-8")
    return [
        "\n" * text.count("\n", 0, block.start(1)) + block[1]
        for block in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    ]


@pytest.fixture
def page_namespace() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_flash"}
    for source in page_blocks():
        # The docs are ours; running their examples is the point.
        exec(compile(source, str(FLASH_PAGE), "exec"), namespace)  # noqa: S102
    return namespace


def test_the_pages_starlette_example_shows_a_flash_once(page_namespace: dict[str, Any]) -> None:
    client = TestClient(page_namespace["app"])

    shown = client.post("/profile", json={"name": "Ada"})

    assert [r.status_code for r in shown.history] == [303]
    assert "Profile saved" in shown.text
    assert "Profile saved" not in client.get("/profile").text


@pytest.mark.anyio
async def test_the_pages_quart_example_shows_a_flash_once(page_namespace: dict[str, Any]) -> None:
    client = page_namespace["quart_app"].test_client()

    shown = await client.post("/profile", form={"name": "Ada"}, follow_redirects=True)
    again = await client.get("/profile")

    assert "Profile saved" in await shown.get_data(as_text=True)
    assert "Profile saved" not in await again.get_data(as_text=True)


def test_every_guarantee_of_the_page_cites_a_test_that_exists() -> None:
    text = FLASH_PAGE.read_text(encoding="utf-8")

    assert guarantee_tables(text) >= 1
    assert uncited_table_rows(text) == []
    assert missing_citations(text) == []


# -- docs/frameworks.md: the flash recipes -----------------------------------------------------


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("framework", ["Starlette", "FastAPI", "Litestar", "Bare ASGI"])
def test_the_framework_recipes_show_a_flash_once_after_a_redirect(
    framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", REFERENCE_SECRET)
    name = "frameworks_flash_" + framework.lower().replace(" ", "_")
    app = run_page(FRAMEWORKS_PAGE, [framework], monkeypatch, name)["app"]
    client: httpx.Client | httpx2.Client
    client = LitestarTestClient(app=app) if isinstance(app, Litestar) else TestClient(app)

    client.post("/login", json={"user": "ada"})
    client.post("/cart", json={"item": "tea"})
    shown = client.post("/checkout", follow_redirects=True)
    again = client.get("/orders")

    assert [r.status_code for r in shown.history] == [303]
    assert shown.json() == {"flashes": [["success", "Order placed"]]}
    assert again.json() == {"flashes": []}
