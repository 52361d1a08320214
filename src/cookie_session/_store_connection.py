"""The store's connections to one Redis server: commands, pipelines, one timer, error mapping.

:class:`StoreConnection` is what every topology offers the store (a command, a pipeline, one
timer per operation, redis-py's errors turned into SessionStoreUnavailable);
:class:`RedisConnections` is the one for a ``redis://``, ``rediss://`` or ``unix://`` URL, and
:mod:`cookie_session._store_client` has the others (Cluster, Sentinel, an application's client).

:class:`~cookie_session.store.RedisSessionStore` says *what* to send; this module says *how*:
on connections of this event loop (redis-py's belong to the loop that made them), at most
``max_connections`` of them (the URL's option, else :data:`DEFAULT_MAX_CONNECTIONS`), a request
beyond that bound waiting for a free one instead of failing, each operation timed as a whole,
and any failure turned into :class:`~cookie_session.SessionStoreUnavailable`, logged without
data, IDs or passwords.

Why not redis-py's client and pool: ``execute_command`` wraps each command in a retry helper,
metrics and a pool checkout under a lock, about 18 µs per command here (docs/store.md, "What it
costs"), more than the rest of a request; its non-blocking pool fails at once past its cap, and
its blocking pool costs a timer task per checkout. Here a command is the connection's own
``send_command`` and ``read_response``, which already disconnect on any failure; a connection
goes back to the idle list only after complete replies, and, as redis-py's ``Retry(NoBackoff(),
1)`` would, a lost connection is tried once more at once (one that died with a Redis restart
fails on first use). Replies are raw: HGETALL's is a flat list (a map with RESP3), bytes unless
the URL sets ``decode_responses``.

redis-py is imported on first use, never by ``import cookie_session``.
"""

from __future__ import annotations

import abc
import asyncio
import builtins
import collections
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from cookie_session.exceptions import SessionStoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "Command",
    "RedisConnections",
    "StoreConnection",
    "redacted_url",
]

logger = logging.getLogger("cookie_session")

DEFAULT_MAX_CONNECTIONS: Final = 50
"""Connections a store opens to Redis at most, per event loop, unless the URL sets
``max_connections``; a request that finds them all busy waits (within the timeout)."""

Command = Sequence[str | int]
T = TypeVar("T")


