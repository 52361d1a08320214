"""Session management with the Redis store: every piece of it in one Starlette application.

- A login moves the session to a new ID (``user_key``: the fixation defence needs no call), and
  "remember me" keeps it for 30 days (``session.set_max_age``), else until the browser closes.
- ``max_age`` ends a session idle for two hours (``refresh_after`` renews it while it is used);
  ``max_lifetime`` ends any session 30 days after its login, however active: the page says when.
- Re-entering the password before something sensitive starts the session afresh
  (``session.regenerate()``: a new ID, the lifetime and the CSRF token restarted).
- The device list (``track_devices``): every session of the signed-in user, when it started and
  was last seen, its address and browser; "log out other devices", or one device.
- Every form carries the session's CSRF token (``csrf=True``): a forged "log out other devices"
  is refused.

It needs a Redis (or Valkey); the secret and the store's URL come from the deployment::

    export SESSION_SECRET_KEY="$(cookie-session generate-secret)"
    export SESSION_STORE_URL=redis://127.0.0.1:6379/0
    uvicorn examples.session_management:app

See docs/lifetimes.md and docs/store.md.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from html import escape

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from cookie_session import (
    RedisSessionStore,
    Session,
    SessionConfig,
    SessionInfo,
    SessionMiddleware,
    csrf_token,
    flash,
    get_session,
    pop_flashes,
)
from cookie_session.session import STARTED_KEY

USER_KEY = "user"
THIRTY_DAYS = 30 * 24 * 60 * 60
SHOWN_ID_CHARACTERS = 12
"""How much of a session ID the page shows, and a "log out this device" form names: enough to
tell a user's sessions apart, never enough to be the ID."""

config = SessionConfig.from_env(
    user_key=USER_KEY,  # a login moves the session to a new ID; sessions are listed by user
    track_devices=True,  # started, last seen, address, User-Agent: personal data, kept on purpose
    max_age=2 * 60 * 60,  # idle: two hours without a request end a session...
    refresh_after=10 * 60,  # ...counted from the last request, renewed at most every 10 minutes
    max_lifetime=THIRTY_DAYS,  # absolute: 30 days after the login, whatever the activity
    csrf=True,
)
store = RedisSessionStore.from_config(config)  # the application's own handle on the sessions


async def home(request: Request) -> HTMLResponse:
    session = get_session(request)
    user = session.get(USER_KEY)
    if user is None:
        body = f"""<form method="post" action="/login">{csrf_field(session)}
  <input name="user" required aria-label="User"> <input type="password" name="password"
  aria-label="Password"> <label><input type="checkbox" name="remember"> Remember me</label>
  <button>Sign in</button>
</form>"""
    else:
        devices = "\n".join(
            device_row(info, session) for info in await store.list_sessions(str(user))
        )
        body = f"""<p>Signed in as <strong id="user">{escape(str(user))}</strong>.
{lifetime(session)}</p>
<table id="devices">
<tr><th>session</th><th>started</th><th>last seen</th><th>address</th><th>browser</th><th></th></tr>
{devices}
</table>
<form method="post" action="/logout-other-devices">{csrf_field(session)}
  <button>Log out other devices</button></form>
<form method="post" action="/reauthenticate">{csrf_field(session)}
  <input type="password" name="password" aria-label="Password">
  <button>Confirm my password</button></form>
<form method="post" action="/logout">{csrf_field(session)}<button>Log out</button></form>"""
    flashes = "".join(
        f'<p class="flash">{escape(item.message)}</p>' for item in pop_flashes(session)
    )
    return HTMLResponse(f"<!doctype html>\n<title>Your sessions</title>\n{flashes}\n{body}\n")


async def login(request: Request) -> Response:
    form = await request.form()
    user = field(form, "user")
    if not user:  # a real application checks the password here
        return RedirectResponse("/", status_code=303)
    session = get_session(request)
    # With user_key, changing the user moves the session to a new ID when the response starts
    # (the old one deleted) and restarts its lifetime and CSRF token: no regenerate() needed.
    session[USER_KEY] = user
    session.set_max_age(THIRTY_DAYS if field(form, "remember") else None)
    return RedirectResponse("/", status_code=303)


