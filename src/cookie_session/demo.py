"""The demo behind ``cookie-session demo``: the reference counter example grown into a page.

This module needs the ``demo`` extra (FastAPI and uvicorn); nothing else in the package imports it.
Every request's state lives in the cookie (signed, or encrypted with ``SESSION_ENCRYPT=true``),
or in Redis with ``SESSION_STORE_URL``: the page shows the visit count, stored notes,
the session as the server decoded it, and the attributes of the cookie this configuration sends;
with a store, also this session's ID, and with ``SESSION_USER_KEY`` a "log in as" form, the
user's devices ("this device" marked; when each started and was last seen, from which address
and browser with ``SESSION_TRACK_DEVICES=true``), "log out other devices" and "log out
everywhere". With ``SESSION_MAX_LIFETIME`` the page says how long the session has left.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from html import escape
from typing import Final, NamedTuple
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response

from cookie_session._durations import duration, seconds_and_duration
from cookie_session.codec import MAX_COOKIE_BYTES, SessionCodec
from cookie_session.config import SessionConfig
from cookie_session.cookie import attributes as _attributes
from cookie_session.csrf import csrf_token
from cookie_session.devices import SessionInfo
from cookie_session.flash import flash, pop_flashes
from cookie_session.middleware import SessionMiddleware
from cookie_session.sealed import SEALED_PREFIX
from cookie_session.session import STARTED_KEY, Session, get_session
from cookie_session.stats import SessionStats
from cookie_session.store import RedisSessionStore
from cookie_session.types import ASGIApp

__all__ = ["create_app", "serve"]

MAX_NOTE_LENGTH: Final = 200
MAX_NOTES: Final = 5
"""Older notes are dropped: a session must fit in one 4096-byte cookie."""
SHOWN_ID_CHARACTERS: Final = 12
"""How much of a session ID the device list shows: enough to tell sessions apart."""
MAX_SESSION_JSON: Final = 2400
"""Older notes are also dropped while the session's JSON is longer than this (a non-ASCII
character takes six): base64 makes it at most 3200 bytes, leaving room for the signature and
the attributes within the cookie's 4096."""


class _CookieAttribute(NamedTuple):
    """One attribute of the session's Set-Cookie header, explained for the page."""

    name: str
    sent: str | None
    """The attribute as it appears in the header, or ``None`` when it is left out."""
    meaning: str


