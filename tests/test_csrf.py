"""CSRF tokens (cookie_session.csrf_token) and the check SessionMiddleware runs with csrf=True.

The check runs inside the session layer, in signed and encrypted modes alike (the store's mode is
tests/store/test_store_csrf.py, a real browser's tests/integration/test_browser_csrf.py); Litestar
gets it through the middleware, Quart through check_quart_requests.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Unpack

import pytest
from litestar import Litestar, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.middleware import DefineMiddleware
from litestar.params import Body
from litestar.testing import TestClient as LitestarClient
from quart import Quart, request, session
from quart.typing import ResponseReturnValue
from quart.typing import TestClientProtocol as QuartClient  # not Test*: pytest would collect it
from quart.wrappers import Response as QuartResponse
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import (
    Session,
    SessionCodec,
    SessionConfig,
    SessionFields,
    SessionMiddleware,
    csrf_token,
    get_session,
)
from cookie_session.csrf import CSRF_SECRET_KEY, FORM_LIMIT, check_quart_requests, verify_csrf_token
from cookie_session.quart import use_cookie_session
from cookie_session.types import Message, Scope
from test_docs_guarantees import guarantee_tables, uncited_table_rows
from test_docs_security import missing_citations

TOKEN = re.compile(r"[0-9a-f]{96}")
UNSAFE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
SAFE_METHODS = ["GET", "HEAD", "OPTIONS", "TRACE"]
OVERSIZED = (
    "CSRF token missing: a form over 1 MiB is not read for it; send the token in the "
    "x-csrf-token header"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Quart runs on asyncio only


# -- tokens ----------------------------------------------------------------------------------


def test_two_tokens_of_one_session_differ_and_both_verify() -> None:
    session: dict[str, Any] = {}
    first, second = csrf_token(session), csrf_token(session)

    assert first != second
    assert verify_csrf_token(session, first)
    assert verify_csrf_token(session, second)


def test_the_secret_is_created_once_under_the_reserved_key() -> None:
    session: dict[str, Any] = {"user": "ada"}
    csrf_token(session)
    secret = session[CSRF_SECRET_KEY]
    csrf_token(session)

    assert CSRF_SECRET_KEY == "_cs.csrf"
    assert sorted(session) == ["_cs.csrf", "user"]
    assert session[CSRF_SECRET_KEY] == secret


def test_a_token_of_another_session_does_not_verify() -> None:
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    csrf_token(ours)

    assert not verify_csrf_token(ours, csrf_token(theirs))


def test_a_token_with_any_character_changed_is_refused() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)

    for position, character in enumerate(token):
        for replacement in {"0", "7", "a", "f", "F"} - {character, character.upper()}:
            tampered = token[:position] + replacement + token[position + 1 :]
            assert not verify_csrf_token(session, tampered), (position, replacement)


def test_a_token_is_read_in_either_letter_case() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)

    assert verify_csrf_token(session, token.upper())


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda token: token[:-1], id="shortened"),
        pytest.param(lambda token: token + "A", id="lengthened"),
        pytest.param(lambda token: token[:-2] + "==", id="padded"),
        pytest.param(lambda token: token[:-1] + "g", id="not-hex"),
        pytest.param(lambda token: token[:-2] + " " + token[-1], id="space-between-bytes"),
        pytest.param(lambda token: token[:48] + " " + token[48:], id="space-added"),
        pytest.param(lambda token: "0x" + token[2:], id="prefixed"),
        pytest.param(lambda token: token[:-1] + "é", id="not-ascii"),
        pytest.param(lambda token: "", id="empty"),
    ],
)
def test_a_malformed_token_is_refused(change: Any) -> None:
    session: dict[str, Any] = {}

    assert not verify_csrf_token(session, change(csrf_token(session)))


def test_the_unmasked_secret_is_no_token() -> None:
    session: dict[str, Any] = {}
    csrf_token(session)

    assert not verify_csrf_token(session, session[CSRF_SECRET_KEY])
    assert not verify_csrf_token(session, session[CSRF_SECRET_KEY] * 2)


def test_tokens_are_url_safe() -> None:
    session: dict[str, Any] = {}
    tokens = [csrf_token(session) for _ in range(200)]

    assert all(TOKEN.fullmatch(token) for token in tokens)
    assert all(urllib.parse.quote(token, safe="") == token for token in tokens)


def test_no_session_and_no_secret_verify_no_token() -> None:
    token = csrf_token({})

    assert not verify_csrf_token(None, token)
    assert not verify_csrf_token({}, token)
    assert not verify_csrf_token({CSRF_SECRET_KEY: "not a secret"}, token)
    assert not verify_csrf_token({CSRF_SECRET_KEY: 42}, token)


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param("ab" * 26, id="longer-hex"),
        pytest.param("ab" * 22, id="shorter-hex"),
        pytest.param("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo", id="base64"),
    ],
)
def test_a_stored_secret_of_another_form_verifies_no_token(stored: str) -> None:
    token = csrf_token({})

    assert not verify_csrf_token({CSRF_SECRET_KEY: stored}, token)
    assert not verify_csrf_token({CSRF_SECRET_KEY: stored}, csrf_token({CSRF_SECRET_KEY: stored}))


def test_verifying_a_token_is_no_use_of_the_session() -> None:
    session = Session()
    token = csrf_token(session)
    session = Session(session)  # as the next request's session

    assert verify_csrf_token(session, token)
    assert not session.accessed


def test_a_stored_value_that_is_no_secret_is_replaced_by_one() -> None:
    session: dict[str, Any] = {CSRF_SECRET_KEY: "not a secret"}
    token = csrf_token(session)

    assert session[CSRF_SECRET_KEY] != "not a secret"
    assert verify_csrf_token(session, token)


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[object, object]] = []
    real_compare = hmac.compare_digest

    def spy(left: Any, right: Any) -> bool:
        compared.append((left, right))
        return real_compare(left, right)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    session: dict[str, Any] = {}
    token = csrf_token(session)

    assert verify_csrf_token(session, token)
    assert not verify_csrf_token(session, csrf_token({}))
    assert len(compared) == 2


def test_regenerate_changes_the_token() -> None:
    session = Session()
    before = csrf_token(session)
    session.regenerate()
    after = csrf_token(session)

    assert not verify_csrf_token(session, before)
    assert verify_csrf_token(session, after)


def test_regenerate_keeps_the_rest_of_the_session() -> None:
    session = Session(user="ada")
    csrf_token(session)
    session.regenerate()

    assert dict(session) == {"user": "ada"}


# -- the check, through SessionMiddleware ----------------------------------------------------


class Recorder:
    """The application behind the middleware, recording each request that reached it and the
    messages it received."""

    def __init__(self) -> None:
        self.app = Starlette(routes=ROUTES)
        self.calls: list[str] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


async def token_page(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse(csrf_token(get_session(request)))


async def echo(request: StarletteRequest) -> Response:
    """Answers the body it received, byte for byte, with its content type."""
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "text/plain"))


async def form_fields(request: StarletteRequest) -> JSONResponse:
    """Answers the form's fields as Starlette parsed them (files by their content)."""
    form = await request.form()
    fields = {}
    for name, value in form.multi_items():
        fields[name] = value if isinstance(value, str) else (await value.read()).decode()
    return JSONResponse(fields)


