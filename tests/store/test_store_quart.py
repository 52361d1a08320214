"""cookie_session.quart honours store_url: the session lives in Redis behind a signed ID, with the
middleware's rules (a new ID at login, revocation, per-key writes, 503 when Redis fails).

Driven through Quart's own test client against the shared real redis-server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack, cast

import pytest
import redis
import redis.asyncio
from quart import Quart, request, session
from quart.typing import ResponseReturnValue

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionCodec, SessionConfig, SessionFields
from cookie_session.quart import CookieSessionInterface, QuartSession, use_cookie_session
from cookie_session.session import STARTED_KEY
from redis_server import RedisServer, running_redis_server

from .conftest import cookie_data, session_key, stored
from .test_store_lifetime_details import a_moment_after_a_write_of, expires_in_ms
from .test_store_lifetimes import DAY, HOUR, START, Clock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Quart runs on asyncio only


def quart_store_app(
    url: str, client: redis.asyncio.Redis | None = None, **fields: Unpack[SessionFields]
) -> Quart:
    """Routes over ``quart.session``: ``/show``, ``/set`` (POST JSON), ``/login?user=U``,
    ``/regenerate``, ``/remember?days=N`` (``set_max_age``); with ``client``, the store talks to
    Redis through it (``url`` then serves the settings only). ``fields``: further settings."""
    fields.setdefault("secret_key", SECRET)
    fields.setdefault("user_key", "user")
    fields["store_url"] = url
    app = Quart(__name__)
    use_cookie_session(app, store_client=client, **fields)

    @app.route("/show")
    async def show() -> ResponseReturnValue:
        return {"data": dict(session), "session_id": session.session_id}  # type: ignore[attr-defined]  # our QuartSession

    @app.route("/set", methods=["POST"])
    async def set_keys() -> ResponseReturnValue:
        session.update(await request.get_json())
        return {"ok": True}

    @app.route("/login")
    async def login() -> ResponseReturnValue:
        session["user"] = request.args["user"]
        return {"ok": True}

    @app.route("/regenerate")
    async def regenerate() -> ResponseReturnValue:
        cast(QuartSession, session).regenerate()
        return {"ok": True}

    @app.route("/remember")
    async def remember() -> ResponseReturnValue:
        cast(QuartSession, session).set_max_age(int(request.args["days"]) * DAY)
        return {"ok": True}

    return app


def interface_of(app: Quart) -> CookieSessionInterface:
    interface: object = app.session_interface  # Quart types it as its own default class
    assert isinstance(interface, CookieSessionInterface)
    return interface


def clocked(app: Quart) -> Clock:
    """Put ``app``'s session cookie on a clock the test moves (Redis keeps its own time)."""
    interface = interface_of(app)
    clock = Clock()
    interface.cookie.codec = SessionCodec([SECRET], max_age=interface.config.max_age, clock=clock)
    return clock


def id_of(set_cookie: str) -> str:
    value = set_cookie.split(";", 1)[0].partition("=")[2]
    session_id: str = cookie_data(value)["sid"]
    return session_id


