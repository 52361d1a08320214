"""SessionMiddleware.stats(): every counter driven by real requests."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET, tampered
from cookie_session import SessionCodec, SessionMiddleware, SessionStats, SessionTooLarge

THIRD_SECRET = "LEAKCHECK-third-key-abcdefghij-0123456789"
NOW = 1_800_000_000


def signed(data: dict[str, Any], secret: str = SECRET, at: float = NOW) -> str:
    return SessionCodec([secret], max_age=None, clock=lambda: at).encode(data)


async def endpoint(request: Request) -> Response:
    action = request.url.path
    if action == "/write":
        request.session["n"] = request.session.get("n", 0) + 1
    elif action == "/clear":
        request.session.clear()
    elif action == "/big":
        request.session["blob"] = "x" * 5000
    return JSONResponse(dict(request.session))


class Site:
    def __init__(self, **fields: Any) -> None:
        fields.setdefault("secret_key", SECRET)
        routes = [Route(path, endpoint) for path in ("/", "/write", "/clear", "/big")]
        self.middleware = SessionMiddleware(Starlette(routes=routes), **fields)
        config = self.middleware.config
        keys = [config.secret_key, *config.secret_key_fallbacks]
        # The same keys and max_age, on a fixed clock.
        self.middleware.codec = SessionCodec(
            [key.get_secret_value() for key in keys], max_age=config.max_age, clock=lambda: NOW
        )
        self.client = TestClient(self.middleware)

    def get(self, path: str, cookie: str | None = None) -> Any:
        headers = {"cookie": f"session={cookie}"} if cookie is not None else {}
        return self.client.get(path, headers=headers)

    @property
    def stats(self) -> SessionStats:
        return self.middleware.stats()


def counts(stats: SessionStats) -> dict[str, Any]:
    values = {field.name: getattr(stats, field.name) for field in dataclasses.fields(stats)}
    values["cookies_rejected"] = dict(stats.cookies_rejected)
    return values


ZERO: dict[str, Any] = {
    "cookies_accepted": 0,
    "cookies_rejected": {"signature": 0, "expired": 0, "malformed": 0, "too_large": 0},
    "fallback_key_uses": (0, 0),
    "cookies_set": 0,
    "cookies_deleted": 0,
    "too_large_errors": 0,
    "store_errors": 0,
    "csrf_rejected": 0,
}


@pytest.fixture
def site() -> Site:
    return Site(secret_key_fallbacks=[OTHER_SECRET, THIRD_SECRET], max_age=3600)


def test_a_new_middleware_counts_nothing(site: Site) -> None:
    assert counts(site.stats) == ZERO


def test_stats_are_a_frozen_snapshot(site: Site) -> None:
    before = site.stats
    site.get("/write")

    assert before.cookies_set == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.cookies_set = 5  # type: ignore[misc]  # the point: it is frozen
    with pytest.raises(TypeError):
        before.cookies_rejected["signature"] = 5  # type: ignore[index]  # read-only mapping


def test_a_write_counts_a_cookie_set(site: Site) -> None:
    site.get("/write")

    assert counts(site.stats) == ZERO | {"cookies_set": 1}


def test_a_valid_cookie_counts_as_accepted(site: Site) -> None:
    site.get("/", signed({"n": 1}))

    assert counts(site.stats) == ZERO | {"cookies_accepted": 1}


@pytest.mark.parametrize(
    ("cookie", "reason"),
    [
        pytest.param(tampered(signed({"n": 1})), "signature", id="tampered"),
        pytest.param(
            signed({"n": 1}, "LEAKCHECK-unknown-0123456789-abcdefgh"), "signature", id="unknown key"
        ),
        pytest.param(signed({"n": 1}, at=NOW - 3601), "expired", id="expired"),
        pytest.param(signed({"n": 1}, at=NOW + 61), "signature", id="from the future"),
        pytest.param("not-a-cookie", "malformed", id="malformed"),
        pytest.param("a" * 4097, "too_large", id="oversized"),
    ],
)
def test_a_refused_cookie_is_counted_by_reason(site: Site, cookie: str, reason: str) -> None:
    site.get("/", cookie)

    assert counts(site.stats) == ZERO | {"cookies_rejected": ZERO["cookies_rejected"] | {reason: 1}}


def test_a_fallback_signed_cookie_counts_its_key_and_the_re_signing(site: Site) -> None:
    site.get("/", signed({"n": 1}, THIRD_SECRET))
    site.get("/", signed({"n": 1}, THIRD_SECRET))
    site.get("/", signed({"n": 1}, OTHER_SECRET))

    assert counts(site.stats) == ZERO | {
        "cookies_accepted": 3,
        "fallback_key_uses": (1, 2),
        "cookies_set": 3,
    }


def test_the_first_use_of_each_fallback_key_is_logged_once_at_info(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cookie_session")
    for secret in (THIRD_SECRET, THIRD_SECRET, OTHER_SECRET, SECRET):
        site.get("/", signed({"n": 1}, secret))

    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name == "cookie_session" and r.levelno == logging.INFO
    ]
    assert len(messages) == 2
    assert "fallback key #2" in messages[0]
    assert "fallback key #1" in messages[1]
    assert all(SECRET not in m and OTHER_SECRET not in m for m in messages)


def test_clearing_counts_a_deletion_not_a_set(site: Site) -> None:
    site.get("/clear", signed({"n": 1}))

    assert counts(site.stats) == ZERO | {"cookies_accepted": 1, "cookies_deleted": 1}


def test_a_session_too_large_is_counted(site: Site) -> None:
    with pytest.raises(SessionTooLarge):
        site.get("/big")

    assert counts(site.stats) == ZERO | {"too_large_errors": 1}


def test_an_unchanged_read_counts_no_cookie_set(site: Site) -> None:
    site.get("/", signed({"n": 1}))
    site.get("/", signed({"n": 1}))

    assert site.stats.cookies_set == 0
    assert site.stats.cookies_accepted == 2


def test_each_refused_candidate_is_counted(site: Site) -> None:
    header = f"session=x; session={signed({'n': 1})[:-2]}AA; session={signed({'n': 2})}"
    site.client.get("/", headers={"cookie": header})

    assert counts(site.stats) == ZERO | {
        "cookies_accepted": 1,
        "cookies_rejected": ZERO["cookies_rejected"] | {"malformed": 1, "signature": 1},
    }


def test_without_fallback_keys_there_is_no_fallback_count() -> None:
    assert Site().stats.fallback_key_uses == ()
