"""SessionMiddleware in a real Litestar app, driven by Litestar's test client.

Litestar's ``request.session`` is ``scope["session"]``; ``request.clear_session()`` leaves its
``Empty`` sentinel there and ``request.set_session(value)`` a mapping, a pydantic model or a
dataclass. Whatever is left there is what the browser gets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from litestar import Litestar, Request, WebSocket, get, post, websocket
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient
from pydantic import BaseModel

from conftest import SECRET
from cookie_session import SessionCodec, SessionConfig, SessionMiddleware, SharedSessions

JOINED = date(2024, 5, 17)
STORED_PROFILE = {"name": "ada", "joined": "2024-05-17"}
"""A profile's JSON form: the date as ISO text, as the next request reads it back."""


class PydanticProfile(BaseModel):
    name: str
    joined: date


@dataclass
class DataclassProfile:
    name: str
    joined: date


@post("/login")
async def login(request: Request[Any, Any, Any]) -> dict[str, str]:
    user = request.query_params["user"]
    request.session["user"] = user
    request.session["cart"] = []
    return {"user": user}


@post("/cart")
async def add_to_cart(request: Request[Any, Any, Any]) -> list[str]:
    cart: list[str] = request.session["cart"]
    cart.append(request.query_params["item"])  # an in-place change of a nested value
    return cart


@get("/session")
async def read_session(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict(request.session)


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> None:
    request.clear_session()


@post("/profile/pydantic")
async def set_pydantic_profile(request: Request[Any, Any, Any]) -> None:
    request.set_session(PydanticProfile(name="ada", joined=JOINED))


@post("/profile/dataclass")
async def set_dataclass_profile(request: Request[Any, Any, Any]) -> None:
    request.set_session(DataclassProfile(name="ada", joined=JOINED))


@websocket("/ws")
async def session_over_websocket(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_json(dict(socket.session))
    await socket.close()


def litestar_app() -> Litestar:
    return Litestar(
        route_handlers=[
            login,
            add_to_cart,
            read_session,
            logout,
            set_pydantic_profile,
            set_dataclass_profile,
            session_over_websocket,
        ],
        middleware=[DefineMiddleware(SessionMiddleware, secret_key=SECRET)],
    )


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(app=litestar_app()) as test_client:
        yield test_client


def stored(client: TestClient[Litestar]) -> object:
    """What the session cookie in the client's jar carries, verified with the secret."""
    return SessionCodec([SECRET], max_age=None).verify(client.cookies["session"]).data


def log_in(client: TestClient[Litestar]) -> None:
    response = client.post("/login", params={"user": "ada"})
    assert response.status_code == 201
    assert "set-cookie" in response.headers


def test_login_writes_the_session(client: TestClient[Litestar]) -> None:
    log_in(client)
    assert stored(client) == {"user": "ada", "cart": []}
    assert client.get("/session").json() == {"user": "ada", "cart": []}


def test_nested_cart_edits_are_saved(client: TestClient[Litestar]) -> None:
    log_in(client)
    client.post("/cart", params={"item": "tea"})
    assert client.post("/cart", params={"item": "milk"}).json() == ["tea", "milk"]
    assert client.get("/session").json() == {"user": "ada", "cart": ["tea", "milk"]}


def test_reading_the_session_sends_no_cookie(client: TestClient[Litestar]) -> None:
    log_in(client)
    response = client.get("/session")
    assert "set-cookie" not in response.headers
    assert response.headers["vary"] == "Cookie"


def test_clear_session_deletes_the_cookie(client: TestClient[Litestar]) -> None:
    log_in(client)
    response = client.post("/logout")
    assert response.headers.get_list("set-cookie") == [
        "session=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax"
    ]
    assert "session" not in client.cookies
    assert client.get("/session").json() == {}


def test_clear_session_without_a_cookie_sends_nothing(client: TestClient[Litestar]) -> None:
    assert "set-cookie" not in client.post("/logout").headers


@pytest.mark.parametrize("kind", ["pydantic", "dataclass"])
def test_set_session_stores_the_json_form_of_a_model(
    client: TestClient[Litestar], kind: str
) -> None:
    log_in(client)
    assert client.post(f"/profile/{kind}").status_code == 201
    assert stored(client) == STORED_PROFILE
    assert client.get("/session").json() == STORED_PROFILE


def test_websocket_reads_the_session(client: TestClient[Litestar]) -> None:
    log_in(client)
    client.post("/cart", params={"item": "tea"})
    with client.websocket_connect("/ws") as socket:
        assert socket.receive_json() == {"user": "ada", "cart": ["tea"]}


# -- one SharedSessions for every route's middleware ------------------------------------------


@get("/a")
async def route_a(request: Request[Any, Any, Any]) -> dict[str, int]:
    request.session["a"] = request.session.get("a", 0) + 1
    return {"a": request.session["a"]}


@get("/b")
async def route_b(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return dict(request.session)


@get("/c")
async def route_c(request: Request[Any, Any, Any]) -> dict[str, int]:
    return {"keys": len(request.session)}


def test_shared_sessions_count_every_route_of_a_multi_route_app() -> None:
    built: list[SessionMiddleware] = []
    sessions = SharedSessions(SessionConfig(secret_key=SECRET))

    def counting(app: Any) -> SessionMiddleware:
        middleware = sessions(app)
        built.append(middleware)
        return middleware

    app = Litestar(route_handlers=[route_a, route_b, route_c], middleware=[counting])
    with TestClient(app) as client:
        client.get("/a")
        assert client.get("/b").json() == {"a": 1}
        client.get("/c")

    assert len(built) >= 3  # Litestar builds one middleware per route handler
    assert {id(middleware.cookie) for middleware in built} == {id(sessions.cookie)}
    stats = sessions.stats()
    assert (stats.cookies_set, stats.cookies_accepted) == (1, 2)  # the three routes together


def test_shared_sessions_give_every_route_one_store() -> None:
    sessions = SharedSessions(SessionConfig(secret_key=SECRET, store_url="redis://localhost/0"))
    built: list[SessionMiddleware] = []

    def keeping(app: Any) -> SessionMiddleware:
        built.append(sessions(app))
        return built[-1]

    Litestar(route_handlers=[route_a, route_b, route_c], middleware=[keeping])

    assert len(built) >= 3
    assert sessions.store is not None
    assert all(middleware.store is sessions.store for middleware in built)