@pytest.mark.anyio
async def test_quart_session_is_kept_in_redis_behind_a_signed_id(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = quart_store_app(store_url).test_client()

    written = await client.post("/set", json={"cart": [1, 2], "note": "x" * 5000})
    shown = await client.get("/show")

    [header] = written.headers.getlist("Set-Cookie")
    session_id = id_of(header)
    assert len(header) < 200  # an ID, not 5 KB of data
    assert stored(redis_client, session_id) == {"cart": [1, 2], "note": "x" * 5000}
    data: dict[str, Any] = await shown.get_json()
    assert data == {"data": {"cart": [1, 2], "note": "x" * 5000}, "session_id": session_id}


@pytest.mark.anyio
async def test_quart_keeps_sessions_through_an_applications_own_client(
    store_url: str, redis_client: redis.Redis
) -> None:
    own = redis.asyncio.Redis.from_url(store_url, client_name="the-application")
    try:
        client = quart_store_app(store_url, own).test_client()

        written = await client.post("/set", json={"cart": [1, 2]})
        names = {entry["name"] for entry in redis_client.client_list()}
        shown = await client.get("/show")
    finally:
        await own.aclose()

    session_id = id_of(written.headers["Set-Cookie"])
    assert stored(redis_client, session_id) == {"cart": [1, 2]}
    assert (await shown.get_json())["data"] == {"cart": [1, 2]}
    assert "the-application" in names  # the write went through the application's client


@pytest.mark.anyio
async def test_quart_login_moves_to_a_new_id_and_revoke_user_logs_out(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = quart_store_app(store_url)
    client = app.test_client()
    visitor = await client.post("/set", json={"cart": [1]})
    before = id_of(visitor.headers["Set-Cookie"])

    logged_in = await client.get("/login", query_string={"user": "alice"})

    after = id_of(logged_in.headers["Set-Cookie"])
    assert after != before
    assert redis_client.exists(session_key(before)) == 0
    store = RedisSessionStore.from_config(
        SessionConfig(secret_key=SECRET, store_url=store_url, user_key="user")
    )
    try:
        assert await store.user_sessions("alice") == [after]
        assert await store.revoke_user("alice") == 1
    finally:
        await store.aclose()
    assert (await (await client.get("/show")).get_json())["data"] == {}


@pytest.mark.anyio
async def test_quart_writes_only_the_keys_that_changed(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = quart_store_app(store_url).test_client()
    response = await client.post("/set", json={"a": 1, "b": 2})
    session_id = id_of(response.headers["Set-Cookie"])
    redis_client.hset(session_key(session_id), "b", "20")  # another request's change

    await client.post("/set", json={"a": 10})

    assert stored(redis_client, session_id) == {"a": 10, "b": 20}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis_server(tmp_path) as server:
        yield server


@pytest.mark.anyio
async def test_quart_with_redis_down_answers_503_and_never_runs_the_view_with_an_empty_session(
    private_redis: RedisServer,
) -> None:
    app = quart_store_app(private_redis.url)
    client = app.test_client()
    await client.post("/set", json={"cart": [1]})
    private_redis.stop()

    shown = await client.get("/show")

    assert shown.status_code == 503
    assert shown.headers["Retry-After"] == "1"
    assert "Set-Cookie" not in shown.headers
    assert "session store is unavailable" in await shown.get_data(as_text=True)


@pytest.mark.anyio
async def test_quart_response_whose_session_cannot_be_saved_becomes_a_503(
    private_redis: RedisServer,
) -> None:
    app = quart_store_app(private_redis.url)

    @app.route("/stop-then-write")
    async def stop_then_write() -> ResponseReturnValue:
        session.get("cart")
        private_redis.stop()  # after the load, before the save
        session["cart"] = [2]
        return {"saved": True}

    client = app.test_client()
    await client.post("/set", json={"cart": [1]})

    response = await client.get("/stop-then-write")

    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    assert "saved" not in await response.get_data(as_text=True)


@pytest.mark.anyio
async def test_quart_view_never_runs_when_redis_cannot_load_the_session(
    private_redis: RedisServer,
) -> None:
    app = quart_store_app(private_redis.url)
    ran: list[dict[str, Any]] = []

    @app.route("/record")
    async def record() -> ResponseReturnValue:
        ran.append(dict(session))
        return {"ok": True}

    client = app.test_client()
    await client.post("/set", json={"cart": [1]})
    private_redis.stop()

    response = await client.get("/record")

    assert response.status_code == 503
    assert ran == []


@pytest.mark.anyio
async def test_quart_503_keeps_none_of_the_failed_response_s_headers(
    private_redis: RedisServer,
) -> None:
    app = quart_store_app(private_redis.url)

    @app.route("/stop-then-redirect")
    async def stop_then_redirect() -> ResponseReturnValue:
        session.get("cart")
        private_redis.stop()  # after the load, before the save
        session["cart"] = [2]
        return "", 303, {"Location": "/paid", "X-Order": "42"}

    client = app.test_client()
    await client.post("/set", json={"cart": [1]})

    response = await client.get("/stop-then-redirect")

    assert response.status_code == 503
    assert "Location" not in response.headers
    assert "X-Order" not in response.headers


# -- lifetimes, regeneration, devices --------------------------------------------------------


@pytest.mark.anyio
async def test_quart_store_max_lifetime_ends_an_active_session_and_deletes_its_data(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = quart_store_app(store_url, max_lifetime=3 * HOUR, refresh_after=60)
    clock = clocked(app)
    client = app.test_client()
    session_id = id_of(
        (await client.get("/login", query_string={"user": "alice"})).headers["Set-Cookie"]
    )
    for _ in range(5):  # active every half hour: rolling expiry alone would never end it
        clock.now += HOUR / 2
        assert (await (await client.get("/show")).get_json())["data"]["user"] == "alice"

    clock.now += HOUR / 2 + 1
    shown = await client.get("/show")

    assert (await shown.get_json())["data"] == {}
    assert shown.headers["Set-Cookie"].startswith("session=; ")
    assert redis_client.exists(session_key(session_id)) == 0


@pytest.mark.anyio
async def test_quart_store_remember_me_sets_the_cookie_s_max_age_and_the_data_s_expiry(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = quart_store_app(store_url, max_age=DAY).test_client()
    await client.post("/set", json={"cart": [1]})

    remembered = await client.get("/remember", query_string={"days": "30"})

    header = remembered.headers["Set-Cookie"]
    assert f"Max-Age={30 * DAY};" in header
    assert expires_in_ms(redis_client, id_of(header)) in a_moment_after_a_write_of(30 * DAY)


@pytest.mark.anyio
async def test_quart_store_regenerate_moves_the_session_to_a_new_id_with_a_new_start(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = quart_store_app(store_url, max_lifetime=2 * HOUR)
    clock = clocked(app)
    client = app.test_client()
    before = id_of((await client.post("/set", json={"cart": [1]})).headers["Set-Cookie"])
    clock.now += HOUR

    await client.get("/regenerate")

    after = (await (await client.get("/show")).get_json())["session_id"]
    assert after != before
    assert redis_client.exists(session_key(before)) == 0
    assert stored(redis_client, after) == {"cart": [1], STARTED_KEY: START + HOUR}


@pytest.mark.anyio
async def test_quart_store_lists_a_tracked_session_with_its_device(store_url: str) -> None:
    app = quart_store_app(store_url, track_devices=True)
    clocked(app)
    client = app.test_client()

    logged_in = await client.get(
        "/login",
        query_string={"user": "alice"},
        headers={"User-Agent": "Firefox/133.0"},
        scope_base={"client": ("203.0.113.7", 50000)},
    )

    store = interface_of(app).store
    assert store is not None
    [info] = await store.list_sessions("alice")
    assert info.session_id == id_of(logged_in.headers["Set-Cookie"])
    assert (info.ip, info.user_agent) == ("203.0.113.7", "Firefox/133.0")
    assert info.started_at == info.last_seen == datetime.fromtimestamp(START, UTC)
