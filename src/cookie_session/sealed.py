"""Encrypted session cookies (``encrypt=True``), and the choice between the two cookie formats.

A sealed cookie hides the session from whoever holds the cookie (the browser, its extensions, a
proxy's log): only the servers that hold a secret key can read it or make one::

    value      = "~1." body
    body       = URL-safe base64, no padding, of nonce || ciphertext || tag
    nonce      = 12 random bytes (os.urandom), new for every cookie written
    ciphertext, tag = AES-256-GCM(key, nonce, plaintext, associated data)
    plaintext  = signed_at || JSON of the session in UTF-8 (the form SessionCodec writes)
    signed_at  = 8 bytes, big-endian: when the cookie was sealed, in seconds since the epoch
    associated data = "~1." cookie name (authenticated, not sent)
    key        = HKDF-SHA256(secret in UTF-8, no salt, info "cookie-session sealed v1 AES-256-GCM")

``~`` is in no base64 alphabet, so no signed (Starlette-format) value starts with it; ``1`` is
the format's version. The signing time is inside the authenticated plaintext, so ``max_age``,
the clock-skew rule and ``refresh_after`` work as for signed cookies, and the cookie name in the
associated data keeps a cookie of one application (``admin``) from being accepted as another's
(``session``) where both share a secret. The key is derived with its own HKDF label, apart from
the signing key (itsdangerous's SHA-1 derivation) made from the same secret.

Every byte is authenticated: a changed cookie fails as a whole (:class:`CookieDecryptionFailed`),
and the base64 text must be the one canonical encoding of its bytes, so no character of a valid
cookie can be changed without the cookie being refused.

``cryptography`` is an optional dependency, imported only when a :class:`SealedCodec` is made:
``import cookie_session`` and signed-only sites do without it.
"""

from __future__ import annotations

import binascii
import copy
import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

from cookie_session.codec import (
    CLOCK_SKEW_SECONDS,
    MAX_COOKIE_BYTES,
    SEALED_MARK,
    SessionCodec,
    VerifiedCookie,
    decode_json,
)
from cookie_session.exceptions import (
    CookieDecryptionFailed,
    CookieExpired,
    CookieMalformed,
    CookieSignatureInvalid,
    CookieTooLarge,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


__all__ = ["SEALED_PREFIX", "SealedCodec", "derive_encryption_key"]

SEALED_PREFIX: Final = SEALED_MARK + b"1."
"""How every cookie of this format, version 1, starts."""
_KEY_INFO: Final = b"cookie-session sealed v1 AES-256-GCM"
_NONCE_BYTES: Final = 12  # AES-GCM's native 96-bit nonce
_TAG_BYTES: Final = 16
_TIME_BYTES: Final = 8
_SMALLEST: Final = _NONCE_BYTES + _TIME_BYTES + _TAG_BYTES
_URL_SAFE: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_URL_SAFE: Final = bytes.maketrans(b"+/", b"-_")
# "-" and "_" become the standard alphabet's "+" and "/", which the strict decoder reads; "+",
# "/" and "=" in the cookie become "!", which it refuses: they would read as "-", "_" or as
# padding, and the same bytes would have a second text.
_FROM_URL_SAFE: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING: Final = (b"", b"", b"==", b"=")  # by the text's length modulo 4
# The bits of the last character that carry no data, by the text's length modulo 4: they must
# be zero, or one byte string would have several texts.
_UNUSED_BITS: Final = (0, 0, 0b1111, 0b11)
_SEXTET: Final = bytes(_URL_SAFE.find(byte) % 64 for byte in range(256))


@functools.cache
def _find_aes_gcm() -> tuple[type[AESGCM], type[Exception]] | None:
    # The outcome is kept either way: a missing package is not searched for again on every
    # encrypted cookie that a signed-only server is sent.
    try:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        return None
    return AESGCM, InvalidTag


def _aes_gcm() -> tuple[type[AESGCM], type[Exception]]:
    """cryptography's AES-GCM and the error a failed decryption raises."""
    found = _find_aes_gcm()
    if found is None:
        raise ImportError(
            "encrypted cookies need the 'cryptography' package: "
            "pip install 'cookie-session[encryption]'",
            name="cryptography",
        )
    return found


def derive_encryption_key(secret: str) -> bytes:
    """The 32-byte AES key of ``secret``: HKDF-SHA256 under this format's own label."""
    _aes_gcm()  # a clear ImportError when cryptography is missing
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        secret.encode("utf-8")
    )


