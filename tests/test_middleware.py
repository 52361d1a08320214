"""SessionMiddleware through real ASGI apps: Starlette, FastAPI and bare ASGI callables."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Unpack

import httpx2
import itsdangerous
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from conftest import OTHER_SECRET, REFERENCE_SECRET, SECRET, deepest_session_json
from cookie_session import (
    Session,
    SessionCodec,
    SessionConfig,
    SessionFields,
    SessionMiddleware,
    SessionTooLarge,
    SharedSessions,
    get_session,
)
from cookie_session.codec import CLOCK_SKEW_SECONDS, MAX_COOKIE_BYTES
from cookie_session.types import ASGIApp, Message, Receive, Scope, Send

Handler = Callable[[Session], object]

DEFAULT_MAX_AGE = 14 * 24 * 60 * 60
DEFAULT_ATTRIBUTES = {f"Max-Age={DEFAULT_MAX_AGE}", "Path=/", "HttpOnly", "SameSite=Lax"}
DATA = {"user": "alice", "n": 1, "cart": [1], "profile": {"theme": "dark"}}


# -- the apps and how to talk to them --------------------------------------------------------


def handler_app(handler: Handler | None) -> Starlette:
    """A Starlette app whose one route lets ``handler`` use the session.

    The handler's result is the response (as JSON unless it is a Response); with no handler the
    route never touches the session.
    """

    async def endpoint(request: Request) -> Response:
        if handler is None:
            return PlainTextResponse("session untouched")
        result = handler(get_session(request))
        return result if isinstance(result, Response) else JSONResponse(result)

    return Starlette(routes=[Route("/", endpoint)])


def middleware_for(handler: Handler | None, **fields: Unpack[SessionFields]) -> SessionMiddleware:
    fields.setdefault("secret_key", SECRET)
    return SessionMiddleware(handler_app(handler), **fields)


def client_for(handler: Handler | None, **fields: Unpack[SessionFields]) -> TestClient:
    return TestClient(middleware_for(handler, **fields))


def show(session: Session) -> dict[str, Any]:
    return dict(session)


def signed(data: Mapping[str, Any], *, secret: str = SECRET, signed_at: float | None = None) -> str:
    """A session cookie value for ``data``, as the middleware would make it."""
    clock = time.time if signed_at is None else lambda: signed_at
    return SessionCodec([secret], max_age=None, clock=clock).encode(data)


def with_cookie(value: str) -> dict[str, str]:
    return {"cookie": f"session={value}"}


def verified_data(value: str, *, secret: str = SECRET) -> dict[str, Any]:
    return SessionCodec([secret], max_age=None).verify(value).data


@dataclass(frozen=True)
class SetCookie:
    name: str
    value: str
    attributes: set[str]


def parse_set_cookie(header: str) -> SetCookie:
    pair, *attributes = header.split("; ")
    name, _, value = pair.partition("=")
    return SetCookie(name, value, set(attributes))


def only_set_cookie(response: httpx2.Response) -> SetCookie:
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    return parse_set_cookie(headers[0])


def attributes_with(**fields: Unpack[SessionFields]) -> set[str]:
    """The attributes of the cookie the middleware sends for a new session."""
    client = client_for(lambda session: session.update(user="alice"), **fields)
    return only_set_cookie(client.get("/")).attributes


def run_asgi(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """One ASGI call, run to completion without any server or test client."""

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def get_by_hand(app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> RawResponse:
    """One GET request driven through ``app`` with exactly these header bytes."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    run_asgi(app, scope, receive, send)
    start, *bodies = sent
    return RawResponse(start["status"], list(start["headers"]), b"".join(b["body"] for b in bodies))


# -- construction -----------------------------------------------------------------------------


def test_config_is_exposed(config: SessionConfig) -> None:
    assert SessionMiddleware(handler_app(None), config=config).config is config


def test_fields_are_validated_into_a_config() -> None:
    middleware = SessionMiddleware(handler_app(None), secret_key=SECRET, max_age=60)

    assert middleware.config == SessionConfig(secret_key=SECRET, max_age=60)


def test_config_and_fields_together_are_a_type_error(config: SessionConfig) -> None:
    with pytest.raises(TypeError, match=r"pass one of .* \(got config, max_age\)"):
        SessionMiddleware(handler_app(None), config=config, max_age=60)


def test_shared_and_config_together_are_a_type_error(config: SessionConfig) -> None:
    with pytest.raises(TypeError, match=r"\(got config, shared\)"):
        SessionMiddleware(handler_app(None), config=config, shared=SharedSessions(config))


