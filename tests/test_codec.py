"""The cookie codec: Starlette's wire format exactly, and every way a cookie is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import string
from typing import Any

import itsdangerous
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, REFERENCE_SECRET, SECRET, deepest_session_json
from cookie_session import (
    CookieExpired,
    CookieMalformed,
    CookieRejected,
    CookieSignatureInvalid,
    CookieTooLarge,
    SessionCodec,
    SessionMiddleware,
)
from cookie_session.codec import CLOCK_SKEW_SECONDS, MAX_COOKIE_BYTES, derive_key

VECTOR_SECRET = "correct-horse-battery-staple-0123456789"
VECTOR_TIMESTAMP = 1767225600
VECTOR_SESSION = {"user": "é", "n": 1}
VECTOR_COOKIE = "eyJ1c2VyIjogIlx1MDBlOSIsICJuIjogMX0=.aVW5AA.shGaG0KrYImpMUUtSN16Fw4JlX8"

NOW = VECTOR_TIMESTAMP
MAX_AGE = 3600
SESSION = {"user": "alice", "cart": [1, 2], "profile": {"name": "Zoë"}}

# Named, so that no secret appears in a test id.
SECRETS = [
    pytest.param(SECRET, id="shared test secret"),
    pytest.param(OTHER_SECRET, id="other test secret"),
    pytest.param(REFERENCE_SECRET, id="reference documentation secret"),
    pytest.param(VECTOR_SECRET, id="fixed vector secret"),
    pytest.param("clé-secrète-ünïcødé-ключ-密钥-0123456789", id="non-ASCII secret"),
    pytest.param("🔑🗝-emoji-secret-long-enough-0123456789", id="emoji secret"),
    pytest.param("a-secret-longer-than-an-hmac-block-" * 10, id="long secret"),
]
PAYLOAD_SIZES = [0, 1, 2, 3, 4, 5, 63, 64, 65, 100, 1000, 3000]  # the largest fits in 4096 bytes

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30)
sessions = st.dictionaries(
    st.text(max_size=10), json_scalars | st.lists(json_scalars, max_size=5), max_size=5
)
timestamps = st.integers(min_value=1, max_value=2**40)


class FixedTimeSigner(itsdangerous.TimestampSigner):
    """itsdangerous's own signer, with its clock stopped at ``now``."""

    def __init__(self, secret: str, now: int) -> None:
        super().__init__(secret)
        self.now = now

    def get_timestamp(self) -> int:
        return self.now


def codec_at(now: int, *, secret: str = SECRET, max_age: int | None = MAX_AGE) -> SessionCodec:
    return SessionCodec([secret], max_age=max_age, clock=lambda: now)


def signed_payload(payload: bytes) -> str:
    """A cookie carrying any payload at all, correctly signed with SECRET at NOW."""
    return FixedTimeSigner(SECRET, NOW).sign(payload).decode("ascii")


def with_character_replaced(value: str, index: int) -> str:
    replacement = "B" if value[index] == "A" else "A"
    return value[:index] + replacement + value[index + 1 :]


VALID_COOKIE = codec_at(NOW).encode(SESSION)


# -- the fixed vector -------------------------------------------------------------------------


def test_fixed_vector_signs_to_the_spec_value() -> None:
    codec = codec_at(VECTOR_TIMESTAMP, secret=VECTOR_SECRET)

    assert codec.encode(VECTOR_SESSION) == VECTOR_COOKIE


def test_fixed_vector_verifies_to_its_session_and_timestamp() -> None:
    verified = codec_at(VECTOR_TIMESTAMP, secret=VECTOR_SECRET).verify(VECTOR_COOKIE)

    assert (verified.data, verified.signed_at) == (VECTOR_SESSION, VECTOR_TIMESTAMP)


# -- equivalence with itsdangerous ------------------------------------------------------------


def format_key(secret: str) -> bytes:
    """The format's HMAC key, computed by hand as docs/cookie-format.md defines it (itsdangerous's
    "django-concat" derivation with its default salt), not through itsdangerous."""
    salted = b"itsdangerous.Signer" + b"signer" + secret.encode("utf-8")
    return hashlib.sha1(salted).digest()  # noqa: S324  # SHA-1 is the format's


def test_derive_key_of_the_fixed_vector_secret() -> None:
    assert derive_key(VECTOR_SECRET).hex() == "8967e830bcd1f69e4d2879605b67f38b585561f6"


