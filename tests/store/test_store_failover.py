"""A primary killed (SIGKILL) under a steady load of signed-in visitors, on a Redis Cluster
and on a Sentinel-watched primary; and, on a cluster, a user's index entry that its session's
write never overtakes.

Each test here gets a topology of its own (tests/redis_topologies.py), since it breaks it.
Redis replicates asynchronously: a write acknowledged but not yet copied when its primary dies
is lost, whatever the client does. The tests kill a primary once its replica has every write
(the guarantee under test is the store's: what it acknowledged and Redis kept is served as it
was, and a failure is a 503, never an empty session taken for a logout).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from starlette.applications import Starlette

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionMiddleware
from cookie_session.store import _WRITE_SHA
from redis_topologies import (
    READY_TIMEOUT,
    ClusterServers,
    SentinelServers,
    client_at,
    kill,
    replicated,
    running,
)

from .conftest import ROUTES, USER_KEY, id_in, session_key

VISITORS = 12


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[ClusterServers]:
    cluster = ClusterServers(tmp_path)
    with running(cluster):
        yield cluster


@pytest.fixture
def own_sentinel(tmp_path: Path) -> Iterator[SentinelServers]:
    sentinel = SentinelServers(tmp_path)
    with running(sentinel):
        yield sentinel


def app_at(url: str) -> SessionMiddleware:
    return SessionMiddleware(
        Starlette(routes=ROUTES), secret_key=SECRET, user_key=USER_KEY, store_url=url
    )


async def visit_until_served_again(visitors: list[httpx2.AsyncClient], counts: list[int]) -> int:
    """Each visitor writes its next count and reads its session back, round after round, until
    a whole round is served; every answer is the session as acknowledged, or a 503. Returns
    how many 503s there were."""
    unavailable = 0
    deadline = time.monotonic() + READY_TIMEOUT  # a bound on the outage, not a measurement
    while True:
        served = 0
        for number, visitor in enumerate(visitors):
            written = await visitor.post("/set", json={"n": counts[number] + 1})
            if written.status_code == 200:
                counts[number] += 1
            shown = await visitor.get("/show")
            assert shown.status_code in (200, 503), shown.text
            assert written.status_code in (200, 503), written.text
            if shown.status_code == 503:
                assert "set-cookie" not in shown.headers
                unavailable += 1
                continue
            data = shown.json()["data"]
            # Never an empty session: the user and every acknowledged write are there (a write
            # answered 503 may have been applied or not).
            assert data["user"] == f"user{number}"
            assert data["n"] >= counts[number]
            counts[number] = data["n"]
            served += written.status_code == 200
        if served == len(visitors):
            return unavailable
        assert time.monotonic() < deadline, "not serving again within READY_TIMEOUT"


async def signed_in_visitors(app: SessionMiddleware) -> tuple[list[httpx2.AsyncClient], list[int]]:
    transport = httpx2.ASGITransport(app=app)
    visitors = [
        httpx2.AsyncClient(transport=transport, base_url="http://test") for _ in range(VISITORS)
    ]
    for number, visitor in enumerate(visitors):
        assert (await visitor.get("/login", params={"user": f"user{number}"})).status_code == 200
        assert (await visitor.post("/set", json={"n": 1})).status_code == 200
    return visitors, [1] * VISITORS


@pytest.mark.anyio
async def test_cluster_primary_killed_loses_no_session_answers_503_and_serves_again(
    own_cluster: ClusterServers,
) -> None:
    app = app_at(own_cluster.url)
    visitors, counts = await signed_in_visitors(app)
    try:
        # The primary of the first visitor's session, once its replica has every write.
        session_id = id_in(visitors[0].cookies["session"])
        victim = own_cluster.node_of(session_key(session_id))
        own_cluster.wait_until_ready()
        kill(victim)

        # redis-py's cluster client retries through most of the ~4 s failover: a request
        # either waits it out or, past the store's timeout, is answered 503.
        await visit_until_served_again(visitors, counts)

        assert not victim.running
        # The promoted replica had no scripts: a write without a user (EVALSHA) still works.
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://test"
        ) as anonymous:
            for _ in range(10):  # sessions on every shard, the promoted one's too
                assert (await anonymous.post("/set", json={"a": 1})).status_code == 200
                anonymous.cookies.clear()
    finally:
        for visitor in visitors:
            await visitor.aclose()
        assert app.store is not None
        await app.store.aclose()


@pytest.mark.anyio
async def test_sentinel_primary_killed_loses_no_session_answers_503_and_serves_again(
    own_sentinel: SentinelServers,
) -> None:
    app = app_at(own_sentinel.url)
    visitors, counts = await signed_in_visitors(app)
    try:
        primary, replica = own_sentinel.primary.port, own_sentinel.replica.port
        assert own_sentinel.primary_port() == primary
        wait_replicated(primary, replica)
        with client_at(replica) as promoted:
            assert not promoted.script_exists(*scripts_of(primary))[0]  # none were copied
        kill(own_sentinel.primary)

        unavailable = await visit_until_served_again(visitors, counts)

        assert unavailable > 0
        assert own_sentinel.primary_port() == replica
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://test"
        ) as anonymous:  # EVALSHA on the promoted replica: NOSCRIPT, loaded, written
            assert (await anonymous.post("/set", json={"a": 1})).status_code == 200
    finally:
        for visitor in visitors:
            await visitor.aclose()
        assert app.store is not None
        await app.store.aclose()


def wait_replicated(primary: int, replica: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while not replicated(primary, replica):
        assert time.monotonic() < deadline
        time.sleep(0.02)


def scripts_of(port: int) -> list[str]:
    """The SHA1 of the store's session-writing script, loaded on ``port`` by the test's writes."""
    with client_at(port) as client:
        assert client.script_exists(_WRITE_SHA)[0]
    return [_WRITE_SHA]


# -- the index entry before its session, on a cluster -----------------------------------------


@pytest.mark.anyio
async def test_cluster_session_write_waits_for_its_user_index_entry(
    own_cluster: ClusterServers,
) -> None:
    """A cluster runs a pipeline's batches on its nodes at once: the store sends a signed-in
    session's write only once its user's index holds the ID with the new expiry. With the
    index's node frozen, the write fails (503) without having extended the session, so the
    session never outlives its index entry (else, once the entry's time is up, ``revoke_user``
    would no longer find a session still alive)."""
    store = RedisSessionStore(own_cluster.url, user_key=USER_KEY)
    index_node = own_cluster.node_of("cookie-session:user:alice")
    try:
        # A session whose key lives on another node than alice's index.
        while True:
            session_id = await store.create({USER_KEY: '"alice"'}, "alice", lifetime=60)
            if own_cluster.node_of(session_key(session_id)) is not index_node:
                break
        session_node = own_cluster.node_of(session_key(session_id))
        with index_node.paused():  # well within cluster-node-timeout: no failover
            update = asyncio.ensure_future(
                store.update(session_id, {"a": "1"}, (), "alice", lifetime=3600)
            )
            # Time for a write sent alongside the index entry to land (on a live node, a
            # millisecond); then the request gives up, as at its timeout.
            await asyncio.sleep(0.5)
            update.cancel()
            with pytest.raises(asyncio.CancelledError):
                await update
    finally:
        await store.aclose()

    with client_at(session_node.port) as client:
        session_ms = client.pttl(session_key(session_id))
        assert client.hget(session_key(session_id), "a") is None
    assert 0 < session_ms <= 60_000  # not extended to an hour