def test_misspelt_samesite_is_rejected() -> None:
    with pytest.raises(ValidationError) as raised:
        SessionMiddleware(handler_app(None), secret_key=SECRET, samesite="strict")  # type: ignore[call-arg]  # the misspelling under test

    assert raised.value.errors()[0]["loc"] == ("samesite",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"secret_key": "too-short"}, "secret_key", id="short secret"),
        pytest.param({"secret_key": SECRET, "same_site": "bogus"}, "same_site", id="same_site"),
        pytest.param({"secret_key": SECRET, "max_age": -5}, "max_age", id="negative max_age"),
        pytest.param(
            {"secret_key": SECRET, "path": "/; Domain=evil.com"}, "path", id="path injection"
        ),
        pytest.param(
            {"secret_key": SECRET, "session_cookie": "a b;c"}, "session_cookie", id="cookie name"
        ),
        pytest.param({}, "secret_key", id="no secret"),
    ],
)
def test_invalid_field_is_a_validation_error_naming_it(fields: Any, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SessionMiddleware(handler_app(None), **fields)

    assert [error["loc"] for error in raised.value.errors()] == [(field,)]


def counter(request: Request) -> JSONResponse:
    """The reference documentation's session counter."""
    count = request.session.get("count", 0) + 1
    request.session["count"] = count
    return JSONResponse({"count": count})


def counts_over_three_requests(app: ASGIApp) -> list[int]:
    client = TestClient(app)
    return [client.get("/counter").json()["count"] for _ in range(3)]


def starlette_counter() -> Starlette:
    return Starlette(routes=[Route("/counter", counter)])


def fastapi_counter() -> FastAPI:
    app = FastAPI()
    app.get("/counter")(counter)
    return app


@pytest.mark.parametrize(
    "make_app", [starlette_counter, fastapi_counter], ids=["Starlette", "FastAPI"]
)
def test_reference_call_counts_across_requests(make_app: Callable[[], Starlette]) -> None:
    app = make_app()
    app.add_middleware(
        SessionMiddleware,
        secret_key=REFERENCE_SECRET,
        session_cookie="fastrapi_session",
        max_age=3600,
        https_only=False,
    )

    assert counts_over_three_requests(app) == [1, 2, 3]


async def bare_counter(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI callable, no framework at all."""
    session = get_session(scope)
    session["count"] = session.get("count", 0) + 1
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"%d" % session["count"]})


def test_bare_asgi_app_counts_across_requests() -> None:
    client = TestClient(SessionMiddleware(bare_counter, secret_key=SECRET))

    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]


# -- from the environment ---------------------------------------------------------------------


@pytest.fixture
def session_env(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_COOKIE", "env_session")
    monkeypatch.setenv("SESSION_MAX_AGE", "60")
    monkeypatch.setenv("SESSION_SAME_SITE", "Strict")


@pytest.mark.usefixtures("session_env")
def test_from_env_reads_the_session_variables() -> None:
    config = SessionMiddleware.from_env(handler_app(None)).config

    assert (config.session_cookie, config.max_age, config.same_site) == (
        "env_session",
        60,
        "strict",
    )


@pytest.mark.usefixtures("session_env")
def test_from_env_middleware_sends_the_configured_cookie() -> None:
    app = handler_app(lambda session: session.update(user="alice"))
    cookie = only_set_cookie(TestClient(SessionMiddleware.from_env(app)).get("/"))

    assert cookie.name == "env_session"
    assert cookie.attributes == {"Max-Age=60", "Path=/", "HttpOnly", "SameSite=Strict"}


@pytest.mark.usefixtures("session_env")
def test_from_env_overrides_win_over_the_environment() -> None:
    config = SessionMiddleware.from_env(handler_app(None), max_age=120).config

    assert config.max_age == 120


@pytest.mark.usefixtures("clean_env")
def test_from_env_reads_an_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "settings.env"
    env_file.write_text(f"SESSION_SECRET_KEY={SECRET}\nSESSION_COOKIE=from_file\n")

    config = SessionMiddleware.from_env(handler_app(None), env_file=env_file).config

    assert config.session_cookie == "from_file"


@pytest.mark.usefixtures("clean_env")
def test_from_env_reads_the_secrets_dir(tmp_path: Path) -> None:
    (tmp_path / "SESSION_SECRET_KEY").write_text(SECRET + "\n", encoding="utf-8")

    config = SessionMiddleware.from_env(
        handler_app(None), env_file=None, secrets_dir=tmp_path
    ).config

    assert config.secret_key.get_secret_value() == SECRET


@pytest.mark.usefixtures("clean_env")
def test_from_env_reads_the_variables_of_a_custom_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYAPP_SECRET_KEY", SECRET)

    config = SessionMiddleware.from_env(
        handler_app(None), env_file=None, env_prefix="MYAPP_"
    ).config

    assert config.secret_key.get_secret_value() == SECRET


@pytest.mark.usefixtures("clean_env")
def test_from_env_without_a_secret_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        SessionMiddleware.from_env(handler_app(None))


# -- scopes -----------------------------------------------------------------------------------


def test_http_handler_sees_the_cookies_session() -> None:
    response = client_for(show).get("/", headers=with_cookie(signed(DATA)))

    assert response.json() == DATA


def test_starlette_request_session_is_the_session_object() -> None:
    async def session_type(request: Request) -> JSONResponse:
        return JSONResponse(type(request.session).__name__)

    app = SessionMiddleware(Starlette(routes=[Route("/", session_type)]), secret_key=SECRET)

    assert TestClient(app).get("/").json() == "Session"


async def websocket_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json(dict(websocket.session))
    await websocket.close()


async def websocket_login(websocket: WebSocket) -> None:
    websocket.session["user"] = "ws"
    await websocket.accept()
    await websocket.close()


def websocket_app(endpoint: Callable[[WebSocket], Any]) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws", endpoint)])


def websocket_client(endpoint: Callable[[WebSocket], Any]) -> TestClient:
    return TestClient(SessionMiddleware(websocket_app(endpoint), secret_key=SECRET))


def test_websocket_reads_the_session() -> None:
    client = websocket_client(websocket_echo)

    with client.websocket_connect("/ws", headers=with_cookie(signed(DATA))) as websocket:
        assert websocket.receive_json() == DATA


def test_websocket_session_set_before_accept_is_sent_on_the_accept() -> None:
    with websocket_client(websocket_login).websocket_connect("/ws") as websocket:
        headers: list[tuple[bytes, bytes]] = websocket.extra_headers or []

    cookies = [parse_set_cookie(value.decode()) for name, value in headers if name == b"set-cookie"]
    assert [(cookie.name, verified_data(cookie.value)) for cookie in cookies] == [
        ("session", {"user": "ws"})
    ]


def test_websocket_accept_carries_the_cookie_and_no_vary() -> None:
    # Vary belongs to HTTP responses; a websocket's accept is none.
    middleware = SessionMiddleware(websocket_app(websocket_login), secret_key=SECRET)
    accepts: list[Message] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            if message["type"] == "websocket.accept":
                accepts.append(message)
            await send(message)

        await middleware(scope, receive, record)

    with TestClient(recording).websocket_connect("/ws"):
        pass

    (accept,) = accepts
    assert [name for name, _ in accept["headers"]] == [b"set-cookie"]


@dataclass
class LifespanRecorder:
    """A bare ASGI app that notes what it was called with and completes the lifespan."""

    scope: Scope | None = None
    receive: Receive | None = None
    send: Send | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self.receive, self.send = dict(scope), receive, send
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def run_lifespan(app: ASGIApp, receive: Receive, send: Send) -> None:
    run_asgi(app, {"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)


def lifespan_channel() -> tuple[Receive, Send, list[Message]]:
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    return receive, send, sent


def test_lifespan_scope_gets_no_session() -> None:
    app = LifespanRecorder()
    receive, send, _ = lifespan_channel()

    run_lifespan(SessionMiddleware(app, secret_key=SECRET), receive, send)

    assert app.scope == {"type": "lifespan", "asgi": {"version": "3.0"}}


def test_lifespan_receive_and_send_are_passed_through_untouched() -> None:
    app = LifespanRecorder()
    receive, send, sent = lifespan_channel()

    run_lifespan(SessionMiddleware(app, secret_key=SECRET), receive, send)

    assert (app.receive, app.send) == (receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


# -- when a cookie is sent --------------------------------------------------------------------


def test_writing_a_new_session_sends_a_cookie_carrying_it() -> None:
    response = client_for(lambda session: session.update(user="alice")).get("/")

    assert verified_data(only_set_cookie(response).value) == {"user": "alice"}


def test_nested_append_is_persisted() -> None:
    client = client_for(lambda session: session["cart"].append(2))

    response = client.get("/", headers=with_cookie(signed(DATA)))

    assert verified_data(only_set_cookie(response).value)["cart"] == [1, 2]


def test_nested_dict_edit_is_persisted() -> None:
    client = client_for(lambda session: session["profile"].update(theme="light"))

    response = client.get("/", headers=with_cookie(signed(DATA)))

    assert verified_data(only_set_cookie(response).value)["profile"] == {"theme": "light"}


def assign_n_to_itself(session: Session) -> None:
    session["n"] = session["n"]


def change_n_and_back(session: Session) -> None:
    session["n"] = 2
    session["n"] = 1


UNCHANGING_HANDLERS = [
    pytest.param(assign_n_to_itself, id="session['n'] = session['n']"),
    pytest.param(change_n_and_back, id="changed and changed back"),
    pytest.param(lambda session: session["n"], id="read-only"),
    pytest.param(lambda session: session["cart"], id="list handed out, not changed"),
    pytest.param(show, id="every value handed out"),
    pytest.param(None, id="untouched"),
]


@pytest.mark.parametrize("handler", UNCHANGING_HANDLERS)
def test_unchanged_session_sends_no_cookie(handler: Handler | None) -> None:
    response = client_for(handler).get("/", headers=with_cookie(signed(DATA)))

    assert response.headers.get_list("set-cookie") == []


def test_untouched_session_without_a_cookie_sends_nothing() -> None:
    response = client_for(None).get("/")

    assert "set-cookie" not in response.headers


def test_mark_modified_sends_an_unchanged_session_again() -> None:
    response = client_for(lambda session: session.mark_modified()).get(
        "/", headers=with_cookie(signed(DATA))
    )

    assert verified_data(only_set_cookie(response).value) == DATA


def test_writing_sends_exactly_one_cookie() -> None:
    def write_twice(session: Session) -> None:
        session["a"] = 1
        session["b"] = 2

    response = client_for(write_twice).get("/", headers=with_cookie(signed(DATA)))

    assert len(response.headers.get_list("set-cookie")) == 1


# -- Vary: Cookie -----------------------------------------------------------------------------


def test_reading_the_session_adds_vary_cookie() -> None:
    response = client_for(lambda session: session["n"]).get("/", headers=with_cookie(signed(DATA)))

    assert response.headers.get_list("vary") == ["Cookie"]


def test_writing_the_session_adds_vary_cookie() -> None:
    response = client_for(lambda session: session.update(n=2)).get("/")

    assert response.headers.get_list("vary") == ["Cookie"]


def test_untouched_session_adds_no_vary() -> None:
    response = client_for(None).get("/", headers=with_cookie(signed(DATA)))

    assert "vary" not in response.headers


def test_vary_cookie_is_merged_into_an_existing_vary_header() -> None:
    def read_and_vary(session: Session) -> Response:
        return PlainTextResponse(session["user"], headers={"Vary": "Accept-Encoding"})

    response = client_for(read_and_vary).get("/", headers=with_cookie(signed(DATA)))

    assert response.headers.get_list("vary") == ["Accept-Encoding, Cookie"]


def test_vary_already_naming_cookie_is_left_as_it_is() -> None:
    def read_and_vary(session: Session) -> Response:
        return PlainTextResponse(session["user"], headers={"Vary": "Accept, cookie"})

    response = client_for(read_and_vary).get("/", headers=with_cookie(signed(DATA)))

    assert response.headers.get_list("vary") == ["Accept, cookie"]


def test_vary_star_from_the_application_is_left_as_it_is() -> None:
    def read_and_vary_on_everything(session: Session) -> Response:
        session.get("user")
        return Response(headers={"Vary": "*"})

    response = client_for(read_and_vary_on_everything).get("/")

    assert response.headers.get_list("vary") == ["*"]


def reading_app(headers: Iterable[tuple[bytes, bytes]]) -> SessionMiddleware:
    """A bare ASGI app that reads the session and answers with ``headers`` exactly as given."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"].get("user")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return SessionMiddleware(app, secret_key=SECRET)


def test_vary_in_another_letter_case_is_extended_not_repeated() -> None:
    response = TestClient(reading_app([(b"Vary", b"Origin")])).get("/")

    assert response.headers.get_list("vary") == ["Origin, Cookie"]


def test_headers_given_as_a_generator_are_all_kept_beside_vary() -> None:
    # ASGI allows any iterable of pairs; Vary must not consume it and drop the others.
    headers = ((name, value) for name, value in [(b"x-one", b"1"), (b"x-two", b"2")])

    response = TestClient(reading_app(headers)).get("/")

    assert (response.headers["x-one"], response.headers["x-two"]) == ("1", "2")
    assert response.headers.get_list("vary") == ["Cookie"]


def test_a_responses_header_list_is_never_changed_in_place() -> None:
    # A Response object (and so its header list) may be sent more than once.
    shared = [(b"x-one", b"1")]
    client = TestClient(reading_app(shared))

    client.get("/")
    second = client.get("/")

    assert shared == [(b"x-one", b"1")]
    assert second.headers.get_list("vary") == ["Cookie"]


# -- deletion ---------------------------------------------------------------------------------


def test_emptied_session_deletes_the_cookie() -> None:
    response = client_for(lambda session: session.clear()).get(
        "/", headers=with_cookie(signed(DATA))
    )

    cookie = only_set_cookie(response)
    assert (cookie.name, cookie.value) == ("session", "")
    assert cookie.attributes == {
        "Max-Age=0",
        "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
    }


def test_deletion_expires_in_the_past() -> None:
    response = client_for(lambda session: session.clear()).get(
        "/", headers=with_cookie(signed(DATA))
    )

    expires = next(a for a in only_set_cookie(response).attributes if a.startswith("Expires="))
    assert parsedate_to_datetime(expires.removeprefix("Expires=")) < datetime.now(UTC)


def test_deletion_has_the_same_path_and_domain() -> None:
    client = client_for(lambda session: session.clear(), path="/app", domain="example.com")

    attributes = only_set_cookie(client.get("/", headers=with_cookie(signed(DATA)))).attributes

    assert {"Path=/app", "Domain=example.com"} <= attributes


def test_emptying_a_session_that_had_no_cookie_sends_nothing() -> None:
    def add_and_remove(session: Session) -> None:
        session["user"] = "alice"
        del session["user"]

    response = client_for(add_and_remove).get("/")

    assert "set-cookie" not in response.headers


def test_emptying_after_a_rejected_cookie_sends_nothing() -> None:
    client = client_for(lambda session: session.clear())

    response = client.get("/", headers=with_cookie(signed(DATA, secret=OTHER_SECRET)))

    assert "set-cookie" not in response.headers


# -- cookie attributes ------------------------------------------------------------------------


def test_default_attributes() -> None:
    assert attributes_with() == {"Max-Age=1209600", "Path=/", "HttpOnly", "SameSite=Lax"}


def test_cookie_name_is_session_cookie() -> None:
    client = client_for(lambda session: session.update(n=1), session_cookie="fastrapi_session")

    assert only_set_cookie(client.get("/")).name == "fastrapi_session"


def test_max_age_attribute_is_max_age() -> None:
    assert attributes_with(max_age=3600) == {"Max-Age=3600", "Path=/", "HttpOnly", "SameSite=Lax"}


def test_max_age_none_sends_no_max_age_and_no_expires() -> None:
    assert attributes_with(max_age=None) == {"Path=/", "HttpOnly", "SameSite=Lax"}


def test_path_attribute_is_path() -> None:
    assert attributes_with(path="/app") == {
        "Max-Age=1209600",
        "Path=/app",
        "HttpOnly",
        "SameSite=Lax",
    }


def test_https_only_adds_secure() -> None:
    assert attributes_with(https_only=True) == {
        "Max-Age=1209600",
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
    }


def test_same_site_strict() -> None:
    assert attributes_with(same_site="strict") == {
        "Max-Age=1209600",
        "Path=/",
        "HttpOnly",
        "SameSite=Strict",
    }


def test_same_site_none_with_secure() -> None:
    assert attributes_with(same_site="none", https_only=True) == {
        "Max-Age=1209600",
        "Path=/",
        "HttpOnly",
        "SameSite=None",
        "Secure",
    }


def test_domain_attribute_is_domain() -> None:
    assert attributes_with(domain="example.com") == {
        "Max-Age=1209600",
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        "Domain=example.com",
    }


def test_partitioned_adds_partitioned() -> None:
    assert attributes_with(partitioned=True, https_only=True) == {
        "Max-Age=1209600",
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Partitioned",
    }


def test_production_form_attributes() -> None:
    attributes = attributes_with(
        max_age=86400, https_only=True, same_site="strict", domain=".example.com"
    )

    assert attributes == {
        "Max-Age=86400",
        "Path=/",
        "HttpOnly",
        "SameSite=Strict",
        "Secure",
        "Domain=.example.com",
    }


# -- key rotation -----------------------------------------------------------------------------


def rotating_client(handler: Handler | None) -> TestClient:
    return client_for(handler, secret_key=SECRET, secret_key_fallbacks=[OTHER_SECRET])


def test_cookie_signed_with_a_fallback_key_is_accepted() -> None:
    response = rotating_client(show).get(
        "/", headers=with_cookie(signed(DATA, secret=OTHER_SECRET))
    )

    assert response.json() == DATA


def test_fallback_cookie_is_reissued_with_the_current_key_even_if_untouched() -> None:
    client = rotating_client(None)

    response = client.get("/", headers=with_cookie(signed(DATA, secret=OTHER_SECRET)))

    assert verified_data(only_set_cookie(response).value, secret=SECRET) == DATA


def test_reissued_cookie_is_not_signed_with_the_fallback_key() -> None:
    response = rotating_client(None).get(
        "/", headers=with_cookie(signed(DATA, secret=OTHER_SECRET))
    )

    with pytest.raises(itsdangerous.BadSignature):
        itsdangerous.TimestampSigner(OTHER_SECRET).unsign(only_set_cookie(response).value)


def test_new_cookie_is_never_signed_with_the_fallback_key() -> None:
    response = rotating_client(lambda session: session.update(n=1)).get("/")

    with pytest.raises(itsdangerous.BadSignature):
        itsdangerous.TimestampSigner(OTHER_SECRET).unsign(only_set_cookie(response).value)


def test_cookie_signed_with_the_current_key_is_not_reissued() -> None:
    response = rotating_client(None).get("/", headers=with_cookie(signed(DATA)))

    assert "set-cookie" not in response.headers


# -- server-side expiry -----------------------------------------------------------------------

SIGNED_AT = 1_767_225_600


def client_at(now: int, *, max_age: int) -> TestClient:
    middleware = middleware_for(show, max_age=max_age)
    middleware.codec = SessionCodec([SECRET], max_age=max_age, clock=lambda: now)
    return TestClient(middleware)


def test_cookie_older_than_max_age_gives_an_empty_session() -> None:
    client = client_at(SIGNED_AT + 61, max_age=60)

    response = client.get("/", headers=with_cookie(signed(DATA, signed_at=SIGNED_AT)))

    assert response.json() == {}


def test_cookie_exactly_max_age_old_is_still_accepted() -> None:
    client = client_at(SIGNED_AT + 60, max_age=60)

    response = client.get("/", headers=with_cookie(signed(DATA, signed_at=SIGNED_AT)))

    assert response.json() == DATA


def test_cookie_signed_days_ago_is_refused_by_the_default_max_age() -> None:
    old = signed(DATA, signed_at=time.time() - DEFAULT_MAX_AGE - 3600)

    assert client_for(show).get("/", headers=with_cookie(old)).json() == {}


def test_max_age_none_accepts_a_cookie_of_any_age() -> None:
    ancient = signed(DATA, signed_at=1)

    assert client_for(show, max_age=None).get("/", headers=with_cookie(ancient)).json() == DATA


# -- bad cookies: an empty session and a DEBUG line, never an error ---------------------------

GOOD = signed(DATA)


def signed_payload(payload: bytes) -> str:
    """Any payload, correctly signed with SECRET: only its content is wrong."""
    return itsdangerous.TimestampSigner(SECRET).sign(payload).decode("ascii")


def signed_seconds_from_now(seconds: float) -> Callable[[], str]:
    """Makes, when called, a cookie signed ``seconds`` after (or before) that moment: a cookie
    made when the module is collected would expire, or stop being from the future, while a
    slow run reaches its test."""
    return lambda: signed(DATA, signed_at=time.time() + seconds)


def fixed(cookie: str) -> Callable[[], str]:
    return lambda: cookie


# The cookie of each case is made by the test itself, when it runs.
BAD_COOKIES = [
    pytest.param(
        fixed(GOOD[:-3] + ("AAA" if GOOD[-3:] != "AAA" else "BBB")),
        "signature",
        id="wrong signature",
    ),
    pytest.param(fixed(signed(DATA, secret=OTHER_SECRET)), "signature", id="unknown key"),
    pytest.param(signed_seconds_from_now(-DEFAULT_MAX_AGE - 60), "expired", id="expired"),
    pytest.param(signed_seconds_from_now(CLOCK_SKEW_SECONDS + 60), "future", id="from the future"),
    pytest.param(fixed(GOOD[:-5]), "not a signed value", id="truncated"),
    pytest.param(fixed(GOOD.split(".")[0]), "not a signed value", id="no signature at all"),
    pytest.param(fixed(signed_payload(b"abcde")), "base64", id="not base64"),
    pytest.param(
        fixed(signed_payload(base64.b64encode(b"{'user': 1}"))), "not JSON", id="not JSON"
    ),
    pytest.param(
        fixed(signed_payload(base64.b64encode(b'["a", 1]'))), "not an object", id="JSON array"
    ),
    pytest.param(
        fixed(signed_payload(base64.b64encode(b'"alice"'))), "not an object", id="JSON string"
    ),
    pytest.param(
        fixed(signed_payload(base64.b64encode(b'{"a": "\xff"}'))), "UTF-8", id="non-UTF-8 bytes"
    ),
    pytest.param(fixed("A" * 100_000), "bytes", id="100 KB value"),
]


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="cookie_session")
    return caplog


