"""Hostile and arbitrary input, property-based: cookies through the ASGI application called
directly (no sockets), and the environment through SessionConfig.from_env."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import hypothesis
import hypothesis.strategies as st
import pytest
from hypothesis import example, given
from itsdangerous import TimestampSigner
from pydantic import ValidationError

from conftest import SECRET
from cookie_session import SessionCodec, SessionConfig, SessionMiddleware
from cookie_session.types import ASGIApp, Message

from .apps import routes

properties = hypothesis.settings.get_profile("integration")

APP = SessionMiddleware(routes(), secret_key=SECRET)

# -- calling the application ---------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def session_cookie(self) -> str | None:
        """The session cookie's new value, if the response set one."""
        for name, value in self.headers:
            if name == b"set-cookie" and value.startswith(b"session="):
                return value.split(b";", 1)[0].removeprefix(b"session=").decode("latin-1")
        return None


async def _call(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    requests: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        return requests.pop() if requests else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    body_parts = (
        message.get("body", b"") for message in sent if message["type"] == "http.response.body"
    )
    return Answer(start["status"], list(start.get("headers", [])), b"".join(body_parts))


def _peek(cookie_header: bytes) -> Answer:
    return asyncio.run(_call(APP, "GET", "/peek", [(b"cookie", cookie_header)]))


# -- cookies -------------------------------------------------------------------------------

_BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_"
_cookie_like_values = st.lists(
    st.text(alphabet=_BASE64_ALPHABET, max_size=40), min_size=1, max_size=4
).map(".".join)
_cookie_pairs = st.lists(
    st.tuples(
        st.sampled_from(["session", "Session", "other", " session", "session "]),
        st.one_of(_cookie_like_values, st.text(max_size=40)),
    ),
    min_size=1,
    max_size=4,
).map(lambda pairs: "; ".join(f"{name}={value}" for name, value in pairs).encode())
cookie_headers = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda value: b"session=" + value),
    _cookie_pairs,
    st.integers(4000, 5000).map(lambda size: b"session=" + b"A" * size),
)


@properties
@given(header=cookie_headers)
def test_arbitrary_cookie_header_never_gives_an_error_response(header: bytes) -> None:
    assert _peek(header).status == 200


@properties
@given(header=cookie_headers)
def test_arbitrary_cookie_header_gives_an_empty_session(header: bytes) -> None:
    assert _peek(header).json() == {}


def _is_a_json_object_in_base64(payload: bytes) -> bool:
    try:
        return isinstance(json.loads(base64.b64decode(payload)), dict)
    except (binascii.Error, ValueError, RecursionError):
        return False


_not_objects = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(), st.lists, max_leaves=5
)
unusable_payloads = st.one_of(
    st.binary(max_size=200),  # not base64, or base64 of bytes that are not JSON
    st.text(max_size=50).map(lambda text: base64.b64encode(text.encode("utf-8"))),
    _not_objects.map(lambda value: base64.b64encode(json.dumps(value).encode())),
    st.binary(max_size=50).map(base64.b64encode),  # often not UTF-8
).filter(lambda payload: not _is_a_json_object_in_base64(payload))


@properties
@given(payload=unusable_payloads)
def test_validly_signed_payload_that_is_not_a_json_object_gives_an_empty_session(
    payload: bytes,
) -> None:
    cookie = TimestampSigner(SECRET).sign(payload)
    answer = _peek(b"session=" + cookie)
    assert (answer.status, answer.json()) == (200, {})


SESSIONS = [
    {"user": "alice", "n": 1},
    {"user": "é", "cart": [1, 2, {"sku": "x"}], "admin": False},
]
# Characters a tamperer might put in, including the cookie separators, and the character
# next to the original, which at the end of a base64 block may decode to the same bytes.
REPLACEMENTS = ["A", "z", "0", "-", "_", ".", "=", "+", "/", ";", " ", '"', "%"]


def _one_character_changes(cookie: str) -> Iterator[tuple[int, str, str]]:
    for position, original in enumerate(cookie):
        for replacement in {*REPLACEMENTS, chr(ord(original) ^ 1)} - {original}:
            yield position, replacement, cookie[:position] + replacement + cookie[position + 1 :]


async def _accepted_changes(cookie: str) -> list[tuple[int, str]]:
    accepted = []
    for position, replacement, changed in _one_character_changes(cookie):
        answer = await _call(APP, "GET", "/peek", [(b"cookie", b"session=" + changed.encode())])
        if answer.json() != {}:
            accepted.append((position, replacement))
    return accepted


@pytest.mark.parametrize("session", SESSIONS, ids=["flat", "nested"])
def test_every_single_character_change_of_a_valid_cookie_is_rejected(
    session: dict[str, Any],
) -> None:
    cookie = APP.codec.encode(session)
    assert _peek(b"session=" + cookie.encode()).json() == session  # the original is accepted
    assert asyncio.run(_accepted_changes(cookie)) == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
sessions = st.dictionaries(st.text(max_size=10), json_values, max_size=8)
# Base64 makes a cookie 4/3 of its JSON; this leaves room for the signature and attributes
# under the 4096 bytes a browser keeps (larger sessions raise SessionTooLarge, tested elsewhere).
_MAX_JSON_BYTES = 2800


@properties
@given(session=sessions)
def test_json_compatible_session_round_trips_exactly(session: dict[str, Any]) -> None:
    hypothesis.assume(len(SessionCodec.serialise(session)) <= _MAX_JSON_BYTES)
    stored = asyncio.run(_call(APP, "POST", "/replace", [], json.dumps(session).encode()))
    cookie = stored.session_cookie()
    header = [] if cookie is None else [(b"cookie", b"session=" + cookie.encode())]
    read = asyncio.run(_call(APP, "GET", "/peek", header))
    assert read.json() == session


