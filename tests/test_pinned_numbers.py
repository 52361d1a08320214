"""The limits the contract names, each tested on both sides of its number.

Expected values are written out (4096, 1024, 253, 63), never read from the library's constants:
a test computing its expectation from ``MAX_COOKIE_BYTES`` would follow the constant wherever a
change took it.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionCodec, SessionConfig, SessionMiddleware, SessionTooLarge
from cookie_session.exceptions import CookieTooLarge

# -- incoming cookies: at most 4096 bytes -------------------------------------------------------

# A signing time that fits in two bytes (in 1970) is 3 base64 characters, which makes a cookie
# 4k + 32 characters long (payload, dot, time, dot, 27 of signature): 4096 can be reached.
TWO_BYTE_TIME = 1000
# 3048 bytes of JSON: 4064 characters of base64, and 4064 + 32 = 4096.
PAYLOAD_OF_A_4096_BYTE_COOKIE = {"x": "a" * 3039}


def cookie_of_4096_bytes() -> str:
    codec = SessionCodec([SECRET], max_age=None, clock=lambda: TWO_BYTE_TIME)
    cookie = codec.encode(PAYLOAD_OF_A_4096_BYTE_COOKIE)
    assert len(cookie) == 4096
    return cookie


def test_incoming_cookie_of_4096_bytes_is_accepted() -> None:
    codec = SessionCodec([SECRET], max_age=None, clock=lambda: TWO_BYTE_TIME)

    assert codec.verify(cookie_of_4096_bytes()).data == PAYLOAD_OF_A_4096_BYTE_COOKIE


def test_incoming_cookie_of_4097_bytes_is_refused_as_too_large() -> None:
    codec = SessionCodec([SECRET], max_age=None, clock=lambda: TWO_BYTE_TIME)

    with pytest.raises(CookieTooLarge, match="4097 bytes"):
        codec.verify(cookie_of_4096_bytes() + "A")


# -- Set-Cookie: at most 4096 bytes, name and attributes included --------------------------------

# With max_age=None the header is NAME=VALUE; Path=/; HttpOnly; SameSite=Lax. This session is
# 3018 bytes of JSON, so VALUE is 4024 characters of payload, 1 + 6 of signing time (any time
# this century) and 1 + 27 of signature: everything but the name takes 1 + 4059 + 32 = 4092.
SESSION_OF_4092_BYTES_BESIDES_THE_NAME = {"x": "a" * 3009}


def client_sending_a_set_cookie_of(length: int) -> TestClient:
    async def write(request: Request) -> JSONResponse:
        request.session.update(SESSION_OF_4092_BYTES_BESIDES_THE_NAME)
        return JSONResponse({})

    app = SessionMiddleware(
        Starlette(routes=[Route("/", write)]),
        secret_key=SECRET,
        session_cookie="c" * (length - 4092),
        max_age=None,
    )
    return TestClient(app)


def test_set_cookie_of_4096_bytes_is_sent() -> None:
    response = client_sending_a_set_cookie_of(4096).get("/")

    assert len(response.headers["set-cookie"]) == 4096


@pytest.mark.parametrize("length", [4097, 4098, 4099])
def test_set_cookie_over_4096_bytes_raises_session_too_large(length: int) -> None:
    with pytest.raises(SessionTooLarge) as raised:
        client_sending_a_set_cookie_of(length).get("/")

    assert (raised.value.size, raised.value.limit) == (length, 4096)


# -- domains: 253 characters, labels of 63 -------------------------------------------------------

# Three labels of 63 characters, one of 57 and "com": 253 characters.
DOMAIN_OF_253_CHARACTERS = ".".join(["a" * 63] * 3 + ["a" * 57, "com"])


def test_leading_dot_does_not_count_towards_the_253_characters_of_a_domain() -> None:
    config = SessionConfig(secret_key=SECRET, domain="." + DOMAIN_OF_253_CHARACTERS)

    assert config.domain == "." + DOMAIN_OF_253_CHARACTERS


def test_domain_label_of_64_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="must be a host name"):
        SessionConfig(secret_key=SECRET, domain="a" * 64 + ".com")
