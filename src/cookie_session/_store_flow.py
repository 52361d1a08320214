"""The request path of :class:`~cookie_session.SessionMiddleware` when ``store_url`` is set.

The session lives in Redis (:class:`~cookie_session.store.RedisSessionStore`); the cookie
carries only ``{"sid": ID}``, signed exactly as a cookie session is (same keys and fallbacks,
same ``max_age`` on the signing time, same ``refresh_after``), so an ID nobody signed is refused
before any Redis call, and a request without a valid session cookie never reaches Redis.

One request costs at most one round trip to read (when it carries a valid cookie) and one to
write (when the session changed: only the changed top-level keys are sent). The ID changes when
the session is first saved, and whenever the user under ``user_key`` changes (login, logout,
switching user), so an ID a client made up or kept from before a login is never the session's.

Longer than most modules: the save has six cases (new, moved, changed, refreshed, emptied, and
unchanged but seen: the device list), each with its own order of store calls and cookie, and
they are kept together as the one place where the cookie and Redis are reconciled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from cookie_session._audit import Auditor
from cookie_session._store_flashes import LoadedFlashes, flash_fields, session_fields
from cookie_session.codec import decode_json_value, encode_json_value
from cookie_session.cookie import RESPONSE_STARTS, SessionCookie
from cookie_session.csrf import SAFE_METHODS
from cookie_session.devices import DEVICE_FIELD, SEEN_INTERVAL, DeviceRecord, client_of
from cookie_session.exceptions import SessionStoreUnavailable, SessionTooLarge
from cookie_session.flash import FLASHES_KEY
from cookie_session.session import (
    CSRF_SECRET_KEY,
    MAX_AGE_KEY,
    STARTED_KEY,
    Session,
    configured_class,
    storable,
)
from cookie_session.store import (
    INDEXED_FIELD,
    LIFETIME_GRACE,
    RedisSessionStore,
    WriteOutcome,
    is_session_id,
    user_of_field,
)
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp, Message, Scope

if TYPE_CHECKING:
    from cookie_session.codec import VerifiedCookie
    from cookie_session.csrf import CsrfCheck

__all__ = ["ID_FIELD", "StoreFlow", "StoreOpened"]

logger = logging.getLogger("cookie_session")

ID_FIELD: Final = "sid"
"""The one key of the session a store cookie carries: its ID."""


class StoreOpened:
    """What :meth:`StoreFlow.open` found for a request, which :meth:`StoreFlow.save` needs."""

    __slots__ = (
        "client",
        "device",
        "ended",
        "flashes",
        "indexed_until",
        "loaded",
        "resend",
        "seen_due",
        "session",
        "session_id",
        "signed_at",
    )

    def __init__(
        self,
        session: Session,
        session_id: str | None,
        loaded: dict[str, str],
        resend: bool,
        *,
        signed_at: int | None = None,
        ended: bool = False,
    ) -> None:
        self.session = session
        self.signed_at = signed_at
        """When the request's session cookie was signed (a session from before
        ``max_lifetime`` was set counts from it)."""
        self.ended = ended
        """Whether the session's ``max_lifetime`` was over: its data is deleted, and so is
        its cookie when the response starts."""
        self.session_id = session_id
        """The ID Redis knows the session by; ``None`` for a session not (or no longer) saved."""
        self.loaded = loaded
        """The stored fields as loaded (key -> JSON text), each flash message's field among
        them: what a save compares against."""
        self.flashes: LoadedFlashes | None = None
        """The flash messages loaded, if any (see :mod:`._store_flashes`)."""
        self.resend = resend
        """Whether the cookie must be sent again even if nothing changes (fallback key,
        refresh_after)."""
        self.indexed_until: str | None = None
        """The session's ``_cs.indexed`` field: until when its user's index entry lasts."""
        # With track_devices only:
        self.client: tuple[str | None, str | None] = (None, None)
        """The request's client address and User-Agent."""
        self.device: DeviceRecord | None = None
        """The session's device record as loaded."""
        self.seen_due = False
        """Whether the record's last-seen time is due to be written (a signed-in session not
        seen for :data:`~cookie_session.devices.SEEN_INTERVAL` seconds, or not yet recorded)."""


