"""The session cookie's value: JSON, base64, signed with a timestamp. No ASGI in here.

The format is Starlette's SessionMiddleware's, byte for byte, so sessions survive a switch between
the two in either direction::

    value     = payload "." timestamp "." signature
    payload   = standard base64 (with padding) of json.dumps(session) in UTF-8
    timestamp = URL-safe base64, no padding, of int(time()) big-endian without leading zero bytes
    signature = URL-safe base64, no padding, of HMAC-SHA1(key, payload "." timestamp)
    key       = SHA1(b"itsdangerous.Signer" b"signer" secret)

That is :class:`itsdangerous.TimestampSigner` with its defaults, and itsdangerous still provides
the key and the timestamp written into new cookies. What this module does itself is the
per-request part: the HMAC, with the key's inner and outer states hashed once per secret instead
of on every call (itsdangerous derives the key again for each ``sign`` and ``unsign``), and the
reading of a cookie's timestamp; ``tests/test_codec.py`` checks both against itsdangerous. It is
also stricter than itsdangerous in one respect: a signature must be in its one canonical
encoding, so no character of a valid cookie can be changed without the cookie being refused.

A value starting with :data:`SEALED_MARK` is an encrypted cookie (``cookie_session.sealed``),
which no signed value can be: it is opened, when ``cryptography`` is installed, so that a site
turning encryption off logs nobody out.
"""

from __future__ import annotations

import binascii
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, NamedTuple, NoReturn, Protocol

import msgspec
from itsdangerous import TimestampSigner
from itsdangerous.encoding import base64_encode, int_to_bytes
from pybase64 import b64decode as _fast_b64decode

from cookie_session.exceptions import (
    CookieDecryptionFailed,
    CookieExpired,
    CookieMalformed,
    CookieSignatureInvalid,
    CookieTooLarge,
)


class CookieVerifier(Protocol):
    """What a codec of another format offers this one: verifying its cookies."""

    def verify(self, value: bytes) -> VerifiedCookie: ...


__all__ = [
    "CLOCK_SKEW_SECONDS",
    "MAX_COOKIE_BYTES",
    "SEALED_MARK",
    "SIGNATURE_LENGTH",
    "SessionCodec",
    "VerifiedCookie",
    "decode_json",
    "derive_key",
]

MAX_COOKIE_BYTES: Final = 4096
"""Browsers store at most this many bytes per cookie; larger ones are dropped without a word."""

CLOCK_SKEW_SECONDS: Final = 60
"""How far in the future a cookie's timestamp may be, so that servers whose clocks differ a
little accept each other's fresh cookies (itsdangerous alone refuses any future timestamp)."""

_HMAC_BLOCK_SIZE: Final = 64  # SHA-1's block size
_INNER_PAD: Final = bytes(x ^ 0x36 for x in range(256))
_OUTER_PAD: Final = bytes(x ^ 0x5C for x in range(256))
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")

SIGNATURE_LENGTH: Final = 27
"""Characters of a signature: 20 bytes of HMAC-SHA1 in URL-safe base64 without padding."""
_MAX_TIMESTAMP_LENGTH: Final = 11  # 8 bytes (the most itsdangerous reads) in base64

SEALED_MARK: Final = b"~"
"""The first character of every encrypted cookie: in no base64 alphabet, so never the first
character of a signed one, and still a valid cookie character."""

_fast_json_decode = msgspec.json.Decoder().decode
_new_tuple = tuple.__new__
_compare_digest = hmac.compare_digest
# Up to this many characters of base64, binascii decodes faster than pybase64 (whose fixed cost
# per call is about that of binascii decoding 180 characters; measured on Python 3.11).
_SHORT_BASE64: Final = 160
# json.dumps() with its defaults (Starlette's exact form), minus the per-call set-up of the
# pure-Python wrapper: the C encoder, built once.
_encode_json = json.encoder.c_make_encoder(  # type: ignore[attr-defined]  # C accelerator, not in the stubs
    None,  # no circular-reference bookkeeping: a cycle ends in RecursionError instead
    json.JSONEncoder().default,
    json.encoder.encode_basestring_ascii,
    None,
    ": ",
    ", ",
    False,
    False,
    True,
)