async def peek(request: StarletteRequest) -> JSONResponse:
    return JSONResponse(dict(get_session(request)))


async def regenerate(request: StarletteRequest) -> PlainTextResponse:
    session = get_session(request)
    session.regenerate()
    return PlainTextResponse("regenerated")


ALL_METHODS = [*UNSAFE_METHODS, *SAFE_METHODS]
ROUTES = [
    Route("/token", token_page),
    Route("/echo", echo, methods=ALL_METHODS),
    Route("/form", form_fields, methods=["POST"]),
    Route("/peek", peek),
    Route("/regenerate", regenerate, methods=["POST"]),
    Route("/hooks/{name}", echo, methods=ALL_METHODS),
    Route("/hooksmith", echo, methods=ALL_METHODS),
]


class Site:
    """A Starlette app behind SessionMiddleware with csrf=True, its recorder and a client."""

    def __init__(self, **settings: Unpack[SessionFields]) -> None:
        settings.setdefault("secret_key", SECRET)
        settings.setdefault("csrf", True)
        self.recorder = Recorder()
        self.middleware = SessionMiddleware(self.recorder, **settings)
        self.client = TestClient(self.middleware)

    def token(self) -> str:
        """A token of the client's session (creating it on the first call)."""
        response = self.client.get("/token")
        assert response.status_code == 200
        return response.text


@pytest.fixture(params=["signed", "encrypted"])
def mode(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings of each cookie mode."""
    return {"encrypt": True} if request.param == "encrypted" else {}


@pytest.fixture
def site(mode: dict[str, Any]) -> Iterator[Site]:
    site = Site(**mode)
    with site.client:
        yield site


def multipart(fields: Mapping[str, str], boundary: str = "b0undary") -> tuple[bytes, str]:
    """A multipart/form-data body of ``fields`` plus one file part, and its content type."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nfile content\r\n"
    )
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/form-data; boundary={boundary}"


def test_a_token_in_the_header_passes(site: Site) -> None:
    token = site.token()
    response = site.client.post("/echo", headers={"x-csrf-token": token}, content=b"{}")

    assert response.status_code == 200
    assert site.recorder.calls == ["GET /token", "POST /echo"]


