"""How the middleware reads the Cookie header: ``;``-separated pairs, a session cookie only where
a pair's name is exactly the configured name, at most four candidates, and no HMAC for a value
that cannot be a signed cookie."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET
from cookie_session import CookieRejected, SessionCodec, SessionMiddleware, get_session
from cookie_session.codec import _Signer
from cookie_session.cookie import MAX_CANDIDATES
from cookie_session.types import Message, Receive, Scope, Send

REAL = {"user": "alice"}
PLANTED = {"user": "mallory", "role": "admin"}


def signed(data: dict[str, Any], secret: str = SECRET) -> str:
    return SessionCodec([secret], max_age=None).encode(data)


async def show(request: Request) -> JSONResponse:
    return JSONResponse(dict(get_session(request)))


def client(**fields: Any) -> TestClient:
    app = Starlette(routes=[Route("/", show)])
    return TestClient(SessionMiddleware(app, secret_key=SECRET, **fields))


def session_for(header: str, **fields: Any) -> dict[str, Any]:
    response = client(**fields).get("/", headers={"cookie": header})
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


@pytest.fixture
def hmac_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many HMACs the codec computed (the signer's one method, counted as it runs)."""
    counted = [0]
    original = _Signer.signature

    def signature(self: _Signer, message: bytes) -> bytes:
        counted[0] += 1
        return original(self, message)

    monkeypatch.setattr(_Signer, "signature", signature)
    return counted


# -- a name counts only at the start of a pair -----------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("theme=dark session={planted}", id="after a space inside another value"),
        pytest.param("theme=dark\tsession={planted}", id="after a tab inside another value"),
        pytest.param('theme="dark session={planted}"', id="inside a quoted value"),
        pytest.param("theme=session={planted}", id="as another cookie's value"),
        pytest.param("xsession={planted}", id="as the end of a longer name"),
    ],
)
def test_a_session_name_inside_another_cookie_is_not_a_session_cookie(header: str) -> None:
    assert session_for(header.format(planted=signed(PLANTED))) == {}


def test_a_tossed_cookie_before_the_real_one_does_not_win() -> None:
    header = f"theme=dark session={signed(PLANTED)}; session={signed(REAL)}"

    assert session_for(header) == REAL


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("session={real}", id="alone"),
        pytest.param("a=1; session={real}", id="after a pair"),
        pytest.param("a=1;session={real}", id="after ; without a space"),
        pytest.param("a=1;  \tsession={real}; b=2", id="after ; and spaces"),
        pytest.param("session = {real}", id="spaces around ="),
        pytest.param('session="{real}"', id="quoted"),
    ],
)
def test_a_session_pair_is_found_wherever_it_starts_a_pair(header: str) -> None:
    assert session_for(header.format(real=signed(REAL))) == REAL


def test_a_custom_cookie_name_is_matched_exactly() -> None:
    header = f"session={signed(PLANTED)}; app_session={signed(REAL)}"

    assert session_for(header, session_cookie="app_session") == REAL


# -- at most four candidates ------------------------------------------------------------------


def test_the_fourth_candidate_is_still_verified() -> None:
    bad = signed(PLANTED, OTHER_SECRET)
    header = "; ".join([f"session={bad}"] * (MAX_CANDIDATES - 1) + [f"session={signed(REAL)}"])

    assert MAX_CANDIDATES == 4
    assert session_for(header) == REAL


def test_a_fifth_candidate_is_ignored() -> None:
    bad = signed(PLANTED, OTHER_SECRET)
    header = "; ".join([f"session={bad}"] * 4 + [f"session={signed(REAL)}"])

    assert session_for(header) == {}


def test_candidates_are_counted_across_cookie_headers() -> None:
    bad = f"session={signed(PLANTED, OTHER_SECRET)}"
    headers = [
        (b"cookie", f"{bad}; {bad}".encode()),
        (b"cookie", f"{bad}; {bad}".encode()),
        (b"cookie", f"session={signed(REAL)}".encode()),
    ]
    seen: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope["session"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    asyncio.run(SessionMiddleware(app, secret_key=SECRET)(scope, receive, send))

    assert seen == [{}]


def test_read_cookie_counts_candidates_across_cookie_headers_too() -> None:
    # SessionCookie.read() (what framework adapters such as cookie_session.quart call) has the limit
    # of the middleware's own request path.
    bad = f"session={signed(PLANTED, OTHER_SECRET)}"
    scope: Scope = {
        "type": "http",
        "headers": [
            (b"cookie", f"{bad}; {bad}".encode()),
            (b"cookie", f"{bad}; {bad}".encode()),
            (b"cookie", f"session={signed(REAL)}".encode()),
        ],
    }
    middleware = SessionMiddleware(Starlette(routes=[Route("/", show)]), secret_key=SECRET)

    assert middleware.cookie.read(scope) is None
    assert middleware.stats().cookies_rejected["signature"] == MAX_CANDIDATES


def test_a_hostile_header_of_bogus_candidates_costs_no_hmac(hmac_count: list[int]) -> None:
    header = "; ".join(["session=a.b"] * 640)

    assert session_for(header, secret_key_fallbacks=[OTHER_SECRET] * 3) == {}
    assert hmac_count == [0]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a.b", id="one dot"),
        pytest.param("abc", id="no dot"),
        pytest.param(".aVW5AA." + "x" * 27, id="no payload"),
        pytest.param("e30=.." + "x" * 27, id="no timestamp"),
        pytest.param("e30=.aVW5AA." + "x" * 26, id="signature one short"),
        pytest.param("e30=.aVW5AA." + "x" * 28, id="signature one long"),
        pytest.param("e30=.AAAAAAAAAAAA." + "x" * 27, id="timestamp of 12 characters"),
    ],
)
def test_a_value_that_cannot_be_signed_is_refused_before_any_hmac(
    value: str, hmac_count: list[int]
) -> None:
    assert session_for(f"session={value}") == {}
    assert hmac_count == [0]


def test_a_well_shaped_value_is_verified_with_each_key(hmac_count: list[int]) -> None:
    value = signed(PLANTED, "LEAKCHECK-unknown-key-0123456789-abcdefgh")
    hmac_count[0] = 0  # signing it took one

    assert session_for(f"session={value}", secret_key_fallbacks=[OTHER_SECRET]) == {}
    assert hmac_count == [2]


def test_rejection_reasons_are_not_built_unless_debug_is_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    built: list[str] = []

    def reason(self: CookieRejected) -> str:
        built.append(type(self).__name__)
        return "reason"

    monkeypatch.setattr(CookieRejected, "reason", property(reason))
    caplog.set_level(logging.INFO, logger="cookie_session")
    header = f"session=a.b; session={signed(PLANTED, OTHER_SECRET)}"

    assert session_for(header) == {}
    assert built == []

    caplog.set_level(logging.DEBUG, logger="cookie_session")
    assert session_for(header) == {}
    assert built == ["CookieMalformed", "CookieSignatureInvalid"]