def create_app(config: SessionConfig, *, throwaway_secret: bool = False) -> FastAPI:
    """The demo application, with ``SessionMiddleware`` configured by ``config``.

    ``throwaway_secret`` puts a notice on the page that sessions end when the server restarts.
    """
    app = FastAPI(title="cookie-session demo", docs_url=None, redoc_url=None, openapi_url=None)
    sessions: SessionMiddleware | None = None

    def session_middleware(inner: ASGIApp) -> SessionMiddleware:
        # FastAPI builds its middleware itself, on the first request: keep the instance it
        # builds, whose counters the page shows.
        nonlocal sessions
        sessions = SessionMiddleware(inner, config=config)
        return sessions

    app.add_middleware(session_middleware)
    # The application's own handle on the store, for listing and revoking a user's sessions.
    store = RedisSessionStore.from_config(config) if config.store_url is not None else None

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request) -> HTMLResponse:
        assert sessions is not None  # built before any request reaches a route
        cookie = request.cookies.get(config.session_cookie)
        csrf = _csrf_field(config, get_session(request))
        store_card = await _store_card(store, config, get_session(request), csrf)
        return HTMLResponse(
            _render_page(
                config, request, cookie, throwaway_secret, sessions.stats(), store_card, csrf
            )
        )

    @app.get("/counter")
    def session_counter(request: Request) -> JSONResponse:
        """The reference documentation's example: every visit adds one."""
        counter = request.session.get("counter", 0) + 1
        request.session["counter"] = counter
        return JSONResponse({"counter": counter})

    @app.post("/increment")
    def increment(request: Request) -> Response:
        session = get_session(request)
        session["counter"] = session.get("counter", 0) + 1
        return _back_to_page()

    @app.post("/note")
    async def store_note(request: Request) -> Response:
        note = await _form_field(request, "note")
        if len(note) > MAX_NOTE_LENGTH:
            return PlainTextResponse(
                f"A note may have at most {MAX_NOTE_LENGTH} characters.", status_code=400
            )
        if note:
            session = get_session(request)
            notes = session.setdefault("notes", [])
            notes.append(note)  # changed in place: the middleware notices that too
            del notes[:-MAX_NOTES]
            while len(notes) > 1 and len(SessionCodec.serialise(session)) > MAX_SESSION_JSON:
                del notes[0]
            flash(session, "Note stored.")  # shown once, on the page the redirect leads to
        return _back_to_page()

    @app.post("/clear")
    def clear(request: Request) -> Response:
        get_session(request).clear()  # an empty session deletes the cookie
        return _back_to_page()

    @app.post("/login")
    async def log_in(request: Request) -> Response:
        user = await _form_field(request, "user")
        if config.user_key is None or not user or len(user) > MAX_NOTE_LENGTH:
            return PlainTextResponse("Log in needs SESSION_USER_KEY and a name.", status_code=400)
        get_session(request)[config.user_key] = user  # a new session ID: fixation defence
        return _back_to_page()

    @app.post("/logout-other-devices")
    async def log_out_other_devices(request: Request) -> Response:
        session = get_session(request)
        user = session.get(config.user_key) if config.user_key else None
        if store is not None and user is not None:
            ended = await store.revoke_other_sessions(user, keep=session.session_id)
            flash(session, _logged_out(ended))
        return _back_to_page()

    @app.post("/logout-everywhere")
    async def log_out_everywhere(request: Request) -> Response:
        user = get_session(request).get(config.user_key) if config.user_key else None
        if store is not None and user is not None:
            await store.revoke_user(user)  # this device's session too
        return _back_to_page()

    return app


async def _form_field(request: Request, name: str) -> str:
    """One field of a posted form, stripped; empty when it is missing."""
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    return form.get(name, [""])[0].strip()


def _logged_out(count: int) -> str:
    """The flash after "log out other devices"."""
    if count == 0:
        return "No other device was signed in."
    return f"Logged out {count} other device{'s' if count != 1 else ''}."


def serve(config: SessionConfig, *, host: str, port: int, throwaway_secret: bool) -> None:
    """Serve the demo with uvicorn until interrupted."""
    uvicorn.run(create_app(config, throwaway_secret=throwaway_secret), host=host, port=port)


def _cookie_attributes(config: SessionConfig) -> list[_CookieAttribute]:
    """Every attribute the session cookie may carry, and what this configuration makes of it;
    what is sent is SessionCookie's own list, the one the middleware writes."""
    sent = {attribute.partition("=")[0]: attribute for attribute in _attributes(config)}
    max_age = config.max_age
    same_site_meaning = {
        "lax": "sent with same-site requests and with links followed from other sites",
        "strict": "sent with same-site requests only, never from another site",
        "none": "sent with cross-site requests too",
    }
    meanings = {
        "Max-Age": f"the browser keeps the cookie for {seconds_and_duration(max_age)}"
        if max_age is not None
        else "left out (max_age is none): the cookie ends when the browser closes",
        "Path": f"sent with requests to {config.path} and below",
        "HttpOnly": "always: page scripts cannot read the cookie",
        "SameSite": same_site_meaning[config.same_site],
        "Secure": "sent over HTTPS only"
        if config.https_only
        else "left out (https_only is false): the cookie also travels over plain HTTP",
        "Domain": f"shared with {config.domain} and its subdomains"
        if config.domain is not None
        else "left out: this host only",
        "Partitioned": "kept separately for each top-level site (CHIPS)"
        if config.partitioned
        else "left out: one cookie for every site that embeds this one",
    }
    return [_CookieAttribute(name, sent.get(name), meaning) for name, meaning in meanings.items()]


def _csrf_field(config: SessionConfig, session: Session) -> str:
    """The hidden field every form of the page carries when ``csrf`` is on (SESSION_CSRF)."""
    if not config.csrf:
        return ""
    token = escape(csrf_token(session))
    return f'<input type="hidden" name="{escape(config.csrf_field)}" value="{token}">'


