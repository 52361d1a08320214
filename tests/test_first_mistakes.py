"""The first mistakes a new user makes are said out loud: settings refused while Starlette builds
the middleware lazily are logged at ERROR, and https_only over plain http warns once."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionMiddleware


async def count(request: Request) -> PlainTextResponse:
    request.session["n"] = request.session.get("n", 0) + 1
    return PlainTextResponse(str(request.session["n"]))


def secure_app() -> SessionMiddleware:
    return SessionMiddleware(
        Starlette(routes=[Route("/", count)]), secret_key=SECRET, https_only=True
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.name == "cookie_session"
    ]


def test_refused_keyword_settings_are_logged_at_error_before_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    too_short = "LEAKCHECK-short"
    app = Starlette(
        routes=[Route("/", count)],
        middleware=[Middleware(SessionMiddleware, secret_key=too_short, same_site="bogus")],  # type: ignore[arg-type]  # a refused value on purpose
    )

    with (
        caplog.at_level(logging.ERROR, logger="cookie_session"),
        pytest.raises(ValidationError),
        TestClient(app),  # the lifespan start-up builds the middleware
    ):
        pass

    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(line.startswith("session settings refused: secret_key: ") for line in lines)
    assert any(line.startswith("session settings refused: same_site: ") for line in lines)
    assert too_short not in caplog.text


@pytest.mark.parametrize("host", ["app.internal", "192.168.1.20:8000", "web"])
def test_https_only_over_plain_http_to_another_host_warns_once(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cookie_session"):
        client = TestClient(secure_app(), base_url=f"http://{host}")
        client.get("/")
        client.get("/")

    [warning] = warnings_of(caplog)
    assert f"plain http to {host}" in warning
    assert "https_only" in warning


@pytest.mark.parametrize(
    "base_url",
    [
        "https://app.internal",
        "http://localhost:8000",
        "http://127.0.0.1",
        "http://[::1]:8000",
        "http://shop.localhost",
    ],
)
def test_https_only_over_https_or_to_this_machine_does_not_warn(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cookie_session"):
        TestClient(secure_app(), base_url=base_url).get("/")

    assert warnings_of(caplog) == []


def test_without_https_only_plain_http_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    app = SessionMiddleware(Starlette(routes=[Route("/", count)]), secret_key=SECRET)

    with caplog.at_level(logging.WARNING, logger="cookie_session"):
        TestClient(app, base_url="http://app.internal").get("/")

    assert warnings_of(caplog) == []


def test_with_csrf_a_checked_request_is_looked_at_and_the_look_then_leaves_the_check_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    application = Starlette(routes=[Route("/hook", count, methods=["POST"])])
    middleware = SessionMiddleware(
        application, secret_key=SECRET, https_only=True, csrf=True, csrf_exempt=["/hook"]
    )

    with caplog.at_level(logging.WARNING, logger="cookie_session"):
        response = TestClient(middleware, base_url="http://app.internal").post("/hook")

    assert response.status_code == 200  # exempt: the check handed it on
    [warning] = warnings_of(caplog)
    assert "plain http to app.internal" in warning
    assert middleware.inner is application
    assert middleware.csrf is not None
    assert middleware.csrf.app is application
