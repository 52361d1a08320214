"""The request path of :class:`~cookie_session.SessionMiddleware` when ``store_url`` is set.

The session lives in Redis (:class:`~cookie_session.store.RedisSessionStore`); the cookie
carries only ``{"sid": ID}``, signed exactly as a cookie session is (same keys and fallbacks,
same ``max_age`` on the signing time, same ``refresh_after``), so an ID nobody signed is refused
before any Redis call, and a request without a valid session cookie never reaches Redis.

One request costs at most one round trip to read (when it carries a valid cookie) and one to
write (when the session changed: only the changed top-level keys are sent). The ID changes when
the session is first saved, and whenever the user under ``user_key`` changes (login, logout,
switching user), so an ID a client made up or kept from before a login is never the session's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from cookie_session.codec import decode_json_value, encode_json_value
from cookie_session.cookie import RESPONSE_STARTS, SessionCookie
from cookie_session.exceptions import SessionStoreUnavailable, SessionTooLarge
from cookie_session.session import Session, storable
from cookie_session.store import RedisSessionStore, WriteOutcome, is_session_id, user_of_field
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp, Message, Scope

if TYPE_CHECKING:
    from cookie_session.codec import VerifiedCookie

__all__ = ["ID_FIELD", "StoreFlow", "StoreOpened"]

logger = logging.getLogger("cookie_session")

ID_FIELD: Final = "sid"
"""The one key of the session a store cookie carries: its ID."""


class StoreOpened:
    """What :meth:`StoreFlow.open` found for a request, which :meth:`StoreFlow.save` needs."""

    __slots__ = ("loaded", "resend", "session", "session_id")

    def __init__(
        self, session: Session, session_id: str | None, loaded: dict[str, str], resend: bool
    ) -> None:
        self.session = session
        self.session_id = session_id
        """The ID Redis knows the session by; ``None`` for a session not (or no longer) saved."""
        self.loaded = loaded
        """The stored fields as loaded (key -> JSON text): what a save compares against."""
        self.resend = resend
        """Whether the cookie must be sent again even if nothing changes (fallback key,
        refresh_after)."""


class StoreFlow:
    """Loads each request's session from the store and saves what changed at response start.

    :meth:`open` and :meth:`save` are the two halves, for any caller that has a request's
    scope and can take headers for its response (the Quart adapter); :meth:`__call__` is the
    ASGI form, which also answers 503 itself when Redis fails.
    """

    __slots__ = ("_max_bytes", "_user_key", "app", "cookie", "store")

    def __init__(
        self, app: ASGIApp, cookie: SessionCookie, store: RedisSessionStore | None = None
    ) -> None:
        self.app = app
        self.cookie = cookie
        config = cookie.config
        self.store = store if store is not None else RedisSessionStore.from_config(config)
        self._user_key = config.user_key
        self._max_bytes = config.store_max_bytes

    async def __call__(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        try:
            opened = await self.open(scope)
        except SessionStoreUnavailable:
            await _refuse(scope, send)
            return
        session = opened.session
        if "session" in scope:  # an outer session middleware: see SessionMiddleware.__call__
            scope = dict(scope)
        scope["session"] = session
        state = {"started": False, "refused": False}

        async def send_with_cookie(message: Message) -> None:
            if state["refused"]:
                return  # a 503 went out instead of the application's response
            if message["type"] in RESPONSE_STARTS:
                current = scope.get("session")
                if current is not session or session.accessed or opened.resend:
                    try:
                        await self.save(message, current, opened)
                    except SessionStoreUnavailable:
                        state["refused"] = True
                        await _refuse(scope, send)
                        return
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        except SessionStoreUnavailable:
            # The application's own call to the store failed (revocation, listing): answered
            # like a failed load, unless a response is already on its way.
            if state["started"]:
                raise
            if not state["refused"]:
                state["refused"] = True
                await _refuse(scope, send)

    # -- reading -------------------------------------------------------------------------------

    async def open(self, scope: Scope, session_class: type[Session] = Session) -> StoreOpened:
        """The request's session, loaded from the store: that of the first of its session
        cookies (at most MAX_CANDIDATES) whose signed ID Redis still knows, or an empty one.

        So a dead cookie sent first (one planted for this site by a sibling subdomain, say)
        does not hide the live one after it. Raises SessionStoreUnavailable."""
        for session_id, verified in self._session_ids(scope):
            fields = await self._load(session_id)
            if fields is not None:  # else expired or revoked: try the next
                session = session_class(self._decode(fields))
                session.session_id = session_id
                return StoreOpened(session, session_id, fields, self.cookie.must_resend(verified))
        return StoreOpened(session_class(), None, {}, False)

    def _session_ids(self, scope: Scope) -> list[tuple[str, VerifiedCookie]]:
        """The session IDs of the request's first few session cookies that verify, with their
        cookies, in order; a validly signed cookie that carries no ID is refused."""
        found: list[tuple[str, VerifiedCookie]] = []
        for verified in self.cookie.all_verified(scope):
            session_id = verified.data.get(ID_FIELD) if len(verified.data) == 1 else None
            if is_session_id(session_id):
                assert isinstance(session_id, str)
                found.append((session_id, verified))
                continue
            # Validly signed, but a session kept in the cookie (from before the store was set
            # up): its data is not taken over, as revoking its user could not reach it.
            self.cookie.counters.rejected("malformed")
            logger.debug("session cookie rejected: a signed cookie that carries no session ID")
        return found

    async def _load(self, session_id: str) -> dict[str, str] | None:
        try:
            return await self.store.load(session_id)
        except SessionStoreUnavailable:
            self.cookie.counters.store_errors += 1
            raise

    def _decode(self, loaded: Mapping[str, str]) -> dict[str, Any]:
        try:
            return {key: decode_json_value(value) for key, value in loaded.items()}
        except (ValueError, RecursionError):
            self.cookie.counters.store_errors += 1
            failure = "a stored session value is not JSON"
            logger.error("session store unavailable: load failed: %s", failure)
            raise SessionStoreUnavailable("load", failure) from None

    # -- writing -------------------------------------------------------------------------------

    async def save(self, message: Message, current: object, opened: StoreOpened) -> None:
        """Save what the application left in ``scope["session"]`` (``current``) and add the
        headers it needs to the response start ``message``, as
        :meth:`SessionMiddleware.add_cookie_headers` does for cookie sessions.

        Raises SessionStoreUnavailable (nothing is then reported saved), SessionTooLarge
        (over ``store_max_bytes``: nothing is sent to Redis) or TypeError (a value JSON cannot
        hold)."""
        cookie = self.cookie
        session = opened.session
        replaced = current is not session
        resend = opened.resend
        regenerated = False
        if isinstance(current, Session):
            current.run_before_save()
            resend = resend or current.resend
            regenerated = current.regenerated
        if replaced or not isinstance(current, Session):
            cookie.add_vary(message)
        else:
            if current.accessed:
                cookie.add_vary(message)
            if not current.exposed and not resend:
                return  # nothing was written and nothing changeable was handed out
        fields = _fields(storable(current))
        size = sum(len(key.encode()) + len(value) for key, value in fields.items())
        if size > self._max_bytes:
            cookie.counters.too_large_errors += 1
            raise SessionTooLarge(size, self._max_bytes, stored=True)
        try:
            saved_id = await self._write(message, fields, opened, resend, regenerated)
        except SessionStoreUnavailable:
            cookie.counters.store_errors += 1
            raise
        if isinstance(current, Session):
            current.session_id = saved_id
            current.regenerated = False

    async def _write(
        self,
        message: Message,
        fields: dict[str, str],
        opened: StoreOpened,
        resend: bool,
        regenerated: bool,
    ) -> str | None:
        """Write the session's changes and add its Set-Cookie; return its ID after the write."""
        store = self.store
        user_key = self._user_key
        session_id, loaded = opened.session_id, opened.loaded
        user = user_of_field(fields.get(user_key)) if user_key is not None else None
        if session_id is None:  # no session, or one Redis no longer knows: never its ID
            if not fields:
                return None
            new_id = await store.create(fields, user)
            self._set_cookie(message, new_id)
            return new_id
        old_user = user_of_field(loaded.get(user_key)) if user_key is not None else None
        if not fields:
            await store.delete(session_id, old_user)
            self._delete_cookie(message)
            return None
        if user != old_user or regenerated:
            # Logged in, out or as someone else, or regenerate(): a new ID (fixation defence).
            moved_id = await store.move(session_id, fields, old_user, user)
            if moved_id is None:
                _log_gone()
                return None
            self._set_cookie(message, moved_id)
            return moved_id
        changed = {key: value for key, value in fields.items() if loaded.get(key) != value}
        removed = [key for key in loaded if key not in fields]
        if changed or removed:
            outcome = await store.update(session_id, changed, removed, user)
            if outcome is WriteOutcome.GONE:
                _log_gone()
                return None
            if outcome is WriteOutcome.EMPTIED:
                self._delete_cookie(message)
                return None
        elif not resend:
            return session_id  # unchanged: nothing written, no cookie sent
        elif not await store.touch(session_id, user):
            return None  # gone meanwhile
        # Signed afresh, so the cookie lives as long as the data it points to.
        self._set_cookie(message, session_id)
        return session_id

    def _set_cookie(self, message: Message, session_id: str) -> None:
        self.cookie.set(message, self.cookie.codec.serialise({ID_FIELD: session_id}))

    def _delete_cookie(self, message: Message) -> None:
        self.cookie.delete(message)


