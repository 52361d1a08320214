"""SessionMiddleware: the ASGI plumbing around a session cookie and where the session is kept.

At start-up it validates the configuration, builds the :class:`~cookie_session.cookie.SessionCookie`
and chooses the request path of the storage the configuration asks for: the cookie itself
(:mod:`cookie_session._cookie_flow`) or Redis (:mod:`cookie_session._store_flow`). Per request it
only passes ``http`` and ``websocket`` scopes to that path, and every other scope (lifespan)
through untouched.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Self, Unpack

from cookie_session._cookie_flow import CookieFlow
from cookie_session.config import SessionConfig, SessionFields
from cookie_session.cookie import SessionCookie
from cookie_session.stats import SessionStats
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp

if TYPE_CHECKING:
    from cookie_session._store_flow import StoreFlow
    from cookie_session.codec import SessionCodec
    from cookie_session.sealed import SealedCodec
    from cookie_session.store import RedisSessionStore

__all__ = ["SessionFields", "SessionMiddleware"]


class SessionMiddleware:
    """Keeps ``scope["session"]`` in a signed cookie, an encrypted one, or in Redis behind a
    signed ID (``store_url``), for ``http`` and ``websocket`` scopes.

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
        self.cookie = SessionCookie(self.config)
        """The session cookie: its format, attributes, reading and writing."""
        self.store: RedisSessionStore | None = None
        """The Redis store sessions are kept in (``store_url``); ``None`` for cookie sessions."""
        self._flow: CookieFlow | StoreFlow
        if self.config.store_url is not None:  # sessions in Redis: redis-py is imported then
            from cookie_session._store_flow import StoreFlow

            self._flow = StoreFlow(app, self.cookie)
            self.store = self._flow.store
        else:
            self._flow = CookieFlow(app, self.cookie)

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
        await self._flow(scope, receive, send)

    @property
    def codec(self) -> SessionCodec | SealedCodec:
        """The cookie's codec (signed, or sealed with ``encrypt=True``)."""
        return self.cookie.codec

    @codec.setter
    def codec(self, codec: SessionCodec | SealedCodec) -> None:
        self.cookie.codec = codec  # a test's codec with its own clock, say

    def stats(self) -> SessionStats:
        """Counters since start-up: cookies accepted, rejected (by reason), set and deleted,
        uses of each fallback key, sessions too large, store errors."""
        return self.cookie.counters.snapshot()
