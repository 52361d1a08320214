"""RedisSessionStore: sessions kept in Redis, the cookie carrying only a signed session ID.

The layout, every key starting with ``store_prefix`` (``cookie-session:`` by default)::

    {prefix}session:{id}   a hash: one field per top-level key of the session, holding that
                           value's JSON; it expires max_age seconds (14 days when max_age is
                           None) after the session's last write or refresh
    {prefix}user:{user}    with user_key set: a sorted set of the user's session IDs, each scored
                           by when it expires (in ms); the set expires with its last session

Two fields of a signed-in session's hash are the store's, never part of the session's data:
``_cs.indexed``, when its entry in the user's index runs out (ms since the epoch), and, with
``track_devices``, ``_cs.device``, its device record (:mod:`cookie_session.devices`). The
session's flash messages (its ``_cs.flashes`` list) are a field each, ``_cs.flash:`` and a tag
(:mod:`cookie_session._store_flashes`), put together again by :meth:`RedisSessionStore.load`.

A user's index entry is scored with the session's expiry plus some slack (an eighth of its
lifetime): a write whose new expiry the entry still covers leaves the index alone, so a
signed-in session re-indexes once every few minutes of activity, not on every write.

An ID is 32 bytes from :mod:`secrets` in URL-safe base64 (43 characters, 256 bits), made here and
never taken from a client. A user is named by the string form of the session's value under
``user_key``: a string as it is, anything else as its JSON (``42`` and ``"42"`` are one user).

Every command touches one key, so that the layout works on a Redis Cluster as on one server;
the commands of one request go out together in a pipeline (one round trip; on a cluster, the
user's index entry first, then the rest: its nodes run a pipeline's commands in no order
between them), or alone when there is one (a change to a session without ``user_key``: its
script by EVALSHA, never inside a pipeline). Two of them are Lua scripts, on one key each,
because they must decide and write at once: a change to a session is applied only if the session
still exists (a request that was in flight when its session was revoked, expired or moved must
not bring it back), and a user's index drops its expired IDs as it is written, so it stays small.

About half again as long as the other modules: each operation's commands, and why they are
in that order (what revocation, fixation and the index's slack rely on), are spelt out here,
beside the layout and the scripts they rely on, so that the invariants can be checked in one
file; splitting the request side from the application side would put the two halves of each
invariant in two. How the commands reach Redis (connections, timer, retry, errors, topologies)
is :mod:`cookie_session._store_connection`'s and :mod:`cookie_session._store_client`'s.

redis-py is imported when a store first talks to Redis, never by ``import cookie_session``; any
error it raises becomes :class:`~cookie_session.SessionStoreUnavailable`, logged at ERROR with the
operation and the failure but never session data, an ID or a password.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import secrets
import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import SecretStr

from cookie_session._audit import Auditor
from cookie_session._store_client import ClientConnections
from cookie_session._store_connection import (
    Command,
    RedisConnections,
    StoreConnection,
    redacted_url,
)
from cookie_session._store_flashes import session_fields
from cookie_session._store_url import split_hosts_url
from cookie_session.codec import decode_json_value
from cookie_session.devices import DEVICE_FIELD, DeviceRecord, SessionInfo
from cookie_session.session import STARTED_KEY

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

    from cookie_session.config import SessionConfig

__all__ = [
    "DEFAULT_LIFETIME",
    "LIFETIME_GRACE",
    "SESSION_ID_BYTES",
    "RedisSessionStore",
    "WriteOutcome",
    "is_session_id",
    "new_session_id",
    "redacted_url",
    "user_name",
    "user_of_field",
]

SESSION_ID_BYTES: Final = 32
"""Random bytes in a session ID (256 bits; 128 would already be out of any guesser's reach)."""
DEFAULT_LIFETIME: Final = 14 * 24 * 60 * 60
"""Seconds a session lives after its last write when ``max_age`` is None (a browser-session
cookie still needs its data to end some day)."""
LIFETIME_GRACE: Final = 60
"""Seconds Redis keeps a session past the end of its ``max_lifetime``: a request in that time
finds it and ends it as the server's check does (its cookie deleted, the end audited) rather
than finding an ID Redis has already forgotten; :meth:`RedisSessionStore.list_sessions` and
:meth:`RedisSessionStore.user_sessions` leave it out."""
TIMEOUT_SECONDS: Final = 5.0
"""How long connecting, waiting for a free connection, and each operation's replies may take
before the store counts Redis as unavailable, unless the URL sets ``socket_connect_timeout`` or
``socket_timeout`` (then redis-py applies the URL's); redis-py itself waits forever. The store
times each operation as a whole, with one timer: redis-py's ``socket_timeout`` would time every
send by :func:`asyncio.wait_for` (a task per command) and every reply by :func:`asyncio.timeout`."""

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")

# KEYS[1]: a session's hash. ARGV[1]: "1" to create it, "0" to change it only if it exists;
# ARGV[2]: its lifetime in ms; ARGV[3]: how many fields to set, then that many field-value pairs,
# then the fields to delete. Returns 1 once written, 2 when the session is left empty (so gone),
# 0 when it was already gone. A change restarts the lifetime first: PEXPIRE answers whether the
# session exists, and HSET and HDEL keep a key's expiry. Fields go CHUNK at a time, as Lua's
# unpack() has a bounded stack.
_WRITE: Final = """
local CHUNK = 1000
local key, create = KEYS[1], ARGV[1] == '1'
if not create and redis.call('PEXPIRE', key, ARGV[2]) == 0 then
    return 0
end
local last = 3 + 2 * tonumber(ARGV[3])
for first = 4, last, 2 * CHUNK do
    redis.call('HSET', key, unpack(ARGV, first, math.min(first + 2 * CHUNK - 1, last)))
end
for first = last + 1, #ARGV, CHUNK do
    redis.call('HDEL', key, unpack(ARGV, first, math.min(first + CHUNK - 1, #ARGV)))
end
if create then
    if redis.call('PEXPIRE', key, ARGV[2]) == 0 then
        return 2
    end
elseif last < #ARGV and redis.call('EXISTS', key) == 0 then
    return 2
end
return 1
"""

INDEXED_FIELD: Final = "_cs.indexed"
"""The field of a signed-in session's hash that says until when (ms since the epoch, by the
application's clock) its user's index entry lasts."""
STORE_FIELDS: Final = (INDEXED_FIELD, DEVICE_FIELD)
"""The fields of a session's hash that are the store's, not the session's."""
INDEX_SLACK: Final = 8
"""An index entry outlasts its session's expiry by this fraction of the lifetime (1/8)."""
INDEX_MARGIN_MS: Final = 60_000
"""How much sooner than its index entry's end a session must expire for a write to leave the
index alone: covers the clocks of two application servers disagreeing by up to a minute."""

# What EVALSHA calls the script by.
_WRITE_SHA: Final = hashlib.sha1(_WRITE.encode(), usedforsecurity=False).hexdigest()

# Redis's own clock, in ms: the one clock every application server shares.
_NOW: Final = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
"""

# KEYS[1]: a user's index. ARGV[1]: a session ID; ARGV[2]: its lifetime in ms. Forgets expired
# IDs, scores this one with its new expiry and keeps the index until its last session expires.
_INDEX: Final = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
-- A second past its last session: that session's own expiry is set just after this script.
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', tonumber(last[2]) + 1000))
return 1
"""
)