@pytest.mark.parametrize("header", ["X-CSRF-Token", "X-Csrf-Token", "x-csrf-token"])
def test_the_header_is_matched_in_any_letter_case(site: Site, header: str) -> None:
    response = site.client.post("/echo", headers={header: site.token()})

    assert response.status_code == 200


def test_a_configured_header_is_matched_in_any_letter_case() -> None:
    site = Site(csrf_header="X-Request-Token")
    with site.client:
        token = site.token()
        assert site.client.post("/echo", headers={"x-request-token": token}).status_code == 200
        assert site.client.post("/echo", headers={"X-CSRF-Token": token}).status_code == 403


def test_a_token_in_an_urlencoded_form_passes(site: Site) -> None:
    response = site.client.post("/form", data={"csrf_token": site.token(), "amount": "5"})

    assert response.status_code == 200
    assert response.json()["amount"] == "5"


def test_a_form_content_type_is_matched_in_any_letter_case(site: Site) -> None:
    body = urllib.parse.urlencode({"csrf_token": site.token(), "amount": "5"})
    headers = {"content-type": "Application/X-WWW-Form-URLEncoded; Charset=UTF-8"}

    response = site.client.post("/form", content=body, headers=headers)

    assert response.status_code == 200


def test_an_empty_header_leaves_the_token_to_the_form(site: Site) -> None:
    data = {"csrf_token": site.token(), "amount": "5"}

    response = site.client.post("/form", data=data, headers={"x-csrf-token": ""})

    assert response.status_code == 200


def test_a_token_in_a_multipart_form_passes(site: Site) -> None:
    body, content_type = multipart({"amount": "5", "csrf_token": site.token()})
    response = site.client.post("/form", content=body, headers={"content-type": content_type})

    assert response.status_code == 200
    assert response.json() == {
        "amount": "5",
        "csrf_token": response.json()["csrf_token"],
        "upload": "file content",
    }


@pytest.mark.parametrize("form", ["urlencoded", "multipart"])
def test_the_first_field_of_the_tokens_name_counts(site: Site, form: str) -> None:
    token = site.token()
    if form == "multipart":
        body = (
            f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            '--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nforged\r\n--b--\r\n'
        ).encode()
        content_type = "multipart/form-data; boundary=b"
    else:
        body = f"csrf_token={token}&csrf_token=forged".encode()
        content_type = "application/x-www-form-urlencoded"

    response = site.client.post("/echo", content=body, headers={"content-type": content_type})

    assert response.status_code == 200


def test_a_token_sent_as_a_multipart_file_does_not_count(site: Site) -> None:
    token = site.token()
    body = (
        '--b\r\nContent-Disposition: form-data; name="csrf_token"; filename="t"\r\n\r\n'
        f"{token}\r\n--b--\r\n"
    ).encode()
    response = site.client.post(
        "/echo", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
    )

    assert (response.status_code, response.text) == (403, "CSRF token missing")


def test_a_malformed_multipart_form_has_no_token(site: Site) -> None:
    site.token()
    response = site.client.post(
        "/echo", content=b"not multipart", headers={"content-type": "multipart/form-data"}
    )

    assert (response.status_code, response.text) == (403, "CSRF token missing")


