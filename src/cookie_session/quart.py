"""Quart integration: ``quart.session`` kept in this package's cookie, set up by SessionConfig.

Quart does not take the session from the ASGI scope: ``quart.session`` is whatever
``app.session_interface`` opens for the request, by default Quart's own signed cookie keyed by
``app.secret_key``. :func:`use_cookie_session` installs :class:`CookieSessionInterface` instead::

    app = Quart(__name__)
    use_cookie_session(app, SessionConfig.from_env())

The interface reads and writes the cookie with :class:`SessionMiddleware`'s own code, so the
value, the attributes and the rules (when a cookie is sent, deleted or re-signed, ``Vary``, the
size limit) are the middleware's, and an application can move between the two without logging
anyone out. ``app.secret_key`` plays no part: the keys are the configuration's.

Importing this module imports Quart; ``import cookie_session`` never does.
"""

from __future__ import annotations

import logging
from typing import Unpack, cast

from quart import Quart
from quart.sessions import SessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket, Response
from werkzeug.wrappers import Response as WerkzeugResponse

from cookie_session.codec import VerifiedCookie
from cookie_session.config import SessionConfig, SessionFields
from cookie_session.middleware import SessionMiddleware
from cookie_session.session import Session
from cookie_session.stats import SessionStats
from cookie_session.types import Message, Receive, Scope, Send

__all__ = ["CookieSessionInterface", "QuartSession", "use_cookie_session"]

logger = logging.getLogger("cookie_session")


class QuartSession(Session, SessionMixin):
    """What ``quart.session`` is: a :class:`cookie_session.Session` that is also the
    ``SessionMixin`` Quart and Flask-style extensions expect.

    ``permanent`` is only a key (``_permanent``) in the data, as in Flask: how long the cookie
    lives is the configuration's ``max_age``.
    """

    def __init__(self, incoming: VerifiedCookie | None = None) -> None:
        super().__init__(incoming.data if incoming is not None else ())
        self.incoming = incoming
        """The cookie the request brought, as verified; ``None`` when none verified."""


async def _no_application(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("CookieSessionInterface drives the cookie code only, never an app")


class CookieSessionInterface(SessionInterface):
    """A Quart session interface that keeps the session in cookie-session's cookie.

    Configure it like :class:`SessionMiddleware`: a validated :class:`SessionConfig`, or the
    same settings as keyword arguments (validated through SessionConfig, so a bad setting is a
    :class:`pydantic.ValidationError` here, at set-up); not both.
    """

    def __init__(
        self, config: SessionConfig | None = None, **fields: Unpack[SessionFields]
    ) -> None:
        # The middleware holds the one implementation of reading and writing the cookie; this
        # class calls it from Quart's hooks instead of from an ASGI send, so the two cannot
        # drift apart.
        self._cookies = SessionMiddleware(_no_application, config=config, **fields)
        self.config: SessionConfig = self._cookies.config

    def stats(self) -> SessionStats:
        """Counters since start-up, as :meth:`SessionMiddleware.stats` gives them."""
        return self._cookies.stats()

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> QuartSession:
        """The request's session: the first session cookie that verifies, or an empty one."""
        # Quart types its scope as a TypedDict; it is the ASGI scope all the same.
        return QuartSession(self._cookies.read_cookie(cast(Scope, request.scope)))

    async def save_session(
        self,
        app: Quart,
        session: SessionMixin,
        response: Response | WerkzeugResponse | None,
    ) -> None:
        """Add ``Vary`` and ``Set-Cookie`` to the response, as the session's use requires.

        Raises :class:`~cookie_session.SessionTooLarge` when the cookie would not fit, and
        :class:`TypeError` naming the key when a value cannot be stored.
        """
        if not isinstance(session, QuartSession):
            raise TypeError(
                f"CookieSessionInterface cannot save a {type(session).__name__}: "
                "only the QuartSession its open_session returned"
            )
        start: Message = {"type": "http.response.start", "headers": []}
        self._cookies.add_cookie_headers(start, session, session.incoming)
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


def use_cookie_session(
    app: Quart, config: SessionConfig | None = None, **fields: Unpack[SessionFields]
) -> CookieSessionInterface:
    """Make ``quart.session`` use cookie-session's cookie; returns the installed interface."""
    interface = CookieSessionInterface(config, **fields)
    app.session_interface = interface  # type: ignore[assignment]  # Quart types it as its own default class
    return interface
