"""No login escapes "log out everywhere": a revocation or a listing that runs between a login's
index entry and its session write, held there on purpose by a proxy, not by chance.

The store writes a signed-in session in one pipeline: the user's index entry first, then the
session. The proxy (tests/store/redis_proxy.py) lets the index entry through and holds the
session write; meanwhile another client lists and revokes the user's sessions. Once the write
goes through, the login's session must be either gone or listed, so that the next
``revoke_user`` reaches it.

Run through the store's own direct connections (a ``redis://`` URL) and through a redis-py
client (``store_client=``), the path a Sentinel URL and an application's client take; on Redis
and on Valkey.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis
import redis.asyncio

from cookie_session import RedisSessionStore
from redis_server import RedisServer

from .redis_proxy import RedisProxy, parse_command

USER_FIELD = {"user": json.dumps("alice")}
INDEX = b"cookie-session:user:alice"


def session_write(arguments: list[bytes]) -> bool:
    """The write of a signed-in session's hash: the store's script, run on a session key with
    the user's field. (An anonymous session's write, before the login, is sent as EVAL too
    when the server has not cached the script yet: it must go through.)"""
    return (
        arguments[0].upper() == b"EVAL"
        and len(arguments) > 3
        and arguments[3].startswith(b"cookie-session:session:")
        and b"user" in arguments[4:]
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["redis", "valkey"])
def server(request: pytest.FixtureRequest) -> RedisServer:
    """The server under the proxy, emptied for this test."""
    server: RedisServer = request.getfixturevalue(
        "redis_server" if request.param == "redis" else "valkey"
    )
    server.flush()
    return server


@pytest.fixture
async def proxy(server: RedisServer) -> AsyncIterator[RedisProxy]:
    proxy = RedisProxy(server.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.aclose()


def store_at(url: str) -> RedisSessionStore:
    return RedisSessionStore(url, user_key="user")


def store_through_a_client(url: str) -> RedisSessionStore:
    """The store on a redis-py client of ``url`` (closed with the store's own ``aclose``)."""
    client = redis.asyncio.Redis.from_url(url)
    store = RedisSessionStore(None, client=client, user_key="user")
    close_store = store.aclose

    async def aclose() -> None:
        await close_store()
        await client.aclose()

    store.aclose = aclose  # type: ignore[method-assign]  # the test's store owns its client
    return store


CONNECTIONS = {"direct": store_at, "client": store_through_a_client}


async def login(store: RedisSessionStore) -> str | None:  # as a move may give None
    """A first login: a new session of alice's."""
    return await store.create(USER_FIELD, "alice")


async def login_from_an_anonymous_session(store: RedisSessionStore) -> str | None:
    """A login from a visitor's session: moved to a new ID, the old one deleted."""
    anonymous = await store.create({"cart": "[1]"}, None)
    return await store.move(anonymous, {"cart": "[1]", **USER_FIELD}, None, "alice")


LOGINS: list[Callable[[RedisSessionStore], Awaitable[str | None]]] = [
    login,
    login_from_an_anonymous_session,
]


async def index_holds_something(client: redis.Redis) -> None:
    """Wait (briefly) until the login's index entry, let through by the proxy, is in Redis."""
    for _ in range(200):
        if client.zcard(INDEX):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the login's index entry never reached Redis")


@pytest.mark.anyio
@pytest.mark.parametrize("start_login", LOGINS, ids=lambda login: login.__name__)
@pytest.mark.parametrize("meanwhile", ["revoke_user", "user_sessions", "both"])
@pytest.mark.parametrize("connection", CONNECTIONS)
async def test_login_held_between_its_index_entry_and_its_write_is_revoked_or_still_listed(
    proxy: RedisProxy,
    server: RedisServer,
    start_login: Callable[[RedisSessionStore], Awaitable[str | None]],
    meanwhile: str,
    connection: str,
) -> None:
    logging_in, admin = CONNECTIONS[connection](proxy.url), store_at(server.url)
    redis_client = server.client()
    try:
        proxy.hold(session_write)
        pending = asyncio.ensure_future(start_login(logging_in))
        await asyncio.wait_for(proxy.held.wait(), 5)
        await index_holds_something(redis_client)

        if meanwhile in ("user_sessions", "both"):
            assert await admin.user_sessions("alice") == []  # not written yet: not listed
        if meanwhile in ("revoke_user", "both"):
            assert await admin.revoke_user("alice") == 0  # nothing to delete yet
        proxy.release()
        session_id = await asyncio.wait_for(pending, 5)

        assert session_id is not None
        # Written after the revocation: still in the index, so listed and revocable.
        assert await admin.user_sessions("alice") == [session_id]
        assert await admin.revoke_user("alice") == 1
        assert await admin.load(session_id) is None
        assert await admin.user_sessions("alice") == []
    finally:
        proxy.release()
        redis_client.close()
        await logging_in.aclose()
        await admin.aclose()


def test_parse_command_reads_one_complete_command_at_a_time() -> None:
    first = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    second = b"*1\r\n$4\r\nPING\r\n"

    assert parse_command(first + second) == ([b"GET", b"k"], len(first))
    assert parse_command(first[:-1]) is None
    assert parse_command(b"") is None
    assert parse_command(b"*2\r\n$3\r\nGET") is None