def derive_key(secret: str) -> bytes:
    """The HMAC key of ``itsdangerous.TimestampSigner(secret)``."""
    return TimestampSigner(secret).derive_key()


class _Signer:
    """HMAC-SHA1 under one key, with the padded-key states hashed once (RFC 2104)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str) -> None:
        key = derive_key(secret).ljust(_HMAC_BLOCK_SIZE, b"\0")
        # SHA-1 is the format's (itsdangerous's default); HMAC-SHA1 remains a sound MAC.
        self._inner = hashlib.sha1(key.translate(_INNER_PAD))  # noqa: S324
        self._outer = hashlib.sha1(key.translate(_OUTER_PAD))  # noqa: S324

    def signature(self, message: bytes) -> bytes:
        """The URL-safe base64 signature of ``message``, as itsdangerous writes it."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return binascii.b2a_base64(outer.digest(), newline=False).translate(_TO_URLSAFE)[:-1]


class VerifiedCookie(NamedTuple):
    """A cookie that passed every check."""

    data: dict[str, Any]
    """The session, decoded (a new object for every call: the caller may change it)."""
    json_text: str
    """The JSON the cookie carried: the session is unchanged while it serialises to this."""
    signed_at: int
    """When it was signed, in seconds since the epoch."""
    key_index: int
    """0 when the current key verified it, ``n`` for the n-th fallback key."""
    other_format: bool = False
    """Valid, but in a format this configuration no longer writes (a signed cookie when
    cookies are encrypted, or the reverse): it is sent again in the current one."""

    @property
    def stale(self) -> bool:
        """Whether the cookie must be sent again, re-signed, even if the session is unchanged."""
        return self.key_index > 0 or self.other_format


