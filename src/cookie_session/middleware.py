"""SessionMiddleware: signed-cookie sessions for any ASGI application."""

from __future__ import annotations

import logging
import os
from typing import Final, Self, Unpack

from cookie_session.codec import MAX_COOKIE_BYTES, SessionCodec, VerifiedCookie
from cookie_session.config import SessionConfig, SessionFields
from cookie_session.exceptions import CookieRejected, SessionTooLarge
from cookie_session.session import Session
from cookie_session.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SessionFields", "SessionMiddleware"]

logger = logging.getLogger("cookie_session")

_RESPONSE_STARTS: Final = frozenset({"http.response.start", "websocket.accept"})
_EXPIRED: Final = "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
_COOKIE_BOUNDARY: Final = frozenset(b"; \t")


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
        keys = (self.config.secret_key, *self.config.secret_key_fallbacks)
        self.codec = SessionCodec(
            [key.get_secret_value() for key in keys], max_age=self.config.max_age
        )
        name = self.config.session_cookie
        self._cookie_needle = name.encode("ascii") + b"="
        self._set_cookie_prefix = name + "="
        attributes = _cookie_attributes(self.config)
        max_age = self.config.max_age
        self._cookie_suffix = (
            f"; Max-Age={max_age}; {attributes}" if max_age is not None else f"; {attributes}"
        )
        self._deletion = f"{name}=; {_EXPIRED}; {attributes}".encode("latin-1")

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return

        incoming = None
        for name, value in scope["headers"]:
            if name == b"cookie" and self._cookie_needle in value:
                incoming = self._read_cookie(scope)
                break
        # Another SessionMiddleware further out (a mounted sub-application with its own
        # cookie) shares this scope: its session is put back once this one is done with it.
        outer_session = scope.get("session")
        if incoming is None:
            session = scope["session"] = Session()
        else:
            session = scope["session"] = Session(incoming.data)
        resign = incoming is not None and incoming.key_index > 0

        async def send_with_cookie(message: Message) -> None:
            if message["type"] in _RESPONSE_STARTS:
                current = scope.get("session")
                # The common case, a session nobody touched, costs nothing more.
                if current is not session or session.accessed or resign:
                    self._add_headers(message, current, incoming)
                if outer_session is not None:
                    scope["session"] = outer_session
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            if outer_session is not None:
                scope["session"] = outer_session

    def _read_cookie(self, scope: Scope) -> VerifiedCookie | None:
        """The first session cookie of the request that verifies, if any."""
        rejections: list[str] = []
        for name, value in scope["headers"]:
            if name != b"cookie":
                continue
            for candidate in _cookie_values(value, self._cookie_needle):
                try:
                    return self.codec.verify(candidate)
                except CookieRejected as rejection:
                    rejections.append(rejection.reason)
        if rejections:
            logger.debug("session cookie rejected: %s", "; ".join(rejections))
        return None

    def _add_headers(
        self, message: Message, session: object, incoming: VerifiedCookie | None
    ) -> None:
        """Add Vary and Set-Cookie to a response start, as the session's use requires."""
        resign = incoming is not None and incoming.key_index > 0
        if isinstance(session, Session):
            session.run_before_save()
            if session.accessed:
                self._add_vary(message)
            if not session.exposed and not resign:
                return  # nothing was written and nothing changeable was handed out
        elif isinstance(session, dict):
            self._add_vary(message)  # the application put a plain dict of its own there
        else:
            return
        json_text = self.codec.serialise(session)
        if incoming is not None and not resign and json_text == incoming.json_text:
            return
        if session:
            header = self._set_cookie_prefix + self.codec.sign(json_text) + self._cookie_suffix
            if len(header) > MAX_COOKIE_BYTES:
                raise SessionTooLarge(len(header), MAX_COOKIE_BYTES)
            cookie = header.encode("latin-1")
        elif incoming is not None:
            cookie = self._deletion
        else:
            return  # empty before, empty now
        headers = list(message.get("headers", ()))
        headers.append((b"set-cookie", cookie))
        message["headers"] = headers

    @staticmethod
    def _add_vary(message: Message) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", ()))
        for index, (name, value) in enumerate(headers):
            if name.lower() == b"vary":
                tokens = {token.strip().lower() for token in value.split(b",")}
                if b"cookie" not in tokens and b"*" not in tokens:
                    headers[index] = (name, value + b", Cookie")
                    message["headers"] = headers
                return
        headers.append((b"vary", b"Cookie"))
        message["headers"] = headers


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


def _cookie_values(header: bytes, needle: bytes) -> list[bytes]:
    """The values of every cookie whose ``name=`` is ``needle`` in a Cookie header, in order.

    Looks for the one name instead of parsing every cookie of the header.
    """
    values: list[bytes] = []
    start = header.find(needle)
    while start != -1:
        end = start + len(needle)
        # Only a whole name counts: at the start of the header or after "; ".
        if start == 0 or header[start - 1] in _COOKIE_BOUNDARY:
            value_end = header.find(b";", end)
            value = (header[end:value_end] if value_end != -1 else header[end:]).strip(b" \t")
            if len(value) >= 2 and value[0] == value[-1] == 0x22:  # a quoted value
                value = value[1:-1]
            values.append(value)
        start = header.find(needle, end)
    return values
