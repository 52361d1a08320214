"""Session lifetimes with the Redis store, the details tests/store/test_store_lifetimes.py leaves
out: the cookie's ``Max-Age`` within what remains of ``max_lifetime``, ``regenerate()`` restarting
the recorded start, ``session.set_max_age()`` called by the application (the cookie's ``Max-Age``,
the server's age check and the data's expiry in Redis), a session from before ``max_lifetime``
was set, and the audit lines of a revocation and of a regeneration.

The cookie is on a clock the tests move; Redis keeps its own time for the data's expiry, read
back as ``PTTL`` a moment after the write (so within a minute of the lifetime set).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Unpack

import pytest
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import (
    RedisSessionStore,
    SessionCodec,
    SessionFields,
    SessionMiddleware,
    get_session,
)
from cookie_session._audit import Auditor
from cookie_session.devices import DEVICE_FIELD
from cookie_session.session import MAX_AGE_KEY, STARTED_KEY
from cookie_session.store import LIFETIME_GRACE

from .conftest import (
    MakeClient,
    cookie_data,
    id_in,
    session_cookie,
    session_key,
    sign_in,
    store_app,
    stored,
    with_cookie,
)
from .test_store_lifetimes import DAY, HOUR, START, Clock, clocked, max_age_of

THIRTY_DAYS = 30 * DAY


def a_moment_after_a_write_of(seconds: int) -> range:
    """The ``PTTL`` (milliseconds) of data written with a lifetime of ``seconds``, read back a
    moment (under a minute) after the write."""
    return range(seconds * 1000 - 60_000, seconds * 1000 + 1)


async def remember(request: Request) -> JSONResponse:
    """``/remember?seconds=N``: ``session.set_max_age(N)``; without ``seconds``, ``None``."""
    session = get_session(request)
    seconds = request.query_params.get("seconds")
    session.set_max_age(int(seconds) if seconds else None)
    return JSONResponse({"max_age": session.max_age})


async def max_age(request: Request) -> JSONResponse:
    """``/max-age``: the lifetime in force, as ``session.max_age`` reads it."""
    return JSONResponse({"max_age": get_session(request).max_age})


def remembering_app(url: str, /, **settings: Unpack[SessionFields]) -> SessionMiddleware:
    """The store app (tests/store/conftest.py) with ``/remember`` and ``/max-age`` too."""
    app = store_app(url, **settings)
    assert isinstance(app.app, Starlette)
    app.app.add_route("/remember", remember)
    app.app.add_route("/max-age", max_age)
    return app


def expires_in_ms(redis_client: redis.Redis, session_id: str) -> int:
    """How long Redis keeps the session's data (its ``PTTL``)."""
    remaining: int = redis_client.pttl(session_key(session_id))
    return remaining


def audit_lines(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "cookie_session.audit" and record.getMessage().startswith(event)
    ]


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[RedisSessionStore]:
    """The store of the store app's configuration, as an application holds it."""
    opened = RedisSessionStore.from_config(store_app(store_url).config)
    try:
        yield opened
    finally:
        await opened.aclose()


# -- max_lifetime ------------------------------------------------------------------------------


def test_the_cookie_s_max_age_never_outlives_what_remains_of_max_lifetime(store_url: str) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR)  # max_age: the default 14 days
    clock = clocked(app)
    with TestClient(app) as client:
        first = client.post("/set", json={"n": 1})
        clock.now += HOUR
        later = client.post("/set", json={"n": 2})

    assert max_age_of(first) == str(2 * HOUR)
    assert max_age_of(later) == str(HOUR)


class TickingClock(Clock):
    """A clock a second later at every read: a write whose round trips to Redis take long."""

    def __call__(self) -> float:
        self.now += 1
        return self.now


