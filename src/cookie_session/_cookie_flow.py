"""The request path of :class:`~cookie_session.SessionMiddleware` for sessions kept in the cookie.

The cookie carries the whole session (signed, or sealed with ``encrypt=True``): it is read when
the request comes in and, at the response's start, sent again only when the session's content
changed, when it was signed with a fallback key or in the other format, or when
``refresh_after`` asks for a fresh signing time. Everything about the cookie itself is
:class:`~cookie_session.cookie.SessionCookie`'s.

The same shape as the store's path (:mod:`cookie_session._store_flow`): :meth:`CookieFlow.open`
and :meth:`CookieFlow.save` for a caller that has a scope and can take a response's headers
(the Quart adapter), and ``__call__`` for ASGI, which skips all work for a session nobody
changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cookie_session.cookie import RESPONSE_STARTS, SessionCookie
from cookie_session.session import Session, storable
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp, Message, Scope

if TYPE_CHECKING:
    from cookie_session.codec import VerifiedCookie

__all__ = ["CookieFlow", "CookieOpened"]


class CookieOpened:
    """What :meth:`CookieFlow.open` found for a request, which :meth:`CookieFlow.save` needs."""

    __slots__ = ("incoming", "resend", "session")

    def __init__(self, session: Session, incoming: VerifiedCookie | None, resend: bool) -> None:
        self.session = session
        self.incoming = incoming
        """The cookie the request brought, as verified; ``None`` when none verified."""
        self.resend = resend
        """Whether the cookie must be sent again even if the session is unchanged."""


class CookieFlow:
    """Reads each request's session from its cookie and sends it back when it must."""

    __slots__ = ("app", "cookie")

    def __init__(self, app: ASGIApp, cookie: SessionCookie) -> None:
        self.app = app
        self.cookie = cookie

    async def __call__(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        cookie = self.cookie
        incoming = cookie.read(scope)
        if incoming is None:
            session = Session()
            resend = False
        else:
            session = Session(incoming.data)
            # Only a cookie of another key or format, or a refresh_after setting, can need it.
            resend = bool(
                incoming.key_index or incoming.other_format or cookie.refresh_after is not None
            ) and cookie.must_resend(incoming)
        if "session" in scope:
            # Another session middleware further out (a mounted sub-application with its own
            # cookie): the application gets a copy of the scope, as the ASGI spec asks of
            # middleware that changes it, so neither middleware ever sees the other's session,
            # not even after the response has started.
            scope = dict(scope)
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                current = scope.get("session")
                if current is session and not (resend or session.exposed or session.resend):
                    # Untouched or only read (the common cases), and no hook left to run:
                    # nothing to send, at most a Vary.
                    if session.accessed:
                        if session._before_save is None:
                            cookie.add_vary(message)
                        else:
                            self.add_cookie_headers(message, session, incoming, resend=False)
                else:
                    self.add_cookie_headers(
                        message, current, incoming, replaced=current is not session, resend=resend
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def open(self, scope: Scope, session_class: type[Session] = Session) -> CookieOpened:
        """The request's session (a ``session_class``): that of its first session cookie that
        verifies, or an empty one."""
        incoming = self.cookie.read(scope)
        if incoming is None:
            return CookieOpened(session_class(), None, False)
        return CookieOpened(
            session_class(incoming.data), incoming, self.cookie.must_resend(incoming)
        )

    async def save(self, message: Message, current: object, opened: CookieOpened) -> None:
        """Add Vary and Set-Cookie to ``message`` for what the application left as its session
        (``current``); see :meth:`add_cookie_headers`."""
        self.add_cookie_headers(
            message,
            current,
            opened.incoming,
            replaced=current is not opened.session,
            resend=opened.resend,
        )

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
        path put there or, when ``replaced``, whatever took its place (a new mapping, a model,
        ``None``...), which is what the browser gets. ``incoming`` is the cookie the request
        brought, as verified; ``resend``, whether it must be sent again even if unchanged, is
        worked out from it unless the caller already knows.

        Raises :class:`~cookie_session.SessionTooLarge` when the cookie would not fit, and
        :class:`TypeError` naming the key when a value cannot be stored.
        """
        cookie = self.cookie
        if resend is None:
            resend = incoming is not None and cookie.must_resend(incoming)
        if isinstance(current, Session):
            if current._before_save is not None:
                current.run_before_save()
            resend = resend or current.resend
        if replaced or not isinstance(current, Session):
            cookie.add_vary(message)
        else:
            # A re-sent cookie (fallback key, refresh) depends on the request's cookie even where
            # the handler never looked at the session: no shared cache may serve it to others.
            if current.accessed or resend:
                cookie.add_vary(message)
            if not current.exposed and not resend:
                return  # nothing was written and nothing changeable was handed out
        data = storable(current)
        json_text = cookie.codec.serialise(data)
        if incoming is not None and not resend and json_text == incoming.json_text:
            return
        if not data:
            if incoming is not None:
                cookie.delete(message)
            return  # empty before, empty now
        cookie.set(message, json_text)
