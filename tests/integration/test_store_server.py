"""The Redis store behind real uvicorn servers: many clients at once on two workers lose no
write, two hosts share sessions, and Redis stopping mid-run fails loudly without taking down the
requests that carry no session."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest
import redis

from conftest import SECRET
from redis_server import RedisServer, running_redis_server

from .conftest import StartServer

pytestmark = pytest.mark.timeout(180)

CLIENTS = 50
INCREMENTS = 20


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis_server(tmp_path) as server:
        yield server


def count_to(url: str, marker: str) -> list[int]:
    """One visitor: INCREMENTS visits of /counter, one after the other, with its own cookies."""
    with httpx2.Client(timeout=30.0) as client:
        return [
            client.get(f"{url}/counter", params={"marker": marker}).json()["count"]
            for _ in range(INCREMENTS)
        ]


def test_many_clients_on_two_workers_lose_no_increment(
    start_server: StartServer, store_url: str, redis_server: RedisServer
) -> None:
    server = start_server(workers=2, secret_key=SECRET, store_url=store_url)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        counts = list(
            pool.map(lambda number: count_to(server.url, f"client-{number}"), range(CLIENTS))
        )

    assert counts == [list(range(1, INCREMENTS + 1))] * CLIENTS
    client = redis_server.client()
    try:
        keys = client.keys("cookie-session:session:*")
        stored = [client.hget(key, "count") for key in keys]
    finally:
        client.close()
    assert len(keys) == CLIENTS
    assert stored == [str(INCREMENTS).encode()] * CLIENTS


def test_two_hosts_share_one_session(start_server: StartServer, store_url: str) -> None:
    hosts = [start_server(secret_key=SECRET, store_url=store_url) for _ in range(2)]

    with httpx2.Client(timeout=10.0) as client:
        counts = [
            client.get(f"{hosts[visit % 2].url}/counter").json()["count"] for visit in range(6)
        ]
        cookie = client.cookies["session"]

    assert counts == [1, 2, 3, 4, 5, 6]
    assert len(cookie) < 120  # an ID, not the data


def test_redis_stopping_mid_run_fails_loudly_and_spares_requests_without_a_session(
    start_server: StartServer, private_redis: RedisServer
) -> None:
    server = start_server(secret_key=SECRET, store_url=private_redis.url)
    with httpx2.Client(timeout=30.0) as client:
        assert client.get(f"{server.url}/counter").json()["count"] == 1

        private_redis.stop()
        with_session = client.get(f"{server.url}/counter")
        without_session = httpx2.get(f"{server.url}/cookies", timeout=30.0)

        private_redis.start()
        after_restart = client.get(f"{server.url}/counter")

    assert with_session.status_code == 503  # answered by the middleware, through uvicorn
    assert with_session.headers["retry-after"] == "1"
    assert "set-cookie" not in with_session.headers
    assert without_session.status_code == 200
    # Redis came back empty (no persistence): the old ID is unknown, so a new session starts.
    assert after_restart.json()["count"] == 1


def test_store_keys_are_only_under_the_prefix(
    start_server: StartServer, store_url: str, redis_server: RedisServer
) -> None:
    server = start_server(secret_key=SECRET, store_url=store_url, store_prefix="shop:")

    httpx2.get(f"{server.url}/counter", timeout=10.0)

    client: redis.Redis = redis_server.client()
    try:
        keys: list[bytes] = client.keys("*")  # type: ignore[assignment]  # the sync client's reply
    finally:
        client.close()
    assert len(keys) == 1
    assert keys[0].startswith(b"shop:session:")