@pytest.mark.parametrize("secret", SECRETS)
def test_derive_key_is_the_formats_key(secret: str) -> None:
    assert derive_key(secret) == format_key(secret)


@settings(deadline=None, max_examples=50)
@given(secret=st.text(min_size=1))
def test_derive_key_is_the_formats_key_for_any_secret(secret: str) -> None:
    assert derive_key(secret) == format_key(secret)


@settings(deadline=None, max_examples=50)
@given(secret=st.text(min_size=1), session=sessions, now=timestamps)
def test_signing_equals_itsdangerous(secret: str, session: dict[str, Any], now: int) -> None:
    json_text = json.dumps(session)
    expected = FixedTimeSigner(secret, now).sign(base64.b64encode(json_text.encode("utf-8")))

    assert codec_at(now, secret=secret).sign(json_text) == expected.decode("ascii")


@settings(deadline=None, max_examples=50)
@given(secret=st.text(min_size=1), session=sessions, now=timestamps)
def test_itsdangerous_unsigns_our_cookies(secret: str, session: dict[str, Any], now: int) -> None:
    cookie = codec_at(now, secret=secret).encode(session)

    payload = FixedTimeSigner(secret, now).unsign(cookie, max_age=MAX_AGE)

    assert json.loads(base64.b64decode(payload)) == session


@settings(deadline=None, max_examples=50)
@given(secret=st.text(min_size=1), session=sessions, now=timestamps)
def test_we_verify_itsdangerous_cookies(secret: str, session: dict[str, Any], now: int) -> None:
    json_text = json.dumps(session)
    cookie = FixedTimeSigner(secret, now).sign(base64.b64encode(json_text.encode("utf-8")))

    verified = codec_at(now, secret=secret).verify(cookie)

    assert (verified.data, verified.json_text, verified.signed_at) == (session, json_text, now)


@pytest.mark.parametrize("size", PAYLOAD_SIZES)
@pytest.mark.parametrize("secret", SECRETS)
def test_payloads_of_every_size_sign_as_itsdangerous_does(secret: str, size: int) -> None:
    json_text = json.dumps({"blob": "x" * size})
    expected = FixedTimeSigner(secret, NOW).sign(base64.b64encode(json_text.encode("utf-8")))

    assert codec_at(NOW, secret=secret).sign(json_text) == expected.decode("ascii")


@pytest.mark.parametrize("size", PAYLOAD_SIZES)
@pytest.mark.parametrize("secret", SECRETS)
def test_payloads_of_every_size_verify_from_itsdangerous(secret: str, size: int) -> None:
    session = {"blob": "x" * size}
    cookie = FixedTimeSigner(secret, NOW).sign(
        base64.b64encode(json.dumps(session).encode("utf-8"))
    )

    assert codec_at(NOW, secret=secret, max_age=None).verify(cookie).data == session


# -- round trips with Starlette's own SessionMiddleware, through real apps --------------------


def session_echo_app(middleware: Middleware) -> Starlette:
    """POST stores the JSON body in the session; GET returns the session."""

    async def store(request: Request) -> JSONResponse:
        request.session.update(await request.json())
        return JSONResponse("stored")

    async def show(request: Request) -> JSONResponse:
        return JSONResponse(dict(request.session))

    routes = [Route("/", store, methods=["POST"]), Route("/", show, methods=["GET"])]
    return Starlette(routes=routes, middleware=[middleware])


def cookie_made_by(app: Starlette) -> str:
    response = TestClient(app).post("/", json=SESSION)
    name, _, rest = response.headers["set-cookie"].partition("=")
    assert name == "session"
    return rest.split(";", 1)[0]


def session_read_by(app: Starlette, cookie: str) -> Any:
    return TestClient(app).get("/", headers={"cookie": f"session={cookie}"}).json()


def test_starlette_reads_a_cookie_made_by_our_middleware() -> None:
    ours = session_echo_app(Middleware(SessionMiddleware, secret_key=SECRET))
    starlettes = session_echo_app(Middleware(StarletteSessionMiddleware, secret_key=SECRET))

    assert session_read_by(starlettes, cookie_made_by(ours)) == SESSION


