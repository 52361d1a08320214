"""The store's settings: store_url (a secret), store_prefix and user_key, and their rules."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from conftest import SECRET
from cookie_session import RedisSessionStore, SessionConfig, SessionMiddleware
from cookie_session.store import redacted_url

PASSWORD = "LEAKCHECK-url-password-81b2e7"


def refused(**settings: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        SessionConfig(secret_key=SECRET, **settings)
    return caught.value


def assert_password_hidden(error: ValidationError) -> None:
    shown = str(error) + repr(error) + repr(error.errors()) + error.json()
    assert PASSWORD not in shown


@pytest.mark.parametrize(
    "url",
    [
        "redis://localhost",
        "redis://localhost:6379/0",
        f"redis://:{PASSWORD}@cache.internal:6380/3",
        f"redis://app:{PASSWORD}@10.0.0.5",
        f"rediss://:{PASSWORD}@cache.example.com:6380/0?ssl_cert_reqs=required",
        "unix:///run/redis/redis.sock",
        f"unix:///run/redis/redis.sock?db=2&password={PASSWORD}",
        f"redis://cache:6379/0?socket_timeout=0.5&password={PASSWORD}",
    ],
)
def test_store_url_accepts_what_redis_py_connects_with(url: str) -> None:
    config = SessionConfig(secret_key=SECRET, store_url=url)

    assert config.store_url is not None
    assert config.store_url.get_secret_value() == url
    assert PASSWORD not in repr(config) + str(config) + str(config.model_dump())


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"http://:{PASSWORD}@cache:6379", "must start with redis://"),
        (f"{PASSWORD}@cache:6379", "must start with redis://"),
        (f"redis://:{PASSWORD}@cache:port/0", "check its host and port"),
        (f"redis://:{PASSWORD}@cache:99999/0", "check its host and port"),
        (f"redis://[::1:{PASSWORD}@cache", "check its host and port"),
        (f"redis://:{PASSWORD}@cache/{PASSWORD}", "a database number"),
        (f"unix://:{PASSWORD}@", "needs the socket's path"),
        (f"redis://cache/0?db={PASSWORD}", "option db has a value redis-py cannot read"),
        (f"redis://cache/0?{PASSWORD}=1", "redis-py does not know or cannot read"),
        (f"redis://cache/0?port={PASSWORD}", "option port has a value redis-py cannot read"),
        # redis-py 5.0 does not list protocol among its URL options: named from 5.1 on.
        (f"redis://cache/0?protocol=7&password={PASSWORD}", "redis-py"),
        (f"redis://cache/0?password={PASSWORD}&socket_timout=1", "did you mean socket_timeout?"),
        (f"redis://:{PASSWORD}@cache/0?socket_timeout=soon", "socket_timeout has a value"),
        (f"redis://cache/0?retry={PASSWORD}", "sets retry, which the store chooses itself"),
        (f"redis://:{PASSWORD}@cache/0?decode_responses=yes", "sets decode_responses"),
        (f"rediss://:{PASSWORD}@cache/0?encoding=latin-1", "sets encoding"),
        (f"redis://:{PASSWORD} @cache/0", "spaces or control characters"),
        (f"redis://:{PASSWORD}@cache/0\n", "spaces or control characters"),
    ],
)
def test_bad_store_url_is_refused_without_showing_it(url: str, message: str) -> None:
    error = refused(store_url=url)

    [problem] = error.errors()
    assert problem["loc"] == ("store_url",)
    assert message in problem["msg"]
    assert_password_hidden(error)


def test_store_url_of_another_type_is_refused_without_showing_it() -> None:
    error = refused(store_url=[f"redis://:{PASSWORD}@cache"])

    assert "must be a string" in error.errors()[0]["msg"]
    assert_password_hidden(error)


def test_store_url_from_the_environment_is_named_by_its_variable_and_hidden(
    monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", f"http://:{PASSWORD}@cache")

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env()

    assert caught.value.errors()[0]["msg"].startswith(
        "SESSION_STORE_URL (from the environment): must start with redis://"
    )
    assert_password_hidden(caught.value)


def test_empty_store_url_means_sessions_in_the_cookie(
    monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", "")
    monkeypatch.setenv("SESSION_USER_KEY", "")

    config = SessionConfig.from_env()

    assert (config.store_url, config.user_key) == (None, None)


def test_store_url_without_redis_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis now fails
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)

    error = refused(store_url=f"redis://:{PASSWORD}@cache:6379/0")

    [problem] = error.errors()
    assert (problem["loc"], problem["type"]) == (("store_url",), "store_unavailable")
    assert "pip install 'cookie-session[redis]'" in problem["msg"]
    assert_password_hidden(error)


def test_user_key_requires_a_store() -> None:
    error = refused(user_key="user_id")

    [problem] = error.errors()
    assert "user_key requires store_url" in problem["msg"]


def test_encryption_does_not_go_with_a_store() -> None:
    error = refused(encrypt=True, store_url="redis://cache/0")

    [problem] = error.errors()
    assert "encrypt=True cannot go with store_url" in problem["msg"]


def test_user_key_with_an_invalid_store_url_reports_the_url_only() -> None:
    error = refused(user_key="user_id", store_url=f"http://:{PASSWORD}@cache")

    assert [problem["loc"] for problem in error.errors()] == [("store_url",)]


def test_store_prefix_must_not_be_empty() -> None:
    [problem] = refused(store_prefix="").errors()

    assert problem["loc"] == ("store_prefix",)
    assert "must not be empty" in problem["msg"]


def test_config_with_a_store_nests_in_an_application_model_without_showing_the_password() -> None:
    class AppSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

        session: SessionConfig

    with pytest.raises(ValidationError) as caught:
        AppSettings.model_validate(
            {"session": {"secret_key": SECRET, "store_url": f"http://:{PASSWORD}@cache"}}
        )

    assert_password_hidden(caught.value)


def test_middleware_with_a_store_does_not_show_the_password() -> None:
    middleware = SessionMiddleware(
        lambda scope, receive, send: None,  # type: ignore[arg-type,return-value]  # never called
        secret_key=SECRET,
        store_url=f"redis://:{PASSWORD}@cache:6379/0",
    )

    assert PASSWORD not in repr(middleware.config) + str(vars(middleware))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"redis://:{PASSWORD}@cache:6379/0", "redis://***@cache:6379/0"),
        (f"redis://app:{PASSWORD}@cache", "redis://***@cache"),
        # A password written where the user name goes is still a password.
        (f"redis://{PASSWORD}@cache", "redis://***@cache"),
        # Unencoded ?, /, # and @ in a password: the credentials end at the last @.
        ("redis://:1234?5678@cache/0", "redis://***@cache/0"),
        ("redis://:12/34#56@cache:6380", "redis://***@cache:6380"),
        ("redis://app:p@ss@cache", "redis://***@cache"),
        (f"redis://cache/0?password={PASSWORD}&db=1", "redis://cache/0?password=***&db=***"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
    ],
)
def test_redacted_url_hides_the_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


def test_store_repr_hides_the_password() -> None:
    store = RedisSessionStore(f"redis://:{PASSWORD}@cache:6379/0", prefix="app:")

    assert repr(store) == "RedisSessionStore('redis://***@cache:6379/0', prefix='app:')"


def test_store_repr_hides_a_password_in_the_user_name_slot() -> None:
    store = RedisSessionStore(f"redis://{PASSWORD}@cache:6379/0")

    assert PASSWORD not in repr(store)


def test_store_takes_its_settings_from_the_configuration() -> None:
    config = SessionConfig(
        secret_key=SECRET,
        store_url="redis://cache/0",
        store_prefix="app:",
        user_key="uid",
        max_age=600,
    )

    store = RedisSessionStore.from_config(config)

    assert (store.prefix, store.user_key, store.lifetime) == ("app:", "uid", 600)
    assert store.session_key("x") == "app:session:x"
    assert store.user_index_key("42") == "app:user:42"


# -- the cluster's and Sentinel's URLs ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://10.0.0.1:7000",
        f"redis+cluster://:{PASSWORD}@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0",
        f"rediss+cluster://app:{PASSWORD}@cache.example.com:6380?ssl_cert_reqs=required",
        f"redis+cluster://h1:7000,h2:7001?password={PASSWORD}&socket_timeout=0.5",
        "redis+sentinel://s1,s2:26380,s3/mymaster",
        f"redis+sentinel://:{PASSWORD}@s1:26379,s2/mymaster/2",
        f"rediss+sentinel://app:{PASSWORD}@s1,s2/mymaster?sentinel_password={PASSWORD}",
    ],
)
def test_store_url_accepts_a_cluster_or_sentinel_url_and_hides_every_password(url: str) -> None:
    config = SessionConfig(secret_key=SECRET, store_url=url)
    store = RedisSessionStore.from_config(config)

    assert config.store_url is not None
    shown = repr(config) + str(config) + str(config.model_dump()) + repr(store)
    shown += redacted_url(url) + repr(store._redis)
    assert PASSWORD not in shown
    assert "://" in redacted_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"redis+cluster://:{PASSWORD}@h1:7000,h2:port", "check its hosts and ports"),
        (f"redis+cluster://:{PASSWORD}@h1:7000,,h2", "check its hosts and ports"),
        (f"redis+cluster://:{PASSWORD}@h1:99999", "check its hosts and ports"),
        (f"redis+cluster://:{PASSWORD}@h1:7000/1", "database 0 only"),
        (f"redis+cluster://:{PASSWORD}@h1:7000/{PASSWORD}", "database 0 only"),
        (f"redis+cluster://h1?password={PASSWORD}&socket_timout=1", "did you mean socket_timeout?"),
        (f"redis+cluster://h1?{PASSWORD}=1", "redis-py does not know or cannot read"),
        (f"redis+cluster://:{PASSWORD}@h1?decode_responses=yes", "sets decode_responses"),
        (f"redis+sentinel://:{PASSWORD}@s1,s2", "names the primary's service"),
        (f"redis+sentinel://:{PASSWORD}@s1,s2/mymaster/db", "names the primary's service"),
        (f"redis+sentinel://:{PASSWORD}@s1:x/mymaster", "check its hosts and ports"),
        (
            f"redis+sentinel://s1/mymaster?sentinel_socket_timeout={PASSWORD}",
            "option sentinel_socket_timeout has a value",
        ),
        (
            f"redis+sentinel://s1/mymaster?password={PASSWORD}&sentinel_socket_timout=1",
            "did you mean sentinel_socket_timeout?",
        ),
        (f"redis+clustre://:{PASSWORD}@h1", "redis+cluster://"),
    ],
)
def test_bad_cluster_or_sentinel_url_is_refused_without_showing_it(url: str, message: str) -> None:
    error = refused(store_url=url)

    [problem] = error.errors()
    assert problem["loc"] == ("store_url",)
    assert message in problem["msg"]
    assert_password_hidden(error)