class SessionCodec:
    """Signs sessions into cookie values and verifies cookie values back into sessions.

    ``secret_keys`` holds the current key first, then the fallbacks, which are only ever used to
    verify. ``max_age`` (seconds, or ``None`` for no limit) is enforced on the signing time.

    Every cookie is verified and decoded in full, every time: no per-cookie cache (a site with
    many visitors sees mostly cookies it has not decoded yet, and msgspec reads a 2 KB session
    in about the time a cached copy took to restore; docs/performance.md has the figures).

    Given ``open_sealed`` (as :func:`cookie_session.cookie.make_codec` gives it), it also opens
    encrypted cookies with the codec that function returns on the first one, with
    ``other_format`` set: they are sent again signed. Without it, an encrypted cookie is
    refused (this module knows nothing of the encrypted format but its mark).
    """

    __slots__ = (
        "_open_sealed",
        "_sealed",
        "_signers",
        "_timestamp",
        "clock",
        "max_age",
    )

    rejection_reasons: ClassVar[tuple[str, ...]] = (
        "signature",
        "expired",
        "malformed",
        "too_large",
    )
    """The :attr:`~cookie_session.exceptions.CookieRejected.kind` of every rejection
    :meth:`verify` raises for a cookie of this format (the stats list each, even at zero)."""

    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        max_age: int | None,
        clock: Callable[[], float] = time.time,
        open_sealed: Callable[[SessionCodec], CookieVerifier] | None = None,
    ) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is required")
        self._signers = tuple(_Signer(secret) for secret in secret_keys)
        self._open_sealed = open_sealed
        self._sealed: CookieVerifier | None = None  # made on the first encrypted cookie
        self.max_age = max_age
        self.clock = clock
        """Where this codec reads the time (a codec of the other format it opens shares it)."""
        self._timestamp = (-1, b"")  # the last second signed in, and its encoding

    # -- writing ---------------------------------------------------------------------------

    @staticmethod
    def serialise(session: Mapping[str, Any]) -> str:
        """The session as JSON, in the form the cookie carries.

        Raises :class:`TypeError` naming the key whose value JSON cannot represent.
        """
        try:
            return "".join(_encode_json(session, 0))
        except (TypeError, ValueError, RecursionError) as error:
            raise _name_the_key(session, error) from error

    def sign(self, json_text: str) -> str:
        """A cookie value carrying ``json_text``, signed now with the current key."""
        payload = binascii.b2a_base64(json_text.encode("utf-8"), newline=False)
        now = int(self.clock())
        second, timestamp = self._timestamp
        if second != now:
            timestamp = base64_encode(int_to_bytes(now))
            self._timestamp = (now, timestamp)
        signed = payload + b"." + timestamp
        return (signed + b"." + self._signers[0].signature(signed)).decode("ascii")

    def encode(self, session: Mapping[str, Any]) -> str:
        """Serialise and sign ``session`` into a cookie value."""
        return self.sign(self.serialise(session))

    # -- reading ---------------------------------------------------------------------------

    def verify(self, value: bytes | str) -> VerifiedCookie:
        """Check a cookie value and decode its session.

        Raises a :class:`~cookie_session.exceptions.CookieRejected` subclass saying why the value
        cannot be trusted; the value itself never appears in the exception.
        """
        if isinstance(value, str):
            if not value.isascii():
                raise CookieMalformed("cookie is not ASCII")
            value = value.encode("ascii")
        if len(value) > MAX_COOKIE_BYTES:
            raise CookieTooLarge("cookie of %d bytes is over %d", len(value), MAX_COOKIE_BYTES)
        if value.startswith(SEALED_MARK):
            return self._verify_sealed(value)
        signed, _, signature = value.rpartition(b".")
        # The shape is checked before any HMAC, so bogus values cost no hashing at all.
        dot = signed.rfind(b".")
        timestamp_length = len(signed) - dot - 1
        if len(signature) != SIGNATURE_LENGTH or dot < 1 or timestamp_length == 0:
            raise CookieMalformed("not a signed value")
        if timestamp_length > _MAX_TIMESTAMP_LENGTH:
            raise CookieMalformed("timestamp is more than %d characters", _MAX_TIMESTAMP_LENGTH)
        # The current key first, without a loop: almost every cookie was signed with it.
        if _compare_digest(self._signers[0].signature(signed), signature):
            key_index = 0
        else:
            key_index = self._matching_fallback_key(signed, signature)
        payload, timestamp = signed[:dot], signed[dot + 1 :]
        try:  # itsdangerous's bytes_to_int(base64_decode(timestamp)), at half the cost
            if not timestamp.isalnum():  # "-" or "_": URL-safe base64's own characters
                timestamp = timestamp.translate(_FROM_URLSAFE)
            signed_at = int.from_bytes(binascii.a2b_base64(timestamp + b"=="), "big")
        except binascii.Error:
            raise CookieMalformed("timestamp is not base64") from None
        age = int(self.clock()) - signed_at
        if age < -CLOCK_SKEW_SECONDS or (self.max_age is not None and age > self.max_age):
            self._refuse_age(age, signed_at, payload)
        # decode_payload()'s common case inline (this runs on every request with a cookie):
        # canonical base64 of a JSON object. Anything else, valid or not, goes through it.
        try:
            # Short payloads (dot == len(payload)): binascii's lenient decoder, Starlette's own,
            # which gives what pybase64 would for canonical base64 and never refuses less.
            if dot <= _SHORT_BASE64:
                raw = binascii.a2b_base64(payload)
            else:
                raw = _fast_b64decode(payload, validate=True)
            data = _fast_json_decode(raw)
        except (msgspec.MsgspecError, ValueError, RecursionError):
            data = None
        if type(data) is dict:
            json_text = raw.decode("utf-8", "replace")
        else:
            data, json_text = decode_payload(payload)
        # tuple.__new__: the NamedTuple without its pure-Python constructor.
        return _new_tuple(VerifiedCookie, (data, json_text, signed_at, key_index, False))

    def age(self, signed_at: int) -> int:
        """Seconds since ``signed_at`` by this codec's clock."""
        return int(self.clock()) - signed_at

    def without_age_limit(self) -> SessionCodec:
        """This codec with no ``max_age``: for a cookie whose session carries a lifetime of
        its own, checked by the caller (future signing times are still refused)."""
        unlimited = copy.copy(self)
        unlimited.max_age = None
        return unlimited

    def _verify_sealed(self, value: bytes) -> VerifiedCookie:
        """An encrypted cookie, opened with the same keys: valid, but to be sent again signed."""
        if self._sealed is None:
            if self._open_sealed is None:
                raise CookieDecryptionFailed(
                    "encrypted cookie, and this codec opens signed cookies only"
                )
            self._sealed = self._open_sealed(self)
        return self._sealed.verify(value)._replace(other_format=True)

    def _refuse_age(self, age: int, signed_at: int, payload: bytes) -> NoReturn:
        """Raise for a cookie signed too long ago, or too far in the future."""
        # Refused whatever max_age is: no server signs in the future, so such a cookie was made
        # with a stolen key (or a badly wrong clock) to outlive every expiry.
        if age < -CLOCK_SKEW_SECONDS:
            raise CookieSignatureInvalid("signed %d seconds in the future", -age)
        raise CookieExpired(
            "expired: signed %d seconds ago, max_age is %d",
            age,
            self.max_age,
            signed_at=signed_at,
            age=age,
            payload=payload,
        )

    def _matching_fallback_key(self, signed: bytes, signature: bytes) -> int:
        """The index of the fallback key that signed ``signed``; the canonical encoding is
        required."""
        for key_index, signer in enumerate(self._signers[1:], start=1):
            if hmac.compare_digest(signer.signature(signed), signature):
                return key_index
        raise CookieSignatureInvalid("signature does not match any key")


