"""The application the integration tests serve, through uvicorn or called directly.

uvicorn imports it as ``tests.integration.apps:counter_app --factory``: each server process
builds its middleware from its own ``SESSION_*`` environment variables, as a deployment would.
The routes:

- ``/counter?marker=M``: adds one to the session's count; the first visit stores ``M`` as the
  session's marker. Answers the count, the session's marker and the serving process's id.
- ``/peek``: the session's contents; ``/replace`` (POST, a JSON object): becomes the session.
- ``/clear``: empties the session.
- ``/cookies``: the names of the cookies the request carried, without touching the session.
- ``/link?to=URL``: a page with one link, ``#go``, to ``URL``.
- ``/health``: answers once the server is ready.

Everything but ``/health`` and ``/link`` is also under ``/app``, for cookies with that path.

``tests.integration.apps:demo_app`` serves the demo page of ``cookie-session demo`` instead;
``tests.integration.apps:metrics_app`` serves ``counter_app`` with ``/metrics``, the Prometheus
recipe of docs/observability.md.
"""

from __future__ import annotations

import asyncio
import html
import os

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from cookie_session import SessionConfig, SessionMiddleware, get_session
from cookie_session.demo import create_app
from cookie_session.prometheus import SessionStatsCollector
from cookie_session.types import ASGIApp


async def counter(request: Request) -> JSONResponse:
    session = get_session(request)
    await asyncio.sleep(0)  # let other requests run meanwhile, as awaiting a database would
    session["count"] = session.get("count", 0) + 1
    marker = session.setdefault("marker", request.query_params.get("marker", ""))
    return JSONResponse({"count": session["count"], "marker": marker, "pid": os.getpid()})


async def peek(request: Request) -> JSONResponse:
    return JSONResponse(dict(get_session(request)))


async def replace(request: Request) -> JSONResponse:
    session = get_session(request)
    session.clear()
    session.update(await request.json())
    return JSONResponse({"stored": len(session)})


async def clear(request: Request) -> JSONResponse:
    get_session(request).clear()
    return JSONResponse({"cleared": True})


async def cookies(request: Request) -> JSONResponse:
    return JSONResponse({"cookies": sorted(request.cookies)})


async def link(request: Request) -> HTMLResponse:
    target = html.escape(request.query_params["to"])
    return HTMLResponse(f'<!doctype html><a id="go" href="{target}">go</a>')


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


_SESSION_ROUTES = [
    Route("/counter", counter),
    Route("/peek", peek),
    Route("/replace", replace, methods=["POST"]),
    Route("/clear", clear),
    Route("/cookies", cookies),
]


def routes() -> Starlette:
    """The application without session middleware."""
    return Starlette(
        routes=[
            *_SESSION_ROUTES,
            Mount("/app", routes=_SESSION_ROUTES),
            Route("/other", cookies),
            Route("/link", link),
            Route("/health", health),
        ]
    )


def counter_app() -> ASGIApp:
    """The application with its session settings read from this process's environment."""
    return SessionMiddleware.from_env(routes(), env_file=None)


def metrics_app() -> ASGIApp:
    """``counter_app`` plus ``/metrics``: this process's session counters for Prometheus."""
    registry = CollectorRegistry()

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app = routes()
    app.add_route("/metrics", metrics)
    sessions = SessionMiddleware.from_env(app, env_file=None)
    registry.register(SessionStatsCollector(sessions.stats))
    return sessions


def demo_app() -> FastAPI:
    """The page of ``cookie-session demo``, with the notice it shows when it had to make its own
    secret (the page's tallest header), its settings read from this process's environment, and
    ``/health``."""
    app = create_app(SessionConfig.from_env(env_file=None), throwaway_secret=True)
    app.add_route("/health", health)
    return app
