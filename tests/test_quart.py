"""cookie_session.quart: ``quart.session`` through a real Quart app and Quart's test client."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Unpack

import pytest
from pydantic import ValidationError
from quart import Quart, Response, got_request_exception, session, websocket
from quart.sessions import SecureCookieSessionInterface
from quart.signals import websocket_finished
from quart.typing import ResponseReturnValue

# Renamed: pytest would try to collect a class called Test* as a test.
from quart.typing import TestClientProtocol as QuartTestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET
from cookie_session import (
    SessionCodec,
    SessionConfig,
    SessionFields,
    SessionMiddleware,
    SessionTooLarge,
    get_session,
)
from cookie_session.codec import MAX_COOKIE_BYTES
from cookie_session.quart import CookieSessionInterface, QuartSession, use_cookie_session

pytestmark = pytest.mark.anyio

Handler = Callable[[], ResponseReturnValue | None]

DATA = {"user": "alice", "n": 1, "cart": ["apple"]}
DEFAULT_ATTRIBUTES = {"Max-Age=1209600", "Path=/", "HttpOnly", "SameSite=Lax"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Quart runs on asyncio only


# -- the apps and how to talk to them --------------------------------------------------------


def quart_app(handler: Handler, **fields: Unpack[SessionFields]) -> Quart:
    """A Quart app using cookie-session, whose one route runs ``handler`` (which uses
    ``quart.session``) and answers with its result, or the session's content when it returns
    ``None``."""
    fields.setdefault("secret_key", SECRET)
    app = Quart(__name__)
    use_cookie_session(app, **fields)

    @app.route("/")
    async def endpoint() -> ResponseReturnValue:
        result = handler()
        return dict(session) if result is None else result

    return app


def client_for(handler: Handler, **fields: Unpack[SessionFields]) -> QuartTestClient:
    return quart_app(handler, **fields).test_client()


def signed(data: Mapping[str, Any], *, secret: str = SECRET, signed_at: float | None = None) -> str:
    """A session cookie value for ``data``, as SessionMiddleware would make it."""
    clock = time.time if signed_at is None else lambda: signed_at
    return SessionCodec([secret], max_age=None, clock=clock).encode(data)


def with_cookie(value: str, name: str = "session") -> dict[str, str]:
    return {"Cookie": f"{name}={value}"}


def verified_data(value: str, *, secret: str = SECRET) -> dict[str, Any]:
    return SessionCodec([secret], max_age=None).verify(value).data


def set_cookies(response: Response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def only_set_cookie(response: Response) -> tuple[str, str, set[str]]:
    """The one Set-Cookie header of the response: name, value and attributes."""
    [header] = set_cookies(response)
    pair, *attributes = header.split("; ")
    name, _, value = pair.partition("=")
    return name, value, set(attributes)


def read_only() -> None:
    session.get("user")


def log_in() -> None:
    session["user"] = "alice"


def count() -> dict[str, int]:
    session["n"] = session.get("n", 0) + 1
    return {"n": session["n"]}


# -- set-up -----------------------------------------------------------------------------------


def test_use_cookie_session_installs_the_interface(config: SessionConfig) -> None:
    app = Quart(__name__)

    interface = use_cookie_session(app, config)

    installed: object = app.session_interface  # Quart types it as its own default class
    assert installed is interface
    assert interface.config is config


def test_settings_as_keywords_are_validated_into_a_config() -> None:
    interface = CookieSessionInterface(secret_key=SECRET, max_age=60)

    assert interface.config == SessionConfig(secret_key=SECRET, max_age=60)


def test_bad_setting_is_a_validation_error_at_set_up() -> None:
    with pytest.raises(ValidationError) as raised:
        use_cookie_session(Quart(__name__), secret_key=SECRET, same_site="bogus")  # type: ignore[arg-type]  # the bad value under test

    assert raised.value.errors()[0]["loc"] == ("same_site",)


def test_config_and_keywords_together_are_a_type_error(config: SessionConfig) -> None:
    with pytest.raises(TypeError, match="not both"):
        CookieSessionInterface(config, max_age=60)


# -- quart.session across requests ------------------------------------------------------------


async def test_counter_counts_across_requests() -> None:
    client = client_for(count)

    counts = [(await (await client.get("/")).get_json())["n"] for _ in range(3)]

    assert counts == [1, 2, 3]


async def test_quart_session_is_a_cookie_session() -> None:
    client = client_for(lambda: {"is_cookie_session": isinstance(session, QuartSession)})

    assert await (await client.get("/")).get_json() == {"is_cookie_session": True}


async def test_cookie_carries_the_session() -> None:
    response = await client_for(log_in).get("/")

    name, value, _ = only_set_cookie(response)
    assert (name, verified_data(value)) == ("session", {"user": "alice"})


async def test_nested_append_is_persisted() -> None:
    client = client_for(lambda: session["cart"].append("pear"))

    response = await client.get("/", headers=with_cookie(signed(DATA)))

    assert verified_data(only_set_cookie(response)[1])["cart"] == ["apple", "pear"]


def assign_n_to_itself() -> None:
    session["n"] = session["n"]


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(assign_n_to_itself, id="session['n'] = session['n']"),
        pytest.param(read_only, id="read-only"),
        pytest.param(lambda: session["cart"], id="list handed out, not changed"),
        pytest.param(lambda: "untouched", id="untouched"),
    ],
)
async def test_unchanged_session_sends_no_cookie(handler: Handler) -> None:
    response = await client_for(handler).get("/", headers=with_cookie(signed(DATA)))

    assert set_cookies(response) == []


async def test_untouched_session_without_a_cookie_sends_nothing() -> None:
    response = await client_for(lambda: "untouched").get("/")

    assert (set_cookies(response), response.headers.get("Vary")) == ([], None)


async def test_reading_the_session_adds_vary_cookie() -> None:
    response = await client_for(read_only).get("/", headers=with_cookie(signed(DATA)))

    assert response.headers["Vary"] == "Cookie"


async def test_vary_cookie_is_merged_into_the_responses_vary() -> None:
    def handler() -> Response:
        session.get("user")
        return Response("hello", headers={"Vary": "Accept-Encoding"})

    response = await client_for(handler).get("/")

    assert response.headers.getlist("Vary") == ["Accept-Encoding, Cookie"]


async def test_test_clients_session_transaction_reaches_the_app() -> None:
    client = client_for(read_only)
    async with client.session_transaction() as transaction:
        transaction["user"] = "bob"

    assert await (await client.get("/")).get_json() == {"user": "bob"}


async def test_websocket_reads_the_session() -> None:
    app = quart_app(read_only)

    @app.websocket("/ws")
    async def user() -> None:
        await websocket.send(str(session["user"]))

    async with app.test_client().websocket("/ws", headers=with_cookie(signed(DATA))) as ws:
        assert await ws.receive() == "alice"


async def test_websocket_change_no_response_can_carry_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = quart_app(read_only)
    finished = asyncio.Event()

    @app.websocket("/ws")
    async def log_in_over_websocket() -> None:
        await websocket.accept()
        session["user"] = "alice"

    async def set_finished(sender: Quart, **extra: object) -> None:
        finished.set()

    # Quart saves the session once the handler returned, then signals websocket_finished. The
    # test client cannot say it instead: 0.22 raises from receive() when Quart closes the
    # websocket, 0.23 never returns; and leaving the block at once would cancel the handler.
    with websocket_finished.connected_to(set_finished, app):
        async with app.test_client().websocket("/ws"):
            await asyncio.wait_for(finished.wait(), timeout=10)

    assert "the change is lost" in caplog.text


# -- logout -----------------------------------------------------------------------------------


async def test_clear_deletes_the_cookie() -> None:
    response = await client_for(lambda: session.clear()).get("/", headers=with_cookie(signed(DATA)))

    assert only_set_cookie(response) == (
        "session",
        "",
        {
            "Max-Age=0",
            "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "Path=/",
            "HttpOnly",
            "SameSite=Lax",
        },
    )


async def test_logout_ends_the_session_in_the_client() -> None:
    app = quart_app(count)

    @app.route("/logout")
    async def logout() -> str:
        session.clear()
        return "signed out"

    client = app.test_client()
    await client.get("/")
    await client.get("/logout")

    assert await (await client.get("/")).get_json() == {"n": 1}


async def test_clearing_a_session_that_had_no_cookie_sends_nothing() -> None:
    assert set_cookies(await client_for(lambda: session.clear()).get("/")) == []


# -- bad cookies ------------------------------------------------------------------------------


def tampered() -> str:
    """A valid cookie whose data was swapped for other data, the signature kept."""
    _, timestamp, signature = signed(DATA).split(".")
    payload = base64.b64encode(json.dumps({"user": "admin"}).encode()).decode()
    return f"{payload}.{timestamp}.{signature}"


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param(tampered(), id="tampered signature"),
        pytest.param(
            signed({"user": "mallory"}, secret="an-attackers-key-0123456789-abcdefgh"),
            id="unknown key",
        ),
        pytest.param(signed(DATA, signed_at=time.time() - 120), id="older than max_age"),
        pytest.param("garbage", id="garbage"),
        pytest.param("x" * (MAX_COOKIE_BYTES + 1), id="too large"),
    ],
)
async def test_bad_cookie_gives_an_empty_session(cookie: str) -> None:
    response = await client_for(read_only, max_age=60).get("/", headers=with_cookie(cookie))

    assert (response.status_code, await response.get_json()) == (200, {})


# -- key rotation -----------------------------------------------------------------------------


async def test_fallback_key_cookie_is_read_and_resigned_with_the_current_key() -> None:
    client = client_for(read_only, secret_key_fallbacks=[OTHER_SECRET])

    response = await client.get("/", headers=with_cookie(signed(DATA, secret=OTHER_SECRET)))

    assert await response.get_json() == DATA
    assert verified_data(only_set_cookie(response)[1], secret=SECRET) == DATA


# -- the cookie's attributes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({}, DEFAULT_ATTRIBUTES, id="defaults"),
        pytest.param({"max_age": 3600}, {"Max-Age=3600"}, id="max_age"),
        pytest.param({"path": "/app"}, {"Path=/app"}, id="path"),
        pytest.param({"domain": "example.com"}, {"Domain=example.com"}, id="domain"),
        pytest.param({"https_only": True}, {"Secure"}, id="https_only"),
        pytest.param({"same_site": "strict"}, {"SameSite=Strict"}, id="same_site"),
        pytest.param(
            {"https_only": True, "partitioned": True}, {"Secure", "Partitioned"}, id="partitioned"
        ),
    ],
)
async def test_configured_attributes_are_sent(fields: SessionFields, expected: set[str]) -> None:
    _, _, attributes = only_set_cookie(await client_for(log_in, **fields).get("/"))

    assert expected <= attributes


async def test_max_age_none_sends_no_max_age_and_no_expires() -> None:
    _, _, attributes = only_set_cookie(await client_for(log_in, max_age=None).get("/"))

    assert attributes == {"Path=/", "HttpOnly", "SameSite=Lax"}


async def test_cookie_name_is_session_cookie() -> None:
    client = client_for(read_only, session_cookie="app_session")

    response = await client.get("/", headers=with_cookie(signed(DATA), name="app_session"))

    assert await response.get_json() == DATA


# -- errors the application must see ----------------------------------------------------------


async def request_errors(app: Quart) -> tuple[int, list[str], list[Exception]]:
    """Status and Set-Cookie of a GET, with the exceptions Quart reported for it."""
    raised: list[Exception] = []

    async def record(sender: Quart, exception: Exception, **extra: object) -> None:
        raised.append(exception)

    with got_request_exception.connected_to(record, app):
        response = await app.test_client().get("/")
    return response.status_code, set_cookies(response), raised


async def test_session_too_large_for_a_cookie_is_an_error() -> None:
    app = quart_app(lambda: session.update(blob="x" * MAX_COOKIE_BYTES))

    status, cookies, [error] = await request_errors(app)

    assert (status, cookies) == (500, [])
    assert isinstance(error, SessionTooLarge)
    assert error.limit == MAX_COOKIE_BYTES < error.size


async def test_value_json_cannot_store_is_a_type_error_naming_the_key() -> None:
    def store_a_module() -> str:
        session["when"] = time
        return "stored?"

    app = quart_app(store_a_module)

    status, _, [error] = await request_errors(app)

    assert status == 500
    assert isinstance(error, TypeError)
    assert "session['when']" in str(error)


# -- app.secret_key plays no part -------------------------------------------------------------


async def test_secret_key_on_the_app_changes_nothing() -> None:
    app = quart_app(log_in)
    app.secret_key = OTHER_SECRET

    response = await app.test_client().get("/")

    assert verified_data(only_set_cookie(response)[1], secret=SECRET) == {"user": "alice"}


async def test_quarts_own_cookie_is_not_accepted() -> None:
    quarts_own = Quart(__name__)
    quarts_own.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(quarts_own)
    assert serializer is not None
    app = quart_app(read_only)
    app.secret_key = SECRET

    response = await app.test_client().get("/", headers=with_cookie(serializer.dumps(DATA)))

    assert await response.get_json() == {}


# -- moving between SessionMiddleware and Quart -----------------------------------------------


def middleware_client(**fields: Unpack[SessionFields]) -> TestClient:
    """A Starlette app under SessionMiddleware: POST stores the JSON body, GET shows the session."""

    async def endpoint(request: Request) -> JSONResponse:
        current = get_session(request)
        if request.method == "POST":
            current.update(await request.json())
        return JSONResponse(dict(current))

    app = Starlette(routes=[Route("/", endpoint, methods=["GET", "POST"])])
    fields.setdefault("secret_key", SECRET)
    return TestClient(SessionMiddleware(app, **fields))


async def test_cookie_from_session_middleware_is_read_by_quart() -> None:
    minted = middleware_client().post("/", json=DATA).cookies["session"]

    response = await client_for(read_only).get("/", headers=with_cookie(minted))

    assert await response.get_json() == DATA


async def test_cookie_from_quart_is_read_by_session_middleware() -> None:
    _, minted, _ = only_set_cookie(await client_for(lambda: session.update(DATA)).get("/"))

    response = middleware_client().get("/", headers=with_cookie(minted))

    assert response.json() == DATA


async def test_set_cookie_has_the_middlewares_payload_and_attributes() -> None:
    fields: SessionFields = {"max_age": 600, "domain": "example.com", "same_site": "strict"}
    from_middleware = middleware_client(**fields).post("/", json=DATA).headers["set-cookie"]
    from_quart = set_cookies(await client_for(lambda: session.update(DATA), **fields).get("/"))

    def payload_and_attributes(header: str) -> tuple[str, set[str]]:
        pair, *attributes = header.split("; ")
        return pair.split(".")[0], set(attributes)

    assert [payload_and_attributes(h) for h in from_quart] == [
        payload_and_attributes(from_middleware)
    ]


# -- stats ------------------------------------------------------------------------------------


async def test_the_interface_counts_what_it_did() -> None:
    app = Quart(__name__)
    interface = use_cookie_session(app, secret_key=SECRET)
    app.route("/")(count_route)
    client = app.test_client()

    await client.get("/")
    await client.get("/")
    await client.get("/", headers=with_cookie("garbage"))

    stats = interface.stats()
    assert (stats.cookies_set, stats.cookies_accepted) == (3, 2)  # the jar sent the 2nd, 3rd
    assert stats.cookies_rejected["malformed"] == 1


async def count_route() -> ResponseReturnValue:
    session["n"] = session.get("n", 0) + 1
    return {"n": session["n"]}


def test_quart_marking_the_session_accessed_itself_is_not_a_use() -> None:
    # Quart 0.23's context sets `accessed` whenever its session is looked up (before
    # save_session too): that alone must not add Vary: Cookie to every response.
    quart_context: dict[str, Any] = {"__name__": "quart.ctx"}
    exec("def look_up(session):\n    session.accessed = True\n", quart_context)  # noqa: S102  # a stand-in for Quart's own module
    session = QuartSession()

    quart_context["look_up"](session)
    assert session.accessed is False

    session.get("user")
    assert session.accessed is True
