"""Redis down or failing: SessionStoreUnavailable reaches the application, is counted and logged
at ERROR without data, and is never taken for an empty session or a saved one."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx2
import pytest
import redis
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionConfig, SessionMiddleware, get_session
from cookie_session import store as store_module
from cookie_session._store_connection import RedisConnections
from cookie_session._store_flashes import FLASH_FIELD_PREFIX
from cookie_session._store_flow import UNAVAILABLE_BODY
from cookie_session.exceptions import SessionStoreUnavailable
from cookie_session.store import WriteOutcome
from redis_server import STOP_TIMEOUT, RedisServer, running_redis_server

from .conftest import id_in, session_cookie, session_key, store_app, with_cookie

PASSWORD = "LEAKCHECK-redis-password-5f3a9c"
NOTE = "LEAKCHECK-session-data"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, with a password, which the test may stop."""
    with running_redis_server(tmp_path, "--requirepass", PASSWORD) as server:
        yield server


def url_of(server: RedisServer, password: str = PASSWORD) -> str:
    return f"redis://:{password}@127.0.0.1:{server.port}/0"


def started_session(app: SessionMiddleware) -> str:
    """A session holding NOTE, made through ``app``; its cookie."""
    with TestClient(app) as client:
        response = client.post("/set", json={"note": NOTE})
    cookie = session_cookie(response)
    assert cookie
    return cookie


def assert_nothing_secret_in(text: str, cookie: str) -> None:
    assert PASSWORD not in text
    assert NOTE not in text
    assert id_in(cookie) not in text


def assert_unavailable(response: httpx2.Response) -> None:
    """The middleware's own answer to a request whose session Redis could not load or save."""
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == UNAVAILABLE_BODY.decode()
    assert "set-cookie" not in response.headers


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.name == "cookie_session"
    ]