def test_our_middleware_reads_a_cookie_made_by_starlette() -> None:
    ours = session_echo_app(Middleware(SessionMiddleware, secret_key=SECRET))
    starlettes = session_echo_app(Middleware(StarletteSessionMiddleware, secret_key=SECRET))

    assert session_read_by(ours, cookie_made_by(starlettes)) == SESSION


# -- rejections -------------------------------------------------------------------------------

REJECTIONS = [
    pytest.param(
        with_character_replaced(VALID_COOKIE, -5),
        CookieSignatureInvalid,
        "signature",
        id="bad signature",
    ),
    pytest.param(
        with_character_replaced(VALID_COOKIE, 3),
        CookieSignatureInvalid,
        "signature",
        id="tampered payload",
    ),
    pytest.param(
        codec_at(NOW, secret=OTHER_SECRET).encode(SESSION),
        CookieSignatureInvalid,
        "signature",
        id="unknown key",
    ),
    pytest.param(
        codec_at(NOW - MAX_AGE - 1).encode(SESSION), CookieExpired, "expired", id="expired"
    ),
    pytest.param(
        codec_at(NOW + CLOCK_SKEW_SECONDS + 1).encode(SESSION),
        CookieSignatureInvalid,
        "future",
        id="signed beyond the clock skew in the future",
    ),
    pytest.param(VALID_COOKIE[:-1], CookieMalformed, "not a signed value", id="truncated by one"),
    pytest.param(
        VALID_COOKIE.rsplit(".", 1)[0],
        CookieMalformed,
        "not a signed value",
        id="truncated to payload and timestamp",
    ),
    pytest.param(
        VALID_COOKIE.split(".", 1)[0], CookieMalformed, "not a signed value", id="payload only"
    ),
    pytest.param(
        itsdangerous.Signer(SECRET).sign(base64.b64encode(b"{}") + b".A").decode("ascii"),
        CookieMalformed,
        "timestamp",
        id="timestamp not base64",
    ),
    pytest.param(
        itsdangerous.Signer(SECRET).sign(base64.b64encode(b"{}") + b".AAAAAAAAAAAAAA").decode(),
        CookieMalformed,
        "timestamp",
        id="timestamp of more than 8 bytes",
    ),
    pytest.param(signed_payload(b"abcde"), CookieMalformed, "base64", id="not base64"),
    pytest.param(
        signed_payload(base64.b64encode(b"{not json")), CookieMalformed, "not JSON", id="not JSON"
    ),
    pytest.param(
        signed_payload(base64.b64encode(b"user=alice")),
        CookieMalformed,
        "not JSON",
        id="plain text",
    ),
    pytest.param(
        signed_payload(base64.b64encode(b'{"user": "alice"} {"user": "root"}')),
        CookieMalformed,
        "not JSON",
        id="JSON followed by more data",
    ),
    pytest.param(
        signed_payload(base64.b64encode(b"[1, 2]")),
        CookieMalformed,
        "not an object",
        id="JSON array",
    ),
    pytest.param(
        signed_payload(base64.b64encode(b'"admin"')),
        CookieMalformed,
        "not an object",
        id="JSON string",
    ),
    pytest.param(
        signed_payload(base64.b64encode(b"42")), CookieMalformed, "not an object", id="JSON number"
    ),
    pytest.param(
        signed_payload(base64.b64encode(b'{"user": "\xff\xfe"}')),
        CookieMalformed,
        "UTF-8",
        id="non-UTF-8 bytes",
    ),
    pytest.param(
        codec_at(NOW).encode({"blob": "x" * MAX_COOKIE_BYTES}),
        CookieTooLarge,
        "bytes",
        id="validly signed but over 4096 bytes",
    ),
    pytest.param("A" * 100_000, CookieTooLarge, "bytes", id="100 KB of garbage"),
    pytest.param(
        VALID_COOKIE[:10] + "é" + VALID_COOKIE[10:], CookieMalformed, "ASCII", id="non-ASCII"
    ),
]


@pytest.mark.parametrize(("cookie", "rejection", "reason"), REJECTIONS)
def test_bad_cookie_raises_the_matching_rejection(
    cookie: str, rejection: type[CookieRejected], reason: str
) -> None:
    with pytest.raises(rejection) as raised:
        codec_at(NOW).verify(cookie)

    assert type(raised.value) is rejection
    assert reason in raised.value.reason