def _back_to_page() -> Response:
    # 303: the browser follows with a GET, so reloading the page does not repeat the form.
    return RedirectResponse("/", status_code=303)


def _readability(cookie: str) -> str:
    """Who can read the cookie the browser sent, and its first characters, which show why."""
    start = cookie[:24] + "…"
    if cookie.startswith(SEALED_PREFIX.decode()):
        return f"encrypted ({start}): only a server holding the key can read it."
    return (
        f"signed, not encrypted ({start}): anyone holding it can read the session by "
        "base64-decoding the part before the first dot; SESSION_ENCRYPT=true hides it."
    )


async def _store_card(
    store: RedisSessionStore | None, config: SessionConfig, session: Session, csrf: str = ""
) -> str:
    """The "Sessions in Redis" card: this session's ID, or the signed-in user's devices and the
    buttons that log them out; none without a store."""
    if store is None:
        return ""
    this_device = session.session_id
    user = session.get(config.user_key) if config.user_key is not None else None
    if config.user_key is None:
        body = (
            f'<p>This session\'s ID: <code id="session-id">{escape(str(this_device))}</code>. '
            "Set <code>SESSION_USER_KEY</code> to list a user's sessions and end them all.</p>"
        )
    elif user is None:
        body = (
            f'<form class="row" method="post" action="/login">{csrf}'
            f'<input type="text" name="user" maxlength="{MAX_NOTE_LENGTH}" required '
            'placeholder="A user name" aria-label="User"><button type="submit">Log in as</button>'
            '</form><p class="muted">Log in from two browsers to see two sessions.</p>'
        )
    else:
        items = "".join(_device_item(info, this_device) for info in await store.list_sessions(user))
        untracked = (
            ""
            if config.track_devices
            else '<p class="muted">Set <code>SESSION_TRACK_DEVICES=true</code> to see when each '
            "started and was last seen, from which address and browser.</p>"
        )
        body = (
            f'<p>Signed in as <strong id="user">{escape(str(user))}</strong>; '
            f'this user\'s devices:</p><ul id="user-sessions">{items}</ul>{untracked}'
            f'<div class="row"><form method="post" action="/logout-other-devices">{csrf}'
            '<button type="submit">Log out other devices</button></form>'
            f'<form method="post" action="/logout-everywhere">{csrf}'
            '<button class="danger" type="submit">Log out everywhere</button></form></div>'
        )
    return f'<section id="store-card"><h2>Sessions in Redis</h2>{body}</section>'


def _device_item(info: SessionInfo, this_device: str | None) -> str:
    """One session of the device list: its ID's start, "this device" when it is the request's,
    what ``track_devices`` recorded of it, and when Redis drops it unless it is used."""
    mark = (
        ' <strong class="this-device">this device</strong>'
        if info.session_id == this_device
        else ""
    )
    details = [f"expires {_when(info.expires_at)}"]
    if info.started_at is not None and info.last_seen is not None:
        details = [
            f"started {_when(info.started_at)}",
            f"last seen {_when(info.last_seen)}",
            f"from {info.ip or 'an unknown address'}",
            *details,
        ]
    user_agent = (
        f'<br><span class="user-agent">{escape(info.user_agent)}</span>'
        if info.user_agent is not None
        else ""
    )
    return (
        f'<li class="device"><code>{escape(info.session_id[:SHOWN_ID_CHARACTERS])}…</code>{mark}'
        f'<br><span class="muted">{escape(" · ".join(details))}</span>{user_agent}</li>'
    )


