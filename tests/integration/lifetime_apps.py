"""The application the "remember me" browser tests serve (test_browser_lifetimes.py).

uvicorn imports it as ``tests.integration.lifetime_apps:lifetime_app --factory``; like
``apps.counter_app``, each server builds its middleware from its own ``SESSION_*`` environment
variables (signed, encrypted or store-backed). The routes:

- ``/login?user=U&remember=1``: signs ``U`` in as docs/lifetimes.md's example does (the user,
  then ``regenerate()``), then ``set_max_age(REMEMBER_ME)``; ``remember=0`` calls
  ``set_max_age(None)`` instead: a cookie that ends when the browser closes.
- ``/whoami``: the signed-in user (``null`` when anonymous) and the session's ``max_age``, without
  changing the session.
- ``/visit``: counts a visit in the session, a change that sends the cookie again, without
  calling ``set_max_age``.
- ``/health``: answers once the server is ready.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from cookie_session import SessionMiddleware, get_session
from cookie_session.types import ASGIApp

REMEMBER_ME = 30 * 24 * 60 * 60
"""The lifetime a "remember me" login chooses: 30 days, in seconds."""


async def login(request: Request) -> JSONResponse:
    session = get_session(request)
    session["user"] = request.query_params["user"]
    session.regenerate()
    session.set_max_age(REMEMBER_ME if request.query_params["remember"] == "1" else None)
    return JSONResponse({"user": session["user"], "max_age": session.max_age})


async def whoami(request: Request) -> JSONResponse:
    session = get_session(request)
    return JSONResponse({"user": session.get("user"), "max_age": session.max_age})


async def visit(request: Request) -> JSONResponse:
    session = get_session(request)
    session["visits"] = session.get("visits", 0) + 1
    return JSONResponse({"user": session.get("user"), "visits": session["visits"]})


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def lifetime_app() -> ASGIApp:
    """The routes above, with session settings read from this process's environment."""
    routes = [
        Route("/login", login),
        Route("/whoami", whoami),
        Route("/visit", visit),
        Route("/health", health),
    ]
    return SessionMiddleware.from_env(Starlette(routes=routes), env_file=None)
