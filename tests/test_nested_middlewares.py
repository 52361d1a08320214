"""Two SessionMiddlewares on one request (a mounted admin app with its own cookie and key) never
see each other's session: not before the response starts, not after it (a websocket after
``accept()``, a streaming body, a background task)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from conftest import OTHER_SECRET, SECRET
from cookie_session import SessionCodec, SessionMiddleware
from cookie_session.types import Receive, Scope, Send

PUBLIC = SessionCodec([SECRET], max_age=None)
ADMIN = SessionCodec([OTHER_SECRET], max_age=None)


class Site:
    """A public app that stores a visitor's preferences, with an admin app mounted under
    ``/admin`` that has its own SessionMiddleware, cookie name and key. Whatever the admin
    code saw of its session after the response started is kept in ``seen``."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}
        admin = Starlette(
            routes=[
                Route("/login", self.admin_login),
                Route("/stream", self.admin_stream),
                Route("/later", self.admin_background),
                WebSocketRoute("/ws", self.admin_websocket),
            ],
            middleware=[
                Middleware(SessionMiddleware, secret_key=OTHER_SECRET, session_cookie="admin")
            ],
        )
        self.app = Starlette(
            routes=[Route("/prefs", self.set_preference), Mount("/admin", admin)],
            middleware=[Middleware(SessionMiddleware, secret_key=SECRET, session_cookie="public")],
        )

    async def set_preference(self, request: Request) -> Response:
        request.session.update(request.query_params)
        return JSONResponse(dict(request.session))

    async def admin_login(self, request: Request) -> Response:
        request.session["user"] = "root"
        return JSONResponse(dict(request.session))

    async def admin_stream(self, request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"["  # the response has started once the first chunk is out
            self.seen["stream"] = dict(request.session)
            yield json.dumps(self.seen["stream"]).encode() + b"]"

        return StreamingResponse(body())

    async def admin_background(self, request: Request) -> Response:
        def remember() -> None:
            self.seen["background"] = dict(request.session)

        return JSONResponse({}, background=BackgroundTask(remember))

    async def admin_websocket(self, websocket: WebSocket) -> None:
        self.seen["before accept"] = dict(websocket.session)
        await websocket.accept()
        self.seen["after accept"] = dict(websocket.session)
        await websocket.send_json(self.seen["after accept"])
        await websocket.close()


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
def visitor(site: Site) -> TestClient:
    """A visitor who set the public preference ``role=admin`` and signed in to the admin app."""
    client = TestClient(site.app)
    client.get("/prefs", params={"role": "admin"})
    client.get("/admin/login")
    return client


def test_admin_websocket_never_sees_the_public_session(site: Site, visitor: TestClient) -> None:
    with visitor.websocket_connect("/admin/ws") as websocket:
        sent = websocket.receive_json()

    assert sent == {"user": "root"}
    assert site.seen == {"before accept": {"user": "root"}, "after accept": {"user": "root"}}


def test_admin_streaming_body_never_sees_the_public_session(
    site: Site, visitor: TestClient
) -> None:
    response = visitor.get("/admin/stream")

    assert response.json() == [{"user": "root"}]
    assert site.seen["stream"] == {"user": "root"}


def test_admin_background_task_never_sees_the_public_session(
    site: Site, visitor: TestClient
) -> None:
    visitor.get("/admin/later")

    assert site.seen["background"] == {"user": "root"}


def test_a_websocket_without_an_admin_session_sees_an_empty_one(site: Site) -> None:
    client = TestClient(site.app)
    client.get("/prefs", params={"role": "admin"})

    with client.websocket_connect("/admin/ws") as websocket:
        assert websocket.receive_json() == {}


def test_each_cookie_carries_its_own_session(visitor: TestClient) -> None:
    assert PUBLIC.verify(visitor.cookies["public"]).data == {"role": "admin"}
    assert ADMIN.verify(visitor.cookies["admin"]).data == {"user": "root"}


def test_admin_write_sends_only_the_admin_cookie(site: Site) -> None:
    client = TestClient(site.app)
    client.get("/prefs", params={"role": "admin"})

    response = client.get("/admin/login")

    assert [header.split("=")[0] for header in response.headers.get_list("set-cookie")] == ["admin"]


def test_outer_session_is_still_its_own_after_the_inner_app_raises() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"]["inner"] = True
        raise RuntimeError("the inner application failed")

    inner = SessionMiddleware(failing, secret_key=OTHER_SECRET, session_cookie="inner")
    seen: list[object] = []

    async def outer_app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"]["outer"] = True
        try:
            await inner(scope, receive, send)
        except RuntimeError:
            seen.append(dict(scope["session"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    response = TestClient(SessionMiddleware(outer_app, secret_key=SECRET)).get("/")

    assert seen == [{"outer": True}]
    assert PUBLIC.verify(response.cookies["session"]).data == {"outer": True}


def test_inner_middleware_passes_the_outer_scope_on_as_a_copy() -> None:
    scopes: list[Scope] = []

    async def innermost(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    inner = SessionMiddleware(innermost, secret_key=OTHER_SECRET, session_cookie="inner")

    async def outer_app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await inner(scope, receive, send)

    TestClient(SessionMiddleware(outer_app, secret_key=SECRET)).get("/")

    outer_scope, inner_scope = scopes
    assert inner_scope is not outer_scope
    assert inner_scope["session"] is not outer_scope["session"]


def test_a_single_middleware_passes_the_scope_itself_on() -> None:
    # Middleware further out (metrics, tracing) reads what routing wrote into the scope.
    app = Starlette(routes=[Route("/", lambda request: JSONResponse({}))])
    app.add_middleware(SessionMiddleware, secret_key=SECRET)
    endpoints: list[object] = []

    async def metrics(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        endpoints.append(scope.get("endpoint"))

    TestClient(metrics).get("/")

    assert endpoints != [None]
    assert len(endpoints) == 1
