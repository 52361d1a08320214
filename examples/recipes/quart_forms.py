"""Quart: a login form with its CSRF field, a flash after the redirect, the token as a Jinja2
global, HTMX and fetch() sending it in the header, and a test that starts signed in.

Run it with ``hypercorn examples.recipes.quart_forms:app``; see docs/frameworks.md.
"""

import jinja2
from quart import Quart, ResponseReturnValue, redirect, render_template, request, session

from cookie_session import Session, SessionConfig, csrf_token, flash, pop_flashes
from cookie_session.quart import use_cookie_session
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

app = Quart(__name__)
use_cookie_session(app, config)  # with csrf=True, it installs the check too
app.jinja_env.loader = jinja2.DictLoader(PAGES)
app.jinja_env.globals["csrf_token"] = lambda: csrf_token(session)
app.jinja_env.globals["csrf_header"] = config.csrf_header


@app.get("/login")
async def login_form() -> str:
    return await render_template("login.html", flashes=pop_flashes(session))


@app.post("/login")
async def login() -> ResponseReturnValue:
    form = await request.form  # the CSRF check has let it by: the token was right
    # quart.session stands for the request's cookie_session Session.
    assert isinstance(session, Session)
    session.regenerate()  # a new session at login: tokens from before it are worth nothing
    session["user"] = form["user"]  # a real application checks a password first
    flash(session, f"Welcome, {form['user']}", "success")
    return redirect("/", 303)


@app.get("/")
async def home() -> ResponseReturnValue:
    if "user" not in session:
        return redirect("/login", 303)
    flashes = pop_flashes(session)
    return await render_template("home.html", flashes=flashes, user=session["user"])


@app.post("/like")
async def like() -> str:
    session["likes"] = session.get("likes", 0) + 1
    return str(session["likes"])


async def test_a_signed_in_user_likes_with_the_pages_token() -> None:
    client = app.test_client()
    set_client_session(client, config, {"user": "ada"})  # no login form to go through

    page = await (await client.get("/")).get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]

    assert "Signed in as ada" in page
    liked = await client.post("/like", headers={config.csrf_header: token})
    assert await liked.get_data(as_text=True) == "1"
    assert (await client.post("/like")).status_code == 403  # no token: refused before the view
