"""Sessions in Redis through real ASGI requests: what the cookie carries, when Redis is asked,
what is written, and how long it lives."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import time
from typing import Any

import httpx2
import pytest
import redis
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET
from cookie_session import (
    SessionCodec,
    SessionConfig,
    SessionMiddleware,
    TypedSession,
    get_session,
)
from cookie_session.store import (
    DEFAULT_LIFETIME,
    SESSION_ID_BYTES,
    RedisSessionStore,
    WriteOutcome,
    new_session_id,
)
from redis_server import HANDSHAKE, command_counts

from .conftest import (
    MakeClient,
    cookie_data,
    id_cookie,
    id_in,
    session_cookie,
    session_key,
    sign_in,
    signed_cookie,
    store_app,
    stored,
    with_cookie,
)

NOTE = "a note that must stay on the server"


def start_session(client: TestClient, data: dict[str, Any]) -> str:
    """Write ``data`` into a new session; return its ID."""
    response = client.post("/set", json=data)
    cookie = session_cookie(response)
    assert cookie
    return id_in(cookie)


# -- the cookie ------------------------------------------------------------------------------


def test_cookie_carries_only_a_signed_session_id(client: TestClient) -> None:
    response = client.post("/set", json={"note": NOTE, "n": 1})

    cookie = session_cookie(response)
    assert cookie
    assert list(cookie_data(cookie)) == ["sid"]
    payload = base64.b64decode(cookie.split(".")[0])
    assert b"note" not in payload
    assert NOTE.encode() not in payload


def test_session_id_is_256_random_bits_and_new_for_each_session(make_client: MakeClient) -> None:
    ids = {start_session(make_client(), {"n": 1}) for _ in range(5)}

    assert len(ids) == 5
    for session_id in ids:
        assert len(base64.urlsafe_b64decode(session_id + "=")) == SESSION_ID_BYTES == 32


def test_session_is_stored_under_the_prefix_one_field_per_key(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(store_prefix="app1:")

    session_id = start_session(client, {"note": NOTE, "cart": [1, 2]})

    assert redis_client.keys("*") == [f"app1:session:{session_id}".encode()]
    fields = redis_client.hgetall(f"app1:session:{session_id}")
    assert fields == {b"note": json.dumps(NOTE).encode(), b"cart": b"[1, 2]"}


def test_session_id_is_on_the_session_once_saved(client: TestClient) -> None:
    first = client.post("/set", json={"n": 1}).json()
    cookie_id = id_in(client.cookies["session"])

    second = client.get("/show").json()

    assert first["session_id"] is None  # a session not yet saved has no ID
    assert second["session_id"] == cookie_id


def test_session_reads_back_what_was_written(client: TestClient) -> None:
    data = {"user": "alice", "n": 1, "cart": [1, {"sku": "é"}], "flag": None}
    client.post("/set", json=data)

    assert client.get("/show").json()["data"] == data


def test_session_larger_than_a_cookie_can_hold(client: TestClient) -> None:
    big = "x" * 20_000

    response = client.post("/set", json={"big": big})

    cookie = session_cookie(response)
    assert cookie is not None
    assert len(cookie) < 200
    assert client.get("/peek", params={"key": "big"}).json() == {"value": big}


def test_nested_change_is_saved(client: TestClient) -> None:
    client.get("/append", params={"item": "apple"})
    client.get("/append", params={"item": "pear"})

    assert client.get("/show").json()["data"] == {"cart": ["apple", "pear"]}


def test_two_middleware_instances_share_sessions(make_client: MakeClient) -> None:
    host_a, host_b = make_client(), make_client()
    session_id = start_session(host_a, {"n": 1})
    cookie = host_a.cookies["session"]

    response = host_b.post("/set", json={"m": 2}, headers=with_cookie(cookie))

    assert response.json()["session_id"] == session_id
    assert host_a.get("/show").json()["data"] == {"n": 1, "m": 2}


class Cart(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    items: list[str] = []


def test_typed_session_works_unchanged(store_url: str) -> None:
    cart = TypedSession(Cart, key="cart")

    async def add(request: Request) -> JSONResponse:
        model = cart.load(request)
        model.items.append(request.query_params["item"])
        return JSONResponse({"items": model.items})

    app = SessionMiddleware(
        Starlette(routes=[Route("/add", add)]), secret_key=SECRET, store_url=store_url
    )
    with TestClient(app) as client:
        client.get("/add", params={"item": "a"})
        response = client.get("/add", params={"item": "b"})

    assert response.json() == {"items": ["a", "b"]}


def test_websocket_gets_the_stored_session(client: TestClient) -> None:
    client.post("/set", json={"n": 7})

    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_json() == {"n": 7}


def test_value_json_cannot_hold_is_a_type_error_naming_its_key(store_url: str) -> None:
    async def bad(request: Request) -> JSONResponse:
        get_session(request)["when"] = {1, 2}
        return JSONResponse({})

    app = SessionMiddleware(
        Starlette(routes=[Route("/", bad)]), secret_key=SECRET, store_url=store_url
    )
    with TestClient(app) as client, pytest.raises(TypeError, match=r"session\['when'\]"):
        client.get("/")


# -- when Redis is asked ---------------------------------------------------------------------


def test_request_without_a_session_cookie_never_touches_redis(
    client: TestClient, redis_client: redis.Redis
) -> None:
    response = client.get("/show")

    assert response.json() == {"data": {}, "session_id": None}
    assert command_counts(redis_client) == {}


def test_forged_id_is_refused_before_any_redis_call(
    make_client: MakeClient, store_url: str, redis_client: redis.Redis
) -> None:
    session_id = start_session(make_client(), {"user": "alice"})
    redis_client.config_resetstat()
    forged = id_cookie(session_id, secret=OTHER_SECRET)  # the right ID, signed by another key
    app = store_app(store_url)
    attacker = make_client(app)

    response = attacker.get("/show", headers=with_cookie(forged))

    assert response.json() == {"data": {}, "session_id": None}
    assert command_counts(redis_client) == {}
    assert app.stats().cookies_rejected["signature"] == 1


def test_store_cookie_that_verifies_counts_as_accepted(
    client: TestClient, make_client: MakeClient, store_url: str
) -> None:
    session_id = start_session(client, {"n": 1})
    app = store_app(store_url)

    make_client(app).get("/show", headers=with_cookie(id_cookie(session_id)))

    assert app.stats().cookies_accepted == 1


def test_tampered_cookie_is_refused_before_any_redis_call(
    client: TestClient, make_client: MakeClient, redis_client: redis.Redis
) -> None:
    start_session(client, {"user": "alice"})
    cookie = client.cookies["session"]
    redis_client.config_resetstat()
    payload, timestamp, signature = cookie.split(".")
    tampered = f"{payload}.{timestamp}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"

    response = make_client().get("/show", headers=with_cookie(tampered))

    assert response.json()["data"] == {}
    assert command_counts(redis_client) == {}


def test_expired_cookie_is_refused_before_any_redis_call(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    session_id = start_session(make_client(max_age=60), {"n": 1})
    redis_client.config_resetstat()

    response = make_client(max_age=60).get(
        "/show", headers=with_cookie(id_cookie(session_id, seconds_ago=61))
    )

    assert response.json()["data"] == {}
    assert command_counts(redis_client) == {}


def test_cookie_session_data_is_not_taken_as_a_stored_session(
    client: TestClient, redis_client: redis.Redis
) -> None:
    # A validly signed cookie from before the store was set up: its data is not taken over.
    response = client.get("/show", headers=with_cookie(signed_cookie({"user": "alice"})))

    assert response.json()["data"] == {}
    assert command_counts(redis_client) == {}


def test_cookie_session_holding_a_sid_among_other_keys_is_not_taken_as_a_store_cookie(
    client: TestClient, make_client: MakeClient, redis_client: redis.Redis
) -> None:
    # A store cookie carries {"sid": ID} and nothing else.
    session_id = start_session(client, {"n": 1})
    redis_client.config_resetstat()
    cookie = signed_cookie({"sid": session_id, "user": "alice"})

    response = make_client().get("/show", headers=with_cookie(cookie))

    assert response.json()["data"] == {}
    assert command_counts(redis_client) == {}


def test_cookie_signed_with_a_fallback_key_loads_and_is_signed_again(
    make_client: MakeClient,
) -> None:
    session_id = start_session(make_client(), {"n": 1})
    rotated = make_client(secret_key=OTHER_SECRET, secret_key_fallbacks=[SECRET])

    response = rotated.get("/peek", params={"key": "n"}, headers=with_cookie(id_cookie(session_id)))

    assert response.json() == {"value": 1}
    cookie = session_cookie(response)
    assert cookie is not None
    assert cookie_data(cookie, secret=OTHER_SECRET) == {"sid": session_id}


def test_read_only_request_costs_one_read_and_writes_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    start_session(client, {"n": 1, "cart": [1]})
    redis_client.config_resetstat()

    response = client.get("/show")  # dict(session) hands out the list: judged by content

    assert response.json()["data"] == {"n": 1, "cart": [1]}
    assert session_cookie(response) is None
    assert command_counts(redis_client) == {"hgetall": 1}


def test_untouched_session_writes_nothing(client: TestClient, redis_client: redis.Redis) -> None:
    start_session(client, {"n": 1})
    redis_client.config_resetstat()

    response = client.get("/noop")

    assert session_cookie(response) is None
    assert "vary" not in response.headers
    assert command_counts(redis_client) == {"hgetall": 1}


def test_value_written_back_unchanged_writes_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    start_session(client, {"n": 1})
    redis_client.config_resetstat()

    response = client.get("/same", params={"key": "n"})

    assert session_cookie(response) is None
    assert command_counts(redis_client) == {"hgetall": 1}
    assert response.headers["vary"] == "Cookie"


# -- what is written -------------------------------------------------------------------------


def test_only_the_changed_key_is_written(
    client: TestClient, store_url: str, redis_client: redis.Redis
) -> None:
    session_id = start_session(client, {"a": 1, "b": 1})
    key = session_key(session_id)

    async def change_b(request: Request) -> JSONResponse:
        session = get_session(request)
        redis_client.hset(key, "a", "2")  # another request's change, after this one read "a"
        session["b"] = session["b"] + 1
        return JSONResponse({})

    app = SessionMiddleware(
        Starlette(routes=[Route("/", change_b)]), secret_key=SECRET, store_url=store_url
    )
    with TestClient(app) as other:
        response = other.get("/", headers=with_cookie(client.cookies["session"]))

    assert response.status_code == 200
    assert stored(redis_client, session_id) == {"a": 2, "b": 2}


def test_removed_key_is_deleted_and_the_others_kept(
    client: TestClient, redis_client: redis.Redis
) -> None:
    session_id = start_session(client, {"a": 1, "b": 2})

    client.post("/remove", json=["a"])

    assert stored(redis_client, session_id) == {"b": 2}


def test_write_after_redis_forgot_its_scripts_is_saved(
    make_client: MakeClient, client: TestClient, redis_client: redis.Redis
) -> None:
    session_id = start_session(client, {"a": 1})
    redis_client.script_flush()  # as after a restart: EVALSHA answers NOSCRIPT once

    response = client.post("/set", json={"a": 2})

    assert response.status_code == 200
    assert session_cookie(response)
    assert stored(redis_client, session_id) == {"a": 2}
    redis_client.script_flush()
    new_id = start_session(make_client(), {"b": 1})  # a new session: EVALSHA too
    assert stored(redis_client, new_id) == {"b": 1}


@pytest.mark.anyio
async def test_concurrent_requests_changing_different_keys_both_keep_their_change(
    store_url: str, redis_client: redis.Redis
) -> None:
    both_loaded = asyncio.Barrier(2)

    async def set_one(request: Request) -> JSONResponse:
        session = get_session(request)
        await both_loaded.wait()  # each request has read the session before either writes
        session[request.query_params["key"]] = request.query_params["value"]
        return JSONResponse({})

    app = SessionMiddleware(
        Starlette(routes=[Route("/set-one", set_one)]), secret_key=SECRET, store_url=store_url
    )
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        async with asyncio.TaskGroup() as requests:  # the first request makes the session
            requests.create_task(client.get("/set-one", params={"key": "start", "value": "1"}))
            requests.create_task(both_loaded.wait())
        await asyncio.gather(
            client.get("/set-one", params={"key": "theme", "value": "dark"}),
            client.get("/set-one", params={"key": "lang", "value": "fr"}),
        )
    session_id = id_in(client.cookies["session"])

    assert stored(redis_client, session_id) == {"start": "1", "theme": "dark", "lang": "fr"}


@pytest.mark.anyio
async def test_thousands_of_keys_change_in_one_write(
    store_url: str, redis_client: redis.Redis
) -> None:
    # The write script hands fields to HSET and HDEL a thousand at a time (Lua's unpack() has
    # a bounded stack): more than that in one write must all arrive, in every batch.
    store = RedisSessionStore(store_url)
    try:
        session_id = await store.create({f"k{n}": str(n) for n in range(4500)}, None)
        changed = {f"k{n}": json.dumps(f"new {n}") for n in range(2500)}
        removed = [f"k{n}" for n in range(2500, 4499)]
        outcome = await store.update(session_id, changed, removed, None)
    finally:
        await store.aclose()

    assert outcome is WriteOutcome.WRITTEN
    expected = {f"k{n}": f"new {n}" for n in range(2500)} | {"k4499": 4499}
    assert stored(redis_client, session_id) == expected
    assert redis_client.pttl(session_key(session_id)) > (DEFAULT_LIFETIME - 60) * 1000


def test_clear_deletes_the_data_and_the_cookie(
    client: TestClient, redis_client: redis.Redis
) -> None:
    session_id = start_session(client, {"n": 1})

    response = client.get("/clear")

    assert session_cookie(response) == ""
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert redis_client.exists(session_key(session_id)) == 0
    assert client.get("/show").json()["data"] == {}


def test_replacing_the_session_with_an_empty_dict_deletes_it(
    client: TestClient, redis_client: redis.Redis
) -> None:
    session_id = start_session(client, {"n": 1})

    response = client.get("/replace-empty")

    assert session_cookie(response) == ""
    assert redis_client.exists(session_key(session_id)) == 0


def test_unknown_id_gives_an_empty_session_and_a_new_id_on_write(
    client: TestClient, redis_client: redis.Redis
) -> None:
    old_id = start_session(client, {"n": 1})
    redis_client.delete(session_key(old_id))  # expired, or revoked

    shown = client.get("/show").json()
    response = client.post("/set", json={"m": 1})

    assert shown == {"data": {}, "session_id": None}
    cookie = session_cookie(response)
    assert cookie is not None
    new_id = id_in(cookie)
    assert new_id != old_id
    assert redis_client.exists(session_key(old_id)) == 0
    assert stored(redis_client, new_id) == {"m": 1}


def test_id_a_client_chose_is_never_adopted(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    # Even validly signed (a leaked signature, an ID from another deployment), an ID the store
    # does not know is never written under.
    chosen = "A" * 43

    response = make_client().post("/set", json={"n": 1}, headers=with_cookie(id_cookie(chosen)))

    cookie = session_cookie(response)
    assert cookie is not None
    assert id_in(cookie) != chosen
    assert redis_client.exists(session_key(chosen)) == 0


# -- how long it lives -----------------------------------------------------------------------


def test_data_expires_max_age_after_the_last_write(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(max_age=3600)
    session_id = start_session(client, {"n": 1})
    redis_client.pexpire(session_key(session_id), 5_000)

    client.post("/set", json={"n": 2})

    assert 3_590_000 < redis_client.pttl(session_key(session_id)) <= 3_600_000


def test_browser_session_cookie_keeps_its_data_14_days(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    response = make_client(max_age=None).post("/set", json={"n": 1})

    assert "Max-Age" not in response.headers["set-cookie"]
    session_id = id_in(session_cookie(response) or "")
    ttl = redis_client.pttl(session_key(session_id))
    assert DEFAULT_LIFETIME * 1000 - 10_000 < ttl <= DEFAULT_LIFETIME * 1000


def test_refresh_after_extends_the_data_and_signs_the_cookie_again(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(max_age=600, refresh_after=60)
    session_id = start_session(client, {"n": 1})
    redis_client.pexpire(session_key(session_id), 5_000)

    response = make_client(max_age=600, refresh_after=60).get(
        "/noop", headers=with_cookie(id_cookie(session_id, seconds_ago=61))
    )

    assert 590_000 < redis_client.pttl(session_key(session_id)) <= 600_000
    cookie = session_cookie(response)
    assert cookie is not None
    assert id_in(cookie) == session_id
    assert cookie_age(cookie) < 5


def test_young_cookie_is_not_refreshed(make_client: MakeClient, redis_client: redis.Redis) -> None:
    client = make_client(max_age=600, refresh_after=60)
    session_id = start_session(client, {"n": 1})
    redis_client.pexpire(session_key(session_id), 5_000)
    redis_client.config_resetstat()

    response = make_client(max_age=600, refresh_after=60).get(
        "/noop", headers=with_cookie(id_cookie(session_id, seconds_ago=30))
    )

    counts = command_counts(redis_client)
    assert {name: counts[name] for name in counts.keys() - HANDSHAKE} == {"hgetall": 1}
    assert session_cookie(response) is None
    assert redis_client.pttl(session_key(session_id)) <= 5_000


def cookie_age(cookie: str) -> int:
    codec = SessionCodec([SECRET], max_age=None)
    return codec.age(codec.verify(cookie).signed_at)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_each_request_in_an_event_loop_of_its_own_works(store_url: str) -> None:
    client = TestClient(store_app(store_url))  # without `with`: a new event loop per request

    client.post("/set", json={"n": 1})
    client.post("/set", json={"m": 2})

    assert client.get("/show").json()["data"] == {"n": 1, "m": 2}
    gc.collect()  # the finished loops' connections are dropped here, their warnings ignored


async def _used(store: RedisSessionStore, times: int) -> str:
    """The ID of a session made through ``store``, then read and changed ``times`` times."""
    session_id = await store.create({"n": "0"}, None)
    for n in range(1, times + 1):
        assert await store.load(session_id) is not None
        await store.update(session_id, {"n": str(n)}, (), None)
    return session_id


def _clients(redis_client: redis.Redis, name: str) -> int:
    """Connections to the server named ``name`` (other tests' connections may linger)."""
    return sum(client["name"] == name for client in redis_client.client_list())


@pytest.mark.anyio
async def test_requests_one_after_another_share_one_connection_and_aclose_closes_it(
    store_url: str, redis_client: redis.Redis
) -> None:
    name = "one-connection-test"
    store = RedisSessionStore(f"{store_url}?client_name={name}")
    try:
        session_id = await _used(store, 20)
        # One connection for the session's reads and writes; at most one more in the client's
        # pool (the SCRIPT LOAD the first write needed).
        assert 1 <= _clients(redis_client, name) <= 2
        assert stored(redis_client, session_id) == {"n": 20}
    finally:
        await store.aclose()

    # Closed by the client at once; Redis notices each close when it next reads that socket,
    # which a loaded machine may delay for a moment.
    deadline = time.monotonic() + 5
    while _clients(redis_client, name) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert _clients(redis_client, name) == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "options", ["", "?protocol=3", "?decode_responses=true", "?protocol=3&decode_responses=true"]
)
async def test_sessions_read_back_whatever_reply_form_the_url_asks_for(
    store_url: str, options: str
) -> None:
    # The store reads HGETALL's raw reply: a flat list (RESP2) or a map (RESP3), of bytes or,
    # with decode_responses, of str.
    store = RedisSessionStore(store_url + options)
    try:
        session_id = await store.create({"user": '"alice"', "n": "1"}, None)
        assert await store.load(session_id) == {"user": '"alice"', "n": "1"}
        assert await store.update(session_id, {"n": "2"}, ["user"], None) is WriteOutcome.WRITTEN
        assert await store.load(session_id) == {"n": "2"}
        assert await store.load(new_session_id()) is None
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_url_that_caps_connections_keeps_every_command_within_the_cap(
    store_url: str, redis_client: redis.Redis
) -> None:
    name = "capped-connections-test"
    store = RedisSessionStore(f"{store_url}?client_name={name}&max_connections=1")
    try:
        await store.ping()  # a connection in the client's pool
        session_id = await _used(store, 5)
        assert _clients(redis_client, name) == 1
        assert stored(redis_client, session_id) == {"n": 5}
    finally:
        await store.aclose()


