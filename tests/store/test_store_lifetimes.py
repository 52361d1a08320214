"""Session lifetimes with the Redis store, against a real redis-server, on a clock the tests move
for the cookie (Redis keeps its own time for the data's expiry): ``max_lifetime`` ends a session
and deletes its data, a login restarts it, ``set_max_age`` sets the data's expiry and the
cookie's, and the audit lines name the user and never the ID."""

from __future__ import annotations

import json
import logging
import time

import httpx2
import pytest
import redis
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionCodec, SessionMiddleware
from cookie_session.session import MAX_AGE_KEY, STARTED_KEY
from cookie_session.store import LIFETIME_GRACE

from .conftest import (
    USER_KEY,
    MakeClient,
    cookie_data,
    id_in,
    session_cookie,
    session_key,
    store_app,
)

START = int(time.time())  # now: the cookies are read back by the real clock too
HOUR = 3600
DAY = 24 * HOUR


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


def clocked(app: SessionMiddleware) -> Clock:
    """Put ``app``'s cookie on a clock the test moves."""
    clock = Clock()
    app.codec = SessionCodec([SECRET], max_age=app.config.max_age, clock=clock)
    return clock


def max_age_of(response: httpx2.Response) -> str:
    [header] = response.headers.get_list("set-cookie")
    attributes = dict(part.partition("=")[::2] for part in header.split("; ")[1:])
    return attributes.get("Max-Age", "")


def test_a_store_session_ends_at_max_lifetime_and_its_data_is_deleted(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR, refresh_after=60)
    clock = clocked(app)
    with TestClient(app) as client:
        session_id = id_in(session_cookie(client.get("/login", params={"user": "alice"})) or "")
        assert json.loads(redis_client.hget(session_key(session_id), STARTED_KEY)) == START  # type: ignore[arg-type]  # the sync client's reply
        clock.now += 2 * HOUR + 1

        response = client.get("/show")

    assert response.json() == {"data": {}, "session_id": None}
    assert session_cookie(response) == ""  # deleted
    assert redis_client.exists(session_key(session_id)) == 0
    assert redis_client.zrange("cookie-session:user:alice", 0, -1) == []


def test_a_login_restarts_the_lifetime(store_url: str, redis_client: redis.Redis) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR)
    clock = clocked(app)
    with TestClient(app) as client:
        client.post("/set", json={"cart": [1]})
        clock.now += HOUR
        logged_in = client.get("/login", params={"user": "alice"})
        clock.now += HOUR + 60  # past the visitor session's start + 2 h, not the login's

        shown = client.get("/show").json()

    assert shown["data"] == {"cart": [1], "user": "alice", STARTED_KEY: START + HOUR}
    assert session_cookie(logged_in)  # the login moved it to a new ID