# -- the environment -----------------------------------------------------------------------

VARIABLES = {field: SessionConfig.env_variable(field) for field in SessionConfig.model_fields}
LEAK_MARKER = "LEAKCHECK"

# Anything an environment variable can hold: no NUL, no lone surrogates.
_env_characters = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
env_text = st.text(_env_characters)
_secrets = st.text(_env_characters, min_size=30, max_size=50)
_plausible: Mapping[str, st.SearchStrategy[str]] = {
    "secret_key": _secrets,
    "secret_key_fallbacks": st.lists(_secrets, max_size=3).map(json.dumps),
    "session_cookie": st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    "max_age": st.one_of(
        st.integers(-10, 40_000_000).map(str), st.sampled_from(["none", "NULL", ""])
    ),
    "path": st.text(_env_characters, max_size=10).map(lambda rest: "/" + rest),
    "same_site": st.sampled_from(["lax", "Strict", "NONE", "none"]),
    "https_only": st.sampled_from(["true", "0", "yes", "off"]),
    "domain": st.from_regex(r"\.?[a-z0-9-]{1,10}(\.[a-z]{2,5}){0,2}", fullmatch=True),
    "partitioned": st.sampled_from(["true", "false", "1", "n"]),
    "store_url": st.from_regex(
        r"(redis|rediss|unix|http|)://([a-z]*:[^@/ \x00]*@)?[a-z0-9.\[\]:-]*"  # who and where
        r"(/[0-9a-z]*)?(\?[a-z_]+=[^&\x00]*)?",  # the database, an option (no NUL: environ)
        fullmatch=True,
    ),
    "store_prefix": st.text(_env_characters, max_size=10),
    "user_key": st.text(_env_characters, max_size=10),
    "encrypt": st.sampled_from(["false", "0", "no"]),  # the sealed format has its own tests
    "refresh_after": st.one_of(
        st.integers(-10, 40_000_000).map(str), st.sampled_from(["none", "NULL", ""])
    ),
    "accept_signed": st.sampled_from(["true", "1", "yes", "on"]),  # false needs encrypt
    "anonymous_max_age": st.one_of(
        st.integers(-10, 40_000_000).map(str), st.sampled_from(["none", "NULL", ""])
    ),
    "store_max_bytes": st.integers(-10, 600_000_000).map(str),
    "max_lifetime": st.one_of(
        st.integers(-10, 40_000_000).map(str), st.sampled_from(["none", "NULL", ""])
    ),
    "track_devices": st.sampled_from(["true", "0", "yes", "off"]),
    "csrf": st.sampled_from(["true", "0", "yes", "off"]),
    "csrf_header": st.from_regex(r"[A-Za-z0-9_-]{0,12}", fullmatch=True),
    "csrf_field": st.text(_env_characters, max_size=10),
    "csrf_exempt": st.lists(st.from_regex(r"/?[a-z/]{0,8}", fullmatch=True), max_size=3).map(
        json.dumps
    ),
}
assert set(_plausible) == set(VARIABLES), "every variable needs a plausible value"
environments = st.fixed_dictionaries(
    {},
    optional={
        VARIABLES[field]: st.one_of(env_text, likely) for field, likely in _plausible.items()
    },
)


def _marked(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return values.map(lambda value: LEAK_MARKER + value)


# The same, with every secret carrying the marker, so that a leak of any part shows.
_marked_secrets = _marked(st.one_of(env_text, _secrets))
environments_with_marked_secrets = st.fixed_dictionaries(
    {VARIABLES["secret_key"]: _marked_secrets},
    optional={
        VARIABLES["secret_key_fallbacks"]: st.one_of(
            _marked_secrets, st.lists(_marked_secrets, max_size=3).map(json.dumps)
        ),
        **{
            VARIABLES[field]: st.one_of(env_text, likely)
            for field, likely in _plausible.items()
            if not field.startswith("secret_key") and field != "store_url"
        },
        # A password in the store's URL, where one goes or anywhere else.
        VARIABLES["store_url"]: st.one_of(
            _marked(env_text),
            _marked(_plausible["store_url"]),
            _secrets.map(lambda secret: f"redis://:{LEAK_MARKER}{secret}@cache:6379/0"),
            _secrets.map(lambda secret: f"redis://cache/0?password={LEAK_MARKER}{secret}"),
        ),
    },
)


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Exactly these SESSION_* variables, for the duration."""
    with mock.patch.dict(os.environ):
        for name in [name for name in os.environ if name.upper().startswith("SESSION_")]:
            del os.environ[name]
        os.environ.update(variables)
        yield


def _load(variables: Mapping[str, str]) -> SessionConfig | ValidationError:
    with _environment(variables):
        try:
            return SessionConfig.from_env(env_file=None)
        except ValidationError as error:
            return error


@properties
@given(variables=environments)
@example(variables={VARIABLES["secret_key_fallbacks"]: "[" * 100_000})  # deeper than Python
def test_any_environment_gives_a_config_or_a_validation_error(variables: dict[str, str]) -> None:
    assert isinstance(_load(variables), SessionConfig | ValidationError)


@properties
@given(variables=environments_with_marked_secrets)
@example(
    variables={VARIABLES["secret_key"]: LEAK_MARKER, VARIABLES["secret_key_fallbacks"]: LEAK_MARKER}
)
def test_no_secret_appears_in_the_config_or_its_errors(variables: dict[str, str]) -> None:
    outcome = _load(variables)
    assert LEAK_MARKER not in str(outcome)
    assert LEAK_MARKER not in repr(outcome)
