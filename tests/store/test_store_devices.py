"""The device list (``track_devices=True``): what each signed-in session records of where it is
used, ``store.list_sessions`` and ``store.revoke_other_sessions``, against a real redis-server."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import (
    RedisSessionStore,
    SessionCodec,
    SessionConfig,
    SessionInfo,
    SessionMiddleware,
)
from cookie_session.devices import DEVICE_FIELD, SEEN_INTERVAL, USER_AGENT_LIMIT, DeviceRecord
from redis_server import command_counts

from .conftest import id_cookie, session_key, store_app, stored, with_cookie

START = int(time.time())
"""Where each test's clock starts: now, as the test begins (see ``start_now``)."""
DAY = 24 * 3600


@pytest.fixture(autouse=True)
def start_now() -> None:
    """Each test's clock starts at the real time: a cookie that another app signs by the real
    clock must not look signed in the future to the test's."""
    global START  # read by the tests and Clock when they run
    START = int(time.time())


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


def tracked_app(store_url: str) -> tuple[SessionMiddleware, Clock]:
    """The store app with ``track_devices``, on a clock the test moves."""
    app = store_app(store_url, track_devices=True)
    clock = Clock()
    app.codec = SessionCodec([SECRET], max_age=app.config.max_age, clock=clock)
    return app, clock


def log_in(client: TestClient, user: str) -> str:
    """Log ``client`` in as ``user``; return its new session ID (read back from the app, as the
    cookie is signed by the test's clock)."""
    assert client.get("/login", params={"user": user}).status_code == 200
    session_id: str = client.get("/show").json()["session_id"]
    return session_id


def store_of(app: SessionMiddleware) -> RedisSessionStore:
    return RedisSessionStore.from_config(app.config)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def list_sessions(store: RedisSessionStore, user: str) -> list[SessionInfo]:
    async def run() -> list[SessionInfo]:
        try:
            return await store.list_sessions(user)
        finally:
            await store.aclose()

    return asyncio.run(run())


# -- what a session records ------------------------------------------------------------------


def test_a_login_records_when_where_and_with_what_browser_the_session_started(
    store_url: str,
) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app, client=("203.0.113.7", 50000)) as client:
        client.headers["user-agent"] = "Firefox/133.0"
        session_id = log_in(client, "alice")

    [info] = list_sessions(store_of(app), "alice")

    assert info.session_id == session_id
    assert info.started_at == at(START)
    assert info.last_seen == at(START)
    assert info.ip == "203.0.113.7"
    assert info.user_agent == "Firefox/133.0"
    expected_expiry = datetime.now(UTC) + timedelta(seconds=app.config.max_age or 0)
    assert abs(info.expires_at - expected_expiry) < timedelta(seconds=5)
    assert info.expires_at.tzinfo is UTC


def test_the_device_record_is_never_part_of_the_session(store_url: str) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as client:
        log_in(client, "alice")
        shown = client.get("/show").json()

    assert shown["data"] == {"user": "alice"}