def test_a_multipart_form_without_python_multipart_fails_naming_the_extra(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = site.token()
    monkeypatch.setitem(sys.modules, "python_multipart.multipart", None)  # not installed
    body, content_type = multipart({"csrf_token": token})

    with pytest.raises(ImportError, match=r"pip install 'cookie-session\[csrf\]'"):
        site.client.post("/form", content=body, headers={"content-type": content_type})
    assert site.client.post("/echo", headers={"x-csrf-token": token}).status_code == 200


def test_a_configured_form_field_is_read() -> None:
    site = Site(csrf_field="authenticity_token")
    with site.client:
        token = site.token()
        body, content_type = multipart({"authenticity_token": token})
        assert site.client.post("/form", data={"authenticity_token": token}).status_code == 200
        assert (
            site.client.post(
                "/form", content=body, headers={"content-type": content_type}
            ).status_code
            == 200
        )
        assert site.client.post("/form", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("method", UNSAFE_METHODS)
def test_an_unsafe_request_without_a_token_is_refused_and_the_app_not_called(
    site: Site, method: str
) -> None:
    site.token()
    response = site.client.request(method, "/echo", content=b"payload")

    assert response.status_code == 403
    assert response.text == "CSRF token missing"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert site.recorder.calls == ["GET /token"]


@pytest.mark.parametrize("method", UNSAFE_METHODS)
def test_a_wrong_token_is_refused_as_invalid(site: Site, method: str) -> None:
    site.token()
    response = site.client.request(method, "/echo", headers={"x-csrf-token": csrf_token({})})

    assert (response.status_code, response.text) == (403, "CSRF token invalid")
    assert site.recorder.calls == ["GET /token"]


@pytest.mark.parametrize("byte", [b"=", b" ", b".", b"g", b"\xe9"])
def test_a_header_token_with_a_byte_outside_its_alphabet_is_refused(
    site: Site, byte: bytes
) -> None:
    token = site.token().encode("ascii")

    response = site.client.post("/echo", headers={b"x-csrf-token": token[:40] + byte + token[41:]})

    assert (response.status_code, response.text) == (403, "CSRF token invalid")


def test_a_header_token_with_a_space_between_its_bytes_is_refused(site: Site) -> None:
    # bytes.fromhex skips a space between two bytes: one in place of a digit leaves too few.
    token = site.token()

    response = site.client.post("/echo", headers={"x-csrf-token": token[:-2] + " " + token[-1]})

    assert (response.status_code, response.text) == (403, "CSRF token invalid")
    assert site.client.post("/echo", headers={"x-csrf-token": token}).status_code == 200


def test_a_wrong_token_in_a_form_is_refused_as_invalid(site: Site) -> None:
    site.token()
    response = site.client.post("/form", data={"csrf_token": "forged"})

    assert (response.status_code, response.text) == (403, "CSRF token invalid")


def test_a_request_without_a_session_is_refused(site: Site) -> None:
    other = Site()
    with other.client:
        token_of_another_visitor = other.token()

    missing = site.client.post("/echo")
    invalid = site.client.post("/echo", headers={"x-csrf-token": token_of_another_visitor})

    assert (missing.status_code, missing.text) == (403, "CSRF token missing")
    assert (invalid.status_code, invalid.text) == (403, "CSRF token invalid")
    assert site.recorder.calls == []


def test_a_token_from_before_the_session_was_replaced_is_refused(site: Site) -> None:
    token = site.token()
    site.client.cookies.clear()  # a new visitor, or the cookie expired
    site.token()

    response = site.client.post("/echo", headers={"x-csrf-token": token})

    assert (response.status_code, response.text) == (403, "CSRF token invalid")


@pytest.mark.parametrize("method", SAFE_METHODS)
def test_safe_methods_pass_without_a_token(site: Site, method: str) -> None:
    response = site.client.request(method, "/echo")

    assert response.status_code == 200
    assert site.recorder.calls == [f"{method} /echo"]


@pytest.mark.parametrize("path", ["/hooks/payment", "/hooksmith"])
def test_paths_under_an_exempt_prefix_pass_without_a_token(path: str) -> None:
    site = Site(csrf_exempt=("/hooks",))
    with site.client:
        response = site.client.post(path, content=b"event")

    assert response.status_code == 200
    assert response.content == b"event"


def test_paths_outside_the_exempt_prefixes_are_checked() -> None:
    site = Site(csrf_exempt=("/hooks/",))
    with site.client:
        assert site.client.post("/hooksmith").status_code == 403
        assert site.client.post("/echo").status_code == 403
        assert site.client.post("/hooks/payment").status_code == 200


def test_an_oversized_form_is_refused_saying_to_send_the_header(site: Site) -> None:
    token = site.token()
    body = f"csrf_token={token}&pad=".encode() + b"a" * FORM_LIMIT
    response = site.client.post(
        "/echo", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert (response.status_code, response.text) == (403, OVERSIZED)
    assert site.recorder.calls == ["GET /token"]


def test_an_oversized_form_with_the_header_token_passes_whole(site: Site) -> None:
    body = b"pad=" + b"a" * (2 * FORM_LIMIT)
    response = site.client.post(
        "/echo",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", "x-csrf-token": site.token()},
    )

    assert response.status_code == 200
    assert response.content == body


def test_a_form_of_exactly_the_limit_is_read(site: Site) -> None:
    start = f"csrf_token={site.token()}&pad=".encode()
    body = start + b"a" * (FORM_LIMIT - len(start))
    response = site.client.post(
        "/echo", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert len(body) == FORM_LIMIT
    assert response.status_code == 200
    assert response.content == body


def test_an_urlencoded_form_body_reaches_the_app_unchanged(site: Site) -> None:
    body = f"note=caf%C3%A9+au+lait&csrf_token={site.token()}&empty=&note=again".encode()
    content_type = "application/x-www-form-urlencoded"
    echoed = site.client.post("/echo", content=body, headers={"content-type": content_type})
    parsed = site.client.post("/form", content=body, headers={"content-type": content_type})

    assert echoed.content == body
    assert parsed.json()["note"] == "again"  # Starlette parses the same body as ever
    assert parsed.json()["empty"] == ""


def test_a_multipart_form_body_reaches_the_app_unchanged(site: Site) -> None:
    body, content_type = multipart({"csrf_token": site.token(), "note": "café"})
    response = site.client.post("/echo", content=body, headers={"content-type": content_type})

    assert response.status_code == 200
    assert response.content == body


def test_a_json_body_with_the_header_token_reaches_the_app_unchanged(site: Site) -> None:
    body = b'{"amount": 5, "note": "caf\xc3\xa9"}'
    response = site.client.post(
        "/echo",
        content=body,
        headers={"content-type": "application/json", "x-csrf-token": site.token()},
    )

    assert response.status_code == 200
    assert response.content == body


def test_a_json_body_without_the_header_is_refused(site: Site) -> None:
    body = f'{{"csrf_token": "{site.token()}"}}'.encode()
    response = site.client.post("/echo", content=body, headers={"content-type": "application/json"})

    assert (response.status_code, response.text) == (403, "CSRF token missing")


def test_each_refusal_is_counted_in_csrf_rejected(site: Site) -> None:
    token = site.token()
    site.client.post("/echo")
    site.client.post("/echo", headers={"x-csrf-token": "forged"})
    site.client.post("/form", data={"csrf_token": "forged"})
    site.client.post("/echo", headers={"x-csrf-token": token})  # passes
    site.client.get("/echo")  # not checked

    assert site.middleware.stats().csrf_rejected == 3


def test_regenerate_changes_the_token_of_later_requests(site: Site) -> None:
    before = site.token()
    assert site.client.post("/regenerate", headers={"x-csrf-token": before}).status_code == 200

    refused = site.client.post("/echo", headers={"x-csrf-token": before})
    after = site.token()

    assert (refused.status_code, refused.text) == (403, "CSRF token invalid")
    assert site.client.post("/echo", headers={"x-csrf-token": after}).status_code == 200


def test_a_session_that_never_asks_for_a_token_carries_no_trace(site: Site) -> None:
    response = site.client.get("/peek")

    assert response.json() == {}
    assert "set-cookie" not in response.headers


def test_asking_for_a_token_sends_the_cookie_with_the_secret(site: Site) -> None:
    response = site.client.get("/token")

    assert "set-cookie" in response.headers
    assert list(site.client.get("/peek").json()) == [CSRF_SECRET_KEY]


def test_the_check_reads_the_session_without_using_it(site: Site) -> None:
    token = site.token()
    response = site.client.post("/echo", headers={"x-csrf-token": token})

    assert "vary" not in response.headers
    assert "set-cookie" not in response.headers


def test_with_csrf_off_nothing_is_checked() -> None:
    site = Site(csrf=False)
    with site.client:
        response = site.client.post("/echo", content=b"payload")

    assert response.status_code == 200
    assert site.middleware.stats().csrf_rejected == 0


def test_with_csrf_off_the_request_path_calls_the_application_itself() -> None:
    app = Recorder()

    assert SessionMiddleware(app, secret_key=SECRET).inner is app


def test_a_websocket_is_not_checked() -> None:
    async def websocket_app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close"})

    middleware = SessionMiddleware(websocket_app, secret_key=SECRET, csrf=True)
    with TestClient(middleware).websocket_connect("/ws") as socket:
        socket.close()


UNIMPORTED_SCRIPT = """
import asyncio, json, sys

import cookie_session

report = {"import": "python_multipart" in sys.modules}

from quart import Quart, request, session

from cookie_session import SessionCodec, SessionMiddleware, csrf_token
from cookie_session.quart import use_cookie_session

SECRET = sys.argv[1]


async def answer(scope, receive, send):
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def through_the_middleware():
    data = {}
    body = f"csrf_token={csrf_token(data)}&amount=5".encode()
    cookie = SessionCodec([SECRET], max_age=None).encode(data).encode()
    form_type = b"application/x-www-form-urlencoded"
    headers = [(b"cookie", b"session=" + cookie), (b"content-type", form_type)]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await SessionMiddleware(answer, secret_key=SECRET, csrf=True)(scope, receive, send)
    return sent[0]["status"]


async def through_quart():
    app = Quart("unimported")
    use_cookie_session(app, secret_key=SECRET, csrf=True)
    app.route("/token")(lambda: csrf_token(session))

    @app.route("/transfer", methods=["POST"])
    async def transfer():
        return (await request.form)["amount"]

    client = app.test_client()
    token = await (await client.get("/token")).get_data(as_text=True)
    response = await client.post("/transfer", form={"csrf_token": token, "amount": "5"})
    return response.status_code


report["middleware"] = [asyncio.run(through_the_middleware()), "python_multipart" in sys.modules]
report["quart"] = [asyncio.run(through_quart()), "python_multipart" in sys.modules]
print(json.dumps(report))
"""


def test_the_package_and_an_urlencoded_form_checked_leave_python_multipart_unimported() -> None:
    # A fresh interpreter: other tests (and Starlette) import python-multipart in this one.
    result = subprocess.run(
        [sys.executable, "-c", UNIMPORTED_SCRIPT, SECRET],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "import": False,
        "middleware": [200, False],
        "quart": [200, False],
    }


# -- the body, message by message --------------------------------------------------------------


def signed_session_cookie(data: Mapping[str, Any]) -> bytes:
    return b"session=" + SessionCodec([SECRET], max_age=None).encode(data).encode()


class BodyReader:
    """An application that receives every message until the client goes away, then answers
    200; it records what it received."""

    def __init__(self) -> None:
        self.received: list[Message] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "http.disconnect":
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def post_form(
    session: Mapping[str, Any], messages: list[Message]
) -> tuple[list[Message], list[Message]]:
    """One POST of an urlencoded form, in ``messages``, by the visitor of ``session``, through
    SessionMiddleware with csrf=True; the messages its application received (``http.disconnect``
    after ``messages``), and those sent back."""
    incoming = iter([*messages, {"type": "http.disconnect"}])
    sent: list[Message] = []

    async def receive() -> Message:
        return next(incoming)

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [
        (b"cookie", signed_session_cookie(session)),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ]
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    reader = BodyReader()
    await SessionMiddleware(reader, secret_key=SECRET, csrf=True)(scope, receive, send)
    return reader.received, sent


@pytest.mark.anyio
async def test_a_body_in_several_messages_reaches_the_app_as_those_messages() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)
    chunks = [b"amount=5&csrf_", f"token={token}".encode(), b"&note=x"]
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": number < len(chunks) - 1}
        for number, chunk in enumerate(chunks)
    ]

    received, sent = await post_form(session, messages)

    assert sent[0]["status"] == 200
    assert received == [*messages, {"type": "http.disconnect"}]
    assert all(received[number] is messages[number] for number in range(len(messages)))


@pytest.mark.anyio
async def test_a_form_declared_over_the_limit_is_refused_before_any_of_it_is_read() -> None:
    session: dict[str, Any] = {}
    body = f"csrf_token={csrf_token(session)}".encode()  # what the client sends is short
    incoming: list[Message] = [
        {"type": "http.request", "body": body, "more_body": False},
        {"type": "http.disconnect"},
    ]
    received: list[Message] = []
    sent: list[Message] = []

    async def receive() -> Message:
        received.append(incoming.pop(0))
        return received[-1]

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [
        (b"cookie", signed_session_cookie(session)),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(FORM_LIMIT + 1).encode()),
    ]
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await SessionMiddleware(BodyReader(), secret_key=SECRET, csrf=True)(scope, receive, send)

    assert (sent[0]["status"], sent[1]["body"].decode()) == (403, OVERSIZED)
    assert received == []


@pytest.mark.anyio
async def test_a_form_sent_in_chunks_past_the_limit_is_refused_unread_past_it() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)
    chunk = b"a" * (FORM_LIMIT // 4)
    messages: list[Message] = [
        {"type": "http.request", "body": f"csrf_token={token}&pad=".encode(), "more_body": True},
        *({"type": "http.request", "body": chunk, "more_body": True} for _ in range(8)),
        {"type": "http.request", "body": b"", "more_body": False},
    ]

    received, sent = await post_form(session, messages)

    assert sent[0]["status"] == 403
    assert sent[1]["body"].decode() == OVERSIZED
    assert received == []


@pytest.mark.anyio
async def test_a_client_gone_while_the_form_was_read_gets_no_call_of_the_app() -> None:
    session: dict[str, Any] = {}
    csrf_token(session)
    messages: list[Message] = [{"type": "http.request", "body": b"csrf_", "more_body": True}]

    received, sent = await post_form(session, messages)

    assert received == []
    assert sent[0]["status"] == 403


# -- Litestar ---------------------------------------------------------------------------------


@get("/token")
async def litestar_token(request: Request[Any, Any, Any]) -> str:
    return csrf_token(request.session)


@post("/transfer")
async def litestar_transfer(
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> dict[str, str]:
    return {"amount": data["amount"]}


def litestar_app(**fields: Unpack[SessionFields]) -> Litestar:
    """``/token`` and a POST ``/transfer`` (a form) over ``request.session``, behind
    SessionMiddleware with csrf=True and ``fields``."""
    fields.setdefault("secret_key", SECRET)
    fields.setdefault("csrf", True)
    return Litestar(
        route_handlers=[litestar_token, litestar_transfer],
        middleware=[DefineMiddleware(SessionMiddleware, **fields)],
    )


@pytest.fixture
def litestar_client(mode: dict[str, Any]) -> Iterator[LitestarClient[Litestar]]:
    with LitestarClient(app=litestar_app(**mode)) as client:
        yield client


def test_litestar_a_form_with_the_token_of_request_session_passes(
    litestar_client: LitestarClient[Litestar],
) -> None:
    token = litestar_client.get("/token").text
    response = litestar_client.post("/transfer", data={"csrf_token": token, "amount": "5"})

    assert response.status_code == 201
    assert response.json() == {"amount": "5"}


def test_litestar_a_form_without_the_token_is_refused(
    litestar_client: LitestarClient[Litestar],
) -> None:
    litestar_client.get("/token")
    missing = litestar_client.post("/transfer", data={"amount": "5"})
    invalid = litestar_client.post("/transfer", data={"amount": "5", "csrf_token": "forged"})

    assert (missing.status_code, missing.text) == (403, "CSRF token missing")
    assert (invalid.status_code, invalid.text) == (403, "CSRF token invalid")


# -- Quart ------------------------------------------------------------------------------------


def quart_app(**fields: Unpack[SessionFields]) -> Quart:
    """Routes over ``quart.session``, checked: ``/token``, a POST ``/transfer`` (a form),
    ``/received`` (what the view reads of a form), ``/login?user=U`` and ``/hooks/event``."""
    fields.setdefault("secret_key", SECRET)
    fields.setdefault("csrf", True)
    app = Quart(__name__)
    use_cookie_session(app, **fields)  # with csrf=True it installs the check itself

    @app.route("/token")
    async def token() -> ResponseReturnValue:
        return csrf_token(session)

    @app.route("/transfer", methods=["POST"])
    async def transfer() -> ResponseReturnValue:
        form = await request.form
        return {"amount": form["amount"], "body": (await request.get_data(as_text=True))}

    @app.route("/received", methods=["POST"])
    async def received() -> ResponseReturnValue:
        """The raw body first (Quart's multipart parser consumes it), then the form and files."""
        body = await request.get_data(as_text=True)
        form = await request.form
        files = await request.files
        return {
            "body": body,
            "form": form.to_dict(flat=False),
            "files": {name: file.read().decode() for name, file in files.items()},
        }

    @app.route("/login", methods=["POST"])
    async def login() -> ResponseReturnValue:
        session["user"] = request.args["user"]
        return "signed in"

    @app.route("/hooks/event", methods=["POST"])
    async def hook() -> ResponseReturnValue:
        return "ok"

    return app


async def quart_token(client: QuartClient) -> str:
    """A token of the Quart client's session (creating it on the first call)."""
    return await (await client.get("/token")).get_data(as_text=True)


async def quart_text(response: QuartResponse) -> tuple[int, str]:
    return response.status_code, await response.get_data(as_text=True)


@pytest.mark.anyio
async def test_quart_a_form_or_header_with_the_token_passes_and_the_view_reads_the_form(
    mode: dict[str, Any],
) -> None:
    client = quart_app(**mode).test_client()
    token = await quart_token(client)

    by_form = await client.post("/transfer", form={"csrf_token": token, "amount": "5"})
    by_header = await client.post(
        "/transfer", form={"amount": "6"}, headers={"X-CSRF-Token": token}
    )

    assert by_form.status_code == 200
    assert (await by_form.get_json())["amount"] == "5"
    assert (await by_form.get_json())["body"] == f"csrf_token={token}&amount=5"
    assert (await by_header.get_json())["amount"] == "6"


@pytest.mark.anyio
async def test_quart_a_multipart_form_with_the_token_passes_and_without_it_is_refused(
    mode: dict[str, Any],
) -> None:
    client = quart_app(**mode).test_client()
    token = await quart_token(client)
    with_token, content_type = multipart({"csrf_token": token, "amount": "5"})
    without_token, _ = multipart({"amount": "5"})

    passed = await client.post("/transfer", data=with_token, headers={"content-type": content_type})
    refused = await client.post(
        "/transfer", data=without_token, headers={"content-type": content_type}
    )

    assert passed.status_code == 200
    assert (await passed.get_json())["amount"] == "5"
    assert await quart_text(refused) == (403, "CSRF token missing")


@pytest.mark.anyio
@pytest.mark.parametrize("form", ["urlencoded", "multipart"])
async def test_quart_the_view_reads_the_body_form_and_files_unchanged_after_the_check(
    mode: dict[str, Any], form: str
) -> None:
    client = quart_app(**mode).test_client()
    token = await quart_token(client)
    if form == "multipart":
        body, content_type = multipart({"csrf_token": token, "note": "café"})
        fields = {"csrf_token": [token], "note": ["café"]}
        files = {"upload": "file content"}
    else:
        body = f"note=caf%C3%A9+au+lait&csrf_token={token}&empty=&note=again".encode()
        content_type = "application/x-www-form-urlencoded"
        fields = {"note": ["café au lait", "again"], "csrf_token": [token], "empty": [""]}
        files = {}

    response = await client.post("/received", data=body, headers={"content-type": content_type})

    assert response.status_code == 200
    assert await response.get_json() == {
        "body": body.decode(),
        "form": fields,
        "files": files,
    }


@pytest.mark.anyio
async def test_quart_a_request_without_a_valid_token_is_refused_and_counted(
    mode: dict[str, Any],
) -> None:
    app = quart_app(**mode)
    client = app.test_client()
    await client.get("/token")

    missing = await client.post("/transfer", form={"amount": "5"})
    invalid = await client.post("/transfer", form={"amount": "5", "csrf_token": "forged"})
    oversized = await client.post("/transfer", form={"amount": "5", "pad": "a" * FORM_LIMIT})

    assert await quart_text(missing) == (403, "CSRF token missing")
    assert await quart_text(invalid) == (403, "CSRF token invalid")
    assert await quart_text(oversized) == (403, OVERSIZED)
    assert app.session_interface.stats().csrf_rejected == 3  # type: ignore[attr-defined]  # our interface


@pytest.mark.anyio
async def test_quart_safe_methods_and_exempt_paths_are_not_checked() -> None:
    client = quart_app(csrf_exempt=["/hooks/"]).test_client()

    assert (await client.get("/token")).status_code == 200
    assert (await client.post("/hooks/event")).status_code == 200


@pytest.mark.anyio
async def test_quart_paths_outside_the_exempt_prefixes_are_checked() -> None:
    client = quart_app(csrf_exempt=["/hooks/"]).test_client()
    await client.get("/token")

    assert await quart_text(await client.post("/transfer", form={"amount": "5"})) == (
        403,
        "CSRF token missing",
    )


@pytest.mark.anyio
async def test_quart_a_configured_form_field_is_read() -> None:
    client = quart_app(csrf_field="authenticity_token").test_client()
    token = await quart_token(client)

    passed = await client.post("/transfer", form={"authenticity_token": token, "amount": "5"})
    refused = await client.post("/transfer", form={"csrf_token": token, "amount": "5"})

    assert passed.status_code == 200
    assert await quart_text(refused) == (403, "CSRF token missing")


@pytest.mark.anyio
async def test_quart_a_multipart_form_without_python_multipart_fails_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # SessionConfig refuses csrf=True without it; this is the module gone missing after that.
    app = quart_app()
    client = app.test_client()
    token = await quart_token(client)
    monkeypatch.setitem(sys.modules, "python_multipart.multipart", None)  # not installed
    body, content_type = multipart({"csrf_token": token, "amount": "5"})

    with caplog.at_level(logging.ERROR):
        failed = await client.post("/transfer", data=body, headers={"content-type": content_type})
    by_header = await client.post(
        "/transfer", form={"amount": "5"}, headers={"X-CSRF-Token": token}
    )

    assert failed.status_code == 500
    raised = [
        record.exc_info[1]
        for record in caplog.records
        if record.exc_info is not None and isinstance(record.exc_info[1], ImportError)
    ]
    assert len(raised) == 1
    assert "pip install 'cookie-session[csrf]'" in str(raised[0])
    assert by_header.status_code == 200


def test_quart_check_needs_csrf_on() -> None:
    app = Quart(__name__)
    with pytest.raises(ValueError, match="csrf=True"):
        check_quart_requests(app, use_cookie_session(app, secret_key=SECRET))


# -- docs/csrf.md -----------------------------------------------------------------------------

CSRF_PAGE = Path(__file__).resolve().parent.parent / "docs" / "csrf.md"


def test_every_guarantee_of_the_csrf_page_cites_a_test_that_exists() -> None:
    text = CSRF_PAGE.read_text(encoding="utf-8")

    assert guarantee_tables(text) >= 1
    assert uncited_table_rows(text) == []
    assert missing_citations(text) == []


def test_the_csrf_page_names_the_settings_and_the_reserved_key() -> None:
    text = CSRF_PAGE.read_text(encoding="utf-8")
    config = SessionConfig(secret_key=SECRET)

    for name in ("csrf", "csrf_header", "csrf_field", "csrf_exempt", CSRF_SECRET_KEY):
        assert f"`{name}`" in text, name
    assert f"`{config.csrf_header}`" in text
    assert f"`{config.csrf_field}`" in text


@pytest.mark.usefixtures("clean_env")
def test_the_python_blocks_of_the_page_run_and_its_app_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    text = CSRF_PAGE.read_text(encoding="utf-8")
    namespace: dict[str, Any] = {"__name__": "docs_csrf"}
    for block in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        source = "\n" * text.count("\n", 0, block.start(1)) + block[1]
        exec(compile(source, str(CSRF_PAGE), "exec"), namespace)  # noqa: S102  # our own docs

    assert namespace["webhook_config"].csrf_exempt == ("/hooks/",)
    with TestClient(namespace["app"]) as client:
        page = client.get("/form").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        sent = client.post("/transfer", data={"csrf_token": token[1], "amount": "5"})
        forged = client.post("/transfer", data={"amount": "5"})

    assert (sent.status_code, sent.text) == (200, "transferred 5")
    assert (forged.status_code, forged.text) == (403, "CSRF token missing")
