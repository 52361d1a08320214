"""Middleware behaviours that no test held until ``scripts/mutate`` changed them: Vary beside
the application's own, a session sent again on request, what a replacement in the scope becomes,
and ``SessionMiddleware.from_env`` passing every option on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pydantic
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionCodec, SessionMiddleware, get_session
from cookie_session.types import Message, Receive, Scope, Send

CODEC = SessionCodec([SECRET], max_age=None)


class Visit(pydantic.BaseModel):
    user: str
    at: datetime


def client_of(app: Starlette | SessionMiddleware) -> TestClient:
    """A client of ``app``, wrapped in a SessionMiddleware unless it is one."""
    if not isinstance(app, SessionMiddleware):
        app = SessionMiddleware(app, secret_key=SECRET)
    return TestClient(app)


def app_of(endpoint: Callable[[Request], Awaitable[Response]]) -> Starlette:
    return Starlette(routes=[Route("/", endpoint)])


def sent_session(response: httpx2.Response) -> object:
    (header,) = response.headers.get_list("set-cookie")
    return CODEC.verify(header.partition("=")[2].split(";")[0]).data


def test_vary_star_from_the_application_is_left_as_it_is() -> None:
    async def read(request: Request) -> Response:
        request.session.get("user")
        return Response(headers={"Vary": "*"})

    response = client_of(app_of(read)).get("/")

    assert response.headers.get_list("vary") == ["*"]


def test_vary_in_another_letter_case_is_extended_not_repeated() -> None:
    async def read(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"].get("user")
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"Vary", b"Origin")]}
        )
        await send({"type": "http.response.body", "body": b""})

    response = client_of(SessionMiddleware(read, secret_key=SECRET)).get("/")

    assert response.headers.get_list("vary") == ["Origin, Cookie"]


def test_headers_given_as_a_generator_are_all_kept_beside_vary() -> None:
    # ASGI allows any iterable of pairs; Vary must not consume it and drop the others.
    async def read(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"].get("user")
        headers = ((name, value) for name, value in [(b"x-one", b"1"), (b"x-two", b"2")])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    response = client_of(SessionMiddleware(read, secret_key=SECRET)).get("/")

    assert (response.headers["x-one"], response.headers["x-two"]) == ("1", "2")
    assert response.headers.get_list("vary") == ["Cookie"]


def test_a_response_s_headers_list_is_never_changed_in_place() -> None:
    # A Response object (and so its header list) may be sent more than once.
    shared = [(b"x-one", b"1")]

    async def read(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"].get("user")
        await send({"type": "http.response.start", "status": 200, "headers": shared})
        await send({"type": "http.response.body", "body": b""})

    client = client_of(SessionMiddleware(read, secret_key=SECRET))
    client.get("/")
    second = client.get("/")

    assert shared == [(b"x-one", b"1")]
    assert second.headers.get_list("vary") == ["Cookie"]


def test_websocket_accept_carries_no_vary() -> None:
    async def write(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"]["user"] = "alice"
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})

    middleware = SessionMiddleware(write, secret_key=SECRET)
    accepts: list[Message] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            if message["type"] == "websocket.accept":
                accepts.append(message)
            await send(message)

        await middleware(scope, receive, record)

    with TestClient(recording).websocket_connect("/"):
        pass

    (accept,) = accepts
    assert [name for name, _ in accept["headers"]] == [b"set-cookie"]


def test_mark_modified_sends_an_unchanged_session_again() -> None:
    async def keep_alive(request: Request) -> Response:
        get_session(request).mark_modified()
        return JSONResponse({})

    client = client_of(app_of(keep_alive))
    client.cookies.set("session", CODEC.encode({"user": "alice"}))

    assert sent_session(client.get("/")) == {"user": "alice"}


def test_model_left_in_the_scope_is_stored_in_its_json_form() -> None:
    async def replace(request: Request) -> Response:
        request.scope["session"] = Visit(user="alice", at=datetime(2026, 1, 1, tzinfo=UTC))
        return JSONResponse({})

    response = client_of(app_of(replace)).get("/")

    assert sent_session(response) == {"user": "alice", "at": "2026-01-01T00:00:00Z"}


def test_litestar_empty_left_in_the_scope_deletes_the_cookie() -> None:
    empty = pytest.importorskip("litestar.types.empty").Empty

    async def clear(request: Request) -> Response:
        request.scope["session"] = empty
        return JSONResponse({})

    client = client_of(app_of(clear))
    client.cookies.set("session", CODEC.encode({"user": "alice"}))

    (deletion,) = client.get("/").headers.get_list("set-cookie")
    assert deletion.startswith("session=; Max-Age=0;")


@pytest.mark.usefixtures("clean_env")
def test_from_env_reads_the_secrets_dir(tmp_path: Path) -> None:
    (tmp_path / "SESSION_SECRET_KEY").write_text(SECRET + "\n", encoding="utf-8")

    middleware = SessionMiddleware.from_env(Starlette(), env_file=None, secrets_dir=tmp_path)

    assert middleware.config.secret_key.get_secret_value() == SECRET


@pytest.mark.usefixtures("clean_env")
def test_from_env_reads_the_variables_of_a_custom_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYAPP_SECRET_KEY", SECRET)

    middleware = SessionMiddleware.from_env(Starlette(), env_file=None, env_prefix="MYAPP_")

    assert middleware.config.secret_key.get_secret_value() == SECRET