# KEYS[1]: a user's index. Forgets expired IDs and returns the others, soonest expiry first.
_LIST: Final = _NOW + "return redis.call('ZRANGE', KEYS[1], 0, -1)\n"

# KEYS[1]: a session's hash. ARGV[1]: a field, ARGV[2]: its value. Set only if the session
# exists, and without touching its expiry (a device seen again is not a session written).
_SET_IF_EXISTS: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class WriteOutcome(enum.Enum):
    """What became of a change to an existing session."""

    WRITTEN = 1
    """Saved; the session lives ``lifetime`` seconds from now."""
    EMPTIED = 2
    """Saved, and nothing is left (another request removed the other keys meanwhile)."""
    GONE = 0
    """Not saved: the session no longer exists (revoked, expired or moved meanwhile)."""


_OUTCOMES: Final = {outcome.value: outcome for outcome in WriteOutcome}


def new_session_id() -> str:
    """A fresh random session ID."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def is_session_id(text: object) -> bool:
    """Whether ``text`` has the form of an ID this module makes (it may still be unknown)."""
    return isinstance(text, str) and _SESSION_ID.fullmatch(text) is not None


def user_name(user: object) -> str | None:
    """The user a session value under ``user_key`` names: a string as it is, ``None`` for no
    user, anything else as its JSON, so that ``42`` and ``"42"`` are one user."""
    if user is None or isinstance(user, str):
        return user
    return json.dumps(user)


def user_of_field(json_text: str | None) -> str | None:
    """:func:`user_name` of a value stored as ``json_text``, without decoding more than needed."""
    if json_text is None or json_text == "null":
        return None
    if json_text.startswith('"'):
        name: str = decode_json_value(json_text)  # msgspec first: every signed-in write asks
        return name
    return json_text  # numbers, booleans, lists, objects: the JSON is the name


def _most_recent_first(info: SessionInfo) -> tuple[bool, float, float]:
    """Sorts sessions by when they were last seen, latest first (those never seen last), then
    by when they expire, latest first."""
    seen = info.last_seen.timestamp() if info.last_seen is not None else 0.0
    return (info.last_seen is None, -seen, -info.expires_at.timestamp())


def _text(value: bytes | str) -> str:
    """A reply from Redis as text (redis-py gives bytes unless told to decode)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


