"""The store's commands through a redis-py client: Redis Cluster, Sentinel, or the application's.

:class:`~cookie_session._store_connection.RedisConnections` talks to one server on connections
of its own, past redis-py's client (docs/store.md, "What it costs"). A topology that needs the
client's own knowledge goes through the client instead:

- ``redis+cluster://``: redis-py's ``RedisCluster``, which maps each key's slot to its node and
  follows MOVED; a pipeline sends each node's batch at the same time, so the commands of one
  pipeline run in no order between nodes, and :meth:`ClientConnections.pipeline` sends the
  ``first`` ones, and waits for them, before the rest.
- ``redis+sentinel://``: a ``Redis`` whose pool asks the sentinels for the primary's address
  on every new connection, with at most one retry: redis-py's retries keep trying the dead
  primary's address and never ask the sentinels again (redis-py #3874), so a request during a
  failover fails (503) and a later one finds the new primary.
- ``store_client=``: the application's ``redis.asyncio.Redis`` or ``RedisCluster``, used as it
  is (its loop, its pool, its retries).

A client made here from a URL is made per event loop, as redis-py's connections belong to the
loop that made them; an application's client belongs to its own loop. redis-py is imported on
first use, never by ``import cookie_session``.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias
from urllib.parse import parse_qsl, urlencode

from pydantic import SecretStr

from cookie_session._store_connection import Command, StoreConnection
from cookie_session._store_url import HostsUrl, split_hosts_url

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster
    from redis.asyncio.sentinel import Sentinel

    Client: TypeAlias = "Redis | RedisCluster"

__all__ = ["SENTINEL_RETRIES", "ClientConnections"]

SENTINEL_RETRIES: Final = 1
"""Tries after the first on a lost connection to a Sentinel-managed primary (see above)."""


class ClientConnections(StoreConnection):
    """Commands and pipelines through a redis-py client (a cluster, a Sentinel-managed
    primary, or the application's own)."""

    def __init__(
        self,
        url: SecretStr | None = None,
        *,
        timeout: float,
        client: Client | None = None,
    ) -> None:
        super().__init__(url, timeout=timeout)
        self._client = client
        self._make: Callable[[], tuple[Client, Sentinel | None]] | None = None
        if url is not None:
            hosts_url = split_hosts_url(url.get_secret_value())
            assert hosts_url is not None, "a redis+cluster:// or redis+sentinel:// URL"
            make = _cluster if hosts_url.kind == "cluster" else _sentinel_primary
            connect_timeout = self._connect_timeout
            self._make = lambda: make(hosts_url, connect_timeout)
        else:
            assert client is not None, "a URL or a client"
            self.redirected_hint = _CLUSTER_HINT if _is_cluster(client) else _NODE_HINT
        self._sentinel: Sentinel | None = None
        self._loop: weakref.ref[asyncio.AbstractEventLoop] | None = None
        self._in_order = True

    def __repr__(self) -> str:
        if self._url is None:
            return f"{type(self).__name__}(client={type(self._client).__name__})"
        return super().__repr__()

    async def command(self, *args: str | int) -> Any:
        return await self._current().execute_command(*args)

    async def pipeline(self, commands: Sequence[Command], *, first: int = 0) -> list[Any]:
        client = self._current()
        if first and not self._in_order:
            replies = await _pipeline(client, commands[:first])
            for reply in replies:
                if isinstance(reply, Exception):  # the rest depends on these
                    raise reply
            return replies + await _pipeline(client, commands[first:])
        return await _pipeline(client, commands)

    async def aclose(self) -> None:
        """Close the client made from the URL (an application's own stays open: it is the
        application's to close)."""
        if self._make is None:
            return
        client, sentinel, self._client, self._sentinel = self._client, self._sentinel, None, None
        self._loop = None
        if client is not None:
            await client.aclose()
        for sentinel_client in sentinel.sentinels if sentinel is not None else ():
            await sentinel_client.aclose()

    def _current(self) -> Client:
        """This event loop's client (an application's own: the one it gave)."""
        if self._make is not None:
            loop = asyncio.get_running_loop()
            if self._loop is None or self._loop() is not loop:
                # The last loop's client cannot be closed from this one: it goes with its loop.
                self._client, self._sentinel = self._make()
                self._loop = weakref.ref(loop)
                self.redirected_hint = _CLUSTER_HINT
                self._in_order = not _is_cluster(self._client)
        elif self._loop is None:
            assert self._client is not None
            self._in_order = not _is_cluster(self._client)
            self._loop = weakref.ref(asyncio.get_running_loop())
        assert self._client is not None
        return self._client


_NODE_HINT: Final = (
    "this Redis is a node of a Redis Cluster: use a RedisCluster client (or a redis+cluster:// URL)"
)
_CLUSTER_HINT: Final = (
    "the cluster moved the key's slot (a failover or a resharding) and the client did not "
    "follow it within its retries"
)


def _is_cluster(client: object) -> bool:
    from redis.asyncio.cluster import RedisCluster

    return isinstance(client, RedisCluster)


async def _pipeline(client: Client, commands: Sequence[Command]) -> list[Any]:
    """Every reply of ``commands``, sent in one pipeline (not a transaction); an error reply
    is returned in place."""
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    replies: list[Any] = await pipe.execute(raise_on_error=False)
    return replies


def _connection_options(url: str, connect_timeout: float) -> dict[str, Any]:
    """redis-py's reading of a plain URL's credentials, database and options, without its
    host and port; ``ssl=True`` for TLS (in place of redis-py's connection class)."""
    from redis.asyncio.connection import SSLConnection, parse_url

    options: dict[str, Any] = {"socket_connect_timeout": connect_timeout, **parse_url(url)}
    for name in ("host", "port", "path"):
        options.pop(name, None)
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    return options


def _cluster(url: HostsUrl, connect_timeout: float) -> tuple[Client, None]:
    """A ``RedisCluster`` that starts from any of the URL's nodes."""
    from redis.asyncio.cluster import ClusterNode, RedisCluster

    options = _connection_options(url.server_url(), connect_timeout)
    options.pop("db", None)  # 0: checked at start-up
    nodes = [ClusterNode(host, port) for host, port in url.hosts]
    return RedisCluster(startup_nodes=nodes, **options), None


def _sentinel_primary(url: HostsUrl, connect_timeout: float) -> tuple[Client, Sentinel]:
    """A ``Redis`` for the URL's service's primary, as the sentinels name it."""
    from redis.asyncio.retry import Retry
    from redis.asyncio.sentinel import Sentinel
    from redis.backoff import NoBackoff

    options = parse_qsl(url.query, keep_blank_values=True)
    primary = [(name, value) for name, value in options if not name.startswith("sentinel_")]
    sentinels = [
        (name.removeprefix("sentinel_"), value)
        for name, value in options
        if name.startswith("sentinel_")
    ]
    sentinel_options = _connection_options(
        url.server_url(urlencode(sentinels), credentials=False), connect_timeout
    )
    sentinel_options.pop("db", None)
    sentinel = Sentinel(
        list(url.hosts),
        sentinel_kwargs=sentinel_options,
        **_connection_options(url.server_url(urlencode(primary)), connect_timeout),
    )
    assert url.service is not None
    client = sentinel.master_for(url.service, retry=Retry(NoBackoff(), SENTINEL_RETRIES))
    return client, sentinel