def session_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "cookie_session" and record.levelno == logging.DEBUG
    ]


@pytest.mark.parametrize(("make_cookie", "reason"), BAD_COOKIES)
def test_bad_cookie_gives_an_empty_session(make_cookie: Callable[[], str], reason: str) -> None:
    response = client_for(show).get("/", headers=with_cookie(make_cookie()))

    assert (response.status_code, response.json()) == (200, {})


@pytest.mark.parametrize(("make_cookie", "reason"), BAD_COOKIES)
def test_bad_cookie_is_logged_at_debug_with_its_reason(
    make_cookie: Callable[[], str], reason: str, debug_log: pytest.LogCaptureFixture
) -> None:
    client_for(show).get("/", headers=with_cookie(make_cookie()))

    assert [message for message in session_log(debug_log) if reason in message] != []


@pytest.mark.parametrize(("make_cookie", "reason"), BAD_COOKIES)
def test_bad_cookie_log_does_not_contain_its_value(
    make_cookie: Callable[[], str], reason: str, debug_log: pytest.LogCaptureFixture
) -> None:
    cookie = make_cookie()
    client_for(show).get("/", headers=with_cookie(cookie))

    assert session_log(debug_log) != []
    assert cookie[-16:] not in debug_log.text


@pytest.mark.parametrize(("make_cookie", "reason"), BAD_COOKIES)
def test_no_log_record_shows_a_secret(
    make_cookie: Callable[[], str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, not only cookie_session's
    client = client_for(show, secret_key=SECRET, secret_key_fallbacks=[REFERENCE_SECRET])

    client.get("/", headers=with_cookie(make_cookie()))

    assert session_log(caplog) != []
    assert SECRET not in caplog.text
    assert REFERENCE_SECRET not in caplog.text


def test_bad_cookie_with_an_untouched_session_sends_no_cookie() -> None:
    response = client_for(None).get("/", headers=with_cookie(signed(DATA, secret=OTHER_SECRET)))

    assert "set-cookie" not in response.headers


def test_session_as_deep_as_a_cookie_holds_is_read_or_refused_never_an_error() -> None:
    # About 1 500 levels: read on Pythons whose JSON parser goes that deep (3.13 and later), an
    # empty session on the others (conftest.deepest_session_json), never a 500.
    text = deepest_session_json()
    cookie = signed_payload(base64.b64encode(text.encode("ascii")))
    try:
        json.loads(text)
    except RecursionError:
        readable = False
    else:
        readable = True

    def hand_out(session: Session) -> dict[str, bool]:
        session.get("a")  # hands out the list: the session is serialised again to compare
        return {"read": "a" in session}

    response = client_for(hand_out).get("/", headers=with_cookie(cookie))

    assert (response.status_code, response.json()) == (200, {"read": readable})
    assert "set-cookie" not in response.headers  # read back to the same JSON, or never read


# -- several cookies with the session's name ---------------------------------------------------

OTHER_DATA = {"user": "bob"}
BAD = signed(OTHER_DATA, secret=OTHER_SECRET)


def test_first_of_two_good_cookies_wins() -> None:
    header = f"session={signed(DATA)}; session={signed(OTHER_DATA)}"

    assert client_for(show).get("/", headers={"cookie": header}).json() == DATA


def test_good_cookie_after_a_bad_one_wins() -> None:
    header = f"session={BAD}; session={GOOD}"

    assert client_for(show).get("/", headers={"cookie": header}).json() == DATA


def test_good_cookie_in_a_second_cookie_header_wins_over_a_bad_one() -> None:
    app = middleware_for(show)
    headers = [(b"cookie", f"session={BAD}".encode()), (b"cookie", f"session={GOOD}".encode())]

    assert get_by_hand(app, headers).body == JSONResponse(DATA).body


def test_two_bad_cookies_give_an_empty_session_and_both_reasons(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    header = f"session={BAD}; session={GOOD[:-1]}"

    response = client_for(show).get("/", headers={"cookie": header})

    assert response.json() == {}
    assert session_log(debug_log) == [
        "session cookie rejected: signature does not match any key; not a signed value"
    ]


# -- malformed Cookie headers -----------------------------------------------------------------

MALFORMED_HEADERS = [
    pytest.param(b"session", {}, id="name without ="),
    pytest.param(b"justtext; session=" + GOOD.encode(), DATA, id="a pair without = first"),
    pytest.param(b";", {}, id="only ;"),
    pytest.param(b";;; ;", {}, id="only ; and spaces"),
    pytest.param(b"", {}, id="empty"),
    pytest.param(b"  session=" + GOOD.encode() + b"  ", DATA, id="padded with spaces"),
    pytest.param(b"a=1;session=" + GOOD.encode(), DATA, id="no space after ;"),
    pytest.param(b"a=1;\tsession=" + GOOD.encode() + b"\t;b=2", DATA, id="tabs"),
    pytest.param(b"a=1 ;   session=" + GOOD.encode() + b" ;  b=2", DATA, id="spaces around ;"),
    pytest.param(b"session= " + GOOD.encode(), DATA, id="space after ="),
    pytest.param(b"session =" + GOOD.encode(), DATA, id="space before ="),
    pytest.param(b'session="' + GOOD.encode() + b'"', DATA, id="quoted value"),
    pytest.param(b"xsession=" + GOOD.encode(), {}, id="name ending with the session name"),
    pytest.param(
        b"xsession=" + signed(OTHER_DATA).encode() + b"; session=" + GOOD.encode(),
        DATA,
        id="suffixed name before the real one",
    ),
    pytest.param(b"other=session=" + GOOD.encode(), {}, id="inside another cookie's value"),
    pytest.param(b"session=\xff\xfe\x80", {}, id="non-ASCII bytes"),
]


@pytest.mark.parametrize(("header", "expected"), MALFORMED_HEADERS)
def test_malformed_cookie_header_never_fails_the_request(
    header: bytes, expected: dict[str, Any]
) -> None:
    response = get_by_hand(middleware_for(show), [(b"cookie", header)])

    assert response.status == 200


@pytest.mark.parametrize(("header", "expected"), MALFORMED_HEADERS)
def test_malformed_cookie_header_gives_the_session_it_holds(
    header: bytes, expected: dict[str, Any]
) -> None:
    response = get_by_hand(middleware_for(show), [(b"cookie", header)])

    assert response.body == JSONResponse(expected).body


# -- what cannot be stored --------------------------------------------------------------------


def set_cookie_length(data: Mapping[str, Any]) -> int:
    """Bytes of the Set-Cookie line the default configuration sends for ``data``."""
    cookie = f"session={signed(data)}"
    return len("; ".join([cookie, *sorted(DEFAULT_ATTRIBUTES)]))


@pytest.fixture(scope="module")
def largest_blob_that_fits() -> int:
    size = 0
    while set_cookie_length({"blob": "x" * (size + 1)}) <= MAX_COOKIE_BYTES:
        size += 1
    return size


def store_blob(size: int) -> Handler:
    return lambda session: session.update(blob="x" * size)


def test_largest_session_that_fits_is_sent_whole(largest_blob_that_fits: int) -> None:
    response = client_for(store_blob(largest_blob_that_fits)).get("/")

    value = only_set_cookie(response).value
    assert verified_data(value) == {"blob": "x" * largest_blob_that_fits}


def test_session_one_byte_too_large_raises_session_too_large(largest_blob_that_fits: int) -> None:
    client = client_for(store_blob(largest_blob_that_fits + 1))

    with pytest.raises(SessionTooLarge):
        client.get("/")


def test_session_too_large_names_the_size_and_the_limit() -> None:
    client = client_for(store_blob(5000))

    with pytest.raises(SessionTooLarge) as raised:
        client.get("/")

    too_large = raised.value
    assert (too_large.size, too_large.limit) == (
        set_cookie_length({"blob": "x" * 5000}),
        MAX_COOKIE_BYTES,
    )
    assert str(too_large.size) in str(too_large)
    assert str(too_large.limit) in str(too_large)


@pytest.mark.parametrize(
    "value", [pytest.param({1, 2}, id="a set"), pytest.param(object(), id="an object")]
)
def test_value_json_cannot_carry_raises_type_error_naming_the_key(value: object) -> None:
    client = client_for(lambda session: session.update(tags=value))

    with pytest.raises(TypeError, match="'tags'"):
        client.get("/")


# -- two middlewares, two cookies -----------------------------------------------------------


def stacked_app() -> Starlette:
    """A site with its session, and an admin sub-application mounted with its own cookie."""

    async def remember(request: Request) -> JSONResponse:
        request.session[request.query_params["key"]] = request.query_params["value"]
        return JSONResponse(dict(request.session))

    admin = Starlette(routes=[Route("/", remember)])
    admin_with_session = SessionMiddleware(admin, secret_key=OTHER_SECRET, session_cookie="admin")
    site = Starlette(routes=[Route("/", remember), Mount("/admin", admin_with_session)])
    site.add_middleware(SessionMiddleware, secret_key=SECRET)
    return site


def test_mounted_middleware_keeps_its_session_apart_from_the_outer_one() -> None:
    client = TestClient(stacked_app())
    client.get("/", params={"key": "user", "value": "alice"})

    response = client.get("/admin/", params={"key": "admin_user", "value": "root"})

    assert response.json() == {"admin_user": "root"}
    assert response.headers.get_list("set-cookie")[0].startswith("admin=")
    assert len(response.headers.get_list("set-cookie")) == 1
    site = SessionCodec([SECRET], max_age=None)
    admin = SessionCodec([OTHER_SECRET], max_age=None)
    assert site.verify(client.cookies["session"]).data == {"user": "alice"}
    assert admin.verify(client.cookies["admin"]).data == {"admin_user": "root"}
