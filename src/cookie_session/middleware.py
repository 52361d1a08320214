"""SessionMiddleware: the ASGI plumbing around a session cookie and where the session is kept.

At start-up it validates the configuration, builds the :class:`~cookie_session.cookie.SessionCookie`
and chooses the request path of the storage the configuration asks for: the cookie itself
(:mod:`cookie_session._cookie_flow`) or Redis (:mod:`cookie_session._store_flow`). Per request it
only passes ``http`` and ``websocket`` scopes to that path, and every other scope (lifespan)
through untouched.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Self, Unpack

from pydantic import ValidationError

from cookie_session._cookie_flow import CookieFlow
from cookie_session.config import SessionConfig, SessionFields
from cookie_session.cookie import SessionCookie
from cookie_session.csrf import CsrfCheck
from cookie_session.stats import SessionStats
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp, Scope

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

    from cookie_session._store_flow import StoreFlow
    from cookie_session.codec import SessionCodec
    from cookie_session.sealed import SealedCodec
    from cookie_session.store import RedisSessionStore

__all__ = [
    "SessionFields",
    "SessionMiddleware",
    "SharedSessions",
    "StoreSessionMiddleware",
    "validated",
]

logger = logging.getLogger("cookie_session")

_LOCAL_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})


class SessionMiddleware(CookieFlow):
    """Keeps ``scope["session"]`` in a signed cookie, an encrypted one, or in Redis behind a
    signed ID (``store_url``), for ``http`` and ``websocket`` scopes.

    It *is* the cookie-held request path (:class:`~cookie_session._cookie_flow.CookieFlow`, its
    ``__call__`` run as the middleware's own, with no call in between: the common request
    pays for nothing more). A configuration with ``store_url``, or an application's own
    redis-py client as ``store_client=`` (a ``redis.asyncio.Redis`` or ``RedisCluster`` of the
    event loop that serves the application), makes it a ``StoreSessionMiddleware``, whose
    ``__call__`` is the store-held path's: the storage is chosen once, when the middleware is
    built, never per request.

    Configure it with a validated :class:`SessionConfig` (``config=``) or with the same settings
    as keyword arguments, which are validated through SessionConfig; not both.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: SessionConfig | None = None,
        shared: SharedSessions | None = None,
        store_client: Redis | RedisCluster | None = None,
        **fields: Unpack[SessionFields],
    ) -> None:
        given = [
            name for name, value in (("config", config), ("shared", shared)) if value is not None
        ]
        if len(given) + bool(fields) > 1:
            raise TypeError(
                "pass one of config=, shared= or the settings as keyword arguments "
                f"(got {', '.join([*given, *sorted(fields)])})"
            )
        if store_client is not None and shared is not None:
            raise TypeError("pass store_client= to SharedSessions, not with shared=")
        self.app = app
        if shared is not None:
            config = shared.config
        self.config: SessionConfig = config if config is not None else validated(fields)
        self.cookie = shared.cookie if shared is not None else SessionCookie(self.config)
        """The session cookie: its format, attributes, reading and writing."""
        self.store: RedisSessionStore | None = None
        """The Redis store sessions are kept in (``store_url`` or ``store_client``); ``None``
        for cookie sessions."""
        # With https_only, a look at the first requests' scheme comes before the application;
        # with csrf=True, the request path hands its unsafe requests to the check, which calls
        # the same.
        inner = _PlainHttpWarning(app, self) if self.config.https_only else app
        csrf = CsrfCheck(inner, self.config, self.cookie.counters) if self.config.csrf else None
        CookieFlow.__init__(self, inner, self.cookie, csrf)
        store = shared.store if shared is not None else None
        if store_client is not None:  # an application's client, in place of store_url
            from cookie_session.store import RedisSessionStore

            store = RedisSessionStore.from_config(self.config, store_client=store_client)
        if store is not None or self.config.store_url is not None:  # sessions in Redis
            from cookie_session._store_flow import StoreFlow

            self._store_flow = StoreFlow(inner, self.cookie, store, csrf)
            self.store = self._store_flow.store
            self.__class__ = StoreSessionMiddleware

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

    def _stop_looking(self, app: ASGIApp) -> None:
        """Take the scheme check out of the request path: ``app`` is called directly."""
        self.inner = app
        if self.csrf is not None:
            self.csrf.app = app
        store_flow: StoreFlow | None = getattr(self, "_store_flow", None)
        if store_flow is not None:
            store_flow.inner = app

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