# -- regenerate(): a login without user_key ----------------------------------------------------


def test_regenerate_moves_the_session_to_a_new_id_with_its_data(
    make_client: MakeClient, redis_client: redis.Redis
) -> None:
    client = make_client(user_key=None)
    planted = start_session(client, {"cart": [1]})

    response = client.get("/regenerate", params={"user": "alice"})

    cookie = session_cookie(response)
    assert cookie
    fresh = id_in(cookie)
    assert fresh != planted
    assert response.json() == {"session_id_before": planted}
    assert redis_client.exists(session_key(planted)) == 0  # deleted in the same step
    assert stored(redis_client, fresh) == {"cart": [1], "user": "alice"}


def test_a_planted_id_is_worth_nothing_after_a_login_that_regenerates(
    make_client: MakeClient,
) -> None:
    # An attacker's session ID, planted in the victim's browser (by a sibling subdomain, say),
    # before the victim logs in on a site without user_key whose login calls regenerate().
    attacker = make_client(user_key=None)
    start_session(attacker, {"n": 1})
    planted_cookie = attacker.cookies["session"]
    victim = make_client(user_key=None)
    victim.cookies.set("session", planted_cookie)

    assert victim.get("/regenerate", params={"user": "victim"}).status_code == 200

    assert victim.get("/show").json()["data"] == {"n": 1, "user": "victim"}
    assert attacker.get("/show").json()["data"] == {}  # the planted ID no longer exists