@pytest.mark.parametrize("start", ["new", "regenerated"])
def test_a_start_and_its_cookie_s_max_age_are_taken_at_one_time(
    store_url: str, redis_client: redis.Redis, start: str
) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR)  # max_age: the default 14 days
    app.codec = SessionCodec([SECRET], max_age=app.config.max_age, clock=TickingClock())
    with TestClient(app) as client:
        response = client.post("/set", json={"n": 1})
        if start == "regenerated":
            response = client.get("/regenerate")
    session_id = id_in(session_cookie(response) or "")

    assert max_age_of(response) == str(2 * HOUR)  # all that remains of the new start
    assert expires_in_ms(redis_client, session_id) in a_moment_after_a_write_of(
        2 * HOUR + LIFETIME_GRACE
    )


def test_a_login_s_device_record_starts_when_its_session_does(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR, track_devices=True)
    app.codec = SessionCodec([SECRET], max_age=app.config.max_age, clock=TickingClock())
    with TestClient(app) as client:
        session_id = sign_in(client, "alice")
    hash_fields = redis_client.hgetall(session_key(session_id))
    started, seen, *_ = json.loads(hash_fields[DEVICE_FIELD.encode()])

    assert started == seen == json.loads(hash_fields[STARTED_KEY.encode()])


def test_a_remembered_session_s_cookie_still_ends_at_max_lifetime(store_url: str) -> None:
    app = remembering_app(store_url, max_lifetime=2 * DAY)
    clocked(app)
    with TestClient(app) as client:
        response = client.get("/remember", params={"seconds": THIRTY_DAYS})

    assert max_age_of(response) == str(2 * DAY)


def test_regenerate_records_a_new_start_under_a_new_id(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR)
    clock = clocked(app)
    with TestClient(app) as client:
        first = id_in(session_cookie(client.post("/set", json={"cart": [1]})) or "")
        clock.now += HOUR
        assert session_cookie(client.get("/regenerate"))
        second = client.get("/show").json()["session_id"]  # its cookie is signed an hour on

    assert second != first
    assert stored(redis_client, second) == {"cart": [1], STARTED_KEY: START + HOUR}


def test_a_regenerated_session_outlives_its_first_start_s_max_lifetime(store_url: str) -> None:
    app = store_app(store_url, max_lifetime=2 * HOUR)
    clock = clocked(app)
    with TestClient(app) as client:
        client.post("/set", json={"cart": [1]})
        clock.now += HOUR
        client.get("/regenerate")
        clock.now += HOUR + 60  # past the first start + 2 h, not the regeneration's

        shown = client.get("/show").json()

    assert shown["data"] == {"cart": [1], STARTED_KEY: START + HOUR}


def cookie_from_before_max_lifetime(store_url: str) -> str:
    """The cookie of a store session written, at START, without ``max_lifetime`` set."""
    before = store_app(store_url)
    clocked(before)
    with TestClient(before) as client:
        return session_cookie(client.post("/set", json={"cart": [1]})) or ""


def test_a_session_from_before_max_lifetime_ends_max_lifetime_after_its_cookie_was_signed(
    store_url: str, redis_client: redis.Redis
) -> None:
    cookie = cookie_from_before_max_lifetime(store_url)
    after = store_app(store_url, max_lifetime=HOUR)
    clocked(after).now += 2 * HOUR

    with TestClient(after) as client:
        shown = client.get("/show", headers=with_cookie(cookie))

    assert shown.json() == {"data": {}, "session_id": None}
    assert redis_client.exists(session_key(id_in(cookie))) == 0


