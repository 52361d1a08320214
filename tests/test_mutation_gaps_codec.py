"""Codec behaviours that no test held until ``scripts/mutate`` changed them: what may surround
a payload's JSON or sit in its base64, a value JSON cannot hold, the signing time of a later
second, and what :class:`CookieExpired` carries."""

from __future__ import annotations

import base64
import json

import itsdangerous
import pytest

from conftest import SECRET
from cookie_session import SessionCodec
from cookie_session.exceptions import CookieExpired, CookieMalformed

NOW = 1767225600


class Clock:
    """A clock that moves only when a test says so."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def codec_at(now: int, *, max_age: int | None = None) -> SessionCodec:
    return SessionCodec([SECRET], max_age=max_age, clock=Clock(now))


def test_json_followed_by_more_data_is_refused() -> None:
    codec = codec_at(NOW)
    cookie = codec.sign('{"user": "alice"} {"user": "root"}')

    with pytest.raises(CookieMalformed):
        codec.verify(cookie)


def test_json_followed_by_whitespace_is_read_as_json_loads_reads_it() -> None:
    codec = codec_at(NOW)
    text = '{"user": "alice"} \n'

    assert codec.verify(codec.sign(text)).data == json.loads(text)


def test_json_preceded_by_whitespace_is_read_as_json_loads_reads_it() -> None:
    codec = codec_at(NOW)
    text = ' {"user": "alice"}'

    assert codec.verify(codec.sign(text)).data == json.loads(text)


def test_payload_with_characters_outside_base64_is_read_as_b64decode_reads_it() -> None:
    # Starlette reads base64.b64decode(payload), which skips them: no writer puts them there,
    # but a cookie Starlette accepts is accepted here too.
    payload = b"eyJ1c2Vy!IjogImFsaWNlIn0="
    cookie = itsdangerous.TimestampSigner(SECRET).sign(payload).decode("ascii")

    assert SessionCodec([SECRET], max_age=None).verify(cookie).data == {"user": "alice"}


def test_payload_of_plain_text_is_refused_as_malformed() -> None:
    codec = codec_at(NOW)
    cookie = codec.sign("user=alice")

    with pytest.raises(CookieMalformed):
        codec.verify(cookie)


def test_cyclic_value_is_a_type_error_naming_its_key() -> None:
    loop: list[object] = []
    loop.append(loop)

    with pytest.raises(TypeError, match=r"session\['loop'\]"):
        SessionCodec.serialise({"fine": 1, "loop": loop})


def test_a_later_second_signs_with_the_later_time() -> None:
    clock = Clock(NOW)
    codec = SessionCodec([SECRET], max_age=None, clock=clock)
    codec.encode({"n": 1})

    clock.now = NOW + 1
    cookie = codec.encode({"n": 2})

    assert codec.verify(cookie).signed_at == NOW + 1


def test_expired_cookie_carries_its_still_encoded_payload() -> None:
    cookie = codec_at(NOW - 100).encode({"user": "alice"})

    with pytest.raises(CookieExpired) as raised:
        codec_at(NOW, max_age=10).verify(cookie)

    assert raised.value.payload == base64.b64encode(b'{"user": "alice"}')