def decode_payload(payload: bytes) -> tuple[dict[str, Any], str]:
    """The session and its JSON text from a cookie's (already verified) payload.

    Read as Starlette reads it (``json.loads(base64.b64decode(payload))``), only faster:
    pybase64's vectorised decoder takes canonical base64, which is what every writer of the
    format produces; anything else goes to binascii's lenient decoder, which skips characters
    outside the alphabet as ``b64decode`` does.
    """
    try:
        raw = _fast_b64decode(payload, validate=True)
    except ValueError:  # binascii.Error
        try:
            raw = binascii.a2b_base64(payload)
        except binascii.Error:
            raise CookieMalformed("payload is not base64") from None
    # The text is compared with the session's JSON at response time; any byte that is not UTF-8
    # becomes U+FFFD, which JSON written by serialise() (ASCII only) never holds.
    return decode_json(raw), raw.decode("utf-8", "replace")


def decode_json(text: str | bytes) -> dict[str, Any]:
    """The session in a cookie's (already verified) JSON, read as ``json.loads`` reads it.

    msgspec's parser reads what the format's writers produce, several times faster than
    ``json.loads``, with the same results (integers of any size included, the last of
    duplicate keys winning). What it refuses, ``json.loads`` may still accept: NaN and
    Infinity, numbers beyond a float's range, a byte-order mark, lone surrogates, UTF-16 or -32
    bytes. Those are read again by ``json.loads`` itself, so nothing it accepts is refused.
    """
    try:
        data = _fast_json_decode(text)
    # msgspec raises its DecodeError (a ValueError only from 0.19), or UnicodeDecodeError before.
    except (msgspec.MsgspecError, ValueError, RecursionError):
        try:
            data = json.loads(text)
        except UnicodeDecodeError:
            raise CookieMalformed("payload is not UTF-8 text") from None
        except (ValueError, RecursionError):
            raise CookieMalformed("payload is not JSON") from None
    if type(data) is not dict:
        raise CookieMalformed("payload is JSON %s, not an object", type(data).__name__)
    return data


def encode_json_value(value: Any) -> str:
    """``json.dumps(value)``, with its defaults; a cycle ends in RecursionError."""
    return "".join(_encode_json(value, 0))


def decode_json_value(text: str) -> Any:
    """Any JSON value, read as ``json.loads`` reads it, msgspec first as in :func:`decode_json`;
    ``ValueError`` or ``RecursionError`` when it is no JSON at all."""
    try:
        return _fast_json_decode(text)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return json.loads(text)


def _name_the_key(session: Mapping[Any, Any], error: Exception) -> TypeError:
    """Find which top-level entry JSON could not represent, for a message a person can act on."""
    for key, value in session.items():
        if not isinstance(key, str | int | float | bool) and key is not None:
            return TypeError(f"session key {key!r} is not a string: {error}")
        try:
            "".join(_encode_json(value, 0))
        except (TypeError, ValueError, RecursionError) as value_error:
            return TypeError(f"session[{key!r}] cannot be stored in a cookie: {value_error}")
    return TypeError(f"the session cannot be stored in a cookie: {error}")