def test_regenerate_on_a_new_session_saves_it_under_a_new_id(make_client: MakeClient) -> None:
    client = make_client(user_key=None)

    response = client.get("/regenerate", params={"user": "alice"})

    assert response.json() == {"session_id_before": None}
    assert client.get("/show").json()["data"] == {"user": "alice"}


def test_regenerate_with_user_key_moves_even_when_the_user_is_unchanged(
    client: TestClient, redis_client: redis.Redis
) -> None:
    before = sign_in(client, "alice")

    after = id_in(session_cookie(client.get("/regenerate")) or "")

    assert after != before
    assert redis_client.exists(session_key(before)) == 0
    assert redis_client.zrange("cookie-session:user:alice", 0, -1) == [after.encode()]


# -- several session cookies: the first Redis still knows wins --------------------------------


def test_a_dead_signed_cookie_sent_first_does_not_hide_the_live_one(
    client: TestClient, make_client: MakeClient
) -> None:
    live = start_session(client, {"user": "victim"})
    dead = id_cookie("A" * 43)  # signed, but Redis does not know it (planted, or expired)

    response = make_client().get(
        "/show", headers={"cookie": f"session={dead}; session={id_cookie(live)}"}
    )

    assert response.json() == {"data": {"user": "victim"}, "session_id": live}


