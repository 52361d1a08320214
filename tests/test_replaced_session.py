"""Whatever the application leaves in ``scope["session"]`` when the response starts is what the
browser gets: a replacement is never dropped in silence."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest
from litestar.types.empty import Empty
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import Session, SessionCodec, SessionMiddleware
from cookie_session.types import Receive, Scope, Send

CODEC = SessionCodec([SECRET], max_age=None)
LOGGED_IN = {"user": "alice", "cart": [1, 2]}


class Profile(pydantic.BaseModel):
    user: str
    roles: list[str]
    theme: str = pydantic.Field(default="dark", alias="colourScheme")
    since: datetime  # not JSON as it is: the model's JSON form has it as text


@dataclasses.dataclass
class Visit:
    user: str
    pages: tuple[str, ...]


def replacing_with(make: Callable[[], object]) -> TestClient:
    """A client of an app whose handler puts ``make()`` in place of the session."""

    async def replace(request: Request) -> Response:
        request.scope["session"] = make()
        return JSONResponse({})

    app = Starlette(routes=[Route("/", replace)])
    return TestClient(SessionMiddleware(app, secret_key=SECRET))


def logged_in(client: TestClient) -> TestClient:
    client.cookies.set("session", CODEC.encode(LOGGED_IN))
    return client


def set_cookies(response: Any) -> list[str]:
    headers: list[str] = response.headers.get_list("set-cookie")
    return headers


def sent_session(response: Any) -> dict[str, Any]:
    (header,) = set_cookies(response)
    name, _, rest = header.partition("=")
    assert name == "session"
    return CODEC.verify(rest.split(";")[0]).data


@pytest.mark.parametrize(
    "empty",
    [
        pytest.param(Session, id="a new Session()"),
        pytest.param(dict, id="a new dict"),
        pytest.param(lambda: None, id="None"),
        pytest.param(lambda: Empty, id="Litestar's Empty (request.clear_session())"),
    ],
)
def test_an_empty_replacement_deletes_the_cookie(empty: Callable[[], object]) -> None:
    response = logged_in(replacing_with(empty)).get("/")

    (deletion,) = set_cookies(response)
    assert deletion.startswith("session=; Max-Age=0;")


@pytest.mark.parametrize(
    "empty",
    [pytest.param(Session, id="a new Session()"), pytest.param(lambda: None, id="None")],
)
def test_an_empty_replacement_without_a_cookie_sends_nothing(empty: Callable[[], object]) -> None:
    assert set_cookies(replacing_with(empty).get("/")) == []


@pytest.mark.parametrize(
    "session",
    [
        pytest.param(lambda: Session({"user": "bob"}), id="Session({...})"),
        pytest.param(lambda: {"user": "bob"}, id="a dict"),
    ],
)
def test_a_replacement_with_data_is_sent(session: Callable[[], object]) -> None:
    response = logged_in(replacing_with(session)).get("/")

    assert sent_session(response) == {"user": "bob"}


def test_a_replacement_equal_to_the_cookie_sends_nothing() -> None:
    response = logged_in(replacing_with(lambda: Session(LOGGED_IN))).get("/")

    assert set_cookies(response) == []
    assert response.headers["vary"] == "Cookie"


def test_a_pydantic_model_is_stored_as_its_json_form() -> None:
    profile = Profile(
        user="bob", roles=["admin"], colourScheme="light", since=datetime(2026, 1, 1, tzinfo=UTC)
    )

    response = replacing_with(lambda: profile).get("/")

    assert sent_session(response) == {
        "user": "bob",
        "roles": ["admin"],
        "theme": "light",
        "since": "2026-01-01T00:00:00Z",
    }


def test_a_dataclass_is_stored_as_its_json_form() -> None:
    response = replacing_with(lambda: Visit("bob", ("/", "/cart"))).get("/")

    assert sent_session(response) == {"user": "bob", "pages": ["/", "/cart"]}


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(object(), id="an object"),
        pytest.param(["user", "bob"], id="a list"),
        pytest.param("user=bob", id="a string"),
        pytest.param(Visit, id="a dataclass type"),
    ],
)
def test_a_replacement_that_cannot_be_stored_is_a_type_error(value: object) -> None:
    client = logged_in(replacing_with(lambda: value))

    with pytest.raises(TypeError, match=r"scope\['session'\] holds a"):
        client.get("/")


def test_a_bare_asgi_logout_deletes_the_cookie() -> None:
    async def logout(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"] = {}
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = logged_in(TestClient(SessionMiddleware(logout, secret_key=SECRET)))

    (deletion,) = set_cookies(client.get("/"))
    assert deletion.startswith("session=;")


def test_a_login_replacement_then_a_read_round_trips() -> None:
    async def endpoint(request: Request) -> Response:
        if request.url.path == "/login":
            request.scope["session"] = Session(user="bob")
        return JSONResponse(dict(request.session))

    app = Starlette(routes=[Route("/login", endpoint), Route("/me", endpoint)])
    client = TestClient(SessionMiddleware(app, secret_key=SECRET))
    client.get("/login")

    assert client.get("/me").json() == {"user": "bob"}
