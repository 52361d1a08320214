"""The signed-in user (``user_key``): a new ID on every change of user (session fixation),
and revocation of one session or of all of a user's sessions, outside any request."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx2
import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionConfig, SessionMiddleware, get_session
from cookie_session.store import INDEXED_FIELD
from redis_server import command_counts

from .conftest import (
    MakeClient,
    id_cookie,
    id_in,
    session_cookie,
    session_key,
    sign_in,
    stored,
    with_cookie,
)


def store_for(store_url: str, **settings: object) -> RedisSessionStore:
    """The store of the application's configuration, as an application would make it."""
    config = SessionConfig.model_validate(
        {"secret_key": SECRET, "store_url": store_url, "user_key": "user", **settings}
    )
    return RedisSessionStore.from_config(config)


def index_key(user: str) -> str:
    return f"cookie-session:user:{user}"


# -- a new ID whenever the user changes ------------------------------------------------------


def test_login_moves_the_session_to_a_new_id_and_deletes_the_old(
    client: TestClient, redis_client: redis.Redis
) -> None:
    client.post("/set", json={"cart": ["apple"]})
    anonymous_id = id_in(client.cookies["session"])

    response = client.get("/login", params={"user": "alice"})

    new_id = id_in(session_cookie(response) or "")
    assert new_id != anonymous_id
    assert response.json() == {"session_id_during_login": anonymous_id}
    assert redis_client.exists(session_key(anonymous_id)) == 0
    assert stored(redis_client, new_id) == {"cart": ["apple"], "user": "alice"}
    assert client.get("/show").json() == {
        "data": {"cart": ["apple"], "user": "alice"},
        "session_id": new_id,
    }


def test_login_on_a_first_visit_gets_a_new_id(make_client: MakeClient) -> None:
    planted = "B" * 43  # an ID an attacker would like the victim to sign in with

    response = make_client().get(
        "/login", params={"user": "alice"}, headers=with_cookie(id_cookie(planted))
    )

    assert id_in(session_cookie(response) or "") != planted


def test_logout_moves_the_rest_of_the_session_to_a_new_id(
    client: TestClient, redis_client: redis.Redis
) -> None:
    client.post("/set", json={"theme": "dark"})
    signed_in_id = sign_in(client, "alice")

    response = client.get("/logout")

    new_id = id_in(session_cookie(response) or "")
    assert new_id != signed_in_id
    assert redis_client.exists(session_key(signed_in_id)) == 0
    assert stored(redis_client, new_id) == {"theme": "dark"}
    assert redis_client.zrange(index_key("alice"), 0, -1) == []


def test_switching_user_moves_the_session_and_both_indexes(
    client: TestClient, redis_client: redis.Redis
) -> None:
    alice_id = sign_in(client, "alice")

    bob_id = sign_in(client, "bob")

    assert bob_id != alice_id
    assert redis_client.exists(session_key(alice_id)) == 0
    assert redis_client.zrange(index_key("alice"), 0, -1) == []
    assert redis_client.zrange(index_key("bob"), 0, -1) == [bob_id.encode()]


def test_other_writes_keep_the_id(client: TestClient) -> None:
    session_id = sign_in(client, "alice")

    response = client.post("/set", json={"n": 1})

    assert id_in(session_cookie(response) or "") == session_id


def test_same_user_as_a_number_or_a_string_keeps_the_id(client: TestClient) -> None:
    session_id = sign_in(client, "42")

    response = client.get("/login", params={"user": "42", "as_int": "1"})

    assert session_cookie(response) is None or id_in(session_cookie(response) or "") == session_id
    assert client.get("/show").json() == {"data": {"user": 42}, "session_id": session_id}


