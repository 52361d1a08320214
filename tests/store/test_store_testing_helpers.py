"""``cookie_session.testing`` with ``store_url``: the awaitable helpers write the session to the
shared real redis-server and put its signed ID into each kind of test client, which the
application then finds; what the application leaves is read back from Redis. The same browsers
as tests/test_testing_helpers.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionCodec, SessionConfig, SessionTooLarge
from cookie_session.testing import (
    aclient_session,
    aread_session_cookie,
    asession_cookie,
    aset_client_session,
)
from test_examples import python_blocks_by_section
from test_testing_helpers import (
    DATA,
    HTTPX_KINDS,
    KINDS,
    STORE_SECTION,
    TESTING_PAGE,
    OpenBrowser,
    browsers,
    run_page,
    run_tests,
    section_tests,
)

from .conftest import id_in, stored

VARIANTS = [
    pytest.param({}, id="default cookie"),
    pytest.param({"session_cookie": "shop_session", "path": "/app"}, id="named, under /app"),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def open_browser() -> AsyncIterator[OpenBrowser]:
    async with browsers() as open_one:
        yield open_one


def store_config(store_url: str, **settings: Any) -> SessionConfig:
    return SessionConfig(secret_key=SECRET, store_url=store_url, user_key="user", **settings)


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_the_application_finds_the_session_put_in_redis_and_the_client(
    open_browser: OpenBrowser, store_url: str, kind: str, variant: dict[str, Any]
) -> None:
    config = store_config(store_url, **variant)
    browser = await open_browser(kind, config)

    await aset_client_session(browser.client, config, DATA)

    assert await browser.get("/app/session") == DATA


@pytest.mark.anyio
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
async def test_aclient_session_reads_from_redis_what_the_application_wrote(
    open_browser: OpenBrowser, store_url: str, kind: str, variant: dict[str, Any]
) -> None:
    config = store_config(store_url, **variant)
    browser = await open_browser(kind, config)
    await aset_client_session(browser.client, config, {"user": "ada"})

    await browser.post("/app/cart")

    assert await aclient_session(browser.client, config) == {"user": "ada", "cart": ["tea"]}
    assert len(browser.session_cookies(config.session_cookie)) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_aclient_session_is_empty_without_a_cookie_and_after_a_logout(
    open_browser: OpenBrowser, store_url: str, kind: str
) -> None:
    config = store_config(store_url)
    browser = await open_browser(kind, config)
    assert await aclient_session(browser.client, config) == {}
    await aset_client_session(browser.client, config, {"user": "ada"})

    await browser.post("/app/logout")

    assert await aclient_session(browser.client, config) == {}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", HTTPX_KINDS)
async def test_a_store_cookie_under_a_path_is_sent_under_that_path_only(
    open_browser: OpenBrowser, store_url: str, kind: str
) -> None:
    config = store_config(store_url, session_cookie="shop_session", path="/app")
    browser = await open_browser(kind, config)

    await aset_client_session(browser.client, config, DATA)

    assert await browser.get("/app/session") == DATA
    assert await browser.get("/other/session") == {}


@pytest.mark.anyio
async def test_the_cookie_carries_only_a_signed_id_of_the_session_redis_holds(
    store_url: str, redis_client: redis.Redis
) -> None:
    value = await asession_cookie(store_config(store_url), DATA)

    session_id = id_in(value)
    assert stored(redis_client, session_id) == DATA


@pytest.mark.anyio
async def test_a_session_made_for_a_user_is_indexed_under_the_user(store_url: str) -> None:
    config = store_config(store_url)
    value = await asession_cookie(config, {"user": 42})
    store = RedisSessionStore.from_config(config)
    try:
        assert await store.user_sessions(42) == [id_in(value)]
        assert await store.revoke_user("42") == 1
    finally:
        await store.aclose()

    with pytest.raises(ValueError, match="no session under the cookie's ID"):
        await aread_session_cookie(config, value)


@pytest.mark.anyio
async def test_a_cookie_read_back_is_the_session_redis_holds(store_url: str) -> None:
    config = store_config(store_url)

    assert await aread_session_cookie(config, await asession_cookie(config, DATA)) == DATA


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            SessionCodec([SECRET], max_age=None).encode({"user": "ada"}),
            "carries no session ID",
            id="a session kept in the cookie",
        ),
        pytest.param(
            SessionCodec([SECRET], max_age=None).encode({"sid": "A" * 43}),
            "no session under the cookie's ID",
            id="an ID Redis does not know",
        ),
        pytest.param("a.b.c", r"refused \(malformed\)", id="no signed value"),
    ],
)
async def test_a_cookie_that_leads_to_no_stored_session_is_a_value_error(
    store_url: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await aread_session_cookie(store_config(store_url), value)


@pytest.mark.anyio
async def test_an_empty_session_is_no_session_in_the_store(
    store_url: str, redis_client: redis.Redis
) -> None:
    with pytest.raises(ValueError, match="an empty session is no session in the store"):
        await asession_cookie(store_config(store_url), {})
    assert redis_client.dbsize() == 0


@pytest.mark.anyio
async def test_a_session_over_store_max_bytes_is_not_written(
    store_url: str, redis_client: redis.Redis
) -> None:
    config = store_config(store_url, store_max_bytes=100)

    with pytest.raises(SessionTooLarge, match="over store_max_bytes"):
        await asession_cookie(config, {"note": "x" * 100})
    assert redis_client.dbsize() == 0


@pytest.mark.usefixtures("clean_env")
def test_the_pages_store_tests_pass(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_STORE_URL", store_url)
    headings = list(python_blocks_by_section(TESTING_PAGE))
    namespace = run_page(TESTING_PAGE, headings, monkeypatch, "docs_testing_store")
    tests = section_tests(TESTING_PAGE, STORE_SECTION, namespace)

    assert tests
    run_tests(tests)