class RedisSessionStore:
    """Sessions in Redis, for :class:`~cookie_session.SessionMiddleware` (which makes one when
    ``store_url`` is set) and for the application outside a request (revocation, listing).

    Made with :meth:`from_config`, it uses the same keys as the middleware of that
    configuration. Instead of a URL it can use an application's own ``client`` (a
    ``redis.asyncio.Redis`` or ``RedisCluster``), which belongs to the event loop it was made
    in and which the application closes. From a URL it connects on first use, once per event
    loop (so it also works when each request runs in a loop of its own, as in Starlette's
    ``TestClient`` used without ``with``), with at most ``max_connections`` connections per
    loop to one server (the URL's option, 50 by default); :meth:`aclose` closes them. Every
    method raises :class:`~cookie_session.SessionStoreUnavailable` when Redis fails.
    """

    def __init__(
        self,
        url: str | SecretStr | None = None,
        *,
        client: Redis | RedisCluster | None = None,
        prefix: str = "cookie-session:",
        lifetime: int = DEFAULT_LIFETIME,
        user_key: str | None = None,
        anonymous_lifetime: int | None = None,
        audit_key: str | None = None,
        track_devices: bool = False,
        max_lifetime: int | None = None,
    ) -> None:
        if (url is None) == (client is None):
            raise TypeError("RedisSessionStore needs a URL or a client (client=), not both")
        self._url = url if isinstance(url, SecretStr | None) else SecretStr(url)
        self.prefix = prefix
        """What every key of this store starts with."""
        self.lifetime = lifetime
        """Seconds a session lives after its last write or refresh."""
        self.anonymous_lifetime = anonymous_lifetime if anonymous_lifetime is not None else lifetime
        """Seconds a session with no signed-in user lives after its last write or refresh."""
        self.user_key = user_key
        """The session key that names the user, if sessions are indexed by user."""
        self.track_devices = track_devices
        """Whether signed-in sessions record their device (:meth:`list_sessions` reports it)."""
        self.max_lifetime = max_lifetime
        """Seconds a session lasts from its start at most (``max_lifetime``), if limited:
        Redis keeps one a little past that end (``LIFETIME_GRACE``), which the lists leave out."""
        self._lifetime_ms = str(lifetime * 1000)
        self._anonymous_ms = str(self.anonymous_lifetime * 1000)
        self._redis = _connections(self._url, client)
        # Audit references are keyed by the configuration's secret (from_config): without one,
        # by a key of this process's, so they still say nothing of the IDs.
        self._audit = Auditor(audit_key if audit_key is not None else secrets.token_hex(32))

    @classmethod
    def from_config(
        cls, config: SessionConfig, *, store_client: Redis | RedisCluster | None = None
    ) -> RedisSessionStore:
        """The store of a configuration whose ``store_url`` is set; with ``store_client`` (an
        application's ``redis.asyncio.Redis`` or ``RedisCluster``), through that client instead
        (``store_url`` may then be unset, or set for the command line and for the settings
        that need it, such as ``user_key``)."""
        if config.store_url is None and store_client is None:
            raise ValueError("this configuration has no store_url: sessions are in the cookie")
        return cls(
            config.store_url if store_client is None else None,
            client=store_client,
            prefix=config.store_prefix,
            lifetime=config.max_age if config.max_age is not None else DEFAULT_LIFETIME,
            user_key=config.user_key,
            anonymous_lifetime=config.anonymous_max_age,
            audit_key=config.secret_key.get_secret_value(),
            track_devices=config.track_devices,
            max_lifetime=config.max_lifetime,
        )

    def __repr__(self) -> str:
        if self._url is None:
            return f"{type(self).__name__}({self._redis!r}, prefix={self.prefix!r})"
        url = redacted_url(self._url.get_secret_value())
        return f"{type(self).__name__}({url!r}, prefix={self.prefix!r})"

    # -- keys ----------------------------------------------------------------------------------

    def session_key(self, session_id: str) -> str:
        """The Redis key of a session's hash."""
        return f"{self.prefix}session:{session_id}"

    def user_index_key(self, user: str) -> str:
        """The Redis key of a user's index of sessions."""
        return f"{self.prefix}user:{user}"

    # -- the request side: SessionMiddleware ---------------------------------------------------

    async def load(self, session_id: str) -> dict[str, str] | None:
        """The session's fields (key -> JSON text), or ``None`` when Redis does not know it."""
        fields = await self.load_hash(session_id)
        if fields is None:
            return None
        for field in STORE_FIELDS:
            fields.pop(field, None)
        return session_fields(fields)[0]  # the flash messages as one list, as sessions hold them

    async def load_hash(self, session_id: str) -> dict[str, str] | None:
        """Every field of the session's hash, the store's own (:data:`STORE_FIELDS`) included:
        the middleware's read. ``None`` when Redis does not know the session."""
        redis = self._redis
        reply = await redis.run("load", redis.command("HGETALL", self.session_key(session_id)))
        if not reply:
            return None
        # The raw reply: a flat list of names and values (RESP2), or a map (RESP3, when the
        # URL asks for protocol=3); bytes, unless the URL sets decode_responses.
        if isinstance(reply, dict):
            pairs = list(reply.items())
        else:
            pairs = list(zip(reply[::2], reply[1::2], strict=True))
        try:
            return {name.decode(): value.decode() for name, value in pairs}
        except AttributeError:
            return {_text(name): _text(value) for name, value in pairs}

    async def create(
        self, fields: Mapping[str, str], user: str | None, *, lifetime: int | None = None
    ) -> str:
        """Save a new session under a new ID, indexed under ``user``; return the ID.

        ``lifetime`` (seconds) is the session's own (``set_max_age``), else the store's for a
        signed-in or an anonymous session."""
        session_id = new_session_id()
        key = self.session_key(session_id)
        if user is None:  # one command: sent on its own, as EVALSHA
            args = self._write_args(fields, (), create=True, user=user, lifetime=lifetime)
            await self._redis.run("save", self._write_alone(key, args))
            return session_id
        # The index first, in the same round trip: a session of a user is never written unless
        # the user's index holds its ID at that moment (what revoke_user reads).
        index, until = self._index(user, session_id, lifetime)
        args = self._write_args(
            {**fields, INDEXED_FIELD: until}, (), create=True, user=user, lifetime=lifetime
        )
        await self._pipeline("save", [index, ("EVAL", _WRITE, 1, key, *args)], first=1)
        return session_id

    async def update(
        self,
        session_id: str,
        changed: Mapping[str, str],
        removed: Collection[str],
        user: str | None,
        *,
        lifetime: int | None = None,
        indexed_until: str | None = None,
    ) -> WriteOutcome:
        """Write the changed fields and delete the removed ones of an existing session, and
        restart its lifetime; nothing is written if the session is gone.

        ``indexed_until`` is the session's ``_cs.indexed`` field as loaded: while its index
        entry outlasts the new expiry, the index is left alone (one command)."""
        key = self.session_key(session_id)
        if user is None or self._still_indexed(user, lifetime, indexed_until):
            # On most requests that change a session: one command. A signed-in session's index
            # entry needs no change: its ID is there (the invariant above) for longer than the
            # session can now live, and the script writes nothing if the session is gone.
            args = self._write_args(changed, removed, create=False, user=user, lifetime=lifetime)
            return _OUTCOMES[await self._redis.run("save", self._write_alone(key, args))]
        index, until = self._index(user, session_id, lifetime)
        args = self._write_args(
            {**changed, INDEXED_FIELD: until}, removed, create=False, user=user, lifetime=lifetime
        )
        replies = await self._pipeline("save", [index, ("EVAL", _WRITE, 1, key, *args)], first=1)
        return _OUTCOMES[int(replies[-1])]

    async def move(
        self,
        session_id: str,
        fields: Mapping[str, str],
        old_user: str | None,
        new_user: str | None,
        *,
        lifetime: int | None = None,
    ) -> str | None:
        """Save the session under a new ID and delete the old one (a login, a logout, a
        :meth:`~cookie_session.Session.regenerate`: the defence against session fixation);
        return the new ID, or ``None`` if the old session was gone already (revoked, expired or
        moved meanwhile), in which case nothing is kept."""
        new_id = new_session_id()
        new_key = self.session_key(new_id)
        commands: list[Command] = []
        if new_user is not None:
            index, until = self._index(new_user, new_id, lifetime)
            commands.append(index)
            fields = {**fields, INDEXED_FIELD: until}
        args = self._write_args(fields, (), create=True, user=new_user, lifetime=lifetime)
        commands += [("EVAL", _WRITE, 1, new_key, *args), ("DEL", self.session_key(session_id))]
        if old_user is not None:
            commands.append(("ZREM", self.user_index_key(old_user), session_id))
        replies = await self._pipeline("save", commands, first=1 if new_user is not None else 0)
        if replies[-2 if old_user is not None else -1]:
            return new_id
        # The old session ended while this request ran: its successor must not outlive it.
        undo: list[Command] = [("DEL", new_key)]
        if new_user is not None:
            undo.append(("ZREM", self.user_index_key(new_user), new_id))
        await self._pipeline("save", undo)
        return None

    async def delete(self, session_id: str, user: str | None) -> None:
        """Delete a session (it was cleared) and its entry in ``user``'s index."""
        commands: list[Command] = [("DEL", self.session_key(session_id))]
        if user is not None:
            commands.append(("ZREM", self.user_index_key(user), session_id))
        await self._pipeline("save", commands)

    async def touch(
        self,
        session_id: str,
        user: str | None,
        *,
        lifetime: int | None = None,
        indexed_until: str | None = None,
    ) -> bool:
        """Restart a session's lifetime (rolling expiry); ``False`` if it is gone. The index is
        left alone while its entry outlasts the new expiry (see :meth:`update`)."""
        if user is not None and not self._still_indexed(user, lifetime, indexed_until):
            outcome = await self.update(session_id, {}, (), user, lifetime=lifetime)
            return outcome is WriteOutcome.WRITTEN
        key = self.session_key(session_id)
        redis = self._redis
        return bool(
            await redis.run("save", redis.command("PEXPIRE", key, self._ms(user, lifetime)))
        )

    async def note_seen(self, session_id: str, record: DeviceRecord) -> bool:
        """Record that a session's device was seen again, leaving its expiry as it was (a
        read-only request); ``False`` if the session is gone."""
        key = self.session_key(session_id)
        redis = self._redis
        written = await redis.run(
            "save",
            redis.command("EVAL", _SET_IF_EXISTS, 1, key, DEVICE_FIELD, record.to_json()),
        )
        return bool(written)

    # -- the application side ------------------------------------------------------------------

    async def revoke(self, session_id: str) -> bool:
        """Delete one session; ``True`` if it existed. Its next request finds it empty."""
        if not is_session_id(session_id):
            return False
        key = self.session_key(session_id)
        if self.user_key is None:
            deleted = await self._redis.run("revoke", self._redis.command("DEL", key))
            if deleted:
                self._audit.log("revoked", session_id)
            return bool(deleted)
        user_field, deleted = await self._pipeline(
            "revoke", [("HGET", key, self.user_key), ("DEL", key)]
        )
        user = user_of_field(_text(user_field) if user_field else None)
        if user is not None:
            await self._pipeline("revoke", [("ZREM", self.user_index_key(user), session_id)])
        if deleted:
            self._audit.log("revoked", session_id, user)
        return bool(deleted)

    async def revoke_user(self, user: str | int) -> int:
        """Delete every session of ``user`` ("log out everywhere"); return how many live ones
        there were.

        Needs ``user_key``: only then are sessions indexed by user. A session being created
        while this runs (a login) is either deleted here or, written just after, still listed
        in the index, where :meth:`user_sessions` and the next ``revoke_user`` find it: only
        the IDs whose session this call deleted leave the index.
        """
        return await self._revoke_listed(self._user_name(user), keep=None, by="revoke_user")

    async def revoke_other_sessions(self, user: str | int, *, keep: str | None) -> int:
        """Delete every session of ``user`` but ``keep`` ("log out other devices"); return how
        many live ones there were. ``keep`` is usually ``request.session.session_id``.

        Needs ``user_key``; a login completing meanwhile is treated as by :meth:`revoke_user`.
        """
        return await self._revoke_listed(
            self._user_name(user), keep=keep, by="revoke_other_sessions"
        )

    async def _revoke_listed(self, name: str, *, keep: str | None, by: str) -> int:
        """Delete the sessions ``name``'s index lists, but ``keep``; only the IDs whose session
        this call deleted leave the index (one listed but not yet written may be a login on its
        way, which the next call must still find). Counted and audited: the live ones (one past
        ``max_lifetime``, kept for ``LIFETIME_GRACE``, goes without a word)."""
        index = self.user_index_key(name)
        redis = self._redis
        ids = [
            text
            for text in map(_text, await redis.run("revoke", redis.command("ZRANGE", index, 0, -1)))
            if text != keep
        ]
        if not ids:
            return 0
        limited = self.max_lifetime is not None
        commands: list[Command] = []
        for session_id in ids:
            key = self.session_key(session_id)
            if limited:  # its start, read as it goes: one past max_lifetime is not counted
                commands.append(("HGET", key, STARTED_KEY))
            commands.append(("DEL", key))
        replies = await self._pipeline("revoke", commands)
        step = 1 + limited
        deleted = [
            session_id
            for position, session_id in enumerate(ids)
            if replies[position * step + limited]
        ]
        if deleted:
            await self._pipeline("revoke", [("ZREM", index, *deleted)])
        live = deleted
        if limited:
            started = {
                session_id: replies[position * step] for position, session_id in enumerate(ids)
            }
            live = [
                session_id for session_id in deleted if not self._lifetime_over(started[session_id])
            ]
        for session_id in live:
            self._audit.log("revoked", session_id, name, by=by)
        return len(live)

    async def user_sessions(self, user: str | int) -> list[str]:
        """The IDs of ``user``'s live sessions, by when their index entries run out (each a
        little after its session's expiry: the soonest to expire first, near enough).

        Needs ``user_key``. Compare with ``request.session.session_id`` to mark "this device".
        The index itself only forgets IDs whose time is up: one without a session may be a
        login whose write is still on its way.
        """
        ids = await self._indexed_ids(user)
        if not ids:
            return []
        commands: list[Command] = []
        for session_id in ids:
            commands.append(("EXISTS", self.session_key(session_id)))
            if self.max_lifetime is not None:
                commands.append(("HGET", self.session_key(session_id), STARTED_KEY))
        replies = await self._pipeline("list", commands)
        step = 1 if self.max_lifetime is None else 2
        return [
            session_id
            for position, session_id in enumerate(ids)
            if replies[position * step]
            and (step == 1 or not self._lifetime_over(replies[position * step + 1]))
        ]

    async def list_sessions(self, user: str | int) -> list[SessionInfo]:
        """``user``'s live sessions, the most recently seen first: with ``track_devices``, when
        each started and was last seen, its client address and User-Agent; without, only its
        ID and expiry (the rest ``None``, and the soonest to expire last).

        Needs ``user_key``. Mark "this device" by comparing with
        ``request.session.session_id``.
        """
        ids = await self._indexed_ids(user)  # PTTL below tells which still exist
        if not ids:
            return []
        commands: list[Command] = []
        limited = self.max_lifetime is not None
        for session_id in ids:
            key = self.session_key(session_id)
            commands.append(("PTTL", key))
            if self.track_devices:
                commands.append(("HGET", key, DEVICE_FIELD))
            if limited:
                commands.append(("HGET", key, STARTED_KEY))
        replies = await self._pipeline("list", commands)
        step = 1 + self.track_devices + limited
        now_ms = time.time() * 1000
        sessions: list[SessionInfo] = []
        for position, session_id in enumerate(ids):
            remaining_ms = int(replies[position * step])
            if remaining_ms < 0:
                continue  # no such session (expired, or a login whose write is on its way)
            if limited and self._lifetime_over(replies[position * step + step - 1]):
                continue  # past max_lifetime: Redis keeps it only for LIFETIME_GRACE
            expires_at = datetime.fromtimestamp((now_ms + remaining_ms) / 1000, UTC)
            stored = replies[position * step + 1] if self.track_devices else None
            record = DeviceRecord.from_json(_text(stored) if stored is not None else None)
            if record is None:
                sessions.append(SessionInfo(session_id, None, None, expires_at, None, None))
            else:
                sessions.append(record.info(session_id, expires_at))
        sessions.sort(key=_most_recent_first)
        return sessions

    def _lifetime_over(self, started: bytes | str | None) -> bool:
        """Whether a session whose ``_cs.started`` field is ``started`` (as Redis replied) is
        past ``max_lifetime``: it is empty on its next request, so it is not listed."""
        assert self.max_lifetime is not None
        text = _text(started) if started is not None else ""
        return text.isdigit() and time.time() - int(text) > self.max_lifetime

    async def _indexed_ids(self, user: str | int) -> list[str]:
        """The IDs ``user``'s index holds once it has forgotten those whose time is up."""
        index = self.user_index_key(self._user_name(user))
        redis = self._redis
        listed = await redis.run("list", redis.command("EVAL", _LIST, 1, index))
        return [_text(session_id) for session_id in listed]

    async def ping(self) -> None:
        """Check that Redis answers."""
        await self._redis.run("ping", self._redis.command("PING"))

    async def aclose(self) -> None:
        """Close the connections to Redis; the store connects again if used later."""
        await self._redis.aclose()

    # -- internals -----------------------------------------------------------------------------

    def _user_name(self, user: str | int) -> str:
        if self.user_key is None:
            raise RuntimeError(
                "sessions are indexed by user only when user_key is set "
                "(SESSION_USER_KEY, the session key that holds the signed-in user)"
            )
        name = user_name(user)
        assert name is not None  # only None names no user
        return name

    def _write_args(
        self,
        changed: Mapping[str, str],
        removed: Collection[str],
        *,
        create: bool,
        user: str | None,
        lifetime: int | None = None,
    ) -> list[str | int]:
        """The arguments of the _WRITE script after its one key."""
        args: list[str | int] = ["1" if create else "0", self._ms(user, lifetime), len(changed)]
        for field in changed.items():
            args += field
        args += removed
        return args

    def _index(
        self, user: str, session_id: str, lifetime: int | None = None
    ) -> tuple[Command, str]:
        """The command that (re)scores ``session_id`` in ``user``'s index, to outlast the
        session's expiry by the slack; and the ``_cs.indexed`` value that says until when."""
        lifetime_ms = int(self._ms(user, lifetime))
        entry_ms = lifetime_ms + lifetime_ms // INDEX_SLACK
        until = str(int(time.time() * 1000) + entry_ms)
        return ("EVAL", _INDEX, 1, self.user_index_key(user), session_id, entry_ms), until

    def _still_indexed(self, user: str, lifetime: int | None, indexed_until: str | None) -> bool:
        """Whether a signed-in session's index entry (``_cs.indexed`` as loaded) outlasts the
        expiry a write now gives it, with the margin for clocks."""
        if indexed_until is None or not indexed_until.isdigit():
            return False
        expiry_ms = time.time() * 1000 + int(self._ms(user, lifetime))
        return expiry_ms + INDEX_MARGIN_MS <= int(indexed_until)

    def _ms(self, user: str | None, lifetime: int | None) -> str:
        """A write's lifetime in ms: the session's own, else a signed-in or anonymous one's."""
        if lifetime is not None:
            return str(lifetime * 1000)
        return self._lifetime_ms if user is not None else self._anonymous_ms

    async def _write_alone(self, key: str, args: list[str | int]) -> int:
        """The _WRITE script as a command on its own: EVALSHA, so its text is not sent each
        time, and on NOSCRIPT (a restarted, flushed or newly promoted Redis) EVAL, which runs
        it and caches it on the server that holds the key (a SCRIPT LOAD may go to another
        node of a cluster). Pipelines keep EVAL: a NOSCRIPT there would come after the other
        commands had run."""
        redis = self._redis
        try:
            written: int = await redis.command("EVALSHA", _WRITE_SHA, 1, key, *args)
        except Exception as error:
            from redis.exceptions import NoScriptError

            if not isinstance(error, NoScriptError):
                raise
            written = await redis.command("EVAL", _WRITE, 1, key, *args)
        return written

    async def _pipeline(
        self, operation: str, commands: Sequence[Command], *, first: int = 0
    ) -> list[Any]:
        """The replies of ``commands`` sent together, the first ``first`` of them run before
        any other is sent; the first error reply is raised."""

        async def send() -> list[Any]:
            replies = await self._redis.pipeline(commands, first=first)
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return replies

        return await self._redis.run(operation, send())


def _connections(url: SecretStr | None, client: Redis | RedisCluster | None) -> StoreConnection:
    """How a store reaches Redis: its own connections for one server's URL (the fast path,
    only ever for a plain connection pool); redis-py's client for a cluster's or a Sentinel's
    URL, or the application's client."""
    if url is None:
        return ClientConnections(client=client, timeout=TIMEOUT_SECONDS)
    if split_hosts_url(url.get_secret_value()) is not None:
        return ClientConnections(url, timeout=TIMEOUT_SECONDS)
    return RedisConnections(url, timeout=TIMEOUT_SECONDS)
