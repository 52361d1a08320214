"""Flash messages with the session in Redis: writes are per top-level key, and each waiting
message is a hash field of its own, so no concurrent request loses a message another recorded
or brings back one another popped, whether it writes other keys, flashes or pops too; only a
move to a new ID (regenerate(), a login) copies the session as its request read it. Two
interleaved requests of one browser, against the shared real redis-server (tests/test_flash.py
has the cookie side)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from quart import Quart
from quart import redirect as quart_redirect
from quart import session as quart_session
from quart.typing import ResponseReturnValue
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionConfig, flash, pop_flashes
from cookie_session._store_flashes import FLASH_FIELD_PREFIX
from cookie_session.flash import FLASHES_KEY
from cookie_session.quart import use_cookie_session
from redis_server import HANDSHAKE, command_counts
from test_flash import FRAMEWORKS, framework_client, interleave, site

from .conftest import id_in, session_key


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_concurrent_request_that_writes_another_key_keeps_a_later_flash(
    store_url: str,
) -> None:
    interleaved = await interleave("write", "flash", store_url=store_url)

    assert interleaved.session_after == {
        "user": "ada",
        "cart": ["tea"],
        FLASHES_KEY: [["message", "Saved"]],
    }
    assert interleaved.shown_after == [["message", "Saved"]]


@pytest.mark.anyio
async def test_a_concurrent_request_that_writes_another_key_brings_no_popped_flash_back(
    store_url: str,
) -> None:
    interleaved = await interleave("write", "pop", flashed_first="Saved", store_url=store_url)

    assert interleaved.meanwhile.json() == {"flashes": [["message", "Saved"]]}
    assert interleaved.session_after == {"user": "ada", "cart": ["tea"]}
    assert interleaved.shown_after == []


@pytest.mark.anyio
async def test_a_concurrent_read_only_request_loses_no_flash(store_url: str) -> None:
    interleaved = await interleave("read", "flash", store_url=store_url)

    assert "set-cookie" not in interleaved.slow.headers
    assert interleaved.shown_after == [["message", "Saved"]]


@pytest.mark.anyio
async def test_a_concurrent_pop_deletes_what_it_read_and_keeps_a_flash_made_meanwhile(
    store_url: str,
) -> None:
    # The pop read [First]; "Saved" was added meanwhile, and the pop, ending last, deletes the
    # field of "First" only.
    interleaved = await interleave("pop", "flash", flashed_first="First", store_url=store_url)

    assert interleaved.slow.json() == {"flashes": [["message", "First"]]}
    assert interleaved.shown_after == [["message", "Saved"]]


@pytest.mark.anyio
async def test_of_two_concurrent_flashes_both_stay_in_the_order_they_were_saved(
    store_url: str,
) -> None:
    interleaved = await interleave("flash", "flash", store_url=store_url)

    assert interleaved.shown_after == [["message", "Saved"], ["message", "Slow"]]


@pytest.mark.anyio
async def test_of_two_concurrent_pops_each_shows_what_it_read_and_nothing_comes_back(
    store_url: str,
) -> None:
    interleaved = await interleave("pop", "pop", flashed_first="First", store_url=store_url)

    assert interleaved.slow.json() == {"flashes": [["message", "First"]]}
    assert interleaved.meanwhile.json() == {"flashes": [["message", "First"]]}
    assert interleaved.shown_after == []


@pytest.mark.anyio
async def test_a_concurrent_move_to_a_new_id_drops_a_flash_made_meanwhile(store_url: str) -> None:
    # regenerate() (and a login or logout with user_key) copies the session as its request
    # read it to a new ID and deletes the old one, with the flash recorded meanwhile.
    interleaved = await interleave("regenerate", "flash", store_url=store_url)

    assert interleaved.session_after == {"user": "ada"}
    assert interleaved.shown_after == []


def message_fields(redis_client: redis.Redis, session_id: str) -> list[Any]:
    """The session's flash messages as Redis holds them: a field each, in their order."""
    fields: dict[bytes, bytes] = redis_client.hgetall(session_key(session_id))  # type: ignore[assignment]  # the sync client's reply
    return [
        json.loads(value)
        for name, value in sorted(fields.items())
        if name.startswith(FLASH_FIELD_PREFIX.encode())
    ]