def redacted_url(url: str) -> str:
    """``url`` fit to show: everything before its last ``@`` (a password, or a password
    written where the user name goes) and the value of every query option replaced by ``***``.

    The credentials end at the *last* ``@``: a password may hold an unencoded ``@``, ``?``,
    ``/`` or ``#``, which :func:`urllib.parse.urlsplit` would take for the end of the host.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return "***"
    _, at, rest = rest.rpartition("@")
    parts = urlsplit(f"{scheme}://{rest}")
    options = "&".join(f"{name}=***" for name, _ in parse_qsl(parts.query))
    shown = f"{parts.scheme}://{'***@' if at else ''}{parts.netloc}{parts.path}"
    return f"{shown}{'?' + options if options else ''}"


def _credentials(url: str) -> list[str]:
    """Every secret a URL holds, as it may appear in a message: its user information (all of
    it, and each part, as written and unquoted) and any ``password`` or ``sentinel_password``
    option."""
    _, _, rest = url.partition("://")
    user_info, at, _ = rest.rpartition("@")
    secrets: list[str] = []
    if at:
        user, _, password = user_info.partition(":")
        secrets += [user_info, user, password, unquote(user), unquote(password)]
    query = urlsplit(url).query
    secrets += [value for name, value in parse_qsl(query) if name.endswith("password")]
    # Longest first, so that a secret containing another is hidden whole; a user name of a
    # few letters ("me") is no secret worth blotting out every occurrence of in a message.
    return sorted({secret for secret in secrets if len(secret) >= 4}, key=len, reverse=True)


class StoreConnection(abc.ABC):
    """What the store sends its commands through, whatever the topology: a command, a
    pipeline, each operation timed as a whole and its failure turned into
    SessionStoreUnavailable, logged without data, IDs or passwords."""

    def __init__(self, url: SecretStr | None, *, timeout: float) -> None:
        self._url = url
        text = url.get_secret_value() if url is not None else ""
        self._passwords = _credentials(text)
        self._options = {name for name, _ in parse_qsl(urlsplit(text).query)}
        """The names of the URL's query options."""
        self.timeout: float | None = None if "socket_timeout" in self._options else timeout
        """Seconds an operation may take as a whole; ``None`` when the URL sets
        ``socket_timeout`` (redis-py then applies it to every send and reply)."""
        self._connect_timeout = timeout
        self.redirected_hint = "this Redis is a node of a Redis Cluster: use a redis+cluster:// URL"
        """What the log says after a MOVED or ASK error reply."""

    def __repr__(self) -> str:
        shown = redacted_url(self._url.get_secret_value()) if self._url is not None else None
        return f"{type(self).__name__}({shown!r})"

    @abc.abstractmethod
    async def command(self, *args: str | int) -> Any:
        """One command's reply; an error reply is raised as redis-py's ResponseError."""

    @abc.abstractmethod
    async def pipeline(self, commands: Sequence[Command], *, first: int = 0) -> list[Any]:
        """Send ``commands`` together and read every reply, in order (not a transaction); an
        error reply is returned in place, as the exception. The first ``first`` of them have
        run before any other is sent ("a session is never written unless its user's index
        holds its ID" needs it where a pipeline does not run in order: on a cluster)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close every connection; the store connects again if used later."""

    # -- time and failure ----------------------------------------------------------------------

    async def run(self, operation: str, work: Awaitable[T]) -> T:
        """``await work`` within the timeout; a Redis failure becomes SessionStoreUnavailable
        (logged at ERROR, naming ``operation``)."""
        try:
            return await self.timed(work)
        except Exception as error:
            unavailable = self.unavailable(operation, error)
            if unavailable is None:
                raise
            raise unavailable  # noqa: B904 (its cause is set, or hidden, by unavailable())

    async def timed(self, work: Awaitable[T]) -> T:
        """``await work``, cancelled and turned into TimeoutError once ``self.timeout`` passes.

        The contract of :func:`asyncio.timeout`, which costs more per call (about 3.5 µs on
        Python 3.11) than a whole session read costs otherwise: one timer, cancelled on the way
        out. A cancellation from elsewhere stays a cancellation, as with :func:`asyncio.timeout`.
        """
        task = asyncio.current_task()
        if self.timeout is None or task is None:
            return await work
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            task.cancel()

        loop = asyncio.get_running_loop()
        timer = loop.call_at(loop.time() + self.timeout, expire)
        cancelling = task.cancelling()
        try:
            return await work
        except asyncio.CancelledError:
            if expired and task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        finally:
            timer.cancel()

    def unavailable(self, operation: str, error: Exception) -> SessionStoreUnavailable | None:
        """What to raise for ``error`` from redis-py, logged; ``None`` for any other error."""
        # Imported here, on the rare way out, so that no request pays for the import statement.
        from redis.exceptions import (
            AskError,
            ClusterError,
            ConnectionError,
            MovedError,
            RedisClusterException,
            RedisError,
            TimeoutError,
        )

        if not isinstance(error, RedisError | RedisClusterException | OSError):
            return None
        # A cluster's own failures (no node for a slot, the cluster down) quote no argument.
        failed = ConnectionError | TimeoutError | OSError | ClusterError | RedisClusterException
        reply = str(error)
        if isinstance(error, failed):
            failure, cause = self.hide(f"{type(error).__name__}: {error}"), error
            if type(error) is builtins.TimeoutError:  # from timed(): no message
                failure = f"TimeoutError: no reply within {self.timeout} s"
        elif isinstance(error, AskError) or reply.startswith(("MOVED ", "ASK ")):
            # "MOVED 3999 10.0.0.7:6379": a slot and an address, no argument of the command.
            if isinstance(error, AskError):  # redis-py 5.1+ keeps the code as the class
                reply = f"{'MOVED' if isinstance(error, MovedError) else 'ASK'} {reply}"
            failure = f"{type(error).__name__}: {self.hide(reply)} ({self.redirected_hint})"
            cause = None
        else:
            # An error reply: its code only, as the rest might quote a command's arguments.
            code = str(error).split(" ", 1)[0] or "error"
            failure, cause = f"{type(error).__name__}: {self.hide(code)}", None
        logger.error("session store unavailable: %s failed: %s", operation, failure)
        unavailable = SessionStoreUnavailable(operation, failure)
        unavailable.__cause__ = cause  # as `raise ... from cause` (from None: hidden)
        unavailable.__suppress_context__ = True
        return unavailable

    def hide(self, text: str) -> str:
        """``text`` without the URL's credentials (no redis-py message is known to quote them)."""
        for password in self._passwords:
            text = text.replace(password, "***")
        return text


