"""Fixtures shared by every test module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cookie_session import SessionConfig
from redis_server import RedisServer, running_redis_server

# Distinctive so that a leak is easy to grep for in any output.
SECRET = "LEAKCHECK-secret-key-0123456789-abcdefghij"
OTHER_SECRET = "LEAKCHECK-other-key-9876543210-zyxwvutsrq"
REFERENCE_SECRET = "your-secret-key-min-32-characters-long"


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


@pytest.fixture
def store_url(redis_server: RedisServer) -> str:
    """The ``store_url`` of the shared redis-server, emptied for this test."""
    redis_server.flush()
    return redis_server.url
