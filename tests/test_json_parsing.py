"""The payload is read as ``json.loads`` reads it (Starlette's ``json.loads(b64decode(...))``),
although a faster parser does most of the reading: same results, nothing it accepts refused."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import itsdangerous
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import SECRET
from cookie_session import CookieMalformed, SessionCodec
from cookie_session.codec import MAX_COOKIE_BYTES, decode_json, decode_payload

# Any JSON value json.dumps can write, including what strict JSON parsers refuse.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
objects = st.dictionaries(st.text(max_size=8), json_values, max_size=6)


def same(a: Any, b: Any) -> bool:
    """Equal, counting NaN as equal to NaN (repr shows every other difference)."""
    return repr(a) == repr(b)


@settings(deadline=None)
@given(
    data=objects,
    ensure_ascii=st.booleans(),
    indent=st.none() | st.integers(0, 2),
    before=st.sampled_from(["", " ", "\n\t ", "\r\n"]),
    after=st.sampled_from(["", " ", "\n", "\t\r\n "]),
)
def test_any_json_object_reads_as_json_loads_reads_it(
    data: dict[str, Any], ensure_ascii: bool, indent: int | None, before: str, after: str
) -> None:
    text = before + json.dumps(data, ensure_ascii=ensure_ascii, indent=indent) + after
    raw = text.encode("utf-8", "surrogatepass")

    assert same(decode_json(raw), json.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"a": NaN, "b": Infinity, "c": -Infinity}', id="NaN and Infinity"),
        pytest.param(b'{"a": 1e400}', id="a number past a float"),
        pytest.param(b'{"a": 123456789012345678901234567890}', id="a 30-digit integer"),
        pytest.param(b'{"a": -9223372036854775809}', id="just below int64"),
        pytest.param(b'{"a": 18446744073709551616}', id="just above uint64"),
        pytest.param(b'{"a": 1, "a": 2}', id="duplicate keys: the last wins"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', id="a UTF-8 byte-order mark"),
        pytest.param(b' \n\t{"a": 1}', id="leading whitespace"),
        pytest.param(b'{"a": 1} \r\n', id="trailing whitespace"),
        pytest.param(b'{"a": "\\ud800"}', id="an escaped lone surrogate"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', id="a lone surrogate in UTF-8 bytes"),
        pytest.param('{"a": "é"}'.encode("utf-16"), id="UTF-16 with a byte-order mark"),
        pytest.param('{"a": "é"}'.encode("utf-32-le"), id="UTF-32 without one"),
        pytest.param(b'{"a": 0.1, "b": 5e-324, "c": 1.7976931348623157e308}', id="float edges"),
    ],
)
def test_what_json_loads_accepts_is_read_the_same(raw: bytes) -> None:
    assert same(decode_json(raw), json.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"a": 01}', id="a leading zero"),
        pytest.param(b'{"a": 1,}', id="a trailing comma"),
        pytest.param(b"{'a': 1}", id="single quotes"),
        pytest.param(b'{"a": 1}\x0c', id="a form feed after the object"),
        pytest.param(b'{"a": 1} {"b": 2}', id="two objects"),
        pytest.param(b'{"a": "\x01"}', id="a control character in a string"),
        pytest.param(b'{"a": "\xff"}', id="bytes that are not UTF-8"),
    ],
)
def test_what_json_loads_refuses_is_malformed(raw: bytes) -> None:
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):  # json.loads refuses it too
        json.loads(raw)
    with pytest.raises(CookieMalformed):
        decode_json(raw)


def nested_too_deep_for_json_loads() -> bytes:
    """Arrays nested deeper than this interpreter's ``json.loads`` goes.

    Where it stops moves with the version (conftest.deepest_session_json says how), so the
    depth is found here rather than written down: 100 000 levels were refused up to 3.13, but
    3.14 measures the C stack instead and reads them.
    """
    for depth in (10_000, 100_000, 1_000_000, 10_000_000):
        raw = b"[" * depth + b"]" * depth
        try:
            json.loads(raw)
        except RecursionError:
            return raw
    raise AssertionError("json.loads read arrays nested 10 million levels deep")


def test_json_nested_deeper_than_json_loads_goes_is_malformed() -> None:
    with pytest.raises(CookieMalformed, match="not JSON"):
        decode_json(b'{"a": ' + nested_too_deep_for_json_loads() + b"}")


def test_json_nested_500_levels_deep_is_read_as_json_loads_reads_it() -> None:
    raw = b'{"a": ' + b"[" * 499 + b"]" * 499 + b"}"  # within every Python's parser limit

    assert decode_json(raw) == json.loads(raw)


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_is_malformed(raw: bytes) -> None:
    with pytest.raises(CookieMalformed, match="not an object"):
        decode_json(raw)


def test_non_canonical_base64_is_read_as_b64decode_reads_it() -> None:
    # Starlette decodes with base64.b64decode, which skips characters outside the alphabet.
    payload = base64.b64encode(b'{"a": 1}')
    noisy = payload[:4] + b"!!" + payload[4:]

    assert decode_payload(noisy)[0] == json.loads(base64.b64decode(noisy)) == {"a": 1}


def test_a_cookie_starlette_would_read_is_read_the_same() -> None:
    payload = base64.b64encode(
        b'\xef\xbb\xbf {"user": "alice", "big": 123456789012345678901234567890}'
    )
    cookie = itsdangerous.TimestampSigner(SECRET).sign(payload).decode("ascii")

    data = SessionCodec([SECRET], max_age=None).verify(cookie).data

    assert data == {"user": "alice", "big": 123456789012345678901234567890}
    assert math.isfinite(data["big"])


@settings(deadline=None)
@given(
    data=objects,
    padding=st.integers(0, 400),  # short payloads (binascii) and long ones (pybase64)
    noise=st.sampled_from([b"", b"!", b"\n", b"*$"]),
    noise_at=st.integers(0, 10_000),
)
def test_a_signed_cookie_reads_as_starlette_reads_it(
    data: dict[str, Any], padding: int, noise: bytes, noise_at: int
) -> None:
    # Through verify(), whose inline fast path must agree with Starlette's
    # json.loads(b64decode(payload)) for canonical and non-canonical base64 alike.
    data = data | {"padding": "x" * padding}
    payload = base64.b64encode(json.dumps(data).encode("utf-8", "surrogatepass"))
    at = noise_at % (len(payload) + 1)
    payload = payload[:at] + noise + payload[at:]
    cookie = itsdangerous.TimestampSigner(SECRET).sign(payload).decode("ascii")
    assume(len(cookie) <= MAX_COOKIE_BYTES)  # a longer one is refused unread (tested elsewhere)

    verified = SessionCodec([SECRET], max_age=None).verify(cookie)

    starlette_reads = json.loads(base64.b64decode(payload))
    assert same(verified.data, starlette_reads)
    assert verified.json_text == base64.b64decode(payload).decode("utf-8", "replace")