@pytest.mark.parametrize("path", ["/set", "/show"], ids=["written", "refreshed"])
def test_redis_keeps_a_session_no_longer_than_what_remains_of_max_lifetime(
    store_url: str, redis_client: redis.Redis, path: str
) -> None:
    """Its data expires LIFETIME_GRACE after the session ends (a request in that time ends it
    as the server's check does, its cookie deleted and the end audited)."""
    app = store_app(store_url, max_age=DAY, max_lifetime=2 * HOUR, refresh_after=60)
    clock = clocked(app)
    with TestClient(app) as client:
        logged_in = client.get("/login", params={"user": "alice"})
        session_id = id_in(session_cookie(logged_in) or "")
        assert HOUR < redis_client.ttl(session_key(session_id)) <= 2 * HOUR + LIFETIME_GRACE
        clock.now += 1.5 * HOUR

        response = client.post(path, json={"n": 1}) if path == "/set" else client.get(path)

    assert max_age_of(response) == str(HOUR // 2)
    kept = redis_client.ttl(session_key(session_id))
    assert HOUR // 2 - 10 + LIFETIME_GRACE <= kept <= HOUR // 2 + LIFETIME_GRACE


@pytest.mark.anyio
@pytest.mark.parametrize("track_devices", [False, True])
async def test_a_session_past_max_lifetime_is_not_listed_while_redis_still_keeps_it(
    store_url: str, redis_client: redis.Redis, track_devices: bool
) -> None:
    config = store_app(store_url, max_lifetime=HOUR, track_devices=track_devices).config
    store = RedisSessionStore.from_config(config)
    now = int(time.time())
    try:
        ended = await store.create({USER_KEY: '"alice"', STARTED_KEY: str(now - HOUR - 5)}, "alice")
        live = await store.create({USER_KEY: '"alice"', STARTED_KEY: str(now - 60)}, "alice")

        assert redis_client.exists(session_key(ended)) == 1  # within its grace
        assert [info.session_id for info in await store.list_sessions("alice")] == [live]
        assert await store.user_sessions("alice") == [live]
    finally:
        await store.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("everywhere", [False, True], ids=["other devices", "everywhere"])
async def test_a_revocation_deletes_a_session_past_max_lifetime_without_counting_it(
    store_url: str,
    redis_client: redis.Redis,
    everywhere: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RedisSessionStore.from_config(store_app(store_url, max_lifetime=HOUR).config)
    now = int(time.time())
    try:
        ended = await store.create({USER_KEY: '"alice"', STARTED_KEY: str(now - HOUR - 5)}, "alice")
        live = await store.create({USER_KEY: '"alice"', STARTED_KEY: str(now - 60)}, "alice")
        kept = await store.create({USER_KEY: '"alice"', STARTED_KEY: str(now - 60)}, "alice")
        with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
            if everywhere:
                revoked = await store.revoke_user("alice")
            else:
                revoked = await store.revoke_other_sessions("alice", keep=kept)
    finally:
        await store.aclose()

    assert revoked == 1 + everywhere  # "logged out N other devices": the live ones
    assert redis_client.exists(session_key(ended), session_key(live)) == 0
    assert redis_client.exists(session_key(kept)) == (0 if everywhere else 1)
    lines = [r.getMessage() for r in caplog.records if r.name == "cookie_session.audit"]
    assert len(lines) == revoked


def test_a_remembered_session_s_data_still_expires_at_max_lifetime(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = store_app(store_url, max_age=DAY, max_lifetime=2 * HOUR)
    clocked(app)
    with TestClient(app) as client:
        response = client.post("/set", json={"n": 1, MAX_AGE_KEY: 30 * DAY})

    session_id = cookie_data(session_cookie(response) or "")["sid"]
    assert max_age_of(response) == str(2 * HOUR)
    kept = redis_client.ttl(session_key(session_id))
    assert 2 * HOUR - 10 + LIFETIME_GRACE <= kept <= 2 * HOUR + LIFETIME_GRACE


def test_remember_me_sets_the_data_s_expiry_and_the_cookie_s(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(max_age=DAY)
    response = client.post("/set", json={MAX_AGE_KEY: 30 * DAY})
    session_id = cookie_data(session_cookie(response) or "")["sid"]

    assert max_age_of(response) == str(30 * DAY)
    assert 30 * DAY - 10 <= redis_client.ttl(session_key(session_id)) <= 30 * DAY
    assert cookie_data(client.cookies["session"]) == {"sid": session_id, MAX_AGE_KEY: 30 * DAY}


def test_a_remembered_store_session_outlives_the_configured_max_age(store_url: str) -> None:
    app = store_app(store_url, max_age=DAY)
    clock = clocked(app)
    with TestClient(app) as client:
        client.post("/set", json={"n": 1, MAX_AGE_KEY: 30 * DAY})
        clock.now += 10 * DAY

        assert client.get("/show").json()["data"] == {"n": 1, MAX_AGE_KEY: 30 * DAY}


def test_a_browser_session_store_cookie_has_no_max_age(make_client: MakeClient) -> None:
    response = make_client().post("/set", json={"n": 1, MAX_AGE_KEY: None})

    assert max_age_of(response) == ""


def test_store_audit_lines_name_the_user_never_the_id(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = store_app(store_url, max_lifetime=HOUR)
    clock = clocked(app)
    with caplog.at_level(logging.INFO, logger="cookie_session.audit"), TestClient(app) as client:
        client.post("/set", json={"cart": [1]})
        first = id_in(client.cookies["session"])
        client.get("/login", params={"user": "alice"})
        second = id_in(client.cookies["session"])
        clock.now += HOUR + 1
        client.get("/show")

    lines = [r.getMessage() for r in caplog.records if r.name == "cookie_session.audit"]
    assert [line.split(":")[0] for line in lines] == [
        "session started",
        "session moved",
        "session ended",
    ]
    assert "user='alice'" in lines[1]
    assert "user='alice'" in lines[2]
    assert "reason=max_lifetime" in lines[2]
    text = "\n".join(lines)
    assert first not in text
    assert second not in text
    assert "cart" not in text


@pytest.mark.anyio
async def test_revocations_are_audited(
    store_url: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    from cookie_session import RedisSessionStore, SessionConfig

    client = make_client()
    client.get("/login", params={"user": "bob"})
    session_id = id_in(client.cookies["session"])
    store = RedisSessionStore.from_config(
        SessionConfig(secret_key=SECRET, store_url=store_url, user_key="user")
    )
    try:
        with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
            assert await store.revoke_user("bob") == 1
    finally:
        await store.aclose()

    # (The login's own lines are there too when an earlier test left INFO on for the logger.)
    lines = [r.getMessage() for r in caplog.records if r.name == "cookie_session.audit"]
    [line] = [line for line in lines if line.startswith("session revoked:")]
    assert "user='bob'" in line
    assert session_id not in line
