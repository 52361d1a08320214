"""Bursts, floods and giant sessions: what bounds the store's use of Redis, against a real server.

- a burst of requests opens at most ``max_connections`` connections (50 by default, or the
  URL's), and the requests beyond the bound wait for one instead of failing;
- a session bigger than ``store_max_bytes`` is a SessionTooLarge error before anything is sent;
- sessions with no signed-in user live ``anonymous_max_age`` in Redis, so that under
  ``maxmemory-policy volatile-ttl`` a flood of them is evicted before a signed-in user's session;
  under ``noeviction`` the flood's writes fail (503) and the user's session is still read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import redis
from starlette.testclient import TestClient

from cookie_session import RedisSessionStore, SessionTooLarge
from cookie_session.flash import FLASHES_KEY
from redis_server import RedisServer, command_counts, running_redis_server

from .conftest import MakeClient, id_in, session_cookie, session_key, store_app, with_cookie

DAY = 24 * 60 * 60


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def connections_named(client: redis.Redis, name: str) -> int:
    return sum(1 for connection in client.client_list() if connection["name"] == name)


async def burst(app: object, cookie: str, requests: int) -> list[int]:
    """``requests`` concurrent requests carrying one session cookie; their status codes."""
    transport = httpx2.ASGITransport(app=app)  # type: ignore[arg-type]  # an ASGI app, as httpx2 takes it
    async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        responses = await asyncio.gather(
            *(client.get("/show", headers=with_cookie(cookie)) for _ in range(requests))
        )
    return [response.status_code for response in responses]


@pytest.mark.anyio
@pytest.mark.parametrize(("option", "bound"), [("", 50), ("&max_connections=5", 5)])
async def test_a_burst_opens_at_most_the_bound_and_every_request_waits_its_turn(
    store_url: str, redis_client: redis.Redis, option: str, bound: int
) -> None:
    name = f"burst{bound}"
    app = store_app(f"{store_url}?client_name={name}{option}")
    store = RedisSessionStore(store_url)
    cookie_value = app.codec.sign(app.codec.serialise({"sid": await store.create({}, None)}))
    session_id = id_in(cookie_value)
    redis_client.hset(session_key(session_id), "n", "1")
    await store.aclose()

    statuses = await burst(app, cookie_value, 300)

    assert statuses == [200] * 300
    # Every connection the burst opened is still open, idle: their number is the peak.
    assert 1 < connections_named(redis_client, name) <= bound
    assert app.stats().store_errors == 0


def test_session_over_store_max_bytes_is_refused_before_anything_is_sent(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(store_max_bytes=1000)
    assert client.post("/set", json={"small": "x" * 100}).status_code == 200
    redis_client.config_resetstat()

    with pytest.raises(SessionTooLarge) as raised:
        client.post("/set", json={"big": "x" * 1000})

    assert raised.value.limit == 1000
    assert raised.value.size == len("small") + len('"' + "x" * 100 + '"') + 3 + 1002
    assert "store_max_bytes (1000 bytes)" in str(raised.value)
    assert command_counts(redis_client) == {"hgetall": 1}  # the load, and no write
    assert client.app.stats().too_large_errors == 1  # type: ignore[attr-defined]  # the SessionMiddleware


def test_session_at_store_max_bytes_is_written(make_client: MakeClient) -> None:
    client = make_client(store_max_bytes=len("big") + 1002)

    response = client.post("/set", json={"big": "x" * 1000})

    assert response.status_code == 200
    assert session_cookie(response)


def test_flash_messages_count_as_the_session_s_one_list_not_as_their_fields(
    make_client: MakeClient,
) -> None:
    # In Redis each message is a field of its own (tests/store/test_store_flash.py); the limit
    # is still on the session as it holds them, "_cs.flashes" and its list's JSON.
    messages = [["message", "x" * 100], ["message", "y" * 100]]
    client = make_client(store_max_bytes=len(FLASHES_KEY) + len(json.dumps(messages)))

    response = client.post("/set", json={FLASHES_KEY: messages})

    assert response.status_code == 200
    assert client.get("/show").json()["data"] == {FLASHES_KEY: messages}


def test_anonymous_sessions_live_anonymous_max_age_and_signed_in_ones_max_age(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(max_age=30 * DAY, anonymous_max_age=600)

    visitor = client.post("/set", json={"cart": [1]})
    visitor_ttl = redis_client.ttl(session_key(id_in(session_cookie(visitor) or "")))
    signed_in = client.get("/login", params={"user": "alice"})
    user_ttl = redis_client.ttl(session_key(id_in(session_cookie(signed_in) or "")))
    client.post("/set", json={"cart": [1, 2]})  # a signed-in write keeps the long lifetime
    kept_ttl = redis_client.ttl(session_key(id_in(client.cookies["session"])))
    signed_out = client.get("/logout")
    anonymous_again_ttl = redis_client.ttl(session_key(id_in(session_cookie(signed_out) or "")))

    assert 590 <= visitor_ttl <= 600
    assert 30 * DAY - 10 <= user_ttl <= 30 * DAY
    assert 30 * DAY - 10 <= kept_ttl <= 30 * DAY
    assert 590 <= anonymous_again_ttl <= 600


@pytest.fixture
def small_redis(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    """A redis-server of 2 MB with the eviction policy the test is parametrized with."""
    policy: str = request.param
    with running_redis_server(
        tmp_path, "--maxmemory", "2mb", "--maxmemory-policy", policy
    ) as server:
        yield server


PAYLOAD = json.dumps("x" * 1000)


@pytest.mark.anyio
@pytest.mark.parametrize("small_redis", ["volatile-ttl"], indirect=True)
async def test_a_flood_of_anonymous_sessions_is_evicted_before_a_signed_in_one(
    small_redis: RedisServer,
) -> None:
    store = RedisSessionStore(
        small_redis.url, user_key="user", lifetime=14 * DAY, anonymous_lifetime=600
    )
    client = small_redis.client()
    try:
        alice = await store.create({"user": json.dumps("alice"), "note": PAYLOAD}, "alice")
        for _ in range(10_000):  # ~20 MB of anonymous sessions into 2 MB
            await store.create({"cart": PAYLOAD}, None)
        evicted = int(client.info("stats")["evicted_keys"])

        assert evicted > 1000
        assert await store.load(alice) == {"user": json.dumps("alice"), "note": PAYLOAD}
        assert await store.user_sessions("alice") == [alice]
    finally:
        client.close()
        await store.aclose()


@pytest.mark.parametrize("small_redis", ["noeviction"], indirect=True)
def test_under_noeviction_a_flood_is_refused_with_503_and_signed_in_users_read_on(
    small_redis: RedisServer,
) -> None:
    app = store_app(small_redis.url, anonymous_max_age=600)
    with TestClient(app) as user:
        assert user.get("/login", params={"user": "alice"}).status_code == 200
        statuses = set()
        for _ in range(3000):  # ~3 MB of anonymous sessions into 2 MB
            with TestClient(app) as visitor:
                statuses.add(visitor.post("/set", json={"cart": "x" * 1000}).status_code)
            if 503 in statuses:
                break
        shown = user.get("/show")

    assert statuses == {200, 503}
    assert shown.status_code == 200
    assert shown.json()["data"] == {"user": "alice"}
    assert app.stats().store_errors >= 1