def test_a_session_from_before_max_lifetime_records_its_cookie_s_signing_time_as_its_start(
    store_url: str, redis_client: redis.Redis
) -> None:
    cookie = cookie_from_before_max_lifetime(store_url)
    after = store_app(store_url, max_lifetime=HOUR)
    clocked(after).now += HOUR / 2

    with TestClient(after) as client:
        written = client.post("/set", json={"n": 1}, headers=with_cookie(cookie))

    assert stored(redis_client, id_in(cookie))[STARTED_KEY] == START
    assert max_age_of(written) == str(HOUR // 2)


# -- set_max_age, called by the application -----------------------------------------------------


def test_set_max_age_none_sends_no_max_age_and_the_data_expires_after_the_configured_max_age(
    store_url: str, redis_client: redis.Redis
) -> None:
    with TestClient(remembering_app(store_url, max_age=DAY)) as client:
        response = client.get("/remember")

    assert max_age_of(response) == ""
    session_id = cookie_data(session_cookie(response) or "")["sid"]
    assert expires_in_ms(redis_client, session_id) in a_moment_after_a_write_of(DAY)


def test_set_max_age_sets_the_cookie_s_max_age_and_the_data_s_expiry(
    store_url: str, redis_client: redis.Redis
) -> None:
    with TestClient(remembering_app(store_url, max_age=DAY)) as client:
        response = client.get("/remember", params={"seconds": THIRTY_DAYS})

    assert max_age_of(response) == str(THIRTY_DAYS)
    session_id = cookie_data(session_cookie(response) or "")["sid"]
    assert expires_in_ms(redis_client, session_id) in a_moment_after_a_write_of(THIRTY_DAYS)


def test_set_max_age_is_kept_by_later_writes_without_calling_it_again(
    store_url: str, redis_client: redis.Redis
) -> None:
    with TestClient(remembering_app(store_url, max_age=DAY)) as client:
        client.get("/remember", params={"seconds": THIRTY_DAYS})
        written = client.post("/set", json={"n": 1})

    carried = cookie_data(session_cookie(written) or "")
    assert max_age_of(written) == str(THIRTY_DAYS)
    assert carried[MAX_AGE_KEY] == THIRTY_DAYS
    assert expires_in_ms(redis_client, carried["sid"]) in a_moment_after_a_write_of(THIRTY_DAYS)


def test_a_session_remembered_by_set_max_age_outlives_the_configured_max_age(
    store_url: str,
) -> None:
    app = remembering_app(store_url, max_age=DAY)
    clock = clocked(app)
    with TestClient(app) as client:
        client.post("/set", json={"n": 1})
        client.get("/remember", params={"seconds": THIRTY_DAYS})
        clock.now += 10 * DAY

        shown = client.get("/show").json()

    assert shown["data"] == {"n": 1, MAX_AGE_KEY: THIRTY_DAYS}


def test_a_shorter_lifetime_from_set_max_age_is_enforced_by_the_server(store_url: str) -> None:
    app = remembering_app(store_url, max_age=THIRTY_DAYS)
    clock = clocked(app)
    with TestClient(app) as client:
        client.post("/set", json={"n": 1})
        client.get("/remember", params={"seconds": DAY})
        clock.now += DAY + 1  # the data is still in Redis: the cookie's own lifetime is over

        shown = client.get("/show").json()

    assert shown == {"data": {}, "session_id": None}


def test_max_age_reads_the_lifetime_set_on_an_earlier_request(store_url: str) -> None:
    with TestClient(remembering_app(store_url, max_age=DAY)) as client:
        client.get("/remember", params={"seconds": THIRTY_DAYS})

        assert client.get("/max-age").json() == {"max_age": THIRTY_DAYS}


# -- audit lines -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_revoking_one_session_writes_a_revoked_line_naming_the_user_and_a_keyed_ref(
    make_client: MakeClient, store: RedisSessionStore, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = sign_in(make_client(), "bob")

    with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
        assert await store.revoke(session_id)

    [line] = audit_lines(caplog, "session revoked:")
    assert f"ref={Auditor(SECRET).reference(session_id)}" in line
    assert "user='bob'" in line
    assert session_id not in line


def test_a_regenerated_session_s_moved_line_names_the_previous_id_by_its_ref(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    previous = sign_in(client, "alice")

    with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
        current = id_in(session_cookie(client.get("/regenerate")) or "")

    [line] = audit_lines(caplog, "session moved:")
    auditor = Auditor(SECRET)
    assert line == (
        f"session moved: ref={auditor.reference(current)} user='alice' "
        f"previous={auditor.reference(previous)}"
    )
    assert previous not in line
