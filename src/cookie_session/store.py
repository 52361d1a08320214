"""RedisSessionStore: sessions kept in Redis, the cookie carrying only a signed session ID.

The layout, every key starting with ``store_prefix`` (``cookie-session:`` by default)::

    {prefix}session:{id}   a hash: one field per top-level key of the session, holding that
                           value's JSON; it expires max_age seconds (14 days when max_age is
                           None) after the session's last write or refresh
    {prefix}user:{user}    with user_key set: a sorted set of the user's session IDs, each scored
                           by when it expires (in ms); the set expires with its last session

An ID is 32 bytes from :mod:`secrets` in URL-safe base64 (43 characters, 256 bits), made here and
never taken from a client. A user is named by the string form of the session's value under
``user_key``: a string as it is, anything else as its JSON (``42`` and ``"42"`` are one user).

Every command touches one key, so the layout works on Redis Cluster; the commands of one request
go out together in a pipeline (one round trip), or alone when there is one (a change to a session
without ``user_key``: its script by EVALSHA). Two of them are Lua scripts, on one key each,
because they must decide and write at once: a change to a session is applied only if the session
still exists (a request that was in flight when its session was revoked, expired or moved must
not bring it back), and a user's index drops its expired IDs as it is written, so it stays small.

redis-py is imported when a store first talks to Redis, never by ``import cookie_session``; any
error it raises becomes :class:`~cookie_session.SessionStoreUnavailable`, logged at ERROR with the
operation and the failure but never session data, an ID or a password.
"""

from __future__ import annotations

import asyncio
import builtins
import enum
import hashlib
import json
import logging
import re
import secrets
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from cookie_session.exceptions import SessionStoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection

    from cookie_session.config import SessionConfig

__all__ = [
    "DEFAULT_LIFETIME",
    "SESSION_ID_BYTES",
    "RedisSessionStore",
    "WriteOutcome",
    "is_session_id",
    "new_session_id",
    "redacted_url",
    "user_name",
    "user_of_field",
]

logger = logging.getLogger("cookie_session")

