"""The applications the HTTP feature tests serve (test_http_features.py): one small app per
framework, each wired as docs/frameworks.md says (Starlette: ``SessionMiddleware``; Litestar:
``SharedSessions``; Quart: ``use_cookie_session``).

uvicorn imports them as ``tests.integration.feature_apps:starlette_app --factory`` (or
``litestar_app``, ``quart_app``); each server builds its configuration from its own
``SESSION_*`` environment variables (signed, encrypted or store-backed, ``csrf``,
``max_lifetime``...), and writes the ``cookie_session`` loggers' lines, audit lines included, to
its stderr, as a deployment that keeps them would. Every app has the same routes:

- ``/note`` (POST, a form with ``text``): stores ``text`` in the session, which starts it.
- ``/flash`` (POST, a form with ``message``): flashes ``message`` and redirects (303) to
  ``/flashes``, which answers the flashes it pops, as ``[[category, message], ...]``.
- ``/token``: the session's CSRF token, ``{"token": ...}``.
- ``/transfer`` (POST, a form with ``amount``): counts a run of this handler in the process
  and answers the amount it read and the count; ``/calls`` answers the count alone, without
  touching the session.
- ``/regenerate`` (POST): ``session.regenerate()``.
- ``/login`` (POST, a form with ``user``): puts ``user`` under the session's ``"user"`` key (with
  ``user_key="user"`` and a store, the session moves to a new ID).
- ``/state``: the session's ID (``null`` in cookie modes) and its contents, a read that changes
  nothing (a refresh may still re-send the cookie).
- ``/health``: answers once the server is ready.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Annotated, Any

import quart
from litestar import Litestar, MediaType, get, post
from litestar import Request as LitestarRequest
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

from cookie_session import (
    Session,
    SessionConfig,
    SessionMiddleware,
    SharedSessions,
    csrf_token,
    flash,
    get_session,
    pop_flashes,
)
from cookie_session.quart import use_cookie_session
from cookie_session.types import ASGIApp

# Litestar reads its handlers' annotations, so what they name must be found at module level.
AnyRequest = LitestarRequest[Any, Any, Any]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

handler_runs: Counter[str] = Counter()
"""How many times this process ran each counted handler (``/transfer``)."""


def _count_a_run() -> int:
    handler_runs["transfer"] += 1
    return handler_runs["transfer"]


def _config() -> SessionConfig:
    """This process's session settings, with its ``cookie_session`` log lines on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    package_logger = logging.getLogger("cookie_session")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    package_logger.propagate = False  # once, whatever the framework does with the root logger
    return SessionConfig.from_env(env_file=None)


