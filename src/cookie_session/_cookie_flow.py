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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cookie_session._audit import Auditor
from cookie_session.cookie import RESPONSE_STARTS, SessionCookie
from cookie_session.csrf import SAFE_METHODS
from cookie_session.session import MAX_AGE_KEY, STARTED_KEY, Session, configured_class, storable
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp, Message, Scope

if TYPE_CHECKING:
    from cookie_session.codec import VerifiedCookie
    from cookie_session.csrf import CsrfCheck

__all__ = ["CookieFlow", "CookieOpened"]


class CookieOpened:
    """What :meth:`CookieFlow.open` found for a request, which :meth:`CookieFlow.save` needs."""

    __slots__ = ("ended", "incoming", "resend", "session")

    def __init__(
        self,
        session: Session,
        incoming: VerifiedCookie | None,
        resend: bool,
        *,
        ended: bool = False,
    ) -> None:
        self.session = session
        self.ended = ended
        """Whether the session's ``max_lifetime`` was over: it is empty, its cookie deleted."""
        self.incoming = incoming
        """The cookie the request brought, as verified; ``None`` when none verified."""
        self.resend = resend
        """Whether the cookie must be sent again even if the session is unchanged."""


class CookieFlow:
    """Reads each request's session from its cookie and sends it back when it must."""

    __slots__ = ("_audit", "_session_class", "cookie", "csrf", "inner")

    def __init__(
        self, inner: ASGIApp, cookie: SessionCookie, csrf: CsrfCheck | None = None
    ) -> None:
        self.inner = inner
        """What this path calls with the session in the scope: the application."""
        self.cookie = cookie
        self.csrf = csrf
        """With ``csrf=True``, the check this path hands its unsafe ``http`` requests to (it
        calls the application when they pass); else ``None``."""
        self._session_class = configured_class(Session, cookie.config.max_age)
        self._audit = Auditor(cookie.config.secret_key.get_secret_value())

    async def __call__(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.inner(scope, receive, send)  # lifespan: passed through untouched
            return
        cookie = self.cookie
        incoming = cookie.read(scope)
        if incoming is None:
            session = self._session_class()
            resend = False
        else:
            if cookie.max_lifetime is not None and cookie.lifetime_ended(
                incoming, incoming.data.get(STARTED_KEY)
            ):
                self._log_ended(scope)
                await self._call_restarted(scope, receive, send, incoming)
                return
            session = self._session_class(incoming.data)
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

        # The closure keeps to what it must: each variable it captures costs every request.
        async def send_with_cookie(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                current = scope.get("session")
                if current is session and not (resend or session.exposed or session.resend):
                    # Untouched or only read (the common cases), and no hook left to run:
                    # nothing to send, at most a Vary.
                    if session.accessed:
                        if session._before_save is None:
                            self.cookie.add_vary(message)
                        else:
                            self.add_cookie_headers(message, session, incoming, resend=False)
                else:
                    self.add_cookie_headers(
                        message, current, incoming, replaced=current is not session, resend=resend
                    )
            await send(message)

        # Written out, not a call: with csrf=False this costs one test, with csrf=True a safe
        # request only the look at its method (benchmarks/overhead.py's csrf rows).
        csrf = self.csrf
        if csrf is None or scope_type != "http" or scope["method"] in SAFE_METHODS:
            await self.inner(scope, receive, send_with_cookie)
        else:
            await csrf.check(scope, receive, send_with_cookie)

    async def _call_restarted(
        self, scope: Scope, receive: AnyReceive, send: AnySend, incoming: VerifiedCookie
    ) -> None:
        """A request whose session's ``max_lifetime`` is over (rare, so out of ``__call__``'s
        way): the application gets an empty session, and the browser a fresh cookie or the
        deletion of its old one."""
        session = self._session_class()
        if "session" in scope:
            scope = dict(scope)  # as in __call__
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] in RESPONSE_STARTS:
                current = scope.get("session")
                self.add_cookie_headers(
                    message,
                    current,
                    incoming,
                    replaced=current is not session,
                    resend=True,
                    fresh=True,
                )
            await send(message)

        csrf = self.csrf  # as in __call__
        if csrf is None or scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.inner(scope, receive, send_with_cookie)
        else:
            await csrf.check(scope, receive, send_with_cookie)

    async def open(self, scope: Scope, session_class: type[Session] | None = None) -> CookieOpened:
        """The request's session (a ``session_class``): that of its first session cookie that
        verifies, or an empty one (also when its ``max_lifetime`` is over)."""
        make = session_class or self._session_class
        incoming = self.cookie.read(scope)
        if incoming is None:
            return CookieOpened(make(), None, False)
        if self.cookie.lifetime_ended(incoming, incoming.data.get(STARTED_KEY)):
            self._log_ended(scope)
            return CookieOpened(make(), incoming, True, ended=True)
        return CookieOpened(make(incoming.data), incoming, self.cookie.must_resend(incoming))

    def _log_ended(self, scope: Scope) -> None:
        """The audit line of a session whose ``max_lifetime`` is over."""
        candidates = self.cookie.candidates(scope) or [b""]
        self._audit.log("ended", _signature(candidates[0].decode("latin-1")), reason="max_lifetime")

    async def save(self, message: Message, current: object, opened: CookieOpened) -> None:
        """Add Vary and Set-Cookie to ``message`` for what the application left as its session
        (``current``); see :meth:`add_cookie_headers`."""
        self.add_cookie_headers(
            message,
            current,
            opened.incoming,
            replaced=current is not opened.session,
            resend=opened.resend,
            fresh=opened.ended,
        )

    def add_cookie_headers(
        self,
        message: Message,
        current: object,
        incoming: VerifiedCookie | None,
        *,
        replaced: bool = False,
        resend: bool | None = None,
        fresh: bool = False,
    ) -> None:
        """Add Vary and Set-Cookie to a response start, as the session's use requires.

        ``current`` is whatever the application left in ``scope["session"]``: the session this
        path put there or, when ``replaced``, whatever took its place (a new mapping, a model,
        ``None``...), which is what the browser gets. ``incoming`` is the cookie the request
        brought, as verified; ``resend``, whether it must be sent again even if unchanged, is
        worked out from it unless the caller already knows. ``fresh``: the session started
        afresh on this request (its ``max_lifetime`` was over), whatever the cookie says.

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
        if isinstance(data, Session):
            # dict's own methods: the session's would only note a use that no longer matters
            filled = dict.__len__(data) != 0
            own_max_age = filled and dict.__contains__(data, MAX_AGE_KEY)
        else:
            filled = bool(data)
            own_max_age = filled and MAX_AGE_KEY in data
        if own_max_age or (filled and cookie.max_lifetime is not None):
            # dict's own get for a Session: its get() would only note a use that is over now
            started = dict.get(data, STARTED_KEY) if isinstance(data, dict) else None
            if (
                own_max_age
                or type(started) is not int  # not a bool either: type, not isinstance
                or fresh
                or (isinstance(current, Session) and current.regenerated)
            ):
                self._add_lifetime_headers(message, current, data, incoming, resend, fresh)
                return
            # The common case with max_lifetime, kept on this path (every call and test costs
            # each such write): a start already recorded, the configuration's Max-Age, capped.
            json_text = cookie.codec.serialise(data)
            if incoming is not None and not resend and json_text == incoming.json_text:
                return
            max_age = cookie.max_age
            if max_age is None:
                value = cookie.set(message, json_text)
            else:
                value = cookie.set(message, json_text, cookie.within_lifetime(max_age, started))
        else:
            json_text = cookie.codec.serialise(data)
            if incoming is not None and not resend and json_text == incoming.json_text:
                return
            if not filled:
                if incoming is not None:
                    cookie.delete(message)
                return  # empty before, empty now
            value = cookie.set(message, json_text)
        if isinstance(current, Session) and current.regenerated:
            self._audit.log("regenerated", _signature(value))
        elif incoming is None:
            self._audit.log("started", _signature(value))

    def _add_lifetime_headers(
        self,
        message: Message,
        current: object,
        data: Mapping[str, Any],
        incoming: VerifiedCookie | None,
        resend: bool,
        fresh: bool,
    ) -> None:
        """The Set-Cookie of a session with a lifetime to keep: its start recorded (with
        ``max_lifetime``), and a ``Max-Age`` that is its own (``set_max_age``) and never
        outlives ``max_lifetime``."""
        cookie = self.cookie
        started: int | None = None
        now: int | None = None
        regenerated = isinstance(current, Session) and current.regenerated
        if cookie.max_lifetime is not None:
            now = cookie.now()  # read once: for a new start and for what remains of it
            # dict's own get for a Session: its get() would only note a use that is over now
            recorded = (
                dict.get(data, STARTED_KEY) if isinstance(data, dict) else data.get(STARTED_KEY)
            )
            if type(recorded) is int and not regenerated:  # not a bool: type, not isinstance
                started = recorded
            elif incoming is None or fresh or regenerated:
                started = now  # a session starts when it is first saved
            else:
                # The start the request's cookie recorded, even where the application put a
                # new mapping in the session's place or cleared it and wrote it again (only
                # regenerate() restarts it); a cookie from before max_lifetime was set
                # started when it was signed.
                earlier = incoming.data.get(STARTED_KEY)
                started = earlier if type(earlier) is int else incoming.signed_at
            if recorded != started:
                data = {**data, STARTED_KEY: started}
        json_text = cookie.codec.serialise(data)
        if incoming is not None and not resend and not fresh and json_text == incoming.json_text:
            return
        value = cookie.set(message, json_text, cookie.max_age_for(data, started, now))
        if incoming is None or fresh or regenerated:
            self._audit.log("regenerated" if regenerated else "started", _signature(value))


def _signature(value: str) -> str:
    """What identifies a cookie session in audit lines: its value's last part (the signature,
    or the sealed bytes), never shown itself but as a keyed hash."""
    return value.rpartition(".")[2]
