"""Encrypted cookies (``encrypt=True``): the sealed format, its codec, the middleware using it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Unpack

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET
from cookie_session import (
    CookieDecryptionFailed,
    CookieExpired,
    CookieRejected,
    CookieSignatureInvalid,
    CookieTooLarge,
    SessionCodec,
    SessionFields,
    SessionMiddleware,
    SessionTooLarge,
    TypedSession,
    get_session,
)
from cookie_session.codec import CLOCK_SKEW_SECONDS, MAX_COOKIE_BYTES, derive_key
from cookie_session.cookie import sealed_opener
from cookie_session.sealed import SealedCodec, derive_encryption_key

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
MAX_AGE = 3600
# Words that must never be readable in an encrypted cookie, keys and values alike.
PRIVATE = {
    "email": "alice.liddell@example.org",
    "role": "administrator",
    "internal_id": "cust-00912734",
    "cart": [{"sku": "SKU-77213", "title": "Looking-glass"}],
}
PRIVATE_WORDS = ["email", "alice.liddell", "role", "administrator", "internal_id", "cust-00912",
                 "cart", "SKU-77213", "Looking-glass"]  # fmt: skip
STANDARD_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
URL_SAFE_ALPHABET = STANDARD_ALPHABET[:-2] + "-_"
# RFC 6265 cookie-octet: printable ASCII except space, DQUOTE, comma, semicolon and backslash.
COOKIE_OCTETS = [chr(c) for c in range(0x21, 0x7F) if chr(c) not in '",;\\']


def sealer(
    *secrets: str,
    max_age: int | None = MAX_AGE,
    cookie_name: str = "session",
    now: float = NOW,
) -> SealedCodec:
    """A SealedCodec whose clock stands at ``now``; the first secret is the current key."""
    return SealedCodec(
        secrets or (SECRET,), max_age=max_age, cookie_name=cookie_name, clock=lambda: now
    )


def signer(*secrets: str, max_age: int | None = MAX_AGE, now: float = NOW) -> SessionCodec:
    """A signed codec as make_codec() builds it: opening encrypted cookies too."""
    keys = list(secrets or (SECRET,))
    opener = sealed_opener(keys, max_age=max_age, cookie_name="session")
    return SessionCodec(keys, max_age=max_age, clock=lambda: now, open_sealed=opener)


def rejection_kind(codec: SealedCodec | SessionCodec, value: str) -> str:
    with pytest.raises(CookieRejected) as caught:
        codec.verify(value)
    return caught.value.kind


# -- the format -------------------------------------------------------------------------------


def test_round_trip_gives_the_session_its_json_and_signing_time() -> None:
    value = sealer().encode(PRIVATE)

    cookie = sealer().verify(value)

    assert cookie.data == PRIVATE
    assert cookie.json_text == SessionCodec.serialise(PRIVATE)
    assert (cookie.signed_at, cookie.key_index, cookie.other_format, cookie.stale) == (
        NOW,
        0,
        False,
        False,
    )


def test_value_is_versioned_and_made_of_cookie_characters() -> None:
    value = sealer().encode(PRIVATE)

    assert value.startswith("~1.")
    assert set(value) <= set(COOKIE_OCTETS)
    assert not value.startswith("eyJ")  # how every signed value starts: base64 of '{"'


def test_opens_a_value_built_by_hand_from_the_documented_format() -> None:
    # HKDF-SHA256 written out from RFC 5869 (no salt: HashLen zero bytes), then AES-256-GCM.
    prk = hmac.new(bytes(32), SECRET.encode(), hashlib.sha256).digest()
    info = b"cookie-session sealed v1 AES-256-GCM"
    key = hmac.new(prk, info + b"\x01", hashlib.sha256).digest()
    nonce = bytes(range(12))
    plaintext = NOW.to_bytes(8, "big") + b'{"user": "\\u00e9", "n": 1}'
    sealed = AESGCM(key).encrypt(nonce, plaintext, b"~1.session")
    value = "~1." + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    cookie = sealer().verify(value)

    assert (cookie.data, cookie.signed_at) == ({"user": "é", "n": 1}, NOW)
    assert derive_encryption_key(SECRET) == key


def test_example_of_the_docs_opens() -> None:
    # docs/encryption.md: {"user": "alice", "counter": 1}, sealed at NOW with this secret.
    value = (
        "~1.YHmUEDSCMMAIydbk3Of-zCJyfWDaXXvwFxqIqw63ksiojn__UgFLcki5pR0i9oit3qaL-"
        "iJzJIs_8CSBk7bnyIMM0Q"
    )
    codec = SealedCodec(
        ["correct-horse-battery-staple-0123456789"], max_age=None, clock=lambda: NOW
    )

    cookie = codec.verify(value)

    assert (cookie.data, cookie.signed_at) == ({"user": "alice", "counter": 1}, NOW)
    assert value in (ROOT / "docs" / "encryption.md").read_text(encoding="utf-8")


def test_encryption_key_is_not_the_signing_key() -> None:
    key = derive_encryption_key(SECRET)

    assert len(key) == 32
    assert key != derive_encryption_key(OTHER_SECRET)
    assert derive_key(SECRET) not in key


def test_each_verification_gives_a_fresh_copy_of_the_data() -> None:
    codec = sealer()
    value = codec.encode({"cart": [1]})

    first = codec.verify(value)
    first.data["cart"].append(2)

    assert codec.verify(value).data == {"cart": [1]}


def test_two_writes_of_one_session_differ() -> None:
    codec = sealer()

    values = {codec.encode(PRIVATE) for _ in range(50)}

    assert len(values) == 50
    assert all(codec.verify(value).data == PRIVATE for value in values)


def base64_readings(value: str) -> Iterator[bytes]:
    """Every way of reading ``value`` as base64: both alphabets; the characters outside the
    alphabet skipped, or taken as separators of several texts; from each of the first four
    characters of a text (so that every 4-character group boundary is tried); padded or cut
    short to whole groups."""
    for alphabet in (STANDARD_ALPHABET, URL_SAFE_ALPHABET):
        kept = "".join(character for character in value if character in alphabet)
        runs = re.findall(f"[{re.escape(alphabet)}]+", value)
        for text in [kept, *runs]:
            for offset in range(4):
                shifted = text[offset:]
                whole = shifted[: len(shifted) - len(shifted) % 4]
                padded = shifted[: len(shifted) - (len(shifted) % 4 == 1)]
                padded += "=" * (-len(padded) % 4)
                for candidate in (whole, padded):
                    yield base64.b64decode(candidate, altchars=alphabet[-2:].encode())


def readable_words(value: str) -> list[str]:
    """The private words found in ``value`` itself or in any base64 reading of it."""
    texts = [value.encode(), *base64_readings(value)]
    return [word for word in PRIVATE_WORDS if any(word.encode() in text for text in texts)]


def test_encrypted_value_reveals_no_key_or_value_of_the_session() -> None:
    for _ in range(20):  # a fresh nonce each time shifts nothing into view either
        assert readable_words(sealer().encode(PRIVATE)) == []


def test_signed_value_reveals_every_word_to_the_same_reading() -> None:
    # The contrast that shows the reading above would find a leak.
    assert readable_words(signer().encode(PRIVATE)) == PRIVATE_WORDS


def test_every_single_character_change_is_refused() -> None:
    codec = sealer()
    value = codec.encode({"user": "alice", "n": 1})
    assert codec.verify(value).data == {"user": "alice", "n": 1}  # now in the decoded cache
    changed = 0
    for position, original in enumerate(value):
        for replacement in COOKIE_OCTETS:
            if replacement != original:
                mutated = value[:position] + replacement + value[position + 1 :]
                with pytest.raises(CookieRejected):
                    codec.verify(mutated)
                changed += 1
    assert changed == len(value) * (len(COOKIE_OCTETS) - 1)


def test_every_truncation_and_extension_is_refused() -> None:
    codec = sealer()
    value = codec.encode({"user": "alice"})

    for length in range(len(value)):
        with pytest.raises(CookieRejected):
            codec.verify(value[:length])
    for extra in ("A", "AA", "AAA", "AAAA", "="):
        with pytest.raises(CookieRejected):
            codec.verify(value + extra)


@pytest.mark.parametrize("json_length", range(20, 23))  # each remainder of the bytes modulo 3
def test_unused_bits_of_the_last_character_are_refused(json_length: int) -> None:
    codec = sealer()
    session = {"k": "x" * (json_length - len('{"k": ""}'))}
    value = codec.encode(session)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # A neighbour in the alphabet differs in the lowest bit, unused when the body does not
    # end on a whole 4-character group.
    last = alphabet.index(value[-1])
    twin = value[:-1] + alphabet[last ^ 1]
    body = twin[len("~1.") :].encode()
    same_bytes = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)) == (
        base64.urlsafe_b64decode(value[3:].encode() + b"=" * (-len(body) % 4))
    )

    assert codec.verify(value).data == session
    assert rejection_kind(codec, twin) == ("malformed" if same_bytes else "decrypt")


def test_plus_and_slash_do_not_stand_for_minus_and_underscore() -> None:
    codec = sealer()
    value = next(v for v in (codec.encode({"n": n}) for n in range(200)) if "-" in v[3:])
    position = value.index("-", 3)

    assert rejection_kind(codec, value[:position] + "+" + value[position + 1 :]) == "malformed"


def test_unknown_format_version_is_refused_as_malformed() -> None:
    value = sealer().encode({"n": 1})

    assert rejection_kind(sealer(), "~2." + value[3:]) == "malformed"


def test_value_over_4096_bytes_is_refused_before_any_decryption() -> None:
    codec = sealer()
    value = codec.encode({"n": 1})
    codec._ciphers = ()  # no key at all: any decryption would now fail as "decrypt"
    too_long = value + "A" * (MAX_COOKIE_BYTES + 1 - len(value))

    with pytest.raises(CookieTooLarge):
        codec.verify(too_long)


def test_non_ascii_value_is_malformed() -> None:
    assert rejection_kind(sealer(), "~1.é") == "malformed"


def test_message_of_a_rejection_never_contains_the_value() -> None:
    codec = sealer()
    value = codec.encode(PRIVATE)
    tampered = value[:-5] + ("B" if value[-5] != "B" else "C") + value[-4:]

    with pytest.raises(CookieDecryptionFailed) as caught:
        codec.verify(tampered)

    assert caught.value.kind == "decrypt"
    assert value[3:20] not in str(caught.value)


# -- time -------------------------------------------------------------------------------------


def test_cookie_is_valid_up_to_max_age() -> None:
    value = sealer().encode({"n": 1})

    assert sealer(now=NOW + MAX_AGE).verify(value).data == {"n": 1}


def test_cookie_older_than_max_age_is_expired() -> None:
    value = sealer().encode({"n": 1})

    with pytest.raises(CookieExpired) as caught:
        sealer(now=NOW + MAX_AGE + 1).verify(value)

    assert (caught.value.signed_at, caught.value.age) == (NOW, MAX_AGE + 1)


def test_no_max_age_means_no_age_limit() -> None:
    value = sealer().encode({"n": 1})

    assert sealer(max_age=None, now=NOW + 10**8).verify(value).data == {"n": 1}


@pytest.mark.parametrize("max_age", [MAX_AGE, None])
def test_future_signing_time_is_refused_beyond_the_clock_skew(max_age: int | None) -> None:
    ahead = sealer(now=NOW + CLOCK_SKEW_SECONDS + 1).encode({"n": 1})
    within = sealer(now=NOW + CLOCK_SKEW_SECONDS).encode({"n": 1})

    with pytest.raises(CookieSignatureInvalid):
        sealer(max_age=max_age).verify(ahead)
    assert sealer(max_age=max_age).verify(within).signed_at == NOW + CLOCK_SKEW_SECONDS


def test_age_counts_from_the_signing_time() -> None:
    assert sealer(now=NOW + 42).age(NOW) == 42


# -- keys and names ---------------------------------------------------------------------------


def test_fallback_key_opens_with_its_index_and_asks_to_be_sent_again() -> None:
    old_cookie = sealer(OTHER_SECRET).encode({"n": 1})

    cookie = sealer(SECRET, OTHER_SECRET).verify(old_cookie)

    assert (cookie.data, cookie.key_index, cookie.stale) == ({"n": 1}, 1, True)


def test_only_the_current_key_encrypts() -> None:
    value = sealer(SECRET, OTHER_SECRET).encode({"n": 1})

    assert sealer(SECRET).verify(value).key_index == 0
    assert rejection_kind(sealer(OTHER_SECRET), value) == "decrypt"


def test_unknown_key_is_refused_as_decrypt() -> None:
    value = sealer(OTHER_SECRET).encode({"n": 1})

    assert rejection_kind(sealer(SECRET), value) == "decrypt"


def test_cookie_of_another_cookie_name_is_refused() -> None:
    admin_cookie = sealer(cookie_name="admin").encode({"role": "admin"})

    assert rejection_kind(sealer(cookie_name="session"), admin_cookie) == "decrypt"
    assert sealer(cookie_name="admin").verify(admin_cookie).data == {"role": "admin"}


# -- the other format, both ways --------------------------------------------------------------


def test_sealed_codec_accepts_a_signed_cookie_as_the_other_format() -> None:
    cookie = sealer().verify(signer().encode({"n": 1}))

    assert (cookie.data, cookie.key_index, cookie.other_format, cookie.stale) == (
        {"n": 1},
        0,
        True,
        True,
    )


def test_sealed_codec_checks_a_signed_cookies_key_and_age() -> None:
    assert sealer(SECRET, OTHER_SECRET).verify(signer(OTHER_SECRET).encode({})).key_index == 1
    assert rejection_kind(sealer(SECRET), signer(OTHER_SECRET).encode({"n": 1})) == "signature"
    assert rejection_kind(sealer(now=NOW + MAX_AGE + 1), signer().encode({"n": 1})) == "expired"


def test_sealed_codec_refuses_a_signed_cookie_when_accept_signed_is_false() -> None:
    codec = SealedCodec([SECRET], max_age=MAX_AGE, clock=lambda: NOW, accept_signed=False)

    with pytest.raises(CookieRejected) as caught:
        codec.verify(signer().encode({"n": 1}))

    assert caught.value.kind == "malformed"
    assert "only encrypted ones are accepted" in caught.value.reason
    assert codec.verify(sealer().encode({"n": 1})).data == {"n": 1}


def test_signed_codec_made_alone_refuses_an_encrypted_cookie() -> None:
    alone = SessionCodec([SECRET], max_age=MAX_AGE, clock=lambda: NOW)

    with pytest.raises(CookieDecryptionFailed, match="opens signed cookies only"):
        alone.verify(sealer().encode(PRIVATE))


def test_signed_codec_accepts_an_encrypted_cookie_as_the_other_format() -> None:
    cookie = signer().verify(sealer().encode(PRIVATE))

    assert (cookie.data, cookie.signed_at, cookie.other_format, cookie.stale) == (
        PRIVATE,
        NOW,
        True,
        True,
    )


def test_signed_codec_opens_encrypted_cookies_with_fallback_keys_and_checks_their_age() -> None:
    old_cookie = sealer(OTHER_SECRET).encode({"n": 1})

    assert signer(SECRET, OTHER_SECRET).verify(old_cookie).key_index == 1
    assert rejection_kind(signer(SECRET), old_cookie) == "decrypt"
    assert rejection_kind(signer(now=NOW + MAX_AGE + 1), sealer().encode({"n": 1})) == "expired"


def test_signed_codec_refuses_a_changed_encrypted_cookie() -> None:
    value = sealer().encode({"n": 1})
    tampered = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]

    assert rejection_kind(signer(), tampered) in {"decrypt", "malformed"}


def run_without_cryptography(code: str) -> str:
    """Run ``code`` in a fresh interpreter where ``import cryptography`` fails."""
    prelude = "import sys; sys.modules['cryptography'] = None\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_without_cryptography_an_encrypted_cookie_is_refused_naming_the_extra() -> None:
    value = sealer(now=time.time()).encode({"n": 1})
    code = (
        "from cookie_session import SessionConfig, CookieRejected\n"
        "from cookie_session.cookie import make_codec\n"
        f"codec = make_codec(SessionConfig(secret_key={SECRET!r}, max_age=3600))\n"
        "for _ in range(2):\n"
        "    try:\n"
        f"        codec.verify({value!r})\n"
        "    except CookieRejected as rejection:\n"
        "        print(rejection.kind, rejection.reason)\n"
    )

    lines = run_without_cryptography(code).splitlines()

    assert len(lines) == 2
    assert all(line.startswith("decrypt ") for line in lines)
    assert "pip install 'cookie-session[encryption]'" in lines[0]


def test_without_cryptography_a_sealed_codec_cannot_be_made() -> None:
    code = (
        "from cookie_session.sealed import SealedCodec\n"
        "try:\n"
        f"    SealedCodec([{SECRET!r}], max_age=None)\n"
        "except ImportError as error:\n"
        "    print(error.name, error)\n"
    )

    output = run_without_cryptography(code)

    assert output.startswith("cryptography ")
    assert "cookie-session[encryption]" in output


def test_signed_sessions_work_without_cryptography() -> None:
    code = (
        "from cookie_session import SessionMiddleware\n"
        f"middleware = SessionMiddleware(None, secret_key={SECRET!r})\n"
        "print(middleware.codec.verify(middleware.codec.encode({'n': 1})).data)\n"
    )

    assert run_without_cryptography(code) == "{'n': 1}"


def test_neither_the_package_nor_signed_sessions_import_cryptography() -> None:
    code = (
        "import sys, cookie_session\n"
        "print('cryptography' in sys.modules)\n"
        f"middleware = cookie_session.SessionMiddleware(None, secret_key={SECRET!r})\n"
        "middleware.codec.verify(middleware.codec.encode({'n': 1}))\n"
        "print('cryptography' in sys.modules)\n"
        f"cookie_session.SessionMiddleware(None, secret_key={SECRET!r}, encrypt=True)\n"
        "print('cryptography' in sys.modules)\n"  # the contrast: encryption does import it
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["False", "False", "True"]


# -- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
sessions = st.dictionaries(st.text(max_size=10), json_values, max_size=6)
MAX_SESSION_JSON = 3000
"""Longer JSON would make a cookie over 4096 bytes, which is refused before it is opened."""


@settings(max_examples=300, deadline=None)
@given(session=sessions)
def test_any_json_object_round_trips(session: dict[str, Any]) -> None:
    assume(len(SessionCodec.serialise(session)) <= MAX_SESSION_JSON)
    cookie = sealer().verify(sealer().encode(session))

    assert cookie.data == json.loads(SessionCodec.serialise(session))
    assert cookie.json_text == SessionCodec.serialise(session)


@settings(max_examples=500, deadline=None)
@given(
    session=sessions,
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["replace", "delete", "insert"]),
            st.sampled_from(COOKIE_OCTETS),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_any_mutation_is_refused(
    session: dict[str, Any], edits: list[tuple[int, str, str]]
) -> None:
    assume(len(SessionCodec.serialise(session)) <= MAX_SESSION_JSON)
    codec = sealer()
    value = codec.encode(session)
    mutated = value
    for position, edit, character in edits:
        at = position % (len(mutated) + 1)
        if edit == "replace":
            mutated = mutated[:at] + character + mutated[at + 1 :]
        elif edit == "delete":
            mutated = mutated[:at] + mutated[at + 1 :]
        else:
            mutated = mutated[:at] + character + mutated[at:]
    if mutated == value:
        return
    with pytest.raises(CookieRejected):
        codec.verify(mutated)


# -- through the middleware -------------------------------------------------------------------


async def show(request: Request) -> Response:
    return JSONResponse(dict(get_session(request)))


async def count(request: Request) -> Response:
    session = get_session(request)
    session["n"] = session.get("n", 0) + 1
    return JSONResponse(dict(session))


async def store(request: Request) -> Response:
    session = get_session(request)
    session.update(await request.json())
    return JSONResponse({"stored": True})


async def clear(request: Request) -> Response:
    get_session(request).clear()
    return JSONResponse({"cleared": True})


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/show", show),
            Route("/count", count),
            Route("/store", store, methods=["POST"]),
            Route("/clear", clear),
        ]
    )


def middleware(**fields: Unpack[SessionFields]) -> SessionMiddleware:
    fields.setdefault("secret_key", SECRET)
    fields.setdefault("encrypt", True)
    return SessionMiddleware(app(), **fields)


def client(**fields: Unpack[SessionFields]) -> TestClient:
    return TestClient(middleware(**fields))


def sent_value(response: Any) -> str | None:
    """The session cookie's value in the response's one Set-Cookie, or None without one."""
    headers = response.headers.get_list("set-cookie")
    if not headers:
        return None
    assert len(headers) == 1, headers
    name, _, rest = headers[0].partition("=")
    assert name == "session"
    return str(rest.split(";")[0])


def test_middleware_writes_encrypted_cookies_and_reads_them_back() -> None:
    browser = client()

    value = sent_value(browser.get("/count"))

    assert value is not None
    assert value.startswith("~1.")
    assert browser.get("/count").json() == {"n": 2}


def test_unchanged_encrypted_session_sends_no_cookie() -> None:
    browser = client()
    browser.get("/count")

    response = browser.get("/show")

    assert response.json() == {"n": 1}
    assert sent_value(response) is None


def test_emptied_encrypted_session_deletes_the_cookie() -> None:
    browser = client()
    browser.get("/count")

    response = browser.get("/clear")

    assert response.headers["set-cookie"].startswith("session=; Max-Age=0;")


def test_signed_cookie_is_re_sent_encrypted_on_a_read_only_request() -> None:
    browser = client()
    browser.cookies.set("session", signer(now=time.time()).encode({"n": 5}))

    response = browser.get("/show")

    value = sent_value(response)
    assert response.json() == {"n": 5}
    assert value is not None
    assert value.startswith("~1.")
    assert sealer(now=time.time()).verify(value).data == {"n": 5}


def test_signed_cookie_gives_an_empty_session_when_accept_signed_is_false(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cookie_session")
    site = middleware(accept_signed=False)
    browser = TestClient(site)
    browser.cookies.set("session", signer(now=time.time()).encode({"user": "mallory"}))

    response = browser.get("/show")

    assert (response.status_code, response.json()) == (200, {})
    assert sent_value(response) is None
    assert site.stats().cookies_rejected["malformed"] == 1
    assert site.stats().cookies_accepted == 0
    assert "session cookie rejected: a signed cookie, and only encrypted ones" in caplog.text


def test_encrypted_cookie_is_accepted_when_accept_signed_is_false() -> None:
    site = middleware(accept_signed=False)
    browser = TestClient(site)
    browser.cookies.set("session", sealer(now=time.time()).encode({"n": 5}))

    response = browser.get("/show")

    assert response.json() == {"n": 5}
    assert sent_value(response) is None  # already in the format written: nothing to re-send
    assert site.stats().cookies_accepted == 1
    assert sum(site.stats().cookies_rejected.values()) == 0


def test_encrypted_cookie_is_re_sent_signed_when_encryption_is_off() -> None:
    browser = client(encrypt=False)
    browser.cookies.set("session", sealer(now=time.time()).encode({"n": 5}))

    response = browser.get("/show")

    value = sent_value(response)
    assert response.json() == {"n": 5}
    assert value is not None
    assert value.startswith("eyJ")
    assert signer(now=time.time()).verify(value).data == {"n": 5}


def test_cookie_sealed_with_a_fallback_key_is_sealed_again_with_the_current_key() -> None:
    browser = client(secret_key=SECRET, secret_key_fallbacks=[OTHER_SECRET])
    browser.cookies.set("session", sealer(OTHER_SECRET, now=time.time()).encode({"n": 5}))

    value = sent_value(browser.get("/show"))

    assert value is not None
    assert sealer(SECRET, now=time.time()).verify(value).key_index == 0


def test_limit_is_measured_on_the_encrypted_cookie() -> None:
    # A session whose signed cookie fits, but whose encrypted one (16 bytes longer) does not.
    attributes = "; Max-Age=1209600; Path=/; HttpOnly; SameSite=Lax"
    padding = next(
        n
        for n in range(2900, 3100)
        if len("session=" + signer().encode({"p": "x" * n}) + attributes)
        <= MAX_COOKIE_BYTES
        < len("session=" + sealer().encode({"p": "x" * n}) + attributes)
    )
    signed_browser, encrypted_browser = client(encrypt=False), client()

    assert signed_browser.post("/store", json={"p": "x" * padding}).status_code == 200
    with pytest.raises(SessionTooLarge) as caught:
        encrypted_browser.post("/store", json={"p": "x" * padding})

    assert caught.value.size > MAX_COOKIE_BYTES


@pytest.mark.parametrize("position", range(0, 60, 3))
def test_changed_encrypted_cookie_gives_an_empty_session_and_counts_as_decrypt(
    position: int,
) -> None:
    site = middleware()
    browser = TestClient(site)
    value = sealer(now=time.time()).encode({"n": 5})
    changed = "B" if value[position] != "B" else "C"
    browser.cookies.set("session", value[:position] + changed + value[position + 1 :])

    response = browser.get("/show")

    assert (response.status_code, response.json()) == (200, {})
    rejected = site.stats().cookies_rejected
    assert sum(rejected.values()) == 1
    assert rejected["decrypt"] + rejected["malformed"] == 1


def test_stats_list_decrypt_only_with_encryption() -> None:
    assert middleware().stats().cookies_rejected == {
        "signature": 0,
        "expired": 0,
        "malformed": 0,
        "too_large": 0,
        "decrypt": 0,
    }
    assert "decrypt" not in middleware(encrypt=False).stats().cookies_rejected


def test_debug_log_names_the_reason_never_the_value_or_the_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    value = sealer(OTHER_SECRET, now=time.time()).encode(PRIVATE)
    browser = client()
    browser.cookies.set("session", value)

    browser.get("/show")

    assert "session cookie rejected: encrypted cookie does not open with any key" in caplog.text
    assert value[3:30] not in caplog.text
    assert value[-20:] not in caplog.text
    assert not [word for word in PRIVATE_WORDS if word in caplog.text]


def test_expired_encrypted_cookie_gives_an_empty_session() -> None:
    browser = client(max_age=60)
    browser.cookies.set("session", sealer(now=time.time() - 61).encode({"n": 5}))

    assert browser.get("/show").json() == {}


def test_expired_encrypted_cookie_gives_an_empty_session_when_encryption_is_off() -> None:
    browser = client(encrypt=False, max_age=60)
    browser.cookies.set("session", sealer(now=time.time() - 61).encode({"n": 5}))

    assert browser.get("/show").json() == {}


def test_refresh_after_re_seals_an_old_cookie() -> None:
    browser = client(max_age=MAX_AGE, refresh_after=60)
    browser.cookies.set("session", sealer(now=time.time() - 61).encode({"n": 5}))

    value = sent_value(browser.get("/show"))

    assert value is not None
    assert sealer(now=time.time()).verify(value).signed_at >= int(time.time()) - 1


class Cart(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    items: list[str] = []


cart_session = TypedSession(Cart, key="cart")


async def add_to_cart(request: Request) -> Response:
    cart = cart_session.load(request)
    cart.items = [*cart.items, request.query_params["item"]]
    return JSONResponse(cart.model_dump())


def test_typed_sessions_work_with_encryption() -> None:
    site = SessionMiddleware(
        Starlette(routes=[Route("/add", add_to_cart)]), secret_key=SECRET, encrypt=True
    )
    browser = TestClient(site)

    browser.get("/add", params={"item": "tea"})
    response = browser.get("/add", params={"item": "scones"})

    assert response.json() == {"items": ["tea", "scones"]}
    value = browser.cookies["session"]
    assert value.startswith("~1.")
    assert readable_words(value) == []
    assert sealer(now=time.time()).verify(value).data == {"cart": {"items": ["tea", "scones"]}}
