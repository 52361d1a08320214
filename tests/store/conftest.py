"""The application the store tests drive, its clients, and what they need to look inside Redis.

Every test gets the shared private redis-server (``store_url``, from tests/conftest.py) emptied,
with its command counters reset. The application keeps the signed-in user under ``"user"``.

Routes:

- ``/show``: the session and its ``session_id``; ``/noop``: never touches the session;
- ``/peek?key=K``: reads one value; ``/same?key=K``: writes a value back unchanged;
- ``/set`` (POST, a JSON object): adds its keys; ``/remove`` (POST, a JSON list): removes keys;
- ``/append?item=X``: appends to the list under ``"cart"``, in place;
- ``/login?user=U[&as_int=1]``, ``/logout``: sets or removes ``"user"``;
- ``/clear``: empties the session; ``/replace-empty``: puts a new empty dict in its place;
- ``/regenerate[?user=U]``: calls ``session.regenerate()`` (after signing ``U`` in, if given);
- ``/ws``: a websocket that sends the session.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, Unpack

import httpx2
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from conftest import SECRET
from cookie_session import SessionCodec, SessionFields, SessionMiddleware
from cookie_session import get_session as session_of
from cookie_session.store import INDEXED_FIELD
from redis_server import RedisServer

USER_KEY = "user"


async def show(request: Request) -> JSONResponse:
    session = session_of(request)
    return JSONResponse({"data": dict(session), "session_id": session.session_id})


async def noop(request: Request) -> PlainTextResponse:
    return PlainTextResponse("untouched")


async def peek(request: Request) -> JSONResponse:
    return JSONResponse({"value": session_of(request).get(request.query_params["key"])})


async def same(request: Request) -> JSONResponse:
    session = session_of(request)
    key = request.query_params["key"]
    session[key] = session[key]
    return JSONResponse({"value": session[key]})


async def set_keys(request: Request) -> JSONResponse:
    session = session_of(request)
    session.update(await request.json())
    return JSONResponse({"session_id": session.session_id})


async def remove_keys(request: Request) -> JSONResponse:
    session = session_of(request)
    for key in await request.json():
        session.pop(key, None)
    return JSONResponse({"keys": sorted(session)})


async def append(request: Request) -> JSONResponse:
    cart = session_of(request).setdefault("cart", [])
    cart.append(request.query_params["item"])
    return JSONResponse({"cart": cart})


async def login(request: Request) -> JSONResponse:
    session = session_of(request)
    user = request.query_params["user"]
    session[USER_KEY] = int(user) if request.query_params.get("as_int") else user
    return JSONResponse({"session_id_during_login": session.session_id})


async def logout(request: Request) -> JSONResponse:
    session_of(request).pop(USER_KEY, None)
    return JSONResponse({"logged_out": True})


async def clear(request: Request) -> JSONResponse:
    session_of(request).clear()
    return JSONResponse({"cleared": True})


async def replace_empty(request: Request) -> Response:
    request.scope["session"] = {}
    return PlainTextResponse("replaced")


async def regenerate(request: Request) -> JSONResponse:
    session = session_of(request)
    if "user" in request.query_params:
        session[USER_KEY] = request.query_params["user"]
    session.regenerate()
    return JSONResponse({"session_id_before": session.session_id})


async def websocket_show(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(dict(session_of(websocket)))
    await websocket.close()


ROUTES = [
    Route("/show", show),
    Route("/noop", noop),
    Route("/peek", peek),
    Route("/same", same),
    Route("/set", set_keys, methods=["POST"]),
    Route("/remove", remove_keys, methods=["POST"]),
    Route("/append", append),
    Route("/login", login),
    Route("/logout", logout),
    Route("/clear", clear),
    Route("/replace-empty", replace_empty),
    Route("/regenerate", regenerate),
    WebSocketRoute("/ws", websocket_show),
]


def store_app(url: str, /, **settings: Unpack[SessionFields]) -> SessionMiddleware:
    """The routes above behind a SessionMiddleware storing sessions at ``url`` (the signed-in
    user under ``"user"``)."""
    settings.setdefault("secret_key", SECRET)
    settings.setdefault("user_key", USER_KEY)
    settings["store_url"] = url
    return SessionMiddleware(Starlette(routes=ROUTES), **settings)


class MakeClient(Protocol):
    """The ``make_client`` fixture: a TestClient (one event loop for its whole life) of the
    store app, made with these settings, or of ``app`` when given."""

    def __call__(
        self, app: SessionMiddleware | None = None, **settings: Unpack[SessionFields]
    ) -> TestClient: ...


@pytest.fixture
def make_client(store_url: str) -> Iterator[MakeClient]:
    with contextlib.ExitStack() as clients:

        def make(
            app: SessionMiddleware | None = None, **settings: Unpack[SessionFields]
        ) -> TestClient:
            if app is None:
                app = store_app(store_url, **settings)
            return clients.enter_context(TestClient(app))

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    """A client of the store app with the default settings."""
    return make_client()


@pytest.fixture
def redis_client(redis_server: RedisServer, store_url: str) -> Iterator[redis.Redis]:
    """A synchronous client of the (emptied) shared server, to look at what the store wrote."""
    client = redis_server.client()
    client.ping()  # connected now, so that its handshake is not counted as the store's
    client.config_resetstat()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- cookies ---------------------------------------------------------------------------------


def session_cookie(response: httpx2.Response) -> str | None:
    """The value of the response's session Set-Cookie ("" for a deletion), or None if none."""
    values = [
        header.split(";", 1)[0].partition("=")[2]
        for header in response.headers.get_list("set-cookie")
        if header.startswith("session=")
    ]
    assert len(values) <= 1
    return values[0] if values else None