@pytest.mark.parametrize(("cookie", "rejection", "reason"), REJECTIONS)
def test_rejection_message_does_not_contain_the_cookie(
    cookie: str, rejection: type[CookieRejected], reason: str
) -> None:
    with pytest.raises(CookieRejected) as raised:
        codec_at(NOW).verify(cookie)

    for text in (str(raised.value), repr(raised.value)):
        assert cookie[-20:] not in text


def test_empty_cookie_is_malformed() -> None:
    with pytest.raises(CookieMalformed, match="not a signed value"):
        codec_at(NOW).verify("")


def test_bytes_are_verified_like_text() -> None:
    assert codec_at(NOW).verify(VALID_COOKIE.encode("ascii")).data == SESSION


def test_a_validly_signed_cookie_over_the_limit_is_refused_unverified() -> None:
    cookie = codec_at(NOW).encode({"blob": "x" * MAX_COOKIE_BYTES})
    unlimited_signer = FixedTimeSigner(SECRET, NOW)

    assert unlimited_signer.unsign(cookie)  # itsdangerous would accept it
    with pytest.raises(CookieTooLarge):
        codec_at(NOW).verify(cookie)


def test_every_single_character_change_is_rejected() -> None:
    alphabet = string.ascii_letters + string.digits + "-_.=+/"
    accepted = []
    for index, original in enumerate(VALID_COOKIE):
        for replacement in alphabet.replace(original, ""):
            changed = VALID_COOKIE[:index] + replacement + VALID_COOKIE[index + 1 :]
            try:
                codec_at(NOW).verify(changed)
            except CookieRejected:
                continue
            accepted.append(changed)

    assert accepted == []


def test_expired_rejection_carries_age_and_signing_time() -> None:
    cookie = codec_at(NOW - MAX_AGE - 10).encode(SESSION)

    with pytest.raises(CookieExpired) as raised:
        codec_at(NOW).verify(cookie)

    assert (raised.value.signed_at, raised.value.age) == (NOW - MAX_AGE - 10, MAX_AGE + 10)


def test_expired_rejection_carries_the_still_encoded_payload() -> None:
    cookie = codec_at(NOW - 100).encode({"user": "alice"})

    with pytest.raises(CookieExpired) as raised:
        codec_at(NOW, max_age=10).verify(cookie)

    assert raised.value.payload == base64.b64encode(b'{"user": "alice"}')


# -- what is accepted -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(' {"user": "alice"}', id="before"),
        pytest.param('{"user": "alice"} \n', id="after"),
    ],
)
def test_json_surrounded_by_whitespace_is_read_as_json_loads_reads_it(text: str) -> None:
    codec = codec_at(NOW)

    assert codec.verify(codec.sign(text)).data == json.loads(text)


def test_payload_with_characters_outside_base64_is_read_as_b64decode_reads_it() -> None:
    # Starlette reads base64.b64decode(payload), which skips them: no writer puts them there,
    # but a cookie Starlette accepts is accepted here too.
    cookie = signed_payload(b"eyJ1c2Vy!IjogImFsaWNlIn0=")

    assert codec_at(NOW).verify(cookie).data == {"user": "alice"}


def test_cookie_exactly_max_age_old_is_accepted() -> None:
    cookie = codec_at(NOW - MAX_AGE).encode(SESSION)

    assert codec_at(NOW).verify(cookie).data == SESSION


def test_future_timestamp_within_clock_skew_is_accepted() -> None:
    cookie = codec_at(NOW + CLOCK_SKEW_SECONDS).encode(SESSION)

    assert codec_at(NOW).verify(cookie).data == SESSION


def test_max_age_none_still_refuses_a_timestamp_beyond_the_clock_skew() -> None:
    # No server signs in the future: such a cookie would outlive any later max_age.
    cookie = codec_at(NOW + 61).encode(SESSION)

    with pytest.raises(CookieSignatureInvalid, match="61 seconds in the future"):
        codec_at(NOW, max_age=None).verify(cookie)


def test_max_age_none_accepts_a_timestamp_within_the_clock_skew() -> None:
    cookie = codec_at(NOW + 60).encode(SESSION)

    assert codec_at(NOW, max_age=None).verify(cookie).data == SESSION


def test_max_age_none_applies_no_age_limit() -> None:
    cookie = codec_at(1).encode(SESSION)

    assert codec_at(NOW, max_age=None).verify(cookie).data == SESSION