def test_load_with_redis_down_is_a_503_never_an_empty_session(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    handled: list[object] = []

    async def handler(request: Request) -> JSONResponse:
        handled.append(dict(get_session(request)))
        return JSONResponse({})

    app = store_app(url_of(private_redis))
    cookie = started_session(app)
    private_redis.stop()
    down = SessionMiddleware(Starlette(routes=[Route("/", handler)]), config=app.config)

    with caplog.at_level(logging.DEBUG), TestClient(down) as client:
        response = client.get("/", headers=with_cookie(cookie))

    assert_unavailable(response)
    assert handled == []  # the application never saw an empty session
    assert down.stats().store_errors == 1
    [line] = error_lines(caplog)
    assert "load failed: ConnectionError" in line
    assert_nothing_secret_in(caplog.text + response.text, cookie)


def test_redis_down_is_a_503_that_sends_no_cookie(private_redis: RedisServer) -> None:
    app = store_app(url_of(private_redis))
    cookie = started_session(app)
    private_redis.stop()

    with TestClient(app) as client:
        response = client.get("/show", headers=with_cookie(cookie))

    assert_unavailable(response)


def test_a_hung_redis_is_a_503_on_load_and_on_save(
    private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Short, but not so short that a healthy request on a loaded machine would time out.
    monkeypatch.setattr(store_module, "TIMEOUT_SECONDS", 1.0)
    reached: list[str] = []

    async def write_while_redis_hangs(request: Request) -> PlainTextResponse:
        session = get_session(request)
        os.kill(private_redis.pid, signal.SIGSTOP)  # after the load, before the save
        reached.append("handler")
        session["note"] = NOTE + "-changed"
        return PlainTextResponse("saved")

    cookie = started_session(store_app(url_of(private_redis)))
    config = store_app(url_of(private_redis)).config
    app = SessionMiddleware(Starlette(routes=[Route("/", write_while_redis_hangs)]), config=config)
    try:
        with TestClient(app) as client:
            saving = client.get("/", headers=with_cookie(cookie))
            loading = client.get("/", headers=with_cookie(cookie))
    finally:
        os.kill(private_redis.pid, signal.SIGCONT)

    assert reached == ["handler"]  # the second request never reached the application
    assert_unavailable(saving)
    assert_unavailable(loading)
    assert app.stats().store_errors == 2
    # Once Redis runs again, so does the site. (The timed-out write may or may not have been
    # applied when Redis woke up: it was reported failed, never done.)
    with TestClient(store_app(url_of(private_redis))) as client:
        shown = client.get("/show", headers=with_cookie(cookie))
    assert shown.json()["data"]["note"] in (NOTE, NOTE + "-changed")


def test_websocket_with_redis_down_is_closed_try_again_later(private_redis: RedisServer) -> None:
    app = store_app(url_of(private_redis))
    cookie = started_session(app)
    private_redis.stop()

    with (
        TestClient(app) as client,
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=with_cookie(cookie)) as websocket,
    ):
        websocket.receive_json()

    assert closed.value.code == 1013


def test_application_s_own_store_failure_is_a_503(private_redis: RedisServer) -> None:
    config = SessionConfig(secret_key=SECRET, store_url=url_of(private_redis), user_key="user")
    store = RedisSessionStore.from_config(config)

    async def revoke_everywhere(request: Request) -> PlainTextResponse:
        await store.revoke_user("alice")
        return PlainTextResponse("revoked")

    # As app.add_middleware() places it: outside the router's exception handling, inside
    # Starlette's ServerErrorMiddleware (which would answer 500).
    app = Starlette(
        routes=[Route("/", revoke_everywhere)],
        middleware=[Middleware(SessionMiddleware, config=config)],
    )
    private_redis.stop()

    with TestClient(app) as client:
        response = client.get("/")

    assert_unavailable(response)


def test_requests_without_a_session_cookie_still_succeed_with_redis_down(
    private_redis: RedisServer,
) -> None:
    app = store_app(url_of(private_redis))
    private_redis.stop()

    with TestClient(app) as client:
        shown = client.get("/show")
        untouched = client.get("/noop")

    assert (shown.status_code, shown.json()) == (200, {"data": {}, "session_id": None})
    assert untouched.status_code == 200
    assert app.stats().store_errors == 0


def test_failed_write_is_never_reported_as_done(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def write_while_redis_stops(request: Request) -> PlainTextResponse:
        session = get_session(request)
        private_redis.stop()  # after the session was read, before it is saved
        session["note"] = NOTE + "-changed"
        return PlainTextResponse("saved")

    config = store_app(url_of(private_redis)).config
    cookie = started_session(store_app(url_of(private_redis)))
    app = SessionMiddleware(Starlette(routes=[Route("/", write_while_redis_stops)]), config=config)

    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        response = client.get("/", headers=with_cookie(cookie))

    assert_unavailable(response)
    assert app.stats().store_errors == 1
    assert "save failed" in caplog.text
    assert_nothing_secret_in(caplog.text, cookie)


def test_store_recovers_when_redis_comes_back(private_redis: RedisServer) -> None:
    app = store_app(url_of(private_redis))
    with TestClient(app) as client:
        assert client.post("/set", json={"n": 1}).status_code == 200
        private_redis.stop()
        assert client.get("/show").status_code == 503
        private_redis.start()  # empty: nothing was persisted
        shown = client.get("/show")
        written = client.post("/set", json={"n": 2})

    assert (shown.status_code, shown.json()["data"]) == (200, {})
    assert written.status_code == 200
    assert session_cookie(written)


def test_wrong_password_is_unavailable_and_never_shown(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "LEAKCHECK-wrong-password-77d1"
    app = store_app(url_of(private_redis, password=wrong))
    cookie = started_session(store_app(url_of(private_redis)))

    with caplog.at_level(logging.DEBUG), TestClient(app) as client:
        response = client.get("/show", headers=with_cookie(cookie))

    assert_unavailable(response)
    text = caplog.text + response.text
    assert "AuthenticationError" in text
    assert wrong not in text
    assert_nothing_secret_in(text, cookie)


def test_a_failure_quoting_the_url_s_credentials_is_logged_and_raised_without_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No redis-py message is known to quote them: the defence, should one ever do.
    url = f"redis://alice:{PASSWORD}@cache:6379/0"
    connections = RedisConnections(SecretStr(url), timeout=1.0)

    with caplog.at_level(logging.ERROR):
        unavailable = connections.unavailable("load", OSError(f"cannot reach {url}"))

    assert unavailable is not None
    assert "cannot reach redis://***@cache:6379/0" in str(unavailable)
    assert PASSWORD not in str(unavailable)
    assert PASSWORD not in caplog.text


def test_error_reply_names_its_code_only(
    store_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    app = store_app(store_url)
    cookie = started_session(app)
    redis_client.set(session_key(id_in(cookie)), NOTE)  # not a hash any more

    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        assert_unavailable(client.get("/show", headers=with_cookie(cookie)))

    assert error_lines(caplog) == [
        "session store unavailable: load failed: ResponseError: WRONGTYPE"
    ]
    assert NOTE not in caplog.text


@pytest.mark.parametrize("field", ["note", FLASH_FIELD_PREFIX + "0"], ids=["key", "flash"])
def test_stored_value_that_is_not_json_is_unavailable(
    store_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    app = store_app(store_url)
    cookie = started_session(app)
    redis_client.hset(session_key(id_in(cookie)), field, "{not json")

    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        assert_unavailable(client.get("/show", headers=with_cookie(cookie)))

    assert error_lines(caplog) == [
        "session store unavailable: load failed: a stored session value is not JSON"
    ]
    assert app.stats().store_errors == 1


@pytest.mark.anyio
async def test_store_methods_raise_when_redis_is_down(private_redis: RedisServer) -> None:
    config = SessionConfig(secret_key=SECRET, store_url=url_of(private_redis), user_key="user")
    store = RedisSessionStore.from_config(config)
    await store.ping()
    private_redis.stop()

    calls: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: store.revoke_user("alice"), "revoke"),
        (lambda: store.revoke("A" * 43), "revoke"),
        (lambda: store.user_sessions("alice"), "list"),
        (store.ping, "ping"),
    ]
    try:
        for call, operation in calls:
            with pytest.raises(SessionStoreUnavailable) as raised:
                await call()
            assert raised.value.operation == operation
            assert PASSWORD not in str(raised.value)
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_hung_redis_is_unavailable_once_the_timeout_passes(
    private_redis: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(store_module, "TIMEOUT_SECONDS", 1.0)  # a healthy reply is far quicker
    store = RedisSessionStore(url_of(private_redis))
    session_id = await store.create({"note": json.dumps(NOTE)}, None)
    calls: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: store.load(session_id), "load"),
        (lambda: store.update(session_id, {"n": "1"}, (), None), "save"),
        (lambda: store.create({"n": "1"}, None), "save"),
        (store.ping, "ping"),
    ]
    try:
        with private_redis.paused(), caplog.at_level(logging.ERROR, logger="cookie_session"):
            for call, operation in calls:
                # The test's own limit, far above the store's: should the store wait forever,
                # this fails (with TimeoutError) instead of hanging the suite.
                with pytest.raises(SessionStoreUnavailable) as raised:
                    async with asyncio.timeout(STOP_TIMEOUT):
                        await call()
                assert raised.value.operation == operation
                assert "no reply within 1.0 s" in str(raised.value)
                assert PASSWORD not in str(raised.value)
        assert len(caplog.records) == len(calls)
        assert NOTE not in caplog.text
        assert session_id not in caplog.text
        # The timed-out connections were dropped, not reused with a reply still due.
        assert await store.load(session_id) == {"note": json.dumps(NOTE)}
        assert await store.update(session_id, {"n": "2"}, (), None) is WriteOutcome.WRITTEN
        assert await store.load(session_id) == {"note": json.dumps(NOTE), "n": "2"}
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_socket_timeout_in_the_url_is_the_one_applied(
    private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "TIMEOUT_SECONDS", 0.3)
    store = RedisSessionStore(url_of(private_redis) + "?socket_timeout=1.5")
    await store.ping()
    try:
        with private_redis.paused():
            with pytest.raises(SessionStoreUnavailable, match="TimeoutError") as raised:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await store.load("A" * 43)
            # redis-py's message, after the URL's 1.5 s: not the store's own 0.3 s.
            assert "Timeout reading" in str(raised.value)
            assert "no reply within" not in str(raised.value)
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_cancelled_request_stays_cancelled_while_redis_hangs(
    private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store's timer must not turn a cancellation from elsewhere (a client gone, a server
    # shutting down) into a TimeoutError, nor swallow it.
    monkeypatch.setattr(store_module, "TIMEOUT_SECONDS", 2.0)
    store = RedisSessionStore(url_of(private_redis))
    await store.ping()
    try:
        with private_redis.paused():
            load = asyncio.ensure_future(store.load("A" * 43))
            await asyncio.sleep(0.2)
            load.cancel()
            with pytest.raises(asyncio.CancelledError):
                async with asyncio.timeout(STOP_TIMEOUT):
                    await load
        await store.ping()  # and the store goes on working
    finally:
        await store.aclose()


def test_a_connection_lost_to_a_redis_restart_is_retried_at_once(
    private_redis: RedisServer,
) -> None:
    # The connection of the first requests is idle when Redis restarts under it; the next
    # request's command fails on it and goes again, at once, on a new connection.
    app = store_app(url_of(private_redis))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/set", json={"n": 1}).status_code == 200
        private_redis.stop()
        private_redis.start()  # empty: nothing was persisted
        shown = client.get("/show")
        written = client.post("/set", json={"n": 2})
        again = client.get("/show")

    assert (shown.status_code, shown.json()["data"]) == (200, {})
    assert written.status_code == 200
    assert again.json()["data"] == {"n": 2}
    assert app.stats().store_errors == 0


def test_a_pipeline_on_a_connection_lost_to_a_redis_restart_is_retried_at_once(
    private_redis: RedisServer,
) -> None:
    # A login's first write is a pipeline (its index entry and its session), here on the
    # connection that was idle when Redis restarted.
    app = store_app(url_of(private_redis))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/set", json={"n": 1}).status_code == 200
        private_redis.stop()
        private_redis.start()
        client.cookies.clear()
        login = client.get("/login", params={"user": "alice"})

    assert login.status_code == 200
    assert session_cookie(login)
    assert app.stats().store_errors == 0


def test_an_error_reply_leaves_the_connection_fit_for_the_next_request(
    store_url: str, redis_client: redis.Redis
) -> None:
    app = store_app(store_url)
    broken = started_session(app)
    sound = started_session(app)
    redis_client.set(session_key(id_in(broken)), NOTE)  # not a hash any more

    with TestClient(app) as client:
        assert client.get("/show", headers=with_cookie(broken)).status_code == 503
        after = client.get("/show", headers=with_cookie(sound))

    assert after.status_code == 200
    assert after.json()["data"] == {"note": NOTE}


@pytest.mark.anyio
async def test_aclose_during_a_request_closes_that_request_s_connection_too(
    private_redis: RedisServer,
) -> None:
    name = "in-flight-at-aclose"
    store = RedisSessionStore(f"{url_of(private_redis)}?client_name={name}")
    session_id = await store.create({"note": json.dumps(NOTE)}, None)
    client = redis.Redis(host="127.0.0.1", port=private_redis.port, password=PASSWORD)
    try:
        with private_redis.paused():
            load = asyncio.ensure_future(store.load(session_id))
            await asyncio.sleep(0.2)  # its command is sent; the reply waits for the server
            await store.aclose()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            assert await load == {"note": json.dumps(NOTE)}  # the request itself completes
            gc.collect()
        # Closed by the store, not dropped for the garbage collector to find unclosed (other
        # tests' connections may be collected here too: only this server's count).
        ours = f"port={private_redis.port}"
        assert [str(w.message) for w in caught if ours in str(w.message)] == []
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(c["name"] == name for c in client.client_list()):
            assert time.monotonic() < deadline, "the store left a connection open"
            await asyncio.sleep(0.02)
    finally:
        client.close()
        await store.aclose()
