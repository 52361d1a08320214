"""SessionMiddleware: signed-cookie sessions for any ASGI application."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import is_dataclass
from typing import TYPE_CHECKING, Any, Final, Self, Unpack

from pydantic import BaseModel, TypeAdapter

from cookie_session.codec import MAX_COOKIE_BYTES, VerifiedCookie
from cookie_session.config import SessionConfig, SessionFields
from cookie_session.exceptions import CookieRejected, SessionTooLarge
from cookie_session.sealed import make_codec
from cookie_session.session import Session
from cookie_session.stats import Counters, SessionStats
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp, Message, Scope

if TYPE_CHECKING:
    from cookie_session._store_flow import StoreFlow

__all__ = ["MAX_CANDIDATES", "SessionFields", "SessionMiddleware"]

logger = logging.getLogger("cookie_session")

_RESPONSE_STARTS: Final = frozenset({"http.response.start", "websocket.accept"})
_EXPIRED: Final = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
_SPACE: Final = frozenset(b" \t")
_SEMICOLON: Final = ord(";")
_QUOTE: Final = ord('"')
MAX_CANDIDATES: Final = 4
"""Session cookies verified per request at most; any further ones are ignored unread."""


class SessionMiddleware:
    """Keeps ``scope["session"]`` in a signed cookie, for ``http`` and ``websocket`` scopes.

    Configure it with a validated :class:`SessionConfig` (``config=``) or with the same settings
    as keyword arguments, which are validated through SessionConfig; not both.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: SessionConfig | None = None,
        **fields: Unpack[SessionFields],
    ) -> None:
        if config is not None and fields:
            raise TypeError(
                "pass either config= or the settings as keyword arguments, not both "
                f"(got config and {', '.join(sorted(fields))})"
            )
        self.app = app
        self.config: SessionConfig = (
            config if config is not None else SessionConfig.model_validate(fields)
        )
        self.codec = make_codec(self.config)  # signed, or encrypted (encrypt=True)
        name = self.config.session_cookie
        self._cookie_name = name.encode("ascii")
        self._set_cookie_prefix = name + "="
        attributes = _cookie_attributes(self.config)
        max_age = self.config.max_age
        self._cookie_suffix = (
            f"; Max-Age={max_age}; {attributes}" if max_age is not None else f"; {attributes}"
        )
        self._deletion = f"{name}=; {_EXPIRED}; {attributes}".encode("latin-1")
        self._refresh_after = self.config.refresh_after
        self._counters = Counters(
            len(self.config.secret_key_fallbacks), reasons=self.codec.rejection_reasons
        )
        self._store: StoreFlow | None = None
        if self.config.store_url is not None:  # sessions in Redis: redis-py is imported then
            from cookie_session._store_flow import StoreFlow

            self._store = StoreFlow(self)

    @classmethod
    def from_env(
        cls,
        app: ASGIApp,
        *,
        env_file: str | os.PathLike[str] | None = ".env",
        env_prefix: str = "SESSION_",
        secrets_dir: str | os.PathLike[str] | None = None,
        **overrides: Unpack[SessionFields],
    ) -> Self:
        """A middleware configured by :meth:`SessionConfig.from_env`.

        With ``app.add_middleware(...)``, pass ``config=SessionConfig.from_env()`` instead.
        """
        config = SessionConfig.from_env(
            env_file, env_prefix=env_prefix, secrets_dir=secrets_dir, **overrides
        )
        return cls(app, config=config)

    async def __call__(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        if self._store is not None:
            await self._store(scope, receive, send)
            return

        # read_cookie(), inline: one pass over the headers, and no list for a request that
        # brings no session cookie.
        cookie_name = self._cookie_name
        candidates: list[bytes] | None = None
        for name, value in scope["headers"]:
            if name == b"cookie" and cookie_name in value:
                if candidates is None:
                    candidates = []
                if _add_cookie_values(value, cookie_name, candidates):
                    break  # MAX_CANDIDATES found: any further ones are ignored unread
        if candidates is None:
            incoming = None
        elif len(candidates) == 1:  # the common case: _first_verified() without its loop
            try:
                incoming = self.codec.verify(candidates[0])
            except CookieRejected as rejection:
                incoming = None
                self._counters.rejected(rejection.kind)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("session cookie rejected: %s", rejection.reason)
            else:
                if incoming.key_index:
                    self._counters.accepted(incoming.key_index)
                else:
                    self._counters.cookies_accepted += 1
        else:
            incoming = self._first_verified(candidates)
        if incoming is None:
            session = Session()
            resend = False
        else:
            session = Session(incoming.data)
            # Only a cookie of another key or format, or a refresh_after setting, can need it.
            resend = bool(
                incoming.key_index or incoming.other_format or self._refresh_after is not None
            ) and self._must_resend(incoming)
        if "session" in scope:
            # Another session middleware further out (a mounted sub-application with its own
            # cookie): the application gets a copy of the scope, as the ASGI spec asks of
            # middleware that changes it, so neither middleware ever sees the other's session,
            # not even after the response has started.
            scope = dict(scope)
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] in _RESPONSE_STARTS:
                current = scope.get("session")
                if current is session and not (resend or session.exposed or session.resend):
                    # Untouched or only read (the common cases), and no hook left to run:
                    # nothing to send, at most a Vary.
                    if session.accessed:
                        if session._before_save is None:
                            self._add_vary(message)
                        else:
                            self.add_cookie_headers(message, session, incoming, resend=False)
                else:
                    self.add_cookie_headers(
                        message, current, incoming, replaced=current is not session, resend=resend
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def stats(self) -> SessionStats:
        """Counters since start-up: cookies accepted, rejected (by reason), set and deleted,
        uses of each fallback key, sessions too large, store errors."""
        return self._counters.snapshot()

    # -- the cookie, for this middleware and for framework adapters (cookie_session.quart) --

    def read_cookie(self, scope: Scope) -> VerifiedCookie | None:
        """The first of the request's first few session cookies that verifies, if any.

        Any other candidate is refused, counted and logged at DEBUG with its reason.
        """
        candidates: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"cookie" and _add_cookie_values(value, self._cookie_name, candidates):
                break  # MAX_CANDIDATES found: any further ones are ignored unread
        return self._first_verified(candidates)

    def _first_verified(self, candidates: list[bytes]) -> VerifiedCookie | None:
        """The first candidate that verifies; the others before it are counted and logged."""
        verify = self.codec.verify
        rejections: list[CookieRejected] | None = None  # made for the first rejection only
        for candidate in candidates:
            try:
                verified = verify(candidate)
            except CookieRejected as rejection:
                self._counters.rejected(rejection.kind)
                if rejections is None:
                    rejections = []
                rejections.append(rejection.with_traceback(None))
                continue
            if verified.key_index:
                self._counters.accepted(verified.key_index)
            else:  # the common case, without a call
                self._counters.cookies_accepted += 1
            break
        else:
            verified = None
        if rejections and logger.isEnabledFor(logging.DEBUG):
            reasons = "; ".join(rejection.reason for rejection in rejections)
            logger.debug("session cookie rejected: %s", reasons)
        return verified

    def add_cookie_headers(
        self,
        message: Message,
        current: object,
        incoming: VerifiedCookie | None,
        *,
        replaced: bool = False,
        resend: bool | None = None,
    ) -> None:
        """Add Vary and Set-Cookie to a response start, as the session's use requires.

        ``current`` is whatever the application left in ``scope["session"]``: the session this
        middleware put there or, when ``replaced``, whatever took its place (a new mapping, a
        model, ``None``...), which is what the browser gets. ``incoming`` is what
        :meth:`read_cookie` returned for the request; ``resend``, whether it must be sent again
        even if unchanged, is worked out from it unless the caller already knows.
        """
        if resend is None:
            resend = incoming is not None and self._must_resend(incoming)
        if isinstance(current, Session):
            if current._before_save is not None:
                current.run_before_save()
            resend = resend or current.resend
        if replaced or not isinstance(current, Session):
            self._add_vary(message)
        else:
            # A re-sent cookie (fallback key, refresh) depends on the request's cookie even where
            # the handler never looked at the session: no shared cache may serve it to others.
            if current.accessed or resend:
                self._add_vary(message)
            if not current.exposed and not resend:
                return  # nothing was written and nothing changeable was handed out
        data = _storable(current)
        json_text = self.codec.serialise(data)
        if incoming is not None and not resend and json_text == incoming.json_text:
            return
        if not data:
            if incoming is not None:
                self._counters.cookies_deleted += 1
                self._append_cookie(message, self._deletion)
            return  # empty before, empty now
        header = self._set_cookie_prefix + self.codec.sign(json_text) + self._cookie_suffix
        if len(header) > MAX_COOKIE_BYTES:
            self._counters.too_large_errors += 1
            raise SessionTooLarge(len(header), MAX_COOKIE_BYTES)
        self._counters.cookies_set += 1
        self._append_cookie(message, header.encode("latin-1"))

    def _must_resend(self, incoming: VerifiedCookie) -> bool:
        """Whether a valid cookie is sent again even if the session is unchanged: signed with a
        fallback key or in another format, or older than ``refresh_after`` (rolling expiry)."""
        # incoming.stale, spelt out: this runs on every request with a cookie.
        if incoming.key_index or incoming.other_format:
            return True
        refresh_after = self._refresh_after
        return refresh_after is not None and self.codec.age(incoming.signed_at) > refresh_after

    @staticmethod
    def _append_cookie(message: Message, cookie: bytes) -> None:
        headers = list(message.get("headers", ()))
        headers.append((b"set-cookie", cookie))
        message["headers"] = headers

    @staticmethod
    def _add_vary(message: Message) -> None:
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


def _cookie_attributes(config: SessionConfig) -> str:
    """The attributes every Set-Cookie of this configuration carries, after Max-Age."""
    attributes = [f"Path={config.path}", "HttpOnly", f"SameSite={config.same_site.title()}"]
    if config.https_only:
        attributes.append("Secure")
    if config.domain is not None:
        attributes.append(f"Domain={config.domain}")
    if config.partitioned:
        attributes.append("Partitioned")
    return "; ".join(attributes)


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


def _storable(session: object) -> Mapping[str, Any]:
    """What an application left in ``scope["session"]``, as the mapping the cookie will carry.

    A mapping is kept as it is; ``None`` and Litestar's ``Empty`` (``request.clear_session()``)
    are an empty session; a pydantic model or a dataclass (Litestar's ``set_session(model)``)
    becomes its JSON form. Anything else is an error: it is never dropped in silence.
    """
    if isinstance(session, Mapping):
        return session
    if session is None or _is_litestar_empty(session):
        return {}
    if isinstance(session, BaseModel):
        return session.model_dump(mode="json")
    if is_dataclass(session) and not isinstance(session, type):
        dumped = TypeAdapter(type(session)).dump_python(session, mode="json")
        if isinstance(dumped, dict):
            return dumped
    raise TypeError(
        f"scope['session'] holds a {type(session).__qualname__}, which cannot be stored in the "
        "session cookie: put a mapping, a pydantic model, a dataclass or None there"
    )


def _is_litestar_empty(value: object) -> bool:
    """Litestar's ``Empty`` sentinel, recognised without importing Litestar."""
    empty_module = sys.modules.get("litestar.types.empty")
    return empty_module is not None and value is getattr(empty_module, "Empty", None)
