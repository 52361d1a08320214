"""Rolling expiry (``refresh_after``): a cookie older than ``refresh_after`` is sent again,
freshly signed and with the same data, even when the handler did not touch the session."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET
from cookie_session import SessionCodec, SessionConfig, SessionMiddleware

START = 1_800_000_000
MAX_AGE = 3600
REFRESH_AFTER = 600


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


async def peek(request: Request) -> Response:
    return JSONResponse(dict(request.session))


async def untouched(request: Request) -> Response:
    return PlainTextResponse("the session is not looked at")


async def write(request: Request) -> Response:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse(dict(request.session))


class Site:
    """A site with refresh_after, on a clock the test moves."""

    def __init__(self, **fields: Any) -> None:
        self.clock = Clock()
        defaults: dict[str, Any] = {
            "secret_key": SECRET,
            "max_age": MAX_AGE,
            "refresh_after": REFRESH_AFTER,
        }
        fields = defaults | fields
        routes = [Route("/", peek), Route("/untouched", untouched), Route("/write", write)]
        self.middleware = SessionMiddleware(Starlette(routes=routes), **fields)
        config = self.middleware.config
        keys = [key.get_secret_value() for key in (config.secret_key, *config.secret_key_fallbacks)]
        self.middleware.codec = SessionCodec(keys, max_age=config.max_age, clock=self.clock)
        self.client = TestClient(self.middleware)
        self.verifier = SessionCodec([SECRET], max_age=None, clock=self.clock)

    def cookie_signed_at(self) -> int:
        return self.verifier.verify(self.client.cookies["session"]).signed_at

    def set_cookies(self, path: str) -> list[str]:
        headers: list[str] = self.client.get(path).headers.get_list("set-cookie")
        return headers


@pytest.fixture
def site() -> Site:
    site = Site()
    site.client.get("/write")
    return site


def test_a_cookie_younger_than_refresh_after_is_not_sent_again(site: Site) -> None:
    site.clock.now += REFRESH_AFTER

    assert site.set_cookies("/") == []


@pytest.mark.parametrize("path", ["/", "/untouched"])
def test_an_older_cookie_is_sent_again_freshly_signed_with_the_same_data(
    site: Site, path: str
) -> None:
    site.clock.now += REFRESH_AFTER + 1

    response = site.client.get(path)

    assert len(response.headers.get_list("set-cookie")) == 1
    assert response.headers["vary"] == "Cookie"  # never served from a shared cache to others
    assert site.cookie_signed_at() == START + REFRESH_AFTER + 1
    assert site.client.get("/").json() == {"n": 1}


def test_an_active_user_stays_signed_in_past_max_age(site: Site) -> None:
    for _ in range(10):  # a visit every 20 minutes, for over three hours
        site.clock.now += 1200
        assert site.client.get("/").json() == {"n": 1}

    assert site.clock.now - START > MAX_AGE


def test_an_idle_user_expires_after_max_age(site: Site) -> None:
    site.clock.now += MAX_AGE + 1

    assert site.client.get("/").json() == {}


def test_the_cookie_is_rewritten_at_most_once_per_refresh_after(site: Site) -> None:
    sent = 0
    for _ in range(60):  # a request every minute for an hour
        site.clock.now += 60
        sent += len(site.set_cookies("/untouched"))

    assert sent == 5  # at minutes 11, 22, 33, 44 and 55: each time the cookie is over 10 min old


def test_without_refresh_after_an_old_cookie_is_not_sent_again() -> None:
    site = Site(refresh_after=None)
    site.client.get("/write")
    site.clock.now += MAX_AGE - 1

    assert site.set_cookies("/") == []


def test_a_refresh_is_signed_with_the_current_key() -> None:
    site = Site(secret_key=OTHER_SECRET, secret_key_fallbacks=[SECRET])
    old_key = SessionCodec([SECRET], max_age=None, clock=site.clock)
    cookie = old_key.encode({"n": 7})

    response = site.client.get("/untouched", headers={"cookie": f"session={cookie}"})

    current = SessionCodec([OTHER_SECRET], max_age=None, clock=site.clock)
    assert current.verify(response.cookies["session"]).data == {"n": 7}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param({"refresh_after": 3600}, "less than max_age", id="equal to max_age"),
        pytest.param({"refresh_after": 4000}, "less than max_age", id="over max_age"),
        pytest.param({"max_age": None, "refresh_after": 60}, "max_age", id="no max_age"),
        pytest.param({"refresh_after": 0}, "greater than or equal to 1", id="zero"),
        pytest.param({"refresh_after": True}, "not a boolean", id="a boolean"),
    ],
)
def test_refresh_after_must_lie_between_1_and_max_age(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        SessionConfig(secret_key=SECRET, **{"max_age": MAX_AGE} | settings)


@pytest.mark.parametrize("word", ["", "none", "NULL"])
def test_refresh_after_none_words_from_the_environment(
    word: str, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_REFRESH_AFTER", word)

    assert SessionConfig.from_env().refresh_after is None