class StoreFlow:
    """Loads each request's session from the store and saves what changed at response start.

    :meth:`open` and :meth:`save` are the two halves, for any caller that has a request's
    scope and can take headers for its response (the Quart adapter); :meth:`__call__` is the
    ASGI form, which also answers 503 itself when Redis fails.
    """

    __slots__ = (
        "_audit",
        "_max_bytes",
        "_session_class",
        "_track_devices",
        "_user_key",
        "cookie",
        "csrf",
        "inner",
        "store",
    )

    def __init__(
        self,
        app: ASGIApp,
        cookie: SessionCookie,
        store: RedisSessionStore | None = None,
        csrf: CsrfCheck | None = None,
    ) -> None:
        self.inner = app
        """What this path calls with the session in the scope: the application."""
        self.cookie = cookie
        self.csrf = csrf
        """With ``csrf=True``, the check this path hands its unsafe ``http`` requests to (it
        calls the application when they pass); else ``None``."""
        config = cookie.config
        self.store = store if store is not None else RedisSessionStore.from_config(config)
        self._user_key = config.user_key
        self._max_bytes = config.store_max_bytes
        self._track_devices = config.track_devices
        self._session_class = configured_class(Session, config.max_age)
        self._audit = Auditor(config.secret_key.get_secret_value())

    async def __call__(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.inner(scope, receive, send)  # lifespan: passed through untouched
            return
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
                if (
                    current is not session
                    or session.accessed
                    or opened.resend
                    or opened.ended
                    or opened.seen_due
                ):
                    try:
                        await self.save(message, current, opened)
                    except SessionStoreUnavailable:
                        state["refused"] = True
                        await _refuse(scope, send)
                        return
                state["started"] = True
            await send(message)

        csrf = self.csrf  # as in CookieFlow.__call__
        try:
            if csrf is None or scope_type != "http" or scope["method"] in SAFE_METHODS:
                await self.inner(scope, receive, send_with_cookie)
            else:
                await csrf.check(scope, receive, send_with_cookie)
        except SessionStoreUnavailable:
            # The application's own call to the store failed (revocation, listing): answered
            # like a failed load, unless a response is already on its way.
            if state["started"]:
                raise
            if not state["refused"]:
                state["refused"] = True
                await _refuse(scope, send)

    # -- reading -------------------------------------------------------------------------------

    async def open(self, scope: Scope, session_class: type[Session] | None = None) -> StoreOpened:
        """The request's session, loaded from the store: that of the first of its session
        cookies (at most MAX_CANDIDATES) whose signed ID Redis still knows, or an empty one.

        So a dead cookie sent first (one planted for this site by a sibling subdomain, say)
        does not hide the live one after it. Raises SessionStoreUnavailable."""
        make = session_class or self._session_class
        for session_id, verified in self._session_ids(scope):
            fields = await self._load(session_id)
            if fields is None:  # expired or revoked: try the next
                continue
            # The store's fields, never the session's:
            indexed_until = fields.pop(INDEXED_FIELD, None)
            device = fields.pop(DEVICE_FIELD, None)
            if self.cookie.max_lifetime is not None and self.cookie.lifetime_ended(
                verified, _json_int(fields.get(STARTED_KEY))
            ):
                await self._end(session_id, fields)
                return StoreOpened(make(), None, {}, True, ended=True)
            session_data, flashes = self._decode(fields)
            session = make(session_data)
            session.session_id = session_id
            opened = StoreOpened(
                session,
                session_id,
                fields,
                self.cookie.must_resend(verified),
                signed_at=verified.signed_at,
            )
            opened.indexed_until = indexed_until
            opened.flashes = flashes
            if self._track_devices:
                self._note_device(opened, scope, device)
            return opened
        opened = StoreOpened(make(), None, {}, False)
        if self._track_devices:
            opened.client = client_of(scope)  # for a login on this request
        return opened

    def _note_device(self, opened: StoreOpened, scope: Scope, device: str | None) -> None:
        """With ``track_devices``: what this request tells of the session's device."""
        opened.client = client_of(scope)
        opened.device = DeviceRecord.from_json(device)
        # user_of_field(...) is not None, without decoding the name
        user_text = opened.loaded.get(self._user_key or "")
        signed_in = user_text is not None and user_text != "null"
        opened.seen_due = signed_in and (
            opened.device is None or self.cookie.now() - opened.device.seen >= SEEN_INTERVAL
        )

    async def _end(self, session_id: str, fields: Mapping[str, str]) -> None:
        """Delete a session whose ``max_lifetime`` is over (an audit line says so)."""
        user = user_of_field(fields.get(self._user_key)) if self._user_key is not None else None
        try:
            await self.store.delete(session_id, user)
        except SessionStoreUnavailable:
            self.cookie.counters.store_errors += 1
            raise
        self._audit.log("ended", session_id, user, reason="max_lifetime")

    def _session_ids(self, scope: Scope) -> list[tuple[str, VerifiedCookie]]:
        """The session IDs of the request's first few session cookies that verify, with their
        cookies, in order; a validly signed cookie that carries no ID is refused."""
        all_verified = self.cookie.all_verified(scope)
        if not all_verified:
            return []
        found: list[tuple[str, VerifiedCookie]] = []
        for verified in all_verified:
            data = verified.data
            # {"sid": ID}, and the session's own lifetime when it has one (set_max_age).
            plain = len(data) == 1 or (len(data) == 2 and MAX_AGE_KEY in data)
            session_id = data.get(ID_FIELD) if plain else None
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
            return await self.store.load_hash(session_id)
        except SessionStoreUnavailable:
            self.cookie.counters.store_errors += 1
            raise

    def _decode(self, loaded: dict[str, str]) -> tuple[dict[str, Any], LoadedFlashes | None]:
        """The session's data from its loaded fields (the flash messages' put together as
        one list), and the messages as loaded; a field that is not JSON makes the store
        unavailable for this session, never an error of the application's."""
        try:
            texts, flashes = session_fields(loaded)
            return {key: decode_json_value(text) for key, text in texts.items()}, flashes
        except (ValueError, RecursionError):
            self.cookie.counters.store_errors += 1
            failure = "a stored session value is not JSON"
            logger.error("session store unavailable: load failed: %s", failure)
            raise SessionStoreUnavailable("load", failure) from None

    # -- writing -------------------------------------------------------------------------------

    async def save(self, message: Message, current: object, opened: StoreOpened) -> None:
        """Save what the application left in ``scope["session"]`` (``current``) and add the
        headers it needs to the response start ``message``, as
        :meth:`CookieFlow.add_cookie_headers` does for cookie sessions.

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
                # Nothing was written and nothing changeable was handed out.
                if opened.seen_due:
                    await self._note_seen(opened)
                return
        fields = _fields(storable(current))
        size = sum(len(key.encode()) + len(value) for key, value in fields.items())
        if size > self._max_bytes:
            cookie.counters.too_large_errors += 1
            raise SessionTooLarge(size, self._max_bytes, stored=True)
        if FLASHES_KEY in fields:
            flash_fields(fields, opened.flashes)  # a field each: concurrent flashes all stay
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
        user_text = fields.get(user_key) if user_key is not None else None
        user = user_of_field(user_text)
        own = _json_int(fields.get(MAX_AGE_KEY))  # the session's own lifetime (set_max_age)
        browser = fields.get(MAX_AGE_KEY) == "null"  # set_max_age(None): no Max-Age
        # With max_lifetime, one time for the whole write: a new session's start, its expiry
        # in Redis and its cookie's Max-Age agree, however long the round trips take.
        now = self.cookie.now() if self.cookie.max_lifetime is not None else None
        if session_id is None:  # no session, or one Redis no longer knows: never its ID
            if not fields:
                if opened.ended:
                    self._delete_cookie(message)
                return None
            started = self._start(fields, now, fresh=True)
            self._add_device(fields, opened, user, now, same_user=False)
            new_id = await store.create(
                fields, user, lifetime=self._in_redis(own, user, started, now)
            )
            self._set_cookie(message, new_id, own, started, now, browser=browser)
            self._audit.log("started", new_id, user)
            return new_id
        old_text = loaded.get(user_key) if user_key is not None else None
        old_user = user if old_text == user_text else user_of_field(old_text)  # decoded once
        if not fields:
            if old_user is None:
                # Only the fields it read go, so a message another request flashed meanwhile
                # stays, and the session with it.
                return await self._delete_fields(message, session_id, loaded, opened)
            await store.delete(session_id, old_user)
            self._delete_cookie(message)
            return None
        if user != old_user or regenerated:
            # Logged in, out or as someone else, or regenerate(): a new ID (fixation defence),
            # a new start of its lifetime, and a new CSRF secret (tokens handed out before the
            # login are void).
            # (A secret made in this very request, after regenerate(), is already new.)
            if fields.get(CSRF_SECRET_KEY) == loaded.get(CSRF_SECRET_KEY):
                fields.pop(CSRF_SECRET_KEY, None)
            started = self._start(fields, now, fresh=True)
            self._add_device(fields, opened, user, now, same_user=user == old_user)
            moved_id = await store.move(
                session_id, fields, old_user, user, lifetime=self._in_redis(own, user, started, now)
            )
            if moved_id is None:
                _log_gone()
                return None
            self._set_cookie(message, moved_id, own, started, now, browser=browser)
            self._audit.log("moved", moved_id, user, previous=self._audit.reference(session_id))
            return moved_id
        started = self._start(fields, now, fresh=False, loaded=loaded, signed_at=opened.signed_at)
        changed = {key: value for key, value in fields.items() if loaded.get(key) != value}
        removed = [key for key in loaded if key not in fields]
        if opened.seen_due and (changed or removed or resend):
            self._add_device(changed, opened, user, now, same_user=True)  # rides on this write
        if changed or removed:
            outcome = await store.update(
                session_id,
                changed,
                removed,
                user,
                lifetime=self._in_redis(own, user, started, now),
                indexed_until=opened.indexed_until,
            )
            if outcome is WriteOutcome.GONE:
                _log_gone()
                return None
            if outcome is WriteOutcome.EMPTIED:
                self._delete_cookie(message)
                return None
        elif not resend:
            if opened.seen_due:
                await self._note_seen(opened)
            return session_id  # unchanged: nothing written, no cookie sent
        elif not await store.touch(
            session_id,
            user,
            lifetime=self._in_redis(own, user, started, now),
            indexed_until=opened.indexed_until,
        ):
            return None  # gone meanwhile
        # Signed afresh, so the cookie lives as long as the data it points to.
        self._set_cookie(message, session_id, own, started, now, browser=browser)
        return session_id

    async def _delete_fields(
        self, message: Message, session_id: str, loaded: Mapping[str, str], opened: StoreOpened
    ) -> str | None:
        """Delete the loaded fields of an anonymous session left empty, and its cookie once
        that empties it: not if a field written meanwhile keeps the session, nor if it was
        gone already (a concurrent login may have sent a new cookie). Return its ID if kept."""
        outcome = await self.store.update(
            session_id, {}, list(loaded), None, indexed_until=opened.indexed_until
        )
        if outcome is WriteOutcome.WRITTEN:
            return session_id
        if outcome is WriteOutcome.EMPTIED:
            self._delete_cookie(message)
        return None

    def _add_device(
        self,
        fields: dict[str, str],
        opened: StoreOpened,
        user: str | None,
        now: int | None,
        *,
        same_user: bool,
    ) -> None:
        """With ``track_devices``, a signed-in session's device record, seen ``now`` (the
        write's time, with ``max_lifetime``), into the fields to write (see :meth:`_seen_now`)."""
        if self._track_devices and user is not None:
            fields[DEVICE_FIELD] = self._seen_now(opened, same_user=same_user, now=now).to_json()

    async def _note_seen(self, opened: StoreOpened) -> None:
        """Write the device's last-seen time on a request that writes nothing else, without
        restarting the session's lifetime (at most once a minute per session)."""
        assert opened.session_id is not None  # seen_due is only set for a loaded session
        try:
            await self.store.note_seen(opened.session_id, self._seen_now(opened, same_user=True))
        except SessionStoreUnavailable:
            self.cookie.counters.store_errors += 1
            raise

    def _seen_now(
        self, opened: StoreOpened, *, same_user: bool, now: int | None = None
    ) -> DeviceRecord:
        """The session's device record, seen ``now`` (else the clock's time) from this
        request's client: the loaded one seen again, or a new one when the session starts,
        changes user, or has none yet (it signed in before track_devices was on)."""
        if now is None:
            now = self.cookie.now()
        if same_user and opened.device is not None:
            return opened.device.seen_again(now, opened.client)
        return DeviceRecord(now, now, *opened.client)

    def _start(
        self,
        fields: dict[str, str],
        now: int | None,
        *,
        fresh: bool,
        loaded: Mapping[str, str] | None = None,
        signed_at: int | None = None,
    ) -> int | None:
        """With ``max_lifetime`` (``now`` is then the write's time): when the session started,
        recorded in ``fields`` (``now`` for a new or moved session; else as loaded, or, for a
        session from before the setting, when its cookie was signed)."""
        if now is None:  # no max_lifetime
            return None
        recorded = None if fresh or loaded is None else _json_int(loaded.get(STARTED_KEY))
        started = recorded if recorded is not None else signed_at
        if fresh or started is None:
            started = now
        fields[STARTED_KEY] = str(started)
        return started

    def _in_redis(
        self, own: int | None, user: str | None, started: int | None, now: int | None
    ) -> int | None:
        """How long Redis keeps the session after this write, in seconds (``None``: the
        store's lifetime for a signed-in or an anonymous session): its own lifetime or the
        store's, never more than ``LIFETIME_GRACE`` past what remains of ``max_lifetime`` for
        a session ``started`` then (at ``now``): Redis forgets it soon after it ends."""
        if started is None:  # no max_lifetime
            return own
        store = self.store
        if own is not None:
            lifetime = own
        else:
            lifetime = store.lifetime if user is not None else store.anonymous_lifetime
        remaining = self.cookie.within_lifetime(lifetime, started, now)
        if remaining >= lifetime:
            return own
        return min(remaining + LIFETIME_GRACE, lifetime)

    def _set_cookie(
        self,
        message: Message,
        session_id: str,
        own: int | None = None,
        started: int | None = None,
        now: int | None = None,
        *,
        browser: bool = False,
    ) -> None:
        """The cookie of ``session_id``: with the session's own lifetime in it (the server's
        age check follows it) and as its ``Max-Age``, never past ``max_lifetime``; without
        ``Max-Age`` for a ``browser`` session (``set_max_age(None)``). ``started`` and ``now``
        as for :meth:`_in_redis`."""
        carried: dict[str, object] = {ID_FIELD: session_id}
        if own is not None:
            carried[MAX_AGE_KEY] = own
        json_text = self.cookie.codec.serialise(carried)
        max_age = None if browser else self.cookie.max_age_for(carried, started, now)
        self.cookie.set(message, json_text, max_age)

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


def _json_int(json_text: str | None) -> int | None:
    """A stored field's JSON text as an int, ``None`` when absent or anything else."""
    if json_text is None or not json_text.isdigit():
        return None
    return int(json_text)


def _log_gone() -> None:
    logger.warning(
        "a session ended while a request changed it (revoked, expired, or moved to a new ID "
        "by a concurrent request): the changes were not saved and no cookie was sent"
    )
