"""FastAPI: a login form with its CSRF field, a flash after the redirect, the token as a Jinja2
global, HTMX and fetch() sending it in the header, and a test that starts signed in.

Run it with ``uvicorn examples.recipes.fastapi_forms:app``; see docs/frameworks.md.
"""

from typing import Annotated

import jinja2
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from fastapi.testclient import TestClient
from jinja2.runtime import Context

from cookie_session import (
    SessionConfig,
    SessionMiddleware,
    csrf_token,
    flash,
    get_session,
    pop_flashes,
)
from cookie_session.testing import set_client_session

# csrf=True: every POST needs the session's token, in the form or in the header.
config = SessionConfig(secret_key="your-secret-key-min-32-characters-long", csrf=True)

PAGES = {
    "base.html": """<!doctype html>
<meta name="csrf-token" content="{{ csrf_token() }}">
<script src="https://unpkg.com/htmx.org@2.0.4"></script>
<body hx-headers='{"{{ csrf_header }}": "{{ csrf_token() }}"}'>
{% for category, message in flashes %}<p class="{{ category }}">{{ message }}</p>{% endfor %}
{% block content %}{% endblock %}
</body>""",
    "login.html": """{% extends "base.html" %}{% block content %}
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input name="user"> <button>Sign in</button>
</form>{% endblock %}""",
    "home.html": """{% extends "base.html" %}{% block content %}
<p>Signed in as {{ user }}</p>
<button hx-post="/like" hx-target="#likes">Like (HTMX)</button>
<button onclick="like()">Like (fetch)</button> <span id="likes"></span>
<script>
  async function like() {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch("/like", {method: "POST", headers: {"{{ csrf_header }}": token}});
    document.getElementById("likes").textContent = await response.text();
  }
</script>{% endblock %}""",
}


@jinja2.pass_context
def csrf_token_of_request(context: Context) -> str:
    return csrf_token(get_session(context["request"]))


templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.DictLoader(PAGES), autoescape=True)
)
templates.env.globals["csrf_token"] = csrf_token_of_request
templates.env.globals["csrf_header"] = config.csrf_header

app = FastAPI()
app.add_middleware(SessionMiddleware, config=config)


@app.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    flashes = pop_flashes(request.session)
    return templates.TemplateResponse(request, "login.html", {"flashes": flashes})


@app.post("/login")
def login(request: Request, user: Annotated[str, Form()]) -> RedirectResponse:
    # The CSRF check has let the form by: its csrf_token field was right.
    session = get_session(request)
    session.regenerate()  # a new session at login: tokens from before it are worth nothing
    session["user"] = user  # a real application checks a password first
    flash(session, f"Welcome, {user}", "success")
    return RedirectResponse("/", status_code=303)


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    if "user" not in request.session:
        return RedirectResponse("/login", status_code=303)
    context = {"flashes": pop_flashes(request.session), "user": request.session["user"]}
    return templates.TemplateResponse(request, "home.html", context)


@app.post("/like", response_class=PlainTextResponse)
def like(request: Request) -> str:
    request.session["likes"] = request.session.get("likes", 0) + 1
    return str(request.session["likes"])


def test_a_signed_in_user_likes_with_the_pages_token() -> None:
    client = TestClient(app)
    set_client_session(client, config, {"user": "ada"})  # no login form to go through

    page = client.get("/")
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]

    assert "Signed in as ada" in page.text
    assert client.post("/like", headers={config.csrf_header: token}).text == "1"
    assert client.post("/like").status_code == 403  # no token: refused before the handler