def starlette_app() -> ASGIApp:
    """The routes on Starlette, behind ``SessionMiddleware``."""

    async def note(request: Request) -> JSONResponse:
        get_session(request)["note"] = str((await request.form())["text"])
        return JSONResponse({})

    async def flash_message(request: Request) -> RedirectResponse:
        flash(get_session(request), str((await request.form())["message"]))
        return RedirectResponse("/flashes", status_code=303)

    async def flashes(request: Request) -> JSONResponse:
        return JSONResponse(pop_flashes(get_session(request)))

    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"token": csrf_token(get_session(request))})

    async def transfer(request: Request) -> JSONResponse:
        amount = str((await request.form())["amount"])
        return JSONResponse({"amount": amount, "calls": _count_a_run()})

    async def calls(request: Request) -> JSONResponse:
        return JSONResponse({"calls": handler_runs["transfer"]})

    async def regenerate(request: Request) -> JSONResponse:
        get_session(request).regenerate()
        return JSONResponse({})

    async def login(request: Request) -> JSONResponse:
        get_session(request)["user"] = str((await request.form())["user"])
        return JSONResponse({})

    async def state(request: Request) -> JSONResponse:
        session = get_session(request)
        return JSONResponse({"session_id": session.session_id, "data": dict(session)})

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = Starlette(
        routes=[
            Route("/note", note, methods=["POST"]),
            Route("/flash", flash_message, methods=["POST"]),
            Route("/flashes", flashes),
            Route("/token", token),
            Route("/transfer", transfer, methods=["POST"]),
            Route("/calls", calls),
            Route("/regenerate", regenerate, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/state", state),
            Route("/health", health),
        ]
    )
    return SessionMiddleware(routes, config=_config())


def litestar_app() -> ASGIApp:
    """The routes on Litestar, every handler's middleware made by one ``SharedSessions``."""

    @post("/note", status_code=200)
    async def note(request: AnyRequest, data: Form) -> dict[str, str]:
        get_session(request)["note"] = data["text"]
        return {}

    @post("/flash", status_code=303)
    async def flash_message(request: AnyRequest, data: Form) -> Redirect:
        flash(get_session(request), data["message"])
        return Redirect("/flashes", status_code=303)

    @get("/flashes")
    async def flashes(request: AnyRequest) -> list[list[str]]:
        return [list(pair) for pair in pop_flashes(get_session(request))]

    @get("/token")
    async def token(request: AnyRequest) -> dict[str, str]:
        return {"token": csrf_token(get_session(request))}

    @post("/transfer", status_code=200)
    async def transfer(data: Form) -> dict[str, str | int]:
        return {"amount": data["amount"], "calls": _count_a_run()}

    @get("/calls")
    async def calls() -> dict[str, int]:
        return {"calls": handler_runs["transfer"]}

    @post("/regenerate", status_code=200)
    async def regenerate(request: AnyRequest) -> dict[str, str]:
        get_session(request).regenerate()
        return {}

    @post("/login", status_code=200)
    async def login(request: AnyRequest, data: Form) -> dict[str, str]:
        get_session(request)["user"] = data["user"]
        return {}

    @get("/state")
    async def state(request: AnyRequest) -> dict[str, Any]:
        session = get_session(request)
        return {"session_id": session.session_id, "data": dict(session)}

    @get("/health", media_type=MediaType.TEXT)
    async def health() -> str:
        return "ok"

    handlers = [note, flash_message, flashes, token, transfer, calls, regenerate, login, state]
    return Litestar(route_handlers=[*handlers, health], middleware=[SharedSessions(_config())])


def quart_app() -> ASGIApp:
    """The routes on Quart, ``quart.session`` kept by ``use_cookie_session``."""
    app = quart.Quart(__name__)
    use_cookie_session(app, _config())  # with csrf=True, it installs the check too

    def this_session() -> Session:
        # quart.session stands for the request's cookie_session Session.
        assert isinstance(quart.session, Session)
        return quart.session

    @app.post("/note")
    async def note() -> dict[str, str]:
        this_session()["note"] = (await quart.request.form)["text"]
        return {}

    @app.post("/flash")
    async def flash_message() -> quart.ResponseReturnValue:
        flash(this_session(), (await quart.request.form)["message"])
        return quart.redirect("/flashes", 303)

    @app.get("/flashes")
    async def flashes() -> list[list[str]]:
        return [list(pair) for pair in pop_flashes(this_session())]

    @app.get("/token")
    async def token() -> dict[str, str]:
        return {"token": csrf_token(this_session())}

    @app.post("/transfer")
    async def transfer() -> dict[str, str | int]:
        return {"amount": (await quart.request.form)["amount"], "calls": _count_a_run()}

    @app.get("/calls")
    async def calls() -> dict[str, int]:
        return {"calls": handler_runs["transfer"]}

    @app.post("/regenerate")
    async def regenerate() -> dict[str, str]:
        this_session().regenerate()
        return {}

    @app.post("/login")
    async def login() -> dict[str, str]:
        this_session()["user"] = (await quart.request.form)["user"]
        return {}

    @app.get("/state")
    async def state() -> dict[str, Any]:
        current = this_session()
        return {"session_id": current.session_id, "data": dict(current)}

    @app.get("/health")
    async def health() -> str:
        return "ok"

    return app