def _when(moment: datetime) -> str:
    """A moment as a person reads it, in UTC (the server does not know the reader's zone)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _lifetime_left(config: SessionConfig, session: Session) -> str:
    """With ``max_lifetime``: when this session ends whatever its activity, and how long that
    is from now; nothing without it."""
    if config.max_lifetime is None:
        return ""
    limit = seconds_and_duration(config.max_lifetime)
    started = session.get(STARTED_KEY)
    if not isinstance(started, int) or isinstance(started, bool):
        said = (
            f"A session ends {limit} after it starts, whatever its activity; "
            "this one starts when it is first saved."
        )
    else:
        ends = started + config.max_lifetime
        left = max(0, ends - int(time.time()))
        when = _when(datetime.fromtimestamp(ends, UTC))
        said = (
            f"This session ends at {when}, in {duration(left)}, whatever its activity "
            f"(max_lifetime: {limit})."
        )
    return f'<p id="lifetime-left">{escape(said)}</p>'


def _render_page(
    config: SessionConfig,
    request: Request,
    cookie: str | None,
    throwaway_secret: bool,
    stats: SessionStats,
    store_card: str,
    csrf: str = "",
) -> str:
    session = get_session(request)
    flashes = "".join(
        f'<p class="notice flash">{escape(item.message)}</p>' for item in pop_flashes(session)
    )
    counter = session.get("counter", 0)
    notes = session.get("notes", [])
    contents = json.dumps(dict(session), indent=2, ensure_ascii=False)
    attributes = _cookie_attributes(config)
    set_cookie = "; ".join(
        [f"{config.session_cookie}=<{'encrypted' if config.encrypt else 'signed'} value>"]
        + [attribute.sent for attribute in attributes if attribute.sent is not None]
    )
    attribute_rows = "\n".join(
        f"<tr><th>{escape(attribute.name)}</th>"
        f"<td>{_code(attribute.sent) if attribute.sent else '—'}</td>"
        f"<td>{escape(attribute.meaning)}</td></tr>"
        for attribute in attributes
    )
    note_items = "\n".join(f"<li>{escape(str(note))}</li>" for note in notes)
    cookie_state = (
        f"The browser sent a session cookie of {len(cookie)} bytes "
        f"(a cookie may have {MAX_COOKIE_BYTES}), {_readability(cookie)}"
        if cookie
        else "The browser sent no session cookie: the session starts empty."
    )
    notice = (
        '<p class="notice">This server signs cookies with a throw-away secret made at start-up: '
        "sessions end when it restarts. Set <code>SESSION_SECRET_KEY</code> to keep them.</p>"
        if throwaway_secret
        else ""
    )
    return _PAGE.format(
        notice=notice + flashes,
        csrf=csrf,
        lead="Everything below lives in Redis; the cookie carries only a signed session ID."
        if config.store_url is not None
        else f"Everything below lives in {'an encrypted' if config.encrypt else 'a signed'} "
        "cookie; the server stores nothing.",
        store_card=store_card,
        counter=escape(str(counter)),
        max_note_length=MAX_NOTE_LENGTH,
        max_notes=MAX_NOTES,
        notes=f"<ol>{note_items}</ol>" if notes else "<p>No notes yet.</p>",
        contents=escape(contents),
        lifetime_left=_lifetime_left(config, session),
        cookie_state=escape(cookie_state),
        set_cookie=escape(set_cookie),
        attribute_rows=attribute_rows,
        stats_rows="\n".join(
            f'<tr><th>{escape(label)}</th><td id="stat-{slug}">{count}</td>'
            f"<td>{escape(meaning)}</td></tr>"
            for slug, label, count, meaning in _stats_rows(stats)
        ),
    )


def _stats_rows(stats: SessionStats) -> list[tuple[str, str, int, str]]:
    """The counters of the "Since start-up" card: (id, label, count, meaning)."""
    rejected = [
        (f"rejected-{reason}", f"Rejected: {reason}", count, _REJECTION_MEANINGS.get(reason, ""))
        for reason, count in stats.cookies_rejected.items()
    ]
    fallbacks = [
        (f"fallback-{key}", f"Fallback key #{key} uses", count, "verified, then re-signed")
        for key, count in enumerate(stats.fallback_key_uses, start=1)
    ]
    return [
        ("accepted", "Cookies accepted", stats.cookies_accepted, "verified, with any key"),
        *rejected,
        *fallbacks,
        ("set", "Cookies set", stats.cookies_set, "cookies sent with a session"),
        ("deleted", "Cookies deleted", stats.cookies_deleted, "cookie deletions sent"),
        ("too-large", "Sessions too large", stats.too_large_errors, "over 4096 bytes: not sent"),
        ("store-errors", "Store errors", stats.store_errors, "failed calls to the store"),
    ]


_REJECTION_MEANINGS: Final = {
    "signature": "changed, or signed by a key this server does not have",
    "expired": "signed longer ago than max_age",
    "malformed": "not a session cookie this server writes",
    "too_large": "over 4096 bytes, refused unread",
    "decrypt": "encrypted, but no configured key opens it",
}


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cookie-session demo</title>
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 1.5rem auto;
         padding: 0 1rem; color: #1d1d1f; background: #f5f5f7; }}
  h1 {{ margin: 0; }}
  .lead {{ margin-top: .25rem; color: #555; }}
  section {{ background: #fff; border-radius: 10px; padding: 1rem 1.25rem; margin: 0 0 1rem;
            box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }}
  /* Side by side where there is room, so the cookie card is on screen without scrolling. */
  @media (min-width: 62rem) {{
    body {{ max-width: 72rem; }}
    main {{ display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.15fr);
           gap: 0 1rem; align-items: start; }}
  }}
  h2 {{ margin: 0 0 .5rem; font-size: 1.1rem; }}
  .counter {{ font-size: 2.5rem; font-weight: 700; margin: 0 1rem 0 0; }}
  .row {{ display: flex; align-items: center; gap: .5rem; flex-wrap: wrap; }}
  button {{ font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #0a64d6;
           background: #0a64d6; color: #fff; cursor: pointer; }}
  button.danger {{ background: #fff; color: #b3261e; border-color: #b3261e; }}
  input[type=text] {{ font: inherit; padding: .35rem .5rem; flex: 1; min-width: 12rem; }}
  pre, code {{ font: 14px/1.4 ui-monospace, monospace; }}
  td code {{ white-space: nowrap; }}
  pre {{ background: #f0f0f3; padding: .75rem; border-radius: 6px; overflow-x: auto; }}
  table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
  th, td {{ text-align: left; padding: .3rem .5rem; border-top: 1px solid #e3e3e8;
           vertical-align: top; }}
  .notice {{ background: #fff4ce; border: 1px solid #e0c45c; border-radius: 6px;
            padding: .5rem .75rem; }}
  .muted {{ color: #666; font-size: 14px; }}
  li {{ overflow-wrap: anywhere; }}
</style>
</head>
<body>
<h1>cookie-session demo</h1>
<p class="lead">{lead}</p>
{notice}
<main>
<div>
<section>
  <h2>Visits</h2>
  <form class="row" method="post" action="/increment">{csrf}
    <span class="counter" id="counter">{counter}</span>
    <button type="submit">Count a visit</button>
  </form>
  <p class="muted">The reference example's JSON endpoint <a href="/counter">/counter</a>
  adds one on every visit too.</p>
</section>
<section>
  <h2>Notes</h2>
  <form class="row" method="post" action="/note">{csrf}
    <input type="text" name="note" maxlength="{max_note_length}" required
           placeholder="Something to remember" aria-label="Note">
    <button type="submit">Store note</button>
  </form>
  {notes}
  <p class="muted">The last {max_notes} notes are kept, fewer if they are long.</p>
</section>
<section>
  <h2>Session contents</h2>
  <pre id="contents">{contents}</pre>
  {lifetime_left}
  <p class="muted">{cookie_state}</p>
  <form method="post" action="/clear">{csrf}
    <button class="danger" type="submit">Clear the session</button>
  </form>
</section>
{store_card}
</div>
<section id="cookie-card">
  <h2>The cookie this server sends</h2>
  <p><code id="set-cookie">Set-Cookie: {set_cookie}</code></p>
  <table>
{attribute_rows}
  </table>
  <p class="muted">Set-Cookie goes out only when the session changes; clearing it deletes the
  cookie (<code>Max-Age=0</code>).</p>
</section>
</main>
<section id="stats-card">
  <h2>Since start-up</h2>
  <table>
{stats_rows}
  </table>
  <p class="muted">What this server did with session cookies since it started
  (<code>SessionMiddleware.stats()</code>); a rejected cookie gives an empty session.</p>
</section>
</body>
</html>
"""