def test_at_most_four_signed_cookies_are_looked_up(
    client: TestClient, make_client: MakeClient, redis_client: redis.Redis
) -> None:
    live = start_session(client, {"n": 1})
    dead = [id_cookie(letter * 43) for letter in "ABCD"]
    header = "; ".join(f"session={value}" for value in [*dead, id_cookie(live)])
    redis_client.config_resetstat()

    response = make_client().get("/show", headers={"cookie": header})

    assert response.json()["data"] == {}  # the fifth is never read
    assert command_counts(redis_client)["hgetall"] == 4


def test_at_most_four_signed_cookies_are_looked_up_across_cookie_headers(
    client: TestClient, make_client: MakeClient, redis_client: redis.Redis
) -> None:
    live = start_session(client, {"n": 1})
    dead = "; ".join(f"session={id_cookie(letter * 43)}" for letter in "ABCD")
    redis_client.config_resetstat()

    response = make_client().get(
        "/show", headers=[("cookie", dead), ("cookie", f"session={id_cookie(live)}")]
    )

    assert response.json()["data"] == {}  # the second header is never read
    assert command_counts(redis_client)["hgetall"] == 4


def test_aclose_from_another_event_loop_forgets_the_connections(
    store_url: str, redis_client: redis.Redis
) -> None:
    named_url = f"{store_url}?client_name=aclose-test"
    store = RedisSessionStore.from_config(SessionConfig(secret_key=SECRET, store_url=named_url))
    asyncio.run(store.ping())  # a connection opened in a loop that is closed by now

    asyncio.run(store.aclose())  # no "attached to a different loop", no "loop is closed"

    async def use_then_close() -> None:
        await store.ping()  # connects again, in this loop
        await store.aclose()

    asyncio.run(use_then_close())
    gc.collect()  # the first loop's connection goes with that loop's objects

    def store_connections() -> int:
        return sum(client["name"] == "aclose-test" for client in redis_client.client_list())

    # None is left once Redis has seen them close (at once, but noticed by the server on its
    # own schedule).
    for _ in range(100):
        if store_connections() == 0:
            break
        time.sleep(0.05)
    assert store_connections() == 0