def slow_app(store_url: str, loaded: asyncio.Event, proceed: asyncio.Event) -> SessionMiddleware:
    """``/start`` starts an anonymous session, ``/login`` signs in as alice, ``/slow`` reads
    the session, waits for ``proceed``, then writes; ``/slow-login`` does the same, signing in
    as alice."""

    async def start(request: Request) -> JSONResponse:
        get_session(request)["n"] = 1
        return JSONResponse({})

    async def slow_write(request: Request) -> JSONResponse:
        session = get_session(request)
        loaded.set()
        await proceed.wait()
        session["late"] = True
        return JSONResponse({})

    async def login(request: Request) -> JSONResponse:
        get_session(request)["user"] = "alice"
        return JSONResponse({})

    async def slow_login(request: Request) -> JSONResponse:
        session = get_session(request)
        loaded.set()
        await proceed.wait()
        session["user"] = "alice"
        return JSONResponse({})

    return SessionMiddleware(
        Starlette(
            routes=[
                Route("/start", start),
                Route("/slow", slow_write),
                Route("/login", login),
                Route("/slow-login", slow_login),
            ]
        ),
        secret_key=SECRET,
        store_url=store_url,
        user_key="user",
    )


@pytest.mark.anyio
@pytest.mark.parametrize("ended_by", ["a login elsewhere", "revocation"])
async def test_request_in_flight_cannot_bring_back_a_session_that_ended(
    ended_by: str,
    store_url: str,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    loaded, proceed = asyncio.Event(), asyncio.Event()
    app = slow_app(store_url, loaded, proceed)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        first_page = "/start" if ended_by == "a login elsewhere" else "/login"
        cookie = (await client.get(first_page)).cookies["session"]
        session_id = id_in(cookie)
        client.cookies.clear()
        slow = asyncio.create_task(client.get("/slow", headers=with_cookie(cookie)))
        await loaded.wait()
        if ended_by == "a login elsewhere":
            relogin = await client.get("/login", headers=with_cookie(cookie))
            assert relogin.status_code == 200
        else:
            store = store_for(store_url)
            assert await store.revoke(session_id)
            await store.aclose()
        proceed.set()
        response = await slow

    assert response.status_code == 200
    assert session_cookie(response) is None
    assert redis_client.exists(session_key(session_id)) == 0
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "the changes were not saved" in warning.getMessage()


@pytest.mark.anyio
async def test_login_in_flight_cannot_bring_back_a_session_revoked_meanwhile(
    store_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    loaded, proceed = asyncio.Event(), asyncio.Event()
    app = slow_app(store_url, loaded, proceed)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        cookie = (await client.get("/start")).cookies["session"]
        session_id = id_in(cookie)
        client.cookies.clear()
        login = asyncio.create_task(client.get("/slow-login", headers=with_cookie(cookie)))
        await loaded.wait()
        store = store_for(store_url)
        assert await store.revoke(session_id)
        await store.aclose()
        proceed.set()
        response = await login

    # The login's move to a new ID found the old session gone: its successor is undone.
    assert response.status_code == 200
    assert session_cookie(response) is None
    assert redis_client.keys("cookie-session:session:*") == []
    assert redis_client.zrange(index_key("alice"), 0, -1) == []
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "the changes were not saved" in warning.getMessage()


# -- revocation ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_revoke_user_ends_every_session_of_that_user(
    make_client: MakeClient, store_url: str
) -> None:
    laptop, phone, other = make_client(), make_client(), make_client()
    laptop_id, phone_id = sign_in(laptop, "alice"), sign_in(phone, "alice")
    sign_in(other, "bob")
    store = store_for(store_url)

    try:
        assert sorted(await store.user_sessions("alice")) == sorted([laptop_id, phone_id])
        assert await store.revoke_user("alice") == 2
        assert await store.user_sessions("alice") == []
        assert len(await store.user_sessions("bob")) == 1
    finally:
        await store.aclose()

    # Revoked sessions are empty on their very next request; bob's is untouched.
    assert laptop.get("/show").json() == {"data": {}, "session_id": None}
    assert phone.get("/show").json() == {"data": {}, "session_id": None}
    assert other.get("/show").json()["data"] == {"user": "bob"}


@pytest.mark.anyio
async def test_number_and_string_name_one_user(make_client: MakeClient, store_url: str) -> None:
    as_number, as_string = make_client(), make_client()
    as_number.get("/login", params={"user": "42", "as_int": "1"})
    sign_in(as_string, "42")
    store = store_for(store_url)

    try:
        assert len(await store.user_sessions(42)) == 2
        assert await store.revoke_user(42) == 2
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_user_sessions_include_the_session_id_the_request_sees(
    client: TestClient, store_url: str
) -> None:
    sign_in(client, "alice")
    this_device = client.get("/show").json()["session_id"]
    store = store_for(store_url)

    try:
        assert await store.user_sessions("alice") == [this_device]
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_revoke_one_session(make_client: MakeClient, store_url: str) -> None:
    laptop, phone = make_client(), make_client()
    laptop_id, phone_id = sign_in(laptop, "alice"), sign_in(phone, "alice")
    store = store_for(store_url)

    try:
        assert await store.revoke(laptop_id) is True
        assert await store.revoke(laptop_id) is False  # already gone
        assert await store.revoke("not an id") is False
        assert await store.user_sessions("alice") == [phone_id]
    finally:
        await store.aclose()

    assert laptop.get("/show").json()["data"] == {}
    assert phone.get("/show").json()["data"] == {"user": "alice"}


@pytest.mark.anyio
async def test_revoked_user_signing_in_again_gets_a_fresh_session(
    client: TestClient, store_url: str
) -> None:
    old_id = sign_in(client, "alice")
    store = store_for(store_url)
    try:
        await store.revoke_user("alice")
    finally:
        await store.aclose()

    new_id = sign_in(client, "alice")

    assert new_id != old_id
    store = store_for(store_url)
    try:
        assert await store.user_sessions("alice") == [new_id]
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_user_listing_shows_live_sessions_and_forgets_only_expired_entries(
    client: TestClient, store_url: str, redis_client: redis.Redis
) -> None:
    session_id = sign_in(client, "alice")
    redis_client.zadd(index_key("alice"), {"C" * 43: 1})  # expired long ago
    # No session (yet): a login whose write is still on its way, or one deleted behind the
    # store's back. Not listed, but kept in the index until its time is up: dropping it could
    # let that login escape the next revoke_user.
    redis_client.zadd(index_key("alice"), {"D" * 43: 9e12})
    store = store_for(store_url)

    try:
        assert await store.user_sessions("alice") == [session_id]
    finally:
        await store.aclose()

    assert sorted(redis_client.zrange(index_key("alice"), 0, -1)) == sorted(
        [session_id.encode(), b"D" * 43]
    )


def test_user_index_lives_as_long_as_its_sessions(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(max_age=3600)
    session_id = sign_in(client, "alice")
    # Both near their end, as an hour without requests would leave them.
    # (Ten seconds: a stalled test must not see them expire before its request.)
    redis_client.pexpire(session_key(session_id), 10_000)
    redis_client.pexpire(index_key("alice"), 10_000)
    near = int(time.time() * 1000) + 10_000
    redis_client.hset(session_key(session_id), INDEXED_FIELD, str(near))

    client.post("/set", json={"n": 1})  # a write restarts both lifetimes

    session_ttl = redis_client.pttl(session_key(session_id))
    index_ttl = redis_client.pttl(index_key("alice"))
    assert session_ttl > 3_590_000
    # The index outlives its last session (a second's margin: the session's expiry is set just
    # after the index's, in the same round trip).
    assert index_ttl > session_ttl


def test_a_write_the_index_entry_still_covers_leaves_the_index_alone(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(max_age=3600)
    session_id = sign_in(client, "alice")
    index_ttl = redis_client.pttl(index_key("alice"))
    redis_client.config_resetstat()

    client.post("/set", json={"n": 1})

    assert command_counts(redis_client) == {
        "hgetall": 1,
        "evalsha": 1,  # the session's write alone: no index script
        "pexpire": 1,
        "hset": 1,
    }
    # The entry still outlives the session, by the slack (an eighth of max_age) less the time
    # since the login.
    session_ttl = redis_client.pttl(session_key(session_id))
    assert redis_client.pttl(index_key("alice")) > session_ttl + 3600_000 // 8 - 60_000
    assert index_ttl > session_ttl


@pytest.mark.anyio
async def test_revoke_user_needs_user_key(store_url: str) -> None:
    store = RedisSessionStore.from_config(SessionConfig(secret_key=SECRET, store_url=store_url))

    with pytest.raises(RuntimeError, match="user_key"):
        await store.revoke_user("alice")
    with pytest.raises(RuntimeError, match="user_key"):
        await store.user_sessions("alice")


def test_store_of_a_cookie_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="no store_url"):
        RedisSessionStore.from_config(SessionConfig(secret_key=SECRET))
