"""The application the CSRF browser tests serve: ``tests.integration.csrf_apps:csrf_app``.

A bank of one visitor, behind SessionMiddleware configured from the environment (the tests set
``SESSION_CSRF=true``), rendering its token with the Jinja2 global of docs/csrf.md:

- ``/form``: a page with the token in a ``<meta>`` tag and in a form posting ``amount`` to
  ``/transfer`` (button ``#send``), and a button ``#fetch`` that posts JSON to
  ``/api/transfer`` with the meta tag's token in the ``X-CSRF-Token`` header (``#no-header``:
  the same without it), writing the status and body into ``#result``.
- ``/transfer`` (POST, a form), ``/api/transfer`` (POST, JSON): add the amount to the session's
  transfers; ``/transfers``: the session's transfers.
- ``/attack?target=URL``: another site's page with a form (button ``#send``) posting a
  transfer of 1000000 to ``URL``, without a token (it cannot have one).
- ``/health``: answers once the server is ready.
"""

from __future__ import annotations

import html

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from cookie_session import SessionMiddleware, csrf_token, get_session
from cookie_session.types import ASGIApp

FORM_PAGE = """<!doctype html>
<html><head>
<meta name="csrf-token" content="{{ csrf_token(request) }}">
</head><body>
<form method="post" action="/transfer">
  <input type="hidden" name="csrf_token" value="{{ csrf_token(request) }}">
  <input name="amount" value="5">
  <button id="send" type="submit">Send</button>
</form>
<button id="fetch" onclick="post(true)">Fetch</button>
<button id="no-header" onclick="post(false)">Fetch without the header</button>
<pre id="result"></pre>
<script>
async function post(withToken) {
  const headers = {"Content-Type": "application/json"};
  if (withToken) {
    headers["X-CSRF-Token"] = document.querySelector('meta[name="csrf-token"]').content;
  }
  const response = await fetch("/api/transfer", {
    method: "POST", headers, body: JSON.stringify({amount: 7}),
  });
  document.getElementById("result").textContent =
    response.status + " " + (await response.text());
}
</script>
</body></html>
"""

templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.DictLoader({"form.html": FORM_PAGE}), autoescape=True)
)
templates.env.globals["csrf_token"] = lambda request: csrf_token(get_session(request))


async def form(request: Request) -> Response:
    return templates.TemplateResponse(request, "form.html")


async def transfer(request: Request) -> HTMLResponse:
    amount = int(str((await request.form())["amount"]))
    session = get_session(request)
    session["transfers"] = [*session.get("transfers", []), amount]
    return HTMLResponse(f'<!doctype html><p id="done">transferred {amount}</p>')


async def api_transfer(request: Request) -> JSONResponse:
    amount = int((await request.json())["amount"])
    session = get_session(request)
    session["transfers"] = [*session.get("transfers", []), amount]
    return JSONResponse({"transferred": amount})


async def transfers(request: Request) -> JSONResponse:
    return JSONResponse(get_session(request).get("transfers", []))


async def attack(request: Request) -> HTMLResponse:
    target = html.escape(request.query_params["target"])
    return HTMLResponse(
        f'<!doctype html><form method="post" action="{target}">'
        '<input type="hidden" name="amount" value="1000000">'
        '<button id="send" type="submit">Win a prize</button></form>'
    )


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def csrf_app() -> ASGIApp:
    """The bank, with its session settings read from this process's environment."""
    routes = Starlette(
        routes=[
            Route("/form", form),
            Route("/transfer", transfer, methods=["POST"]),
            Route("/api/transfer", api_transfer, methods=["POST"]),
            Route("/transfers", transfers),
            Route("/attack", attack),
            Route("/health", health),
        ]
    )
    return SessionMiddleware.from_env(routes, env_file=None)