class _Connections:
    """The connections of one event loop: idle ones, how many exist, and who waits for one."""

    __slots__ = ("checked", "idle", "limit", "opened", "waiters")

    def __init__(self, limit: int) -> None:
        self.checked = False
        """Whether the server was found not to be a node of a cluster."""
        self.idle: list[AbstractConnection] = []
        self.opened = 0
        self.limit = limit
        self.waiters: collections.deque[asyncio.Future[AbstractConnection]] = collections.deque()


class RedisConnections(StoreConnection):
    """Commands and pipelines on a bounded set of direct connections to one Redis server."""

    def __init__(self, url: SecretStr, *, timeout: float) -> None:
        super().__init__(url, timeout=timeout)
        self._url: SecretStr = url
        self._capped = "max_connections" in self._options
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._connections = _Connections(DEFAULT_MAX_CONNECTIONS)
        self._make: Callable[[], AbstractConnection] | None = None
        # redis-py's error reply, and the failures worth one more try: set on first use.
        self._error_reply: type[Exception] = Exception
        self._lost: tuple[type[Exception], ...] = ()
        self._pack: Callable[[tuple[str | int, ...]], bytes] | None = None
        """hiredis's packer of one command, when the connections encode as it does (set on
        first use; else ``None``, and redis-py packs)."""

    # -- operations ----------------------------------------------------------------------------

    async def command(self, *args: str | int) -> Any:
        """One command's raw reply; an error reply is raised as redis-py's ResponseError."""
        connections = self._current()
        pack = self._pack
        connection = await self._acquire(connections)
        try:
            for attempt in (1, 2):
                try:
                    if pack is None:
                        await connection.send_command(*args)
                    else:
                        await connection.send_packed_command(pack(args))
                    return await connection.read_response()
                except self._error_reply:  # read in full: the connection is sound
                    raise
                except self._lost:
                    await connection.disconnect()
                    if attempt == 2:
                        raise
                    # reconnects on the next send
                except BaseException:  # cancelled (the timer): redis-py has disconnected it
                    await connection.disconnect(nowait=True)
                    raise
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            await self._release(connections, connection)

    async def pipeline(self, commands: Sequence[Command], *, first: int = 0) -> list[Any]:
        """Send ``commands`` at once and read every reply, in order (one round trip, not a
        transaction: Redis runs them in order, other clients' commands may come between, so
        ``first`` needs nothing more). An error reply is returned in place, as the exception,
        once every reply is read."""
        connections = self._current()
        pack = self._pack
        connection = await self._acquire(connections)
        try:
            for attempt in (1, 2):
                try:
                    await connection.send_packed_command(
                        connection.pack_commands([list(command) for command in commands])
                        if pack is None
                        else b"".join([pack(tuple(command)) for command in commands])
                    )
                    replies: list[Any] = []
                    for _ in commands:
                        try:
                            replies.append(await connection.read_response())
                        except self._error_reply as error:
                            replies.append(error)
                    return replies
                except self._lost:
                    await connection.disconnect()
                    if attempt == 2:
                        raise
                except BaseException:
                    await connection.disconnect(nowait=True)
                    raise
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            await self._release(connections, connection)

    async def aclose(self) -> None:
        """Close every connection; those in use are closed when their reply comes. Called
        from another event loop than the one they were opened in (which may be closed by
        now), it only forgets them: a connection can be closed only from its own loop, and
        goes with it."""
        connections, self._connections = self._connections, _Connections(DEFAULT_MAX_CONNECTIONS)
        own_loop = self._loop() if self._loop is not None else None
        self._loop = None
        idle, connections.idle = connections.idle, []
        connections.limit = 0  # anything released to it from now on is closed
        if own_loop is not asyncio.get_running_loop():
            return
        for connection in idle:
            await connection.disconnect()

    # -- connections ---------------------------------------------------------------------------

    def _current(self) -> _Connections:
        """This event loop's connections (redis-py's belong to the loop that made them)."""
        loop = asyncio.get_running_loop()
        if self._loop is None or self._loop() is not loop:
            from redis.asyncio.connection import ConnectionPool
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # redis-py's own reading of the URL (scheme, TLS, socket, database, options); its
            # pool is never used, only what it would connect with.
            pool = ConnectionPool.from_url(
                self._url.get_secret_value(),
                socket_connect_timeout=self._connect_timeout,  # replies: self.timeout
                retry=Retry(NoBackoff(), 1),
            )
            connection_class, kwargs = pool.connection_class, pool.connection_kwargs
            self._make = lambda: connection_class(**kwargs)
            self._pack = _hiredis_packer(kwargs)
            limit = pool.max_connections if self._capped else DEFAULT_MAX_CONNECTIONS
            self._connections = _Connections(limit)
            self._loop = weakref.ref(loop)
            if not self._lost:  # found once rather than per command
                from redis.exceptions import ConnectionError, ResponseError, TimeoutError

                self._error_reply, self._lost = ResponseError, (ConnectionError, TimeoutError)
        return self._connections

    async def _acquire(self, connections: _Connections) -> AbstractConnection:
        if connections.idle:
            return connections.idle.pop()
        if connections.opened < connections.limit:
            connections.opened += 1
            assert self._make is not None
            connection = self._make()
            if not connections.checked:
                try:
                    await self._refuse_a_cluster_node(connection)
                except BaseException:
                    await self._release(connections, connection)
                    raise
                connections.checked = True
            return connection
        waiter: asyncio.Future[AbstractConnection] = asyncio.get_running_loop().create_future()
        connections.waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():  # handed one just as it was cancelled
                await self._release(connections, waiter.result())
            else:
                connections.waiters.remove(waiter)
            raise

    async def _refuse_a_cluster_node(self, connection: AbstractConnection) -> None:
        """Raise ConnectionError if the server is a node of a Redis Cluster: on a plain URL,
        each request would find its keys on this node or be sent elsewhere by MOVED, failing
        by chance. Asked once per event loop, on its first connection."""
        from redis.exceptions import ConnectionError

        try:
            await connection.send_command("INFO", "cluster")
            info = await connection.read_response()
        except self._error_reply:  # INFO refused (an ACL, a renamed command): assume a server
            return
        text = info.decode() if isinstance(info, bytes) else str(info)
        if "cluster_enabled:1" in text:
            raise ConnectionError(self.redirected_hint)

    async def _release(self, connections: _Connections, connection: AbstractConnection) -> None:
        """Hand a connection to the first request waiting for one, or keep it idle; close it if
        the store was closed (or moved to another loop) while it was in use."""
        if connections is not self._connections:
            await connection.disconnect()
            return
        waiters = connections.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connections.idle.append(connection)


def _hiredis_packer(
    connection_kwargs: dict[str, Any],
) -> Callable[[tuple[str | int, ...]], bytes] | None:
    """hiredis's command packer, when it is installed (the ``redis`` extra installs it) and the
    connections encode text as it does, in UTF-8, strictly; else ``None``.

    redis-py packs a command through hiredis too, but first walks its arguments twice in
    Python (a memoryview check, its encoder's per-argument call): about 5 µs per command on the
    machine of docs/performance.md, hiredis alone 0.7 µs, the same bytes (a test holds them
    equal). A request that writes sends two commands.
    """
    encoding = connection_kwargs.get("encoding", "utf-8").lower().replace("_", "-")
    strict = connection_kwargs.get("encoding_errors", "strict") == "strict"
    if encoding not in ("utf-8", "utf8") or not strict:
        return None
    try:
        from hiredis import pack_command
    except ImportError:  # redis-py without hiredis: it packs in Python
        return None
    return cast("Callable[[tuple[str | int, ...]], bytes]", pack_command)
