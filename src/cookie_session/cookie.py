"""The session cookie: its format, name and attributes, how it is read from the Cookie header, and
how it is written back (Set-Cookie, deletion, Vary). No storage decisions and no ASGI flow here.

Both request paths use one :class:`SessionCookie`: the cookie-held one
(:mod:`cookie_session._cookie_flow`), whose cookie carries the session, and the store-held one
(:mod:`cookie_session._store_flow`), whose cookie carries a signed session ID; so do the
framework adapters (:mod:`cookie_session.quart`) and the demo. The cookie's rejections, uses of
fallback keys, Set-Cookie and deletion headers are counted here, in :attr:`SessionCookie.counters`
(what :meth:`SessionMiddleware.stats` reports).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

from cookie_session.codec import MAX_COOKIE_BYTES, SessionCodec, VerifiedCookie
from cookie_session.config import SessionConfig
from cookie_session.exceptions import (
    CookieDecryptionFailed,
    CookieExpired,
    CookieRejected,
    SessionTooLarge,
)
from cookie_session.sealed import SealedCodec
from cookie_session.session import MAX_AGE_KEY
from cookie_session.stats import Counters
from cookie_session.types import Message, Scope

__all__ = [
    "MAX_CANDIDATES",
    "RESPONSE_STARTS",
    "SessionCookie",
    "attributes",
    "make_codec",
    "sealed_opener",
]

logger = logging.getLogger("cookie_session")

MAX_CANDIDATES: Final = 4
"""Session cookies verified per request at most; any further ones are ignored unread."""
RESPONSE_STARTS: Final = frozenset({"http.response.start", "websocket.accept"})
"""The ASGI messages that can carry the cookie's headers."""
_EXPIRED: Final = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
_NOT_SET: Final = object()
_SPACE: Final = frozenset(b" \t")
_SEMICOLON: Final = ord(";")
_QUOTE: Final = ord('"')


def make_codec(config: SessionConfig) -> SessionCodec | SealedCodec:
    """The codec of the cookie format ``config`` asks for: sealed when ``encrypt`` is set.

    Each format also opens the other's cookies (so that turning encryption on or off logs
    nobody out: they are sent again in the configured format), unless ``accept_signed`` is
    false. The signed codec is given the encrypted format's opener here, made on the first
    encrypted cookie, so that neither format module has to build the other.
    """
    keys = [key.get_secret_value() for key in (config.secret_key, *config.secret_key_fallbacks)]
    if config.encrypt:
        return SealedCodec(
            keys,
            max_age=config.max_age,
            cookie_name=config.session_cookie,
            accept_signed=config.accept_signed,
        )
    return SessionCodec(
        keys,
        max_age=config.max_age,
        open_sealed=sealed_opener(keys, max_age=config.max_age, cookie_name=config.session_cookie),
    )


def sealed_opener(
    keys: list[str], *, max_age: int | None, cookie_name: str
) -> Callable[[SessionCodec], SealedCodec]:
    """What a signed codec calls, on its first encrypted cookie, for the codec that opens it;
    a missing ``cryptography`` makes that cookie refused, naming the extra."""

    def open_sealed(signed: SessionCodec) -> SealedCodec:
        try:
            return SealedCodec(keys, max_age=max_age, cookie_name=cookie_name, clock=signed.clock)
        except ImportError:
            raise CookieDecryptionFailed(
                "encrypted cookie, and the 'cryptography' package is not installed "
                "(pip install 'cookie-session[encryption]')"
            ) from None

    return open_sealed