SESSION_ID_BYTES: Final = 32
"""Random bytes in a session ID (256 bits; 128 would already be out of any guesser's reach)."""
DEFAULT_LIFETIME: Final = 14 * 24 * 60 * 60
"""Seconds a session lives after its last write when ``max_age`` is None (a browser-session
cookie still needs its data to end some day)."""
TIMEOUT_SECONDS: Final = 5.0
"""How long connecting, and each operation's replies, may take before the store counts Redis as
unavailable, unless the URL sets ``socket_connect_timeout`` or ``socket_timeout`` (then redis-py
applies the URL's); redis-py itself waits forever. The store times each operation as a whole,
with one timer: redis-py's ``socket_timeout`` would time every send by :func:`asyncio.wait_for`
(a task per command) and every reply by :func:`asyncio.timeout`."""

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
redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', tonumber(last[2])))
return 1
"""
)

# KEYS[1]: a user's index. Forgets expired IDs and returns the others, soonest expiry first.
_LIST: Final = _NOW + "return redis.call('ZRANGE', KEYS[1], 0, -1)\n"

T = TypeVar("T")


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
        name: str = json.loads(json_text)
        return name
    return json_text  # numbers, booleans, lists, objects: the JSON is the name


def _text(value: bytes | str) -> str:
    """A reply from Redis as text (redis-py gives bytes unless told to decode)."""
    return value.decode("utf-8") if isinstance(value, bytes) else value


def redacted_url(url: str) -> str:
    """``url`` fit to show: its password, and the value of every option in its query string,
    replaced by ``***``."""
    parts = urlsplit(url)
    user_info, at, host = parts.netloc.rpartition("@")
    if at:
        user, colon, _ = user_info.partition(":")
        host = f"{user}{':***' if colon else ''}@{host}"
    options = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query))
    return f"{parts.scheme}://{host}{parts.path}{'?' + options if options else ''}"


class RedisSessionStore:
    """Sessions in Redis, for :class:`~cookie_session.SessionMiddleware` (which makes one when
    ``store_url`` is set) and for the application outside a request (revocation, listing).

    Made with :meth:`from_config`, it uses the same keys as the middleware of that
    configuration. It connects on first use, once per event loop (so it also works when each
    request runs in a loop of its own, as in Starlette's ``TestClient`` used without ``with``);
    :meth:`aclose` closes the connections. Every method raises
    :class:`~cookie_session.SessionStoreUnavailable` when Redis fails.
    """

    def __init__(
        self,
        url: str | SecretStr,
        *,
        prefix: str = "cookie-session:",
        lifetime: int = DEFAULT_LIFETIME,
        user_key: str | None = None,
    ) -> None:
        self._url = url if isinstance(url, SecretStr) else SecretStr(url)
        self.prefix = prefix
        """What every key of this store starts with."""
        self.lifetime = lifetime
        """Seconds a session lives after its last write or refresh."""
        self.user_key = user_key
        """The session key that names the user, if sessions are indexed by user."""
        self._lifetime_ms = str(lifetime * 1000)
        parts = urlsplit(self._url.get_secret_value())
        passwords = [value for name, value in parse_qsl(parts.query) if name == "password"]
        if parts.password:
            passwords += [parts.password, unquote(parts.password)]
        self._passwords = [password for password in passwords if password]
        options = {name for name, _ in parse_qsl(parts.query)}
        self._timeout = None if "socket_timeout" in options else TIMEOUT_SECONDS
        # A URL that caps the client's connections (max_connections) keeps every command in
        # its pool, which counts them; _command's own connections would come on top.
        self._direct = "max_connections" not in options
        self._client: Redis | None = None
        self._client_loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        # Idle connections of this loop's client for _command(), outside its pool.
        self._idle: list[AbstractConnection] = []
        # redis-py's error reply, and the failures worth one more try: set with the client.
        self._error_reply: type[Exception] = Exception
        self._lost: tuple[type[Exception], ...] = ()

    @classmethod
    def from_config(cls, config: SessionConfig) -> RedisSessionStore:
        """The store of a configuration whose ``store_url`` is set."""
        if config.store_url is None:
            raise ValueError("this configuration has no store_url: sessions are in the cookie")
        return cls(
            config.store_url,
            prefix=config.store_prefix,
            lifetime=config.max_age if config.max_age is not None else DEFAULT_LIFETIME,
            user_key=config.user_key,
        )

    def __repr__(self) -> str:
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
        # On every request with a session cookie: _run, without a closure.
        try:
            reply = await self._timed(self._command("HGETALL", self.session_key(session_id)))
        except Exception as error:
            unavailable = self._unavailable("load", error)
            if unavailable is None:
                raise
            raise unavailable  # noqa: B904 (its cause is set, or hidden, by _unavailable)
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

    async def create(self, fields: Mapping[str, str], user: str | None) -> str:
        """Save a new session under a new ID, and index it under ``user``; return the ID."""
        session_id = new_session_id()

        async def create(redis: Redis) -> None:
            if user is None:  # one command: sent on its own, as EVALSHA
                await self._write_alone(redis, self.session_key(session_id), args)
                return
            async with redis.pipeline(transaction=False) as pipe:
                # The index first: should the pipeline break in between, an index entry without
                # a session is harmless, a session missing from the index could not be revoked.
                self._index(pipe, user, session_id)
                pipe.eval(_WRITE, 1, self.session_key(session_id), *args)
                await pipe.execute()

        args = self._write_args(fields, (), create=True)
        await self._run("save", create)
        return session_id

    async def update(
        self,
        session_id: str,
        changed: Mapping[str, str],
        removed: Collection[str],
        user: str | None,
    ) -> WriteOutcome:
        """Write the changed fields and delete the removed ones of an existing session, and
        restart its lifetime; nothing is written if the session is gone."""

        args = self._write_args(changed, removed, create=False)
        if user is None:  # on every request that changes a session: _run, without a closure
            try:
                key = self.session_key(session_id)
                written = await self._timed(self._write_alone(self._redis(), key, args))
            except Exception as error:
                unavailable = self._unavailable("save", error)
                if unavailable is None:
                    raise
                raise unavailable  # noqa: B904 (its cause is set, or hidden, by _unavailable)
            return _OUTCOMES[written]

        async def update(redis: Redis) -> int:
            async with redis.pipeline(transaction=False) as pipe:
                self._index(pipe, user, session_id)
                pipe.eval(_WRITE, 1, self.session_key(session_id), *args)
                replies = await pipe.execute()
            return int(replies[-1])

        return WriteOutcome(await self._run("save", update))

    async def move(
        self,
        session_id: str,
        fields: Mapping[str, str],
        old_user: str | None,
        new_user: str | None,
    ) -> str | None:
        """Save the session under a new ID and delete the old one (when the user changed: the
        defence against session fixation); return the new ID, or ``None`` if the old session
        was gone already (revoked, expired or moved meanwhile), in which case nothing is kept."""
        new_id = new_session_id()

        async def move(redis: Redis) -> bool:
            async with redis.pipeline(transaction=False) as pipe:
                if new_user is not None:
                    self._index(pipe, new_user, new_id)
                args = self._write_args(fields, (), create=True)
                pipe.eval(_WRITE, 1, self.session_key(new_id), *args)
                pipe.delete(self.session_key(session_id))
                if old_user is not None:
                    pipe.zrem(self.user_index_key(old_user), session_id)
                replies = await pipe.execute()
            deleted = replies[-2] if old_user is not None else replies[-1]
            if deleted:
                return True
            # The old session ended while this request ran: its successor must not outlive it.
            async with redis.pipeline(transaction=False) as pipe:
                pipe.delete(self.session_key(new_id))
                if new_user is not None:
                    pipe.zrem(self.user_index_key(new_user), new_id)
                await pipe.execute()
            return False

        return new_id if await self._run("save", move) else None

    async def delete(self, session_id: str, user: str | None) -> None:
        """Delete a session (it was cleared) and its entry in ``user``'s index."""

        async def delete(redis: Redis) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.delete(self.session_key(session_id))
                if user is not None:
                    pipe.zrem(self.user_index_key(user), session_id)
                await pipe.execute()

        await self._run("save", delete)

    async def touch(self, session_id: str, user: str | None) -> bool:
        """Restart a session's lifetime (rolling expiry); ``False`` if it is gone."""

        async def touch(redis: Redis) -> bool:
            async with redis.pipeline(transaction=False) as pipe:
                if user is not None:
                    self._index(pipe, user, session_id)
                pipe.pexpire(self.session_key(session_id), int(self._lifetime_ms))
                replies = await pipe.execute()
            return bool(replies[-1])

        return await self._run("save", touch)

    # -- the application side ------------------------------------------------------------------

    async def revoke(self, session_id: str) -> bool:
        """Delete one session; ``True`` if it existed. Its next request finds it empty."""
        if not is_session_id(session_id):
            return False
        key = self.session_key(session_id)

        async def revoke(redis: Redis) -> bool:
            if self.user_key is None:
                deleted: int = await redis.delete(key)
                return bool(deleted)
            async with redis.pipeline(transaction=False) as pipe:
                pipe.hget(key, self.user_key)
                pipe.delete(key)
                user_field, deleted = await pipe.execute()
            user = user_of_field(_text(user_field) if user_field else None)
            if user is not None:
                await redis.zrem(self.user_index_key(user), session_id)
            return bool(deleted)

        return await self._run("revoke", revoke)

    async def revoke_user(self, user: str | int) -> int:
        """Delete every session of ``user`` ("log out everywhere"); return how many there were.

        Needs ``user_key``: only then are sessions indexed by user.
        """
        index = self.user_index_key(self._user_name(user))

        async def revoke_user(redis: Redis) -> int:
            ids: list[Any] = await redis.zrange(index, 0, -1)
            if not ids:
                return 0
            async with redis.pipeline(transaction=False) as pipe:
                for session_id in ids:
                    pipe.delete(self.session_key(_text(session_id)))
                # Only the IDs read: a session made meanwhile (a new login) keeps its entry.
                pipe.zrem(index, *ids)
                replies = await pipe.execute()
            return sum(replies[:-1])

        return await self._run("revoke", revoke_user)

    async def user_sessions(self, user: str | int) -> list[str]:
        """The IDs of ``user``'s live sessions, the soonest to expire first.

        Needs ``user_key``. Compare with ``request.session.session_id`` to mark "this device".
        """
        index = self.user_index_key(self._user_name(user))

        async def user_sessions(redis: Redis) -> list[str]:
            listed: list[Any] = await redis.eval(_LIST, 1, index)
            ids = [_text(session_id) for session_id in listed]
            if not ids:
                return []
            async with redis.pipeline(transaction=False) as pipe:
                for session_id in ids:
                    pipe.exists(self.session_key(session_id))
                exists = await pipe.execute()
            gone = [session_id for session_id, found in zip(ids, exists, strict=True) if not found]
            if gone:  # deleted without going through this store
                await redis.zrem(index, *gone)
            return [session_id for session_id in ids if session_id not in gone]

        return await self._run("list", user_sessions)

    async def ping(self) -> None:
        """Check that Redis answers."""

        async def ping(redis: Redis) -> None:
            await redis.ping()

        await self._run("ping", ping)

    async def aclose(self) -> None:
        """Close the connections to Redis; the store connects again if used later."""
        client, self._client, self._client_loop = self._client, None, None
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()
        if client is not None:
            await client.aclose()

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
        self, changed: Mapping[str, str], removed: Collection[str], *, create: bool
    ) -> list[str | int]:
        """The arguments of the _WRITE script after its one key."""
        args: list[str | int] = ["1" if create else "0", self._lifetime_ms, len(changed)]
        for field in changed.items():
            args += field
        args += removed
        return args

    async def _write_alone(self, redis: Redis, key: str, args: list[str | int]) -> int:
        """The _WRITE script as a command on its own: EVALSHA, so its text is not sent each
        time, and on NOSCRIPT (a restarted or flushed Redis) SCRIPT LOAD and EVALSHA again.
        Pipelines keep EVAL: a NOSCRIPT there would come after the other commands had run."""
        try:
            written: int = await self._command("EVALSHA", _WRITE_SHA, 1, key, *args)
        except Exception as error:
            from redis.exceptions import NoScriptError

            if not isinstance(error, NoScriptError):
                raise
            await redis.script_load(_WRITE)
            written = await self._command("EVALSHA", _WRITE_SHA, 1, key, *args)
        return written

    async def _command(self, *args: str | int) -> Any:
        """One command's raw reply, on a connection of this loop's client taken from
        ``self._idle`` rather than from the client's pool.

        For the two commands of the request path (a session's HGETALL, and its EVALSHA when
        nothing else goes with it): redis-py's ``execute_command`` wraps each command in its
        retry helper, its metrics and a pool checkout under a lock, about 18 µs per command
        here (docs/store.md, "What it costs"), more than the rest of a request. Here: the
        connection's own ``send_command`` and ``read_response``, which already disconnect on
        any failure; a connection is reused only after a complete reply, and, as with the
        client's ``Retry(NoBackoff(), 1)``, a lost connection is tried once more at once (one
        that died with a Redis restart fails on first use). Replies are not post-processed:
        HGETALL's is a flat list (a map with RESP3).
        """
        if not self._direct:
            return await self._redis().execute_command(*args)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        pool = self._redis().connection_pool  # first: it resets self._idle on a new loop
        idle = self._idle
        connection = idle.pop() if idle else pool.connection_class(**pool.connection_kwargs)
        for attempt in (1, 2):
            try:
                await connection.send_command(*args)
                reply = await connection.read_response()
            except self._error_reply:  # an error reply, read in full: the connection is sound
                await self._put_back(connection, idle)
                raise
            except self._lost:
                await connection.disconnect()
                if attempt == 2:
                    raise
                continue  # reconnects on the next send
            except BaseException:  # cancelled (the timer): redis-py has disconnected it
                await connection.disconnect(nowait=True)
                raise
            await self._put_back(connection, idle)
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    async def _put_back(
        self, connection: AbstractConnection, idle: list[AbstractConnection]
    ) -> None:
        """Keep a sound connection for the next command, unless the store was closed (or moved
        to another loop) while it was in use: then close it, as aclose() did the others."""
        if idle is self._idle:
            idle.append(connection)
        else:
            await connection.disconnect()

    def _index(self, pipe: Any, user: str, session_id: str) -> None:
        pipe.eval(_INDEX, 1, self.user_index_key(user), session_id, self._lifetime_ms)

    def _redis(self) -> Redis:
        """This event loop's client (redis-py's connections belong to the loop that made them)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is None or self._client_loop() is not loop:
            from redis.asyncio import Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._client = Redis.from_url(
                self._url.get_secret_value(),
                socket_connect_timeout=TIMEOUT_SECONDS,  # replies: self._timeout
                # Once, at once: a pooled connection may have died with a Redis restart.
                retry=Retry(NoBackoff(), 1),
            )
            self._client_loop = weakref.ref(loop)
            self._idle = []
            if not self._lost:  # redis-py's exceptions, found once rather than per command
                from redis.exceptions import ConnectionError, ResponseError, TimeoutError

                self._error_reply, self._lost = ResponseError, (ConnectionError, TimeoutError)
        return self._client

    async def _run(self, operation: str, work: Callable[[Redis], Awaitable[T]]) -> T:
        try:
            return await self._timed(work(self._redis()))
        except Exception as error:
            unavailable = self._unavailable(operation, error)
            if unavailable is None:
                raise
            raise unavailable  # noqa: B904 (its cause is set, or hidden, by _unavailable)

    async def _timed(self, work: Awaitable[T]) -> T:
        """``await work``, cancelled and turned into TimeoutError once ``self._timeout`` passes.

        The contract of :func:`asyncio.timeout`, which costs more per call (about 3.5 µs on
        Python 3.11) than a whole session read costs otherwise: one timer, cancelled on the way
        out. A cancellation from elsewhere stays a cancellation, as with :func:`asyncio.timeout`.
        """
        task = asyncio.current_task()
        if self._timeout is None or task is None:
            return await work
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            task.cancel()

        loop = asyncio.get_running_loop()
        timer = loop.call_at(loop.time() + self._timeout, expire)
        cancelling = task.cancelling()
        try:
            return await work
        except asyncio.CancelledError:
            if expired and task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        finally:
            timer.cancel()

    def _unavailable(self, operation: str, error: Exception) -> SessionStoreUnavailable | None:
        """What to raise for ``error`` from redis-py, logged; ``None`` for any other error."""
        # Imported here, on the rare way out, so that no request pays for the import statement.
        from redis.exceptions import ConnectionError, RedisError, TimeoutError

        if not isinstance(error, RedisError | OSError):
            return None
        if isinstance(error, ConnectionError | TimeoutError | OSError):
            failure, cause = self._hide(f"{type(error).__name__}: {error}"), error
            if type(error) is builtins.TimeoutError:  # from _timed(): no message
                failure = f"TimeoutError: no reply within {self._timeout} s"
        else:
            # An error reply: its code only, as the rest might quote a command's arguments.
            code = str(error).split(" ", 1)[0] or "error"
            failure, cause = f"{type(error).__name__}: {self._hide(code)}", None
        logger.error("session store unavailable: %s failed: %s", operation, failure)
        unavailable = SessionStoreUnavailable(operation, failure)
        unavailable.__cause__ = cause  # as `raise ... from cause` (from None: hidden)
        unavailable.__suppress_context__ = True
        return unavailable

    def _hide(self, text: str) -> str:
        """``text`` without the URL's password (no redis-py message is known to quote it)."""
        for password in self._passwords:
            text = text.replace(password, "***")
        return text