def test_showing_the_last_flash_leaves_no_field_in_redis(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = TestClient(site(store_url=store_url), follow_redirects=False)
    session_id = id_in(client.post("/login").cookies["session"])
    client.post("/save")
    assert message_fields(redis_client, session_id) == [["success", "Saved"]]

    shown = client.get("/page")

    assert shown.json() == {"flashes": [["success", "Saved"]]}
    assert redis_client.hkeys(session_key(session_id)) == [b"user"]


def test_a_session_that_only_held_flashes_is_deleted_once_they_are_shown(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = TestClient(site(store_url=store_url), follow_redirects=False)
    session_id = id_in(client.post("/save").cookies["session"])

    response = client.get("/page")

    assert response.headers["set-cookie"].startswith("session=; Max-Age=0; ")
    assert redis_client.exists(session_key(session_id)) == 0


def test_a_flash_survives_a_redirect_and_shows_once(store_url: str) -> None:
    client = TestClient(site(store_url=store_url))

    shown = client.post("/save", params={"message": "Saved"})

    assert [r.status_code for r in shown.history] == [303]
    assert shown.json() == {"flashes": [["success", "Saved"]]}
    assert client.get("/page").json() == {"flashes": []}


@pytest.mark.parametrize("make_app", FRAMEWORKS)
def test_a_flash_shows_once_after_a_redirect_in_every_asgi_framework(
    make_app: Callable[..., Any], store_url: str
) -> None:
    client = framework_client(make_app(store_url=store_url))

    shown = client.post("/save", follow_redirects=True)
    again = client.get("/page")

    assert shown.json() == {"flashes": [["success", "Saved"]]}
    assert again.json() == {"flashes": []}


@pytest.mark.parametrize("make_app", FRAMEWORKS)
def test_a_peeked_flash_is_still_shown_by_the_next_request_in_every_asgi_framework(
    make_app: Callable[..., Any], store_url: str, redis_client: redis.Redis
) -> None:
    client = framework_client(make_app(store_url=store_url))
    client.post("/save", follow_redirects=False)
    redis_client.config_resetstat()

    peeked = client.get("/peek")
    commands = set(command_counts(redis_client)) - HANDSHAKE
    shown = client.get("/page")

    assert peeked.json() == {"flashes": [["success", "Saved"]]}
    assert "set-cookie" not in peeked.headers
    assert commands == {"hgetall"}  # read, never written
    assert shown.json() == {"flashes": [["success", "Saved"]]}


@pytest.mark.anyio
async def test_a_flash_shows_once_after_a_redirect_in_quart(store_url: str) -> None:
    app = Quart(__name__)
    use_cookie_session(app, SessionConfig(secret_key=SECRET, store_url=store_url))

    @app.post("/save")
    async def save() -> ResponseReturnValue:
        flash(quart_session, "Saved", "success")
        return quart_redirect("/page", 303)

    @app.get("/page")
    async def page() -> ResponseReturnValue:
        return {"flashes": pop_flashes(quart_session)}

    client = app.test_client()
    shown = await client.post("/save", follow_redirects=True)
    again = await client.get("/page")

    assert await shown.get_json() == {"flashes": [["success", "Saved"]]}
    assert await again.get_json() == {"flashes": []}


# -- the messages in the session's hash ---------------------------------------------------------


def test_each_waiting_message_is_a_field_of_its_own_in_the_order_recorded(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = TestClient(site(store_url=store_url), follow_redirects=False)
    session_id = id_in(client.post("/login").cookies["session"])
    for message in ("First", "Second", "Third"):
        client.post("/save", params={"message": message})

    assert message_fields(redis_client, session_id) == [
        ["success", "First"],
        ["success", "Second"],
        ["success", "Third"],
    ]
    assert not redis_client.hexists(session_key(session_id), FLASHES_KEY)


@pytest.mark.anyio
async def test_store_load_shows_the_messages_as_the_one_list_a_session_holds(
    store_url: str,
) -> None:
    client = TestClient(site(store_url=store_url), follow_redirects=False)
    session_id = id_in(client.post("/login").cookies["session"])
    client.post("/save", params={"message": "First"})
    client.post("/save", params={"message": "Second"})
    store = RedisSessionStore(store_url)
    try:
        loaded = await store.load(session_id)
    finally:
        await store.aclose()

    assert loaded is not None
    assert {key: json.loads(text) for key, text in loaded.items()} == {
        "user": "ada",
        FLASHES_KEY: [["success", "First"], ["success", "Second"]],
    }


def test_a_flashes_field_written_whole_is_read_first_then_replaced_by_message_fields(
    store_url: str, redis_client: redis.Redis
) -> None:
    # As an older version (or a test helper) wrote the messages: one list field.
    client = TestClient(site(store_url=store_url), follow_redirects=False)
    session_id = id_in(client.post("/login").cookies["session"])
    redis_client.hset(session_key(session_id), FLASHES_KEY, json.dumps([["info", "Older"]]))

    client.post("/save", params={"message": "Newer"})

    assert message_fields(redis_client, session_id) == [["info", "Older"], ["success", "Newer"]]
    assert not redis_client.hexists(session_key(session_id), FLASHES_KEY)
    assert client.get("/page").json() == {"flashes": [["info", "Older"], ["success", "Newer"]]}
    assert redis_client.hkeys(session_key(session_id)) == [b"user"]


@pytest.mark.anyio
async def test_an_anonymous_pop_of_the_last_message_keeps_one_flashed_meanwhile(
    store_url: str,
) -> None:
    # The pop leaves its session empty: deleting the whole session would take "Saved" too.
    interleaved = await interleave(
        "pop", "flash", flashed_first="First", anonymous=True, store_url=store_url
    )

    assert interleaved.slow.json() == {"flashes": [["message", "First"]]}
    assert "set-cookie" not in interleaved.slow.headers  # the session lives on, cookie and all
    assert interleaved.shown_after == [["message", "Saved"]]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("meanwhile", "shown_after"),
    [
        ("flash", [["info", "Older"], ["message", "Saved"]]),
        ("pop", []),
    ],
)
async def test_a_flashes_field_written_whole_is_neither_copied_nor_brought_back_by_a_write(
    store_url: str, redis_client: redis.Redis, meanwhile: str, shown_after: list[list[str]]
) -> None:
    # A session whose messages an older version wrote as one field; the slow request writes
    # another key only, and must leave the messages as the other request left them.
    older = json.dumps([["info", "Older"]])

    def with_older_field(cookie: str) -> None:
        redis_client.hset(session_key(id_in(cookie)), FLASHES_KEY, older)

    interleaved = await interleave(
        "write", meanwhile, store_url=store_url, after_login=with_older_field
    )

    assert interleaved.shown_after == shown_after


@pytest.mark.anyio
async def test_an_anonymous_session_emptied_meanwhile_keeps_a_flash_written_first(
    store_url: str,
) -> None:
    # The slow request read only the cart and clears it; "Saved" was flashed meanwhile.
    interleaved = await interleave(
        "clear", "flash", anonymous=True, carted=True, store_url=store_url
    )

    assert "set-cookie" not in interleaved.slow.headers
    assert interleaved.shown_after == [["message", "Saved"]]


@pytest.mark.anyio
async def test_an_emptying_write_that_finds_the_session_moved_leaves_the_new_cookie_be(
    store_url: str,
) -> None:
    # The slow request pops the last message while another signs in: the login moves the
    # session to a new ID and sends its cookie; the pop finds the old ID gone and must not
    # send a deletion that would log the visitor out.
    interleaved = await interleave(
        "pop", "login", flashed_first="First", anonymous=True, store_url=store_url,
        user_key="user",
    )  # fmt: skip

    assert "set-cookie" not in interleaved.slow.headers
    assert interleaved.session_after["user"] == "ada"


@pytest.mark.anyio
async def test_of_two_requests_converting_a_flashes_field_at_once_neither_copies_its_messages(
    store_url: str, redis_client: redis.Redis
) -> None:
    def with_older_field(cookie: str) -> None:
        redis_client.hset(session_key(id_in(cookie)), FLASHES_KEY, json.dumps([["info", "Older"]]))

    interleaved = await interleave(
        "flash", "flash", store_url=store_url, after_login=with_older_field
    )

    assert interleaved.shown_after == [["info", "Older"], ["message", "Saved"], ["message", "Slow"]]
