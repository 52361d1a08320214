"""SessionMiddleware's typing: the documented calls pass ``mypy --strict``, mistakes do not.

mypy checks this module in the project's main run (mypy.ini covers ``tests/``), which proves the
documented calls type-check; the tests here prove at run time that the same calls work. The
snippets under ``tests/typing_rejected/`` are excluded from that run: each holds one mistake, and
the tests below run mypy on it and require exactly the error that mistake deserves.
"""

from __future__ import annotations

from functools import partial
from typing import Any, assert_type

import litestar
import pytest
from fastapi import FastAPI
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient as LitestarTestClient
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import REFERENCE_SECRET
from cookie_session import Session, SessionConfig, SessionMiddleware, TypedSession, get_session
from mypy_check import assert_rejected_at_mistake

ENV_SECRET = "an-environment-secret-0123456789-abcdef"


async def write_session(request: Request) -> JSONResponse:
    session = get_session(request)
    assert_type(session, Session)
    session["user"] = "ada"
    return JSONResponse({"session_type": type(session).__name__})


def starlette_app() -> Starlette:
    return Starlette(routes=[Route("/", write_session)])


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_api_route("/", write_session)
    return app


def set_cookie_of(app: Starlette) -> str:
    """The Set-Cookie header the application sends after writing to the session."""
    response = TestClient(app).get("/")
    assert response.status_code == 200
    return response.headers["set-cookie"]


def assert_configured_as_the_reference(app: Starlette) -> None:
    assert_is_the_reference_cookie(set_cookie_of(app))


def assert_is_the_reference_cookie(cookie: str) -> None:
    assert cookie.startswith("fastrapi_session=")
    assert "Max-Age=3600" in cookie.split("; ")


@litestar.get("/")
async def litestar_write_session(request: litestar.Request[Any, Any, Any]) -> None:
    request.session["user"] = "ada"


def litestar_set_cookie_of(app: litestar.Litestar | SessionMiddleware) -> str:
    """The Set-Cookie header a Litestar application sends after writing to the session."""
    with LitestarTestClient(app=app) as client:
        response = client.get("/")
    assert response.status_code == 200
    return response.headers["set-cookie"]


# -- accepted calls ---------------------------------------------------------------------------
# The reference call is written out for each framework so that mypy checks it against each.


def test_reference_call_configures_a_starlette_app() -> None:
    app = starlette_app()
    app.add_middleware(
        SessionMiddleware,
        secret_key="your-secret-key-min-32-characters-long",
        session_cookie="fastrapi_session",
        max_age=3600,
        https_only=False,
    )
    assert_configured_as_the_reference(app)


def test_reference_call_configures_a_fastapi_app() -> None:
    app = fastapi_app()
    app.add_middleware(
        SessionMiddleware,
        secret_key="your-secret-key-min-32-characters-long",
        session_cookie="fastrapi_session",
        max_age=3600,
        https_only=False,
    )
    assert_configured_as_the_reference(app)


@pytest.mark.usefixtures("clean_env")
def test_add_middleware_takes_a_config_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", ENV_SECRET)
    monkeypatch.setenv("SESSION_COOKIE", "from_env")
    app = fastapi_app()
    app.add_middleware(SessionMiddleware, config=SessionConfig.from_env())
    assert set_cookie_of(app).startswith("from_env=")


@pytest.mark.usefixtures("clean_env")
def test_from_env_builds_a_typed_middleware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", ENV_SECRET)
    middleware = SessionMiddleware.from_env(starlette_app())
    assert_type(middleware, SessionMiddleware)
    assert middleware.config.secret_key.get_secret_value() == ENV_SECRET


def test_get_session_returns_the_session_object() -> None:
    app = starlette_app()
    app.add_middleware(SessionMiddleware, secret_key="your-secret-key-min-32-characters-long")
    assert TestClient(app).get("/").json() == {"session_type": "Session"}


# Litestar calls middleware with ``app=`` and types its scopes and messages as TypedDicts, which
# SessionMiddleware accepts as they are. DefineMiddleware takes ``**kwargs: Any``, so its
# keywords are checked at start-up only; functools.partial's are checked by mypy too.