class SessionCookie:
    """Everything about one configuration's session cookie.

    ``codec`` signs (or seals) and verifies values; :meth:`read` finds the request's session
    cookie; :meth:`set`, :meth:`delete` and :meth:`add_vary` add the response's headers.
    """

    __slots__ = (
        "_constant_attributes",
        "_max_age",
        "_set_cookie_prefix",
        "_suffix",
        "_unlimited",
        "attributes",
        "codec",
        "config",
        "counters",
        "deletion",
        "max_age",
        "max_lifetime",
        "name",
        "refresh_after",
    )

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.codec: SessionCodec | SealedCodec = make_codec(config)
        name = config.session_cookie
        self.name = name.encode("ascii")
        """The cookie's name, as the Cookie header carries it."""
        self.attributes = attributes(config)
        """Every attribute a Set-Cookie of this configuration carries, in order."""
        self._set_cookie_prefix = name + "="
        self._suffix = "; " + "; ".join(self.attributes)
        self._max_age = config.max_age if config.max_age is not None else _NOT_SET
        constant = "; ".join(
            attribute for attribute in self.attributes if "Max-Age" not in attribute
        )
        self._constant_attributes = constant
        self.deletion = f"{name}=; {_EXPIRED}; {constant}".encode("latin-1")
        """The Set-Cookie header that deletes the cookie."""
        self.refresh_after = config.refresh_after
        self.max_age = config.max_age
        """The configuration's ``max_age``: the cookie's lifetime unless its session has one of
        its own."""
        self.max_lifetime = config.max_lifetime
        """The absolute lifetime (``max_lifetime``), or ``None``."""
        self._unlimited: tuple[SessionCodec | SealedCodec, SessionCodec | SealedCodec] | None = None
        self.counters = Counters(
            len(config.secret_key_fallbacks), reasons=self.codec.rejection_reasons
        )

    # -- reading -------------------------------------------------------------------------------

    def candidates(self, scope: Scope) -> list[bytes] | None:
        """The values of the request's first :data:`MAX_CANDIDATES` session cookies, in order;
        ``None`` when it brings none (no list is made then: most requests)."""
        cookie_name = self.name
        candidates: list[bytes] | None = None
        for name, value in scope["headers"]:
            if name == b"cookie" and cookie_name in value:
                if candidates is None:
                    candidates = []
                if _add_cookie_values(value, cookie_name, candidates):
                    break  # MAX_CANDIDATES found: any further ones are ignored unread
        return candidates

    def read(self, scope: Scope) -> VerifiedCookie | None:
        """The first of the request's first few session cookies that verifies, if any.

        Any other candidate is refused, counted and logged at DEBUG with its reason.
        """
        # candidates(), inline: this runs on every request, most of which bring no cookie.
        cookie_name = self.name
        candidates: list[bytes] | None = None
        for name, value in scope["headers"]:
            if name == b"cookie" and cookie_name in value:
                if candidates is None:
                    candidates = []
                if _add_cookie_values(value, cookie_name, candidates):
                    break  # MAX_CANDIDATES found: any further ones are ignored unread
        if candidates is None:
            return None
        if len(candidates) == 1:  # the common case, without first_verified()'s loop
            try:
                incoming = self.codec.verify(candidates[0])
                if MAX_AGE_KEY in incoming.data:  # a lifetime of its own: set_max_age()
                    self._check_own_max_age(incoming)
            except CookieRejected as rejection:
                rescued = self._rescued(candidates[0], rejection)
                if rescued is None:
                    self.counters.rejected(rejection.kind)
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("session cookie rejected: %s", rejection.reason)
                    return None
                incoming = rescued
            if incoming.key_index:
                self.counters.accepted(incoming.key_index)
            else:
                self.counters.cookies_accepted += 1
            return incoming
        return self.first_verified(candidates)

    def first_verified(self, candidates: list[bytes]) -> VerifiedCookie | None:
        """The first candidate that verifies; the others before it are counted and logged."""
        verify = self.verify
        rejections: list[CookieRejected] | None = None  # made for the first rejection only
        for candidate in candidates:
            try:
                verified = verify(candidate)
            except CookieRejected as rejection:
                self.counters.rejected(rejection.kind)
                if rejections is None:
                    rejections = []
                rejections.append(rejection.with_traceback(None))
                continue
            if verified.key_index:
                self.counters.accepted(verified.key_index)
            else:  # the common case, without a call
                self.counters.cookies_accepted += 1
            break
        else:
            verified = None
        if rejections and logger.isEnabledFor(logging.DEBUG):
            reasons = "; ".join(rejection.reason for rejection in rejections)
            logger.debug("session cookie rejected: %s", reasons)
        return verified

    def all_verified(self, scope: Scope) -> list[VerifiedCookie]:
        """Every one of the request's first few session cookies that verifies, in order (a
        store tries each ID until Redis knows one); the request counts as accepted once."""
        candidates = self.candidates(scope)
        if candidates is None:
            return []  # no session cookie: the usual first visit, with nothing more to make
        verified: list[VerifiedCookie] = []
        reasons: list[str] = []
        for candidate in candidates:
            try:
                cookie = self.verify(candidate)
            except CookieRejected as rejection:
                self.counters.rejected(rejection.kind)
                reasons.append(rejection.reason)
                continue
            if not verified:
                self.counters.accepted(cookie.key_index)
            verified.append(cookie)
        if reasons and logger.isEnabledFor(logging.DEBUG):
            logger.debug("session cookie rejected: %s", "; ".join(reasons))
        return verified

    def verify(self, value: bytes) -> VerifiedCookie:
        """``codec.verify``, and the session's own lifetime (:meth:`Session.set_max_age`):
        a cookie older than its session's own ``max_age`` is refused, one older than the
        configuration's but within its own is accepted."""
        try:
            verified = self.codec.verify(value)
            if MAX_AGE_KEY in verified.data:
                self._check_own_max_age(verified)
        except CookieRejected as rejection:
            rescued = self._rescued(value, rejection)
            if rescued is None:
                raise
            return rescued
        return verified

    def _check_own_max_age(self, verified: VerifiedCookie) -> None:
        """Refuse a cookie older than its session's own lifetime."""
        limit = verified.data[MAX_AGE_KEY]
        if isinstance(limit, int) and not isinstance(limit, bool):
            age = self.codec.age(verified.signed_at)
            if age > limit:
                raise CookieExpired(
                    "expired: signed %d seconds ago, the session's own max_age is %d",
                    age,
                    limit,
                    signed_at=verified.signed_at,
                    age=age,
                    payload=b"",
                )

    def _rescued(self, value: bytes, rejection: CookieRejected) -> VerifiedCookie | None:
        """A cookie refused as older than the configuration's ``max_age`` that its session's
        own, longer lifetime still covers ("remember me"); ``None`` for any other."""
        if type(rejection) is not CookieExpired or not rejection.payload:
            return None
        codec = self.codec
        if self._unlimited is None or self._unlimited[0] is not codec:
            self._unlimited = (codec, codec.without_age_limit())
        try:
            verified = self._unlimited[1].verify(value)
        except CookieRejected:
            return None
        limit = verified.data.get(MAX_AGE_KEY)
        if not isinstance(limit, int) or isinstance(limit, bool):
            return None
        return verified if codec.age(verified.signed_at) <= limit else None

    def lifetime_ended(self, incoming: VerifiedCookie, started: object) -> bool:
        """Whether the session of ``incoming`` started more than ``max_lifetime`` ago:
        ``started`` is its recorded start (else its cookie's signing time counts)."""
        max_lifetime = self.max_lifetime
        if max_lifetime is None:
            return False
        if type(started) is not int:  # none recorded (nor a bool): from before max_lifetime
            started = incoming.signed_at
        # codec.age(), inline here and below: every request with max_lifetime asks.
        return int(self.codec.clock()) - started > max_lifetime

    def now(self) -> int:
        """The time by the codec's clock, in whole seconds."""
        return int(self.codec.clock())

    def max_age_for(
        self, data: Mapping[str, object], started: int | None, now: int | None = None
    ) -> int | None:
        """The ``Max-Age`` a cookie carrying ``data`` is sent with: the session's own lifetime
        (else the configuration's), never more than what remains of ``max_lifetime`` for a
        session ``started`` then (at ``now``, else the clock's time)."""
        # dict's own get for a Session: its get() would only note a use that is over now
        own = (
            dict.get(data, MAX_AGE_KEY, _NOT_SET)
            if isinstance(data, dict)
            else data.get(MAX_AGE_KEY, _NOT_SET)
        )
        max_age: int | None = (
            self.max_age
            if own is _NOT_SET
            else (own if type(own) is int else None)  # not a bool: type, not isinstance
        )
        if started is None or max_age is None:
            return max_age
        return self.within_lifetime(max_age, started, now)

    def within_lifetime(self, max_age: int, started: int, now: int | None = None) -> int:
        """``max_age``, or what remains of ``max_lifetime`` for a session ``started`` then (at
        ``now``, else the clock's time) when that is less: the cookie never outlives it."""
        max_lifetime = self.max_lifetime
        if max_lifetime is None:
            return max_age
        if now is None:  # codec.age(), inline: every write with max_lifetime asks
            now = int(self.codec.clock())
        remaining = max_lifetime - (now - started)
        if remaining < max_age:  # comparisons, not min() and max(), for the same reason
            return remaining if remaining > 0 else 0
        return max_age

    def must_resend(self, incoming: VerifiedCookie) -> bool:
        """Whether a valid cookie is sent again even if the session is unchanged: signed with a
        fallback key or in another format, or older than ``refresh_after`` (rolling expiry)."""
        # incoming.stale, spelt out: this runs on every request with a cookie.
        if incoming.key_index or incoming.other_format:
            return True
        refresh_after = self.refresh_after
        return refresh_after is not None and self.codec.age(incoming.signed_at) > refresh_after

    # -- writing -------------------------------------------------------------------------------

    def set(self, message: Message, json_text: str, max_age: object = _NOT_SET) -> str:
        """Add the Set-Cookie that carries ``json_text`` (a session's JSON), signed or sealed,
        with the configuration's ``Max-Age`` or, when given, ``max_age`` (``None``: none, a
        browser-session cookie).

        Returns the cookie's value. Raises :class:`SessionTooLarge` when the header's cookie
        would pass 4096 bytes."""
        if max_age is _NOT_SET or max_age == self._max_age:
            suffix = self._suffix
        elif max_age is None:
            suffix = "; " + self._constant_attributes
        else:
            suffix = f"; Max-Age={max_age}; {self._constant_attributes}"
        value = self.codec.sign(json_text)
        header = self._set_cookie_prefix + value + suffix
        if len(header) > MAX_COOKIE_BYTES:
            self.counters.too_large_errors += 1
            raise SessionTooLarge(len(header), MAX_COOKIE_BYTES)
        self.counters.cookies_set += 1
        headers = list(message.get("headers", ()))  # append_header(), inline: every write
        headers.append((b"set-cookie", header.encode("latin-1")))
        message["headers"] = headers
        return value

    def delete(self, message: Message) -> None:
        """Add the Set-Cookie that deletes the cookie (same Path and Domain)."""
        self.counters.cookies_deleted += 1
        append_header(message, b"set-cookie", self.deletion)

    @staticmethod
    def add_vary(message: Message) -> None:
        """Add ``Cookie`` to the response's Vary header (a websocket accept has none)."""
        if message["type"] != "http.response.start":
            return
        headers = message.get("headers", ())
        if type(headers) is not list and type(headers) is not tuple:
            headers = list(headers)  # any iterable, as ASGI allows: read once, kept
        for index, (name, value) in enumerate(headers):
            if name.lower() == b"vary":
                tokens = {token.strip().lower() for token in value.split(b",")}
                if b"cookie" not in tokens and b"*" not in tokens:
                    headers = list(headers)
                    headers[index] = (name, value + b", Cookie")
                    message["headers"] = headers
                return
        message["headers"] = [*headers, (b"vary", b"Cookie")]  # a new list: never the app's