class StoreSessionMiddleware(SessionMiddleware):
    """A :class:`SessionMiddleware` whose configuration keeps sessions in Redis: what
    ``SessionMiddleware(...)`` becomes when ``store_url`` is set."""

    _store_flow: StoreFlow

    async def __call__(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        await self._store_flow(scope, receive, send)


class _PlainHttpWarning:
    """In front of the application with ``https_only``: a look at the scheme of the first
    requests, until one over plain HTTP to a host other than this machine's shows that the
    browser will drop the ``Secure`` cookie (that one logs a WARNING), or until enough have
    come over HTTPS; then it takes itself out of the path."""

    __slots__ = ("_looks_left", "_owner", "app")

    LOOKS: Final = 1000

    def __init__(self, app: ASGIApp, owner: SessionMiddleware) -> None:
        self.app = app
        self._owner = owner
        self._looks_left = self.LOOKS

    async def __call__(self, scope: Scope, receive: AnyReceive, send: AnySend) -> None:
        if scope["type"] in ("http", "websocket"):
            self._looks_left -= 1
            plain = scope.get("scheme") in ("http", "ws") and not _local_host(scope)
            if plain:
                logger.warning(
                    "https_only is set, but a request came over plain http to %s: the browser "
                    "will not keep or send the Secure session cookie, so sessions will not last "
                    "(serve over https, or leave https_only off while developing)",
                    _host(scope),
                )
            if plain or self._looks_left <= 0:
                self._owner._stop_looking(self.app)
        await self.app(scope, receive, send)


class SharedSessions:
    """One configuration, one cookie (one set of counters) and one store for every
    :class:`SessionMiddleware` a framework builds from it.

    Litestar builds a middleware for each route handler; given this object as its middleware,
    they all share what it holds, so :meth:`stats` counts every request of the application and
    the store keeps one set of Redis connections::

        sessions = SharedSessions(SessionConfig.from_env())
        app = Litestar(route_handlers=[...], middleware=[sessions])
    """

    def __init__(
        self, config: SessionConfig, *, store_client: Redis | RedisCluster | None = None
    ) -> None:
        self.config = config
        self.cookie = SessionCookie(config)
        """The session cookie every middleware of this object reads and writes."""
        self.store: RedisSessionStore | None = None
        """The one store of every middleware of this object (``store_url`` or
        ``store_client``), else ``None``."""
        if config.store_url is not None or store_client is not None:
            from cookie_session.store import RedisSessionStore

            self.store = RedisSessionStore.from_config(config, store_client=store_client)

    def __call__(self, app: ASGIApp) -> SessionMiddleware:
        """A middleware around ``app`` that shares this object's cookie and store."""
        return SessionMiddleware(app, shared=self)

    def stats(self) -> SessionStats:
        """Counters since start-up, of every middleware made from this object."""
        return self.cookie.counters.snapshot()


def validated(fields: Mapping[str, Any]) -> SessionConfig:
    """``SessionConfig`` of settings given as keyword arguments, each problem logged at ERROR
    on ``cookie_session`` before the ValidationError is raised.

    Starlette builds middleware lazily, during the lifespan start-up, where uvicorn's default
    ``--lifespan auto`` reports a failure only as "lifespan unsupported" and goes on to serve
    500s: the log says what is wrong.
    """
    try:
        return SessionConfig.model_validate(fields)
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            logger.error("session settings refused: %s: %s", where, problem["msg"])
        raise


def _host(scope: Scope) -> str:
    """The host a request was addressed to: its Host header, else the server's address."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1"))
    server = scope.get("server")
    return str(server[0]) if server else "an unknown host"


def _local_host(scope: Scope) -> bool:
    """Whether the request was addressed to this machine (where browsers keep Secure cookies
    over plain http)."""
    host = _host(scope)
    if host.startswith("["):  # [::1]:8000
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:  # localhost:8000
        host = host.partition(":")[0]
    host = host.lower()
    return host in _LOCAL_HOSTS or host.endswith(".localhost")