UNAVAILABLE_BODY: Final = b"The session store is unavailable; try again in a moment.\n"
WEBSOCKET_TRY_AGAIN_LATER: Final = 1013
"""The websocket close code for "Try Again Later" (RFC 6455's registry)."""


async def _refuse(scope: Scope, send: AnySend) -> None:
    """Answer a request whose session cannot be loaded or saved: ``503 Service Unavailable``
    with ``Retry-After``, never an empty session taken for a logout, nor a success whose
    changes were lost; a websocket is closed with 1013 (try again later)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": WEBSOCKET_TRY_AGAIN_LATER})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(UNAVAILABLE_BODY)).encode()),
                (b"retry-after", b"1"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": UNAVAILABLE_BODY})


def _fields(data: Mapping[Any, Any]) -> dict[str, str]:
    """The session as hash fields: each top-level key and its value's JSON (Starlette's form).

    Keys that are not strings are named as JSON names them (``1`` becomes ``"1"``), as they
    would be in a cookie; a value JSON cannot represent is a TypeError naming its key.
    """
    fields: dict[str, str] = {}
    for key, value in data.items():
        name = key
        if not isinstance(name, str):
            try:
                [name] = json.loads(json.dumps({key: None}))
            except TypeError as error:
                raise TypeError(f"session key {key!r} is not a string: {error}") from None
        try:
            fields[name] = encode_json_value(value)
        except (TypeError, ValueError, RecursionError) as error:
            raise TypeError(f"session[{key!r}] cannot be stored: {error}") from error
    return fields


def _log_gone() -> None:
    logger.warning(
        "a session ended while a request changed it (revoked, expired, or moved to a new ID "
        "by a concurrent request): the changes were not saved and no cookie was sent"
    )