def test_current_key_verifies_with_index_zero() -> None:
    codec = SessionCodec([SECRET, OTHER_SECRET], max_age=None)

    assert codec.verify(codec.encode(SESSION)).key_index == 0


def test_fallback_key_verifies_with_its_index() -> None:
    old_cookie = SessionCodec([OTHER_SECRET], max_age=None).encode(SESSION)

    verified = SessionCodec([SECRET, OTHER_SECRET], max_age=None).verify(old_cookie)

    assert (verified.data, verified.key_index) == (SESSION, 1)


def test_fallback_key_is_never_used_to_sign() -> None:
    cookie = SessionCodec([SECRET, OTHER_SECRET], max_age=None).encode(SESSION)

    with pytest.raises(CookieSignatureInvalid):
        SessionCodec([OTHER_SECRET], max_age=None).verify(cookie)


def test_codec_needs_a_key() -> None:
    with pytest.raises(ValueError, match="secret key"):
        SessionCodec([], max_age=None)


# -- nesting: as deep as the interpreter's parser goes ----------------------------------------


def json_loads_reads(text: str) -> bool:
    """Whether this interpreter's ``json.loads`` reads ``text``; False when it nests too deep."""
    try:
        json.loads(text)
    except RecursionError:
        return False
    return True


def test_payload_nested_500_levels_deep_is_read() -> None:
    text = '{"a": ' + "[" * 499 + "]" * 499 + "}"  # within every Python's parser limit
    codec = codec_at(NOW)

    assert codec.verify(codec.sign(text)).data == json.loads(text)


def test_payload_as_deep_as_a_cookie_holds_is_read_or_malformed_like_json_loads() -> None:
    # Read on 3.13 and later, refused on 3.11 and 3.12 (conftest.deepest_session_json says
    # why); a RecursionError out of verify() would be an error response.
    text = deepest_session_json()
    codec = codec_at(NOW)
    cookie = codec.sign(text)

    if json_loads_reads(text):
        assert codec.verify(cookie).data == json.loads(text)
    else:
        with pytest.raises(CookieMalformed, match="not JSON"):
            codec.verify(cookie)


# -- one codec over time: a later second, the same cookie again -------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_each_verification_returns_its_own_copy_of_the_data() -> None:
    codec = codec_at(NOW)
    codec.verify(VALID_COOKIE).data["cart"].append(3)

    assert codec.verify(VALID_COOKIE).data == SESSION


def test_a_cookie_verified_before_is_refused_once_it_expires() -> None:
    clock = Clock(NOW)
    codec = SessionCodec([SECRET], max_age=MAX_AGE, clock=clock)
    codec.verify(VALID_COOKIE)
    clock.now = NOW + MAX_AGE + 1

    with pytest.raises(CookieExpired):
        codec.verify(VALID_COOKIE)


def test_a_later_second_signs_with_the_later_time() -> None:
    clock = Clock(NOW)
    codec = SessionCodec([SECRET], max_age=None, clock=clock)
    codec.encode({"n": 1})

    clock.now = NOW + 1
    cookie = codec.encode({"n": 2})

    assert codec.verify(cookie).signed_at == NOW + 1


def test_a_cookie_verified_before_is_refused_with_a_changed_character() -> None:
    codec = codec_at(NOW)
    codec.verify(VALID_COOKIE)

    with pytest.raises(CookieSignatureInvalid):
        codec.verify(with_character_replaced(VALID_COOKIE, 3))


# -- values JSON cannot carry -----------------------------------------------------------------


def cycle() -> list[object]:
    """A list that contains itself."""
    loop: list[object] = []
    loop.append(loop)
    return loop


@pytest.mark.parametrize(
    ("session", "named"),
    [
        pytest.param({"n": 1, "tags": {"a", "b"}}, "'tags'", id="a set"),
        pytest.param({"n": 1, "when": object()}, "'when'", id="an object"),
        pytest.param({"profile": {"seen": {1}}}, "'profile'", id="nested"),
        pytest.param({"n": 1, ("a", 1): "x"}, "('a', 1)", id="a tuple key"),
        pytest.param({"fine": 1, "loop": cycle()}, "session['loop']", id="a cycle"),
    ],
)
def test_value_json_cannot_carry_is_a_type_error_naming_the_key(
    session: dict[Any, Any], named: str
) -> None:
    with pytest.raises(TypeError) as raised:
        codec_at(NOW).encode(session)

    assert named in str(raised.value)