def test_define_middleware_configures_a_litestar_app() -> None:
    app = litestar.Litestar(
        route_handlers=[litestar_write_session],
        middleware=[
            DefineMiddleware(
                SessionMiddleware,
                secret_key="your-secret-key-min-32-characters-long",
                session_cookie="fastrapi_session",
                max_age=3600,
                https_only=False,
            )
        ],
    )
    assert_is_the_reference_cookie(litestar_set_cookie_of(app))


def test_define_middleware_takes_a_config() -> None:
    config = SessionConfig(
        secret_key="your-secret-key-min-32-characters-long",
        session_cookie="fastrapi_session",
        max_age=3600,
    )
    app = litestar.Litestar(
        route_handlers=[litestar_write_session],
        middleware=[DefineMiddleware(SessionMiddleware, config=config)],
    )
    assert_is_the_reference_cookie(litestar_set_cookie_of(app))


def test_partial_configures_a_litestar_app() -> None:
    app = litestar.Litestar(
        route_handlers=[litestar_write_session],
        middleware=[
            partial(
                SessionMiddleware,
                secret_key="your-secret-key-min-32-characters-long",
                session_cookie="fastrapi_session",
                max_age=3600,
                https_only=False,
            )
        ],
    )
    assert_is_the_reference_cookie(litestar_set_cookie_of(app))


def test_a_litestar_app_can_be_wrapped_directly() -> None:
    app = SessionMiddleware(
        litestar.Litestar(route_handlers=[litestar_write_session]),
        secret_key="your-secret-key-min-32-characters-long",
        session_cookie="fastrapi_session",
        max_age=3600,
    )
    assert_is_the_reference_cookie(litestar_set_cookie_of(app))


class LitestarCart(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    items: list[int] = []


litestar_cart = TypedSession(LitestarCart, key="cart")


@litestar.get("/cart")
async def litestar_add_to_cart(request: litestar.Request[Any, Any, Any]) -> dict[str, int]:
    # mypy checks that a Litestar request, whose scope is a TypedDict, is accepted by both.
    cart = litestar_cart.load(request)
    cart.items.append(len(cart.items))
    return {"items": len(cart.items), "keys": len(get_session(request))}


def test_get_session_and_typed_sessions_take_a_litestar_request() -> None:
    app = SessionMiddleware(
        litestar.Litestar(route_handlers=[litestar_add_to_cart]), secret_key=REFERENCE_SECRET
    )
    with LitestarTestClient(app=app) as client:
        client.get("/cart")
        response = client.get("/cart")

    assert response.json() == {"items": 2, "keys": 1}


# -- rejected snippets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param(
            "middleware_misspelt_keyword.py",
            'error: Unexpected keyword argument "samesite" for "add_middleware" of "Starlette"; '
            'did you mean "same_site"?  [call-arg]',
            id="samesite=",
        ),
        pytest.param(
            "middleware_max_age_not_int.py",
            'error: Argument "max_age" to "add_middleware" of "Starlette" has incompatible '
            'type "str"; expected "int | None"  [arg-type]',
            id="max_age='x'",
        ),
        pytest.param(
            "middleware_same_site_not_allowed.py",
            'error: Argument "same_site" to "add_middleware" of "Starlette" has incompatible '
            "type \"Literal['bogus']\"; expected \"Literal['lax', 'strict', 'none']\"  [arg-type]",
            id="same_site='bogus'",
        ),
    ],
)
def test_mypy_rejects_a_wrong_add_middleware_call(
    snippet: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_rejected_at_mistake(snippet, expected, monkeypatch)


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param(
            "litestar_partial_misspelt_keyword.py",
            'error: Unexpected keyword argument "samesite" for "SessionMiddleware"; '
            'did you mean "same_site"?  [call-arg]',
            id="samesite=",
        ),
        pytest.param(
            "litestar_partial_max_age_not_int.py",
            'error: Argument "max_age" to "SessionMiddleware" has incompatible type "str"; '
            'expected "int | None"  [arg-type]',
            id="max_age='x'",
        ),
        pytest.param(
            "middleware_app_not_asgi.py",
            'error: Argument 1 to "SessionMiddleware" has incompatible type '
            '"Callable[[object, object, object], None]"; expected "Callable[[Any, Callable[[], '
            'Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]"  [arg-type]',
            id="sync app",
        ),
    ],
)
def test_mypy_rejects_a_wrong_litestar_middleware(
    snippet: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_rejected_at_mistake(snippet, expected, monkeypatch)