async def reauthenticate(request: Request) -> Response:
    """A privilege change within one user (a password confirmed before something sensitive):
    the user does not change, so the session is started afresh by hand."""
    session = get_session(request)
    if session.get(USER_KEY) is not None:  # a real application checks the password here
        session["confirmed_at"] = int(time.time())
        session.regenerate()
        flash(session, "Password confirmed.")
    return RedirectResponse("/", status_code=303)


async def log_out_other_devices(request: Request) -> Response:
    session = get_session(request)
    user = session.get(USER_KEY)
    if user is not None:
        ended = await store.revoke_other_sessions(str(user), keep=session.session_id)
        flash(session, f"Logged out {ended} other device{'s' if ended != 1 else ''}.")
    return RedirectResponse("/", status_code=303)


async def log_out_device(request: Request) -> Response:
    """End one session of the signed-in user, named by the start of its ID as the page shows
    it; only that user's own sessions are looked at, so no one can end another user's."""
    session = get_session(request)
    user = session.get(USER_KEY)
    shown = field(await request.form(), "session")
    if user is not None and len(shown) == SHOWN_ID_CHARACTERS:
        matching = [
            session_id
            for session_id in await store.user_sessions(str(user))
            if session_id.startswith(shown)
        ]
        if matching == [session.session_id]:
            session.clear()  # this device: a plain logout
        elif len(matching) == 1 and await store.revoke(matching[0]):
            flash(session, "Logged out that device.")
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> Response:
    get_session(request).clear()  # the stored data and the cookie are deleted
    return RedirectResponse("/", status_code=303)


def device_row(info: SessionInfo, session: Session) -> str:
    """One row of the device list; everything a client sent is escaped (a User-Agent is
    whatever the client chose to send)."""
    shown = info.session_id[:SHOWN_ID_CHARACTERS]
    if info.session_id == session.session_id:
        action = '<strong class="this-device">this device</strong>'
    else:
        action = (
            f'<form method="post" action="/logout-device">{csrf_field(session)}'
            f'<input type="hidden" name="session" value="{escape(shown)}">'
            "<button>Log out</button></form>"
        )
    cells = [
        f"{shown}…",
        when(info.started_at),
        when(info.last_seen),
        info.ip or "-",
        info.user_agent or "-",
    ]
    return (
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + f"<td>{action}</td></tr>"
    )


def lifetime(session: Session) -> str:
    """How long this session lasts: its own lifetime ("remember me" or the browser's session),
    and with ``max_lifetime`` when it ends at the latest."""
    kept = (
        "is forgotten when the browser closes"
        if session.max_age is None
        else f"is remembered for {session.max_age // 86400} days without a visit"
    )
    started = session.get(STARTED_KEY)  # when it started: seconds since the epoch
    if not isinstance(started, int) or config.max_lifetime is None:
        return f'<span id="lifetime">This session {kept}.</span>'
    ends = datetime.fromtimestamp(started + config.max_lifetime, UTC)
    return (
        f'<span id="lifetime">This session {kept}, and ends at {when(ends)} whatever you do.</span>'
    )


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def csrf_field(session: Session) -> str:
    name, token = escape(config.csrf_field), escape(csrf_token(session))
    return f'<input type="hidden" name="{name}" value="{token}">'


def field(form: FormData, name: str) -> str:
    """A text field of a posted form, stripped; empty when it is missing."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    await store.aclose()


app = Starlette(
    routes=[
        Route("/", home),
        Route("/login", login, methods=["POST"]),
        Route("/reauthenticate", reauthenticate, methods=["POST"]),
        Route("/logout-other-devices", log_out_other_devices, methods=["POST"]),
        Route("/logout-device", log_out_device, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ],
    middleware=[Middleware(SessionMiddleware, config=config)],
    lifespan=lifespan,
)
