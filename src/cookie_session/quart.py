"""Quart integration: ``quart.session`` kept by cookie-session, set up by SessionConfig.

Quart does not take the session from the ASGI scope: ``quart.session`` is whatever
``app.session_interface`` opens for the request, by default Quart's own signed cookie keyed by
``app.secret_key``. :func:`use_cookie_session` installs :class:`CookieSessionInterface` instead::

    app = Quart(__name__)
    use_cookie_session(app, SessionConfig.from_env())

The interface runs :class:`SessionMiddleware`'s own request path for the configuration (the
session in the cookie, signed or encrypted, or in Redis behind a signed ID with ``store_url``)
from Quart's hooks, so the value, the attributes and the rules (when a cookie is sent, deleted
or re-signed, ``Vary``, the size limits, a new ID at login, revocation, per-key writes) are the
middleware's, and an application can move between the two without logging anyone out.
``app.secret_key`` plays no part: the keys are the configuration's.

When Redis fails, the request is answered ``503 Service Unavailable`` (``Retry-After: 1``) as
the middleware answers it: the view is not run with an empty session (the ``before_request``
hook :func:`use_cookie_session` adds answers instead), and a response whose session could not
be saved is replaced by the 503.

Importing this module imports Quart; ``import cookie_session`` never does.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Final, Unpack, cast

import quart
from quart import Quart
from quart.sessions import SessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket, Response
from werkzeug.wrappers import Response as WerkzeugResponse

from cookie_session._cookie_flow import CookieFlow, CookieOpened
from cookie_session._store_flow import UNAVAILABLE_BODY
from cookie_session.config import SessionConfig, SessionFields
from cookie_session.cookie import SessionCookie
from cookie_session.exceptions import SessionStoreUnavailable
from cookie_session.middleware import validated
from cookie_session.session import Session, configured_class
from cookie_session.stats import SessionStats
from cookie_session.types import Message, Receive, Scope, Send

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

    from cookie_session._store_flow import StoreFlow, StoreOpened
    from cookie_session.store import RedisSessionStore

__all__ = ["CookieSessionInterface", "QuartSession", "use_cookie_session"]

logger = logging.getLogger("cookie_session")

_UNAVAILABLE_BODY: Final = UNAVAILABLE_BODY.decode()


class QuartSession(Session, SessionMixin):
    """What ``quart.session`` is: a :class:`cookie_session.Session` that is also the
    ``SessionMixin`` Quart and Flask-style extensions expect.

    ``permanent`` is only a key (``_permanent``) in the data, as in Flask: how long the cookie
    lives is the configuration's ``max_age``.
    """

    opened: CookieOpened | StoreOpened | None = None
    """What the interface found for the request, which it needs to save the session."""

    @property
    def accessed(self) -> bool:
        """Set by any read or write of the session through its own methods (adding ``Vary:
        Cookie``), as in :class:`cookie_session.Session`."""
        return bool(self.__dict__.get("_accessed", False))

    @accessed.setter
    def accessed(self, value: bool) -> None:
        # Quart 0.23 sets `accessed` whenever its context's session is looked up, itself doing
        # so just before save_session: taken at its word, every response would vary by Cookie.
        # Only the session's own reads and writes count, as with the middleware.
        if sys._getframe(1).f_globals.get("__name__") == "quart.ctx":
            return
        self.__dict__["_accessed"] = value

    unavailable: bool = False
    """Set when Redis could not load the session: the request is answered 503."""


class CookieSessionInterface(SessionInterface):
    """A Quart session interface that keeps the session as :class:`SessionMiddleware` does.

    Configure it like :class:`SessionMiddleware`: a validated :class:`SessionConfig`, or the
    same settings as keyword arguments (validated through SessionConfig, so a bad setting is a
    :class:`pydantic.ValidationError` here, at set-up); not both. ``store_client=`` keeps
    sessions in Redis through the application's own redis-py client, as with the middleware.
    """

    def __init__(
        self,
        config: SessionConfig | None = None,
        *,
        store_client: Redis | RedisCluster | None = None,
        **fields: Unpack[SessionFields],
    ) -> None:
        if config is not None and fields:
            raise TypeError(
                "pass either config= or the settings as keyword arguments, not both "
                f"(got config and {', '.join(sorted(fields))})"
            )
        self.config: SessionConfig = config if config is not None else validated(fields)
        self.cookie = SessionCookie(self.config)
        """The session cookie: its format, attributes, reading and writing."""
        self.store: RedisSessionStore | None = None
        """The Redis store sessions are kept in (``store_url``); ``None`` for cookie sessions."""
        self._session_class = configured_class(QuartSession, self.config.max_age)
        self._flow: CookieFlow | StoreFlow
        if self.config.store_url is not None or store_client is not None:
            from cookie_session._store_flow import StoreFlow
            from cookie_session.store import RedisSessionStore

            store = RedisSessionStore.from_config(self.config, store_client=store_client)
            self._flow = StoreFlow(_no_application, self.cookie, store)
            self.store = self._flow.store
        else:
            self._flow = CookieFlow(_no_application, self.cookie)

    def stats(self) -> SessionStats:
        """Counters since start-up, as :meth:`SessionMiddleware.stats` gives them."""
        return self.cookie.counters.snapshot()

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> QuartSession:
        """The request's session: loaded from its cookie (or from Redis), or an empty one; one
        marked ``unavailable`` when Redis fails (the request is then answered 503)."""
        # Quart types its scope as a TypedDict; it is the ASGI scope all the same.
        scope = cast(Scope, request.scope)
        try:
            opened = await self._flow.open(scope, self._session_class)
        except SessionStoreUnavailable:
            unavailable = QuartSession()
            unavailable.unavailable = True
            return unavailable
        session = opened.session
        assert isinstance(session, QuartSession)
        session.opened = opened
        return session

    async def save_session(
        self,
        app: Quart,
        session: SessionMixin,
        response: Response | WerkzeugResponse | None,
    ) -> None:
        """Save the session and add ``Vary`` and ``Set-Cookie`` to the response, as the
        session's use requires; a response whose session Redis could not load or save becomes
        the 503 the middleware would answer.

        Raises :class:`~cookie_session.SessionTooLarge` when the session would not fit, and
        :class:`TypeError` naming the key when a value cannot be stored.
        """
        if not isinstance(session, QuartSession):
            raise TypeError(
                f"CookieSessionInterface cannot save a {type(session).__name__}: "
                "only the QuartSession its open_session returned"
            )
        start: Message = {"type": "http.response.start", "headers": []}
        opened = session.opened
        try:
            if session.unavailable or opened is None:
                raise SessionStoreUnavailable("load", "Redis failed when the request came in")
            await self._flow.save(start, session, opened)  # type: ignore[arg-type]  # each path gets back the state its own open() made
        except SessionStoreUnavailable:
            if response is not None:
                _make_unavailable(response)
            return
        for name, value in start["headers"]:
            if response is None:
                # A websocket that ended without a response: there is nothing to carry a cookie.
                if name == b"set-cookie":
                    logger.error(
                        "session changed during a websocket: no response can carry the cookie, "
                        "so the change is lost"
                    )
            elif name == b"vary":
                response.vary.add("Cookie")  # merged with any Vary the response already has
            else:
                response.headers.add(name.decode("latin-1"), value.decode("latin-1"))


async def _no_application(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("CookieSessionInterface runs the request path's halves, never an app")


def _make_unavailable(response: Response | WerkzeugResponse) -> None:
    """Turn ``response`` into the 503 the middleware answers when Redis fails."""
    response.status_code = 503
    response.headers.clear()
    response.headers["Retry-After"] = "1"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.set_data(_UNAVAILABLE_BODY)


def use_cookie_session(
    app: Quart,
    config: SessionConfig | None = None,
    *,
    store_client: Redis | RedisCluster | None = None,
    **fields: Unpack[SessionFields],
) -> CookieSessionInterface:
    """Make ``quart.session`` use cookie-session; returns the installed interface."""
    interface = CookieSessionInterface(config, store_client=store_client, **fields)
    app.session_interface = interface  # type: ignore[assignment]  # Quart types it as its own default class

    async def answer_when_unavailable() -> Response | None:
        # Before the view: a session Redis could not load is never served as an empty one.
        current = quart.session._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy
        if isinstance(current, QuartSession) and current.unavailable:
            response = Response("")
            _make_unavailable(response)
            return response
        return None

    app.before_request(answer_when_unavailable)
    app.before_websocket(answer_when_unavailable)
    if interface.config.csrf:  # honoured here too: nothing a configuration asks is ignored
        from cookie_session.csrf import check_quart_requests

        check_quart_requests(app, interface)
    return interface