def append_header(message: Message, name: bytes, value: bytes) -> None:
    """Add one header to a response start, in a new list (never the application's own)."""
    headers = list(message.get("headers", ()))
    headers.append((name, value))
    message["headers"] = headers


def attributes(config: SessionConfig) -> tuple[str, ...]:
    """The attributes every Set-Cookie of this configuration carries."""
    attributes = [f"Path={config.path}", "HttpOnly", f"SameSite={config.same_site.title()}"]
    if config.max_age is not None:
        attributes.insert(0, f"Max-Age={config.max_age}")
    if config.https_only:
        attributes.append("Secure")
    if config.domain is not None:
        attributes.append(f"Domain={config.domain}")
    if config.partitioned:
        attributes.append("Partitioned")
    return tuple(attributes)


def _add_cookie_values(header: bytes, name: bytes, values: list[bytes]) -> bool:
    """Append to ``values`` the values of the cookies called ``name`` in a Cookie header, in
    order, until there are :data:`MAX_CANDIDATES`; return whether that many were found.

    The header is a list of ``name=value`` pairs separated by ``;``: a name only counts at the
    start of a pair, so ``theme=dark session=x`` is one cookie, named ``theme`` (a value planted
    by a sibling subdomain cannot pass for a session cookie). Only the occurrences of the one
    name are looked at, instead of parsing every cookie of the header.
    """
    start = header.find(name)
    while start != -1:
        end = start + len(name)
        if header[end : end + 1] == b"=" and (start == 0 or header[start - 2 : start] == b"; "):
            after = end  # "name=" where browsers write it: first, or after "; "
        else:  # whitespace around the name, as RFC 6265bis allows; or not a pair's name at all
            before = start - 1
            while before >= 0 and header[before] in _SPACE:
                before -= 1
            after = end
            while after < len(header) and header[after] in _SPACE:
                after += 1
            if (
                not (before < 0 or header[before] == _SEMICOLON)
                or header[after : after + 1] != b"="
            ):
                start = header.find(name, end)
                continue
        value_end = header.find(b";", after)
        if value_end == -1:
            value_end = len(header)
        value = header[after + 1 : value_end]
        # Rare: strip only when needed. (Bytes indexed to ints and a set of ints: a test like
        # value[:1] in b" \t" goes through the buffer protocol and costs 5 times as much.)
        if value and (value[0] in _SPACE or value[-1] in _SPACE):
            value = value.strip(b" \t")
        if len(value) >= 2 and value[0] == value[-1] == _QUOTE:  # a quoted value
            value = value[1:-1]
        values.append(value)
        if len(values) == MAX_CANDIDATES:
            return True
        start = header.find(name, end)
    return False