def test_nothing_personal_is_recorded_without_track_devices(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = store_app(store_url)
    with TestClient(app, client=("203.0.113.7", 50000)) as client:
        session_id = log_in(client, "alice")
        client.get("/show")

    assert stored(redis_client, session_id) == {"user": "alice"}
    [info] = list_sessions(store_of(app), "alice")
    assert info == SessionInfo(session_id, None, None, info.expires_at, None, None)
    assert info.expires_at > datetime.now(UTC) + timedelta(days=13)


def test_an_anonymous_session_records_no_device(store_url: str, redis_client: redis.Redis) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as client:
        session_id = client.post("/set", json={"cart": ["apple"]}).json()["session_id"]
        session_id = session_id or client.get("/show").json()["session_id"]

    assert DEVICE_FIELD not in stored(redis_client, session_id)


def test_the_user_agent_is_kept_to_its_first_256_characters(store_url: str) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as client:
        client.headers["user-agent"] = "A" * 1000
        log_in(client, "alice")

    [info] = list_sessions(store_of(app), "alice")
    assert info.user_agent == "A" * USER_AGENT_LIMIT


# -- last seen: at most once a minute, no extra round trip within it -------------------------


def test_a_read_only_request_within_the_minute_writes_nothing(
    store_url: str, redis_client: redis.Redis
) -> None:
    app, clock = tracked_app(store_url)
    with TestClient(app) as client:
        log_in(client, "alice")
        clock.now += SEEN_INTERVAL - 1
        redis_client.config_resetstat()

        client.get("/show")

        assert command_counts(redis_client) == {"hgetall": 1}


def test_a_read_only_request_after_a_minute_records_last_seen_and_keeps_the_expiry(
    store_url: str, redis_client: redis.Redis
) -> None:
    app, clock = tracked_app(store_url)
    with TestClient(app, client=("198.51.100.1", 1)) as client:
        session_id = log_in(client, "alice")
        redis_client.pexpire(session_key(session_id), 600_000)  # to see whether it restarts
        clock.now += SEEN_INTERVAL
        client.headers["user-agent"] = "moved/2"

        client.get("/noop")

    [info] = list_sessions(store_of(app), "alice")
    assert info.started_at == at(START)
    assert info.last_seen == at(START + SEEN_INTERVAL)
    assert info.user_agent == "moved/2"
    remaining = redis_client.pttl(session_key(session_id))
    assert 0 < remaining <= 600_000


def test_last_seen_rides_on_a_write_the_request_makes_anyway(
    store_url: str, redis_client: redis.Redis
) -> None:
    app, clock = tracked_app(store_url)
    with TestClient(app) as client:
        session_id = log_in(client, "alice")
        clock.now += 5 * SEEN_INTERVAL
        redis_client.config_resetstat()

        client.post("/set", json={"cart": ["pear"]})

        counts = command_counts(redis_client)
    # The session's write, as without tracking: the record went in the write's one HSET, with
    # no script of its own.
    assert counts.get("evalsha", 0) + counts.get("eval", 0) == 1
    assert counts["hset"] == 1
    [info] = list_sessions(store_of(app), "alice")
    assert info.session_id == session_id
    assert info.last_seen == at(START + 5 * SEEN_INTERVAL)
    assert stored(redis_client, session_id)["cart"] == ["pear"]


def test_a_signed_in_session_from_before_tracking_is_recorded_when_next_seen(
    store_url: str,
) -> None:
    untracked = store_app(store_url)
    with TestClient(untracked) as client:
        session_id = log_in(client, "alice")
    app, _ = tracked_app(store_url)
    with TestClient(app) as client:
        client.get("/noop", headers=with_cookie(id_cookie(session_id)))

    [info] = list_sessions(store_of(app), "alice")
    assert (info.session_id, info.started_at, info.last_seen) == (session_id, at(START), at(START))


def test_a_damaged_device_record_is_replaced_not_an_error(
    store_url: str, redis_client: redis.Redis
) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as client:
        session_id = log_in(client, "alice")
        redis_client.hset(session_key(session_id), DEVICE_FIELD, '{"not": "a record"}')

        assert client.get("/show").json()["data"] == {"user": "alice"}

    [info] = list_sessions(store_of(app), "alice")
    assert info.last_seen == at(START)


# -- a login, regeneration, the order of the list --------------------------------------------


def test_a_login_as_another_user_starts_a_new_record(store_url: str) -> None:
    app, clock = tracked_app(store_url)
    with TestClient(app) as client:
        log_in(client, "alice")
        clock.now += 100
        bob_id = log_in(client, "bob")

    [bob] = list_sessions(store_of(app), "bob")
    assert (bob.session_id, bob.started_at) == (bob_id, at(START + 100))
    assert list_sessions(store_of(app), "alice") == []


def test_a_regenerated_session_keeps_its_start(store_url: str) -> None:
    app, clock = tracked_app(store_url)
    with TestClient(app) as client:
        log_in(client, "alice")
        clock.now += 100
        client.get("/regenerate")

    [info] = list_sessions(store_of(app), "alice")
    assert info.started_at == at(START)
    assert info.last_seen == at(START + 100)


def test_sessions_are_listed_most_recently_seen_first(store_url: str) -> None:
    app, clock = tracked_app(store_url)
    with TestClient(app) as laptop, TestClient(app) as phone, TestClient(app) as tablet:
        laptop_id = log_in(laptop, "alice")
        clock.now += 100
        phone_id = log_in(phone, "alice")
        clock.now += 100
        tablet_id = log_in(tablet, "alice")
        clock.now += 100
        laptop.get("/noop")

    listed = list_sessions(store_of(app), "alice")

    assert [info.session_id for info in listed] == [laptop_id, tablet_id, phone_id]


# -- log out other devices -------------------------------------------------------------------


def test_revoke_other_sessions_keeps_this_device_and_ends_the_others(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as laptop, TestClient(app) as phone, TestClient(app) as tablet:
        laptop_id = log_in(laptop, "alice")
        log_in(phone, "alice")
        log_in(tablet, "alice")
        store = store_of(app)

        async def log_out_others() -> int:
            try:
                return await store.revoke_other_sessions("alice", keep=laptop_id)
            finally:
                await store.aclose()

        with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
            revoked = asyncio.run(log_out_others())

        assert revoked == 2
        assert laptop.get("/show").json()["data"] == {"user": "alice"}
        assert phone.get("/show").json()["data"] == {}
        assert tablet.get("/show").json()["data"] == {}
    assert [info.session_id for info in list_sessions(store_of(app), "alice")] == [laptop_id]
    lines = [record.getMessage() for record in caplog.records]
    assert sum("by=revoke_other_sessions" in line and "'alice'" in line for line in lines) == 2
    assert not any(laptop_id in line for line in lines)


def test_revoke_other_sessions_needs_user_key(store_url: str) -> None:
    config = SessionConfig(secret_key=SECRET, store_url=store_url)
    store = RedisSessionStore.from_config(config)

    with pytest.raises(RuntimeError, match="user_key"):
        asyncio.run(store.revoke_other_sessions("alice", keep=None))


def test_a_device_seen_after_its_session_ended_brings_nothing_back(
    store_url: str, redis_client: redis.Redis
) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as client:
        session_id = log_in(client, "alice")
    redis_client.delete(session_key(session_id))  # revoked (or expired) meanwhile
    store = store_of(app)

    async def note_seen() -> bool:
        try:
            return await store.note_seen(session_id, DeviceRecord(START, START + 60, None, None))
        finally:
            await store.aclose()

    assert asyncio.run(note_seen()) is False
    assert redis_client.exists(session_key(session_id)) == 0  # no key without an expiry


def test_a_session_gone_from_redis_is_not_listed(store_url: str, redis_client: redis.Redis) -> None:
    app, _ = tracked_app(store_url)
    with TestClient(app) as laptop, TestClient(app) as phone:
        laptop_id = log_in(laptop, "alice")
        phone_id = log_in(phone, "alice")
    redis_client.delete(session_key(phone_id))  # expired; its index entry is still there

    assert [info.session_id for info in list_sessions(store_of(app), "alice")] == [laptop_id]