def cookie_data(cookie: str, secret: str = SECRET) -> dict[str, Any]:
    """What a cookie value carries, verified with ``secret`` (whatever its age)."""
    return SessionCodec([secret], max_age=None).verify(cookie).data


def id_in(cookie: str) -> str:
    """The session ID a store cookie carries."""
    data = cookie_data(cookie)
    assert list(data) == ["sid"]
    session_id: str = data["sid"]
    return session_id


def signed_cookie(data: Mapping[str, Any], *, secret: str = SECRET, seconds_ago: float = 0) -> str:
    """A cookie value carrying ``data``, signed with ``secret`` ``seconds_ago`` seconds ago."""
    signed_at = time.time() - seconds_ago
    return SessionCodec([secret], max_age=None, clock=lambda: signed_at).encode(data)


def id_cookie(session_id: str, *, secret: str = SECRET, seconds_ago: float = 0) -> str:
    """A store cookie for ``session_id``, as the middleware signs them."""
    return signed_cookie({"sid": session_id}, secret=secret, seconds_ago=seconds_ago)


def with_cookie(value: str) -> dict[str, str]:
    return {"cookie": f"session={value}"}


def session_key(session_id: str, prefix: str = "cookie-session:") -> str:
    return f"{prefix}session:{session_id}"


def stored(client: redis.Redis, session_id: str) -> dict[str, Any]:
    """A session as Redis holds it, decoded; without the store's own ``_cs.indexed`` (until
    when a signed-in session's index entry lasts), which tests of the index look at."""
    fields: dict[bytes, bytes] = client.hgetall(session_key(session_id))  # type: ignore[assignment]  # the sync client's reply
    return {
        name.decode(): json.loads(value)
        for name, value in fields.items()
        if name.decode() != INDEXED_FIELD
    }


def sign_in(client: TestClient, user: str) -> str:
    """Log ``client`` in as ``user``; return its new session ID."""
    response = client.get("/login", params={"user": user})
    assert response.status_code == 200
    cookie = session_cookie(response)
    assert cookie
    return id_in(cookie)