class SealedCodec:
    """Encrypts sessions into cookie values and opens cookie values back into sessions.

    The same interface as :class:`~cookie_session.codec.SessionCodec`: ``secret_keys`` holds
    the current key first (the only one that encrypts), then the fallbacks (which still open
    cookies, with ``key_index`` > 0, so the middleware seals them again with the current key).
    A valid signed cookie is accepted too, with ``other_format`` set, so that turning
    encryption on logs nobody out: it is sent again encrypted. With ``accept_signed=False``
    (once every client has been re-sealed) a signed cookie is refused unverified, as
    malformed: a signed cookie of another application sharing the secret is no longer a way in.

    Raises :class:`ImportError` naming the ``encryption`` extra when ``cryptography`` is missing.
    """

    __slots__ = (
        "_accept_signed",
        "_associated_data",
        "_ciphers",
        "_invalid_tag",
        "_signed",
        "clock",
        "max_age",
    )

    rejection_reasons: ClassVar[tuple[str, ...]] = (*SessionCodec.rejection_reasons, "decrypt")
    """The :attr:`~cookie_session.exceptions.CookieRejected.kind` of every rejection
    :meth:`verify` raises (the stats list each, even at zero)."""

    serialise = staticmethod(SessionCodec.serialise)

    def __init__(
        self,
        secret_keys: Sequence[str],
        *,
        max_age: int | None,
        cookie_name: str = "session",
        clock: Callable[[], float] = time.time,
        accept_signed: bool = True,
    ) -> None:
        aes_gcm, self._invalid_tag = _aes_gcm()
        self._accept_signed = accept_signed
        self._signed = SessionCodec(secret_keys, max_age=max_age, clock=clock)
        self._ciphers = tuple(aes_gcm(derive_encryption_key(secret)) for secret in secret_keys)
        self._associated_data = SEALED_PREFIX + cookie_name.encode("ascii")
        self.max_age = max_age
        self.clock = clock
        """Where this codec reads the time."""

    # -- writing ---------------------------------------------------------------------------

    def sign(self, json_text: str) -> str:
        """A cookie value carrying ``json_text``, sealed now with the current key."""
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = int(self.clock()).to_bytes(_TIME_BYTES, "big") + json_text.encode("utf-8")
        sealed = self._ciphers[0].encrypt(nonce, plaintext, self._associated_data)
        body = binascii.b2a_base64(nonce + sealed, newline=False).translate(_TO_URL_SAFE)
        return (SEALED_PREFIX + body.rstrip(b"=")).decode("ascii")

    def encode(self, session: Mapping[str, Any]) -> str:
        """Serialise and seal ``session`` into a cookie value."""
        return self.sign(self.serialise(session))

    # -- reading ---------------------------------------------------------------------------

    def verify(self, value: bytes | str) -> VerifiedCookie:
        """Open a cookie value and decode its session (a signed value too, as ``other_format``,
        unless ``accept_signed`` is false).

        Raises a :class:`~cookie_session.exceptions.CookieRejected` subclass saying why the value
        cannot be trusted; the value itself never appears in the exception.
        """
        if isinstance(value, str):
            if not value.isascii():
                raise CookieMalformed("cookie is not ASCII")
            value = value.encode("ascii")
        if len(value) > MAX_COOKIE_BYTES:  # before any decryption
            raise CookieTooLarge("cookie of %d bytes is over %d", len(value), MAX_COOKIE_BYTES)
        if not value.startswith(SEALED_MARK):
            if not self._accept_signed:  # refused before any HMAC, like any other bad shape
                raise CookieMalformed(
                    "a signed cookie, and only encrypted ones are accepted (accept_signed is false)"
                )
            return self._signed.verify(value)._replace(other_format=True)
        if not value.startswith(SEALED_PREFIX):
            raise CookieMalformed("encrypted cookie of an unknown format version")
        body = value[len(SEALED_PREFIX) :]
        remainder = len(body) % 4
        try:
            raw = binascii.a2b_base64(
                body.translate(_FROM_URL_SAFE) + _PADDING[remainder], strict_mode=True
            )
        except binascii.Error:
            raise CookieMalformed("encrypted cookie is not URL-safe base64") from None
        if len(raw) < _SMALLEST or _SEXTET[body[-1]] & _UNUSED_BITS[remainder]:
            raise CookieMalformed("encrypted cookie is too short or not canonical base64")
        plaintext, key_index = self._decrypt(raw)
        signed_at = int.from_bytes(plaintext[:_TIME_BYTES], "big")
        self._check_age(signed_at, body)
        try:
            json_text = plaintext[_TIME_BYTES:].decode("utf-8")
        except UnicodeDecodeError:
            raise CookieMalformed("encrypted payload is not UTF-8 text") from None
        return VerifiedCookie(decode_json(json_text), json_text, signed_at, key_index)

    def age(self, signed_at: int) -> int:
        """Seconds since ``signed_at`` by this codec's clock."""
        return int(self.clock()) - signed_at

    def without_age_limit(self) -> SealedCodec:
        """This codec with no ``max_age`` (see :meth:`SessionCodec.without_age_limit`)."""
        unlimited = copy.copy(self)
        unlimited.max_age = None
        unlimited._signed = self._signed.without_age_limit()
        return unlimited

    def _decrypt(self, raw: bytes) -> tuple[bytes, int]:
        """The plaintext, and the index of the key that opened it (0: the current one)."""
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for key_index, cipher in enumerate(self._ciphers):
            try:
                return cipher.decrypt(nonce, sealed, self._associated_data), key_index
            except self._invalid_tag:
                continue
        raise CookieDecryptionFailed("encrypted cookie does not open with any key")

    def _check_age(self, signed_at: int, body: bytes) -> None:
        """The signed format's rules: at most ``max_age`` old, and not from the future."""
        age = self.age(signed_at)
        if age < -CLOCK_SKEW_SECONDS:
            raise CookieSignatureInvalid("sealed %d seconds in the future", -age)
        if self.max_age is not None and age > self.max_age:
            raise CookieExpired(
                "expired: sealed %d seconds ago, max_age is %d",
                age,
                self.max_age,
                signed_at=signed_at,
                age=age,
                payload=body,
            )
