"""Session lifetimes in cookie modes (signed and encrypted), on a clock the tests move:
``max_lifetime`` (absolute, whatever refresh_after and activity do), ``set_max_age`` (a lifetime
of the session's own, "remember me"), ``regenerate()`` (a fresh start), and the audit lines."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import (
    SealedCodec,
    SessionCodec,
    SessionConfig,
    SessionMiddleware,
    csrf_token,
    get_session,
)
from cookie_session.session import MAX_AGE_KEY, STARTED_KEY, Session

START = 1_800_000_000
HOUR = 3600
DAY = 24 * HOUR


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


async def show(request: Request) -> Response:
    session = get_session(request)
    return JSONResponse({"data": dict(session), "max_age": session.max_age})


async def write(request: Request) -> Response:
    request.session["n"] = request.session.get("n", 0) + 1
    return JSONResponse(dict(request.session))


async def untouched(request: Request) -> Response:
    return PlainTextResponse("not looked at")


async def remember(request: Request) -> Response:
    days = request.query_params.get("days")
    get_session(request).set_max_age(int(days) * DAY if days else None)
    return PlainTextResponse("remembered")


async def regenerate(request: Request) -> Response:
    get_session(request).regenerate()
    return PlainTextResponse("regenerated")


async def log_in_copying(request: Request) -> Response:
    """A login that copies the session's data, regenerates, and puts the copy back (its old
    start included)."""
    session = get_session(request)
    kept = dict(session)
    session.regenerate()
    session.update(kept)
    return PlainTextResponse("logged in")


async def same(request: Request) -> Response:
    """Writes what the session already holds: its content unchanged."""
    request.session["n"] = request.session.get("n", 0)
    return PlainTextResponse("unchanged")


async def replace(request: Request) -> Response:
    """Puts a new mapping in the session's place, as a login written without regenerate() may
    (the recorded start is not in it)."""
    request.scope["session"] = {"user": "ada", "n": request.session.get("n", 0) + 1}
    return PlainTextResponse("replaced")


async def clear_and_rewrite(request: Request) -> Response:
    """Empties the session and writes its data back (the recorded start not among it)."""
    session = get_session(request)
    kept = {key: value for key, value in session.items() if key != STARTED_KEY}
    session.clear()
    session.update(kept)
    session["n"] = kept.get("n", 0) + 1
    return PlainTextResponse("rewritten")


async def token(request: Request) -> Response:
    return PlainTextResponse(csrf_token(get_session(request)))


ROUTES = [
    Route("/", show),
    Route("/write", write, methods=["GET", "POST"]),
    Route("/token", token),
    Route("/untouched", untouched),
    Route("/remember", remember),
    Route("/regenerate", regenerate),
    Route("/log-in-copying", log_in_copying),
    Route("/same", same),
    Route("/replace", replace),
    Route("/clear-and-rewrite", clear_and_rewrite),
]


class Site:
    """A site on a clock the test moves, signed or encrypted."""

    def __init__(self, *, encrypt: bool = False, **fields: Any) -> None:
        self.clock = Clock()
        settings: dict[str, Any] = {"secret_key": SECRET, "max_age": DAY, "encrypt": encrypt}
        config = SessionConfig.model_validate(settings | fields)
        self.middleware = SessionMiddleware(Starlette(routes=ROUTES), config=config)
        config = self.middleware.config
        if encrypt:
            self.middleware.codec = SealedCodec([SECRET], max_age=config.max_age, clock=self.clock)
            self.reader: SessionCodec | SealedCodec = SealedCodec(
                [SECRET], max_age=None, clock=self.clock
            )
        else:
            self.middleware.codec = SessionCodec([SECRET], max_age=config.max_age, clock=self.clock)
            self.reader = SessionCodec([SECRET], max_age=None, clock=self.clock)
        self.client = TestClient(self.middleware)

    def later(self, seconds: float) -> None:
        self.clock.now += seconds

    def data(self) -> dict[str, Any]:
        return self.reader.verify(self.client.cookies["session"]).data

    def max_age_sent(self, path: str) -> str | None:
        """The Max-Age attribute of the response's session cookie ("" when none)."""
        [header] = self.client.get(path).headers.get_list("set-cookie")
        for attribute in header.split("; ")[1:]:
            name, _, value = attribute.partition("=")
            if name == "Max-Age":
                return value
        return ""


MODES = [pytest.param(False, id="signed"), pytest.param(True, id="encrypted")]


# -- max_lifetime ------------------------------------------------------------------------------


@pytest.mark.parametrize("encrypt", MODES)
def test_a_session_ends_at_max_lifetime_whatever_refresh_after_did(encrypt: bool) -> None:
    site = Site(encrypt=encrypt, max_lifetime=3 * HOUR, refresh_after=60)
    site.client.get("/write")
    for _ in range(5):  # active every half hour: rolling expiry alone would never end it
        site.later(HOUR / 2)
        assert site.client.get("/").json()["data"]["n"] == 1

    site.later(HOUR / 2 + 1)
    response = site.client.get("/")

    assert response.json()["data"] == {}
    [deletion] = response.headers.get_list("set-cookie")
    assert deletion.startswith("session=; Max-Age=0;")


@pytest.mark.parametrize("encrypt", MODES)
def test_with_csrf_a_post_whose_session_ended_is_refused(encrypt: bool) -> None:
    site = Site(encrypt=encrypt, max_lifetime=HOUR, csrf=True)
    header = {"x-csrf-token": site.client.get("/token").text}
    assert site.client.post("/write", headers=header).status_code == 200

    site.later(HOUR + 1)
    response = site.client.post("/write", headers=header)

    # The session started afresh, empty: no secret, so no token of it.
    assert (response.status_code, response.text) == (403, "CSRF token invalid")
    [deletion] = response.headers.get_list("set-cookie")
    assert deletion.startswith("session=; Max-Age=0;")


@pytest.mark.parametrize("encrypt", MODES)
def test_the_session_records_when_it_started(encrypt: bool) -> None:
    site = Site(encrypt=encrypt, max_lifetime=HOUR)

    site.client.get("/write")

    assert site.data() == {"n": 1, STARTED_KEY: START}


def test_a_session_lasts_all_of_its_max_lifetime_and_not_a_second_more() -> None:
    site = Site(max_lifetime=HOUR)
    site.client.get("/write")

    site.later(HOUR)
    assert site.client.get("/").json()["data"]["n"] == 1

    site.later(1)
    assert site.client.get("/").json()["data"] == {}


@pytest.mark.parametrize("encrypt", MODES)
def test_with_max_lifetime_an_unchanged_session_sends_no_cookie(encrypt: bool) -> None:
    site = Site(encrypt=encrypt, max_lifetime=HOUR)
    site.client.get("/write")

    response = site.client.get("/same")

    assert response.text == "unchanged"
    assert "set-cookie" not in response.headers


def test_with_max_lifetime_a_cookie_due_for_refresh_is_sent_again_with_its_start() -> None:
    site = Site(max_lifetime=3 * HOUR, refresh_after=60)
    site.client.get("/write")
    site.later(61)

    response = site.client.get("/same")

    assert "set-cookie" in response.headers
    assert site.data() == {"n": 1, STARTED_KEY: START}
    assert site.reader.verify(site.client.cookies["session"]).signed_at == START + 61


def test_without_max_lifetime_no_start_is_recorded() -> None:
    site = Site()

    site.client.get("/write")

    assert site.data() == {"n": 1}


def test_the_cookie_never_outlives_what_remains_of_the_lifetime() -> None:
    site = Site(max_age=DAY, max_lifetime=2 * HOUR)
    assert site.max_age_sent("/write") == str(2 * HOUR)  # less than max_age from the start

    site.later(HOUR + 1800)

    assert site.max_age_sent("/write") == "1800"


def test_a_cookie_from_before_max_lifetime_counts_from_its_signing_time() -> None:
    site = Site()
    site.client.get("/write")
    old_cookie = site.client.cookies["session"]
    site.later(2 * HOUR)
    later = Site(max_lifetime=HOUR)
    later.clock.now = site.clock.now
    later.client.cookies.set("session", old_cookie)

    assert later.client.get("/").json()["data"] == {}


def test_an_ended_session_written_again_starts_a_new_lifetime() -> None:
    site = Site(max_lifetime=HOUR)
    site.client.get("/write")
    site.later(HOUR + 1)

    written = site.client.get("/write")

    assert written.json() == {"n": 1}
    assert site.data()[STARTED_KEY] == START + HOUR + 1


def test_regenerate_restarts_the_lifetime() -> None:
    site = Site(max_lifetime=HOUR)
    site.client.get("/write")
    site.later(HOUR - 10)

    site.client.get("/regenerate")
    site.later(30)

    assert site.client.get("/").json()["data"]["n"] == 1  # would have ended without it
    assert site.data()[STARTED_KEY] == START + HOUR - 10


def test_regenerate_restarts_the_lifetime_even_when_the_old_start_is_put_back() -> None:
    site = Site(max_lifetime=HOUR)
    site.client.get("/write")
    site.later(HOUR - 10)

    site.client.get("/log-in-copying")

    assert site.data() == {"n": 1, STARTED_KEY: START + HOUR - 10}


@pytest.mark.parametrize("encrypt", MODES)
@pytest.mark.parametrize("path", ["/replace", "/clear-and-rewrite"])
def test_a_session_rebuilt_without_its_start_still_ends_at_max_lifetime(
    encrypt: bool, path: str
) -> None:
    """Replacing the session or clearing it and writing it again is not a new start (only
    regenerate() is): active all along, re-signed on every request, it still ends."""
    site = Site(encrypt=encrypt, max_lifetime=2 * HOUR, refresh_after=60)
    site.client.get("/write")
    for _ in range(3):  # every half hour for an hour and a half
        site.later(HOUR / 2)
        assert site.client.get(path).status_code == 200
        assert site.data()[STARTED_KEY] == START

    site.later(HOUR / 2 + 1)  # 2 hours and a second since the start

    assert site.client.get("/").json()["data"] == {}


def test_regenerate_without_max_lifetime_sends_the_cookie_afresh() -> None:
    site = Site()
    site.client.get("/write")
    site.later(10)

    response = site.client.get("/regenerate")

    assert response.headers.get_list("set-cookie")
    assert site.reader.verify(site.client.cookies["session"]).signed_at == START + 10


# -- set_max_age ---------------------------------------------------------------------------


@pytest.mark.parametrize("encrypt", MODES)
def test_remember_me_outlives_the_configured_max_age(encrypt: bool) -> None:
    site = Site(encrypt=encrypt, max_age=DAY)
    site.client.get("/write")

    assert site.max_age_sent("/remember?days=30") == str(30 * DAY)
    site.later(10 * DAY)  # far past max_age: the session's own lifetime applies

    shown = site.client.get("/").json()
    assert shown == {"data": {"n": 1, MAX_AGE_KEY: 30 * DAY}, "max_age": 30 * DAY}


def test_the_session_s_own_lifetime_is_enforced_by_the_server() -> None:
    site = Site(max_age=30 * DAY)
    site.client.get("/write")
    site.client.get("/remember?days=1")  # shorter than the configured 30 days

    site.later(DAY + 1)

    assert site.client.get("/").json()["data"] == {}


def test_set_max_age_is_kept_across_requests() -> None:
    site = Site(max_age=DAY)
    site.client.get("/remember?days=30")

    assert site.max_age_sent("/write") == str(30 * DAY)


def test_set_max_age_none_is_a_browser_session_cookie_the_server_still_ages() -> None:
    site = Site(max_age=DAY)
    site.client.get("/write")

    assert site.max_age_sent("/remember") == ""
    assert site.client.get("/").json()["max_age"] is None
    site.later(DAY + 1)
    assert site.client.get("/").json()["data"] == {}  # the configured max_age still applies


def test_max_age_reads_the_configured_value_until_set() -> None:
    site = Site(max_age=DAY)

    assert site.client.get("/").json()["max_age"] == DAY


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (True, TypeError),
        (1.5, TypeError),
        ("3600", TypeError),
        (0, ValueError),
        (400 * DAY + 1, ValueError),
    ],
)
def test_set_max_age_refuses_what_is_no_lifetime(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        Session().set_max_age(value)  # type: ignore[arg-type]  # wrong values on purpose


def test_a_remembered_session_still_ends_at_max_lifetime() -> None:
    site = Site(max_age=DAY, max_lifetime=2 * DAY)
    site.client.get("/write")
    assert site.max_age_sent("/remember?days=30") == str(2 * DAY)

    site.later(2 * DAY + 1)

    assert site.client.get("/").json()["data"] == {}


# -- audit lines -------------------------------------------------------------------------------


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cookie_session.audit"]


def assert_started_regenerated_and_ended(
    lines: list[str], cookies: list[str], *absent: str
) -> None:
    """``lines`` are those of a session started, regenerated and ended by ``max_lifetime``:
    each names its event and a reference, and none holds one of ``cookies`` (nor its
    signature), the secret, or any of ``absent``."""
    assert [line.split(":")[0] for line in lines] == [
        "session started",
        "session regenerated",
        "session ended",
    ]
    assert "reason=max_lifetime" in lines[-1]
    assert all("ref=" in line for line in lines)
    text = "\n".join(lines)
    for value in (*cookies, *(cookie.rpartition(".")[2] for cookie in cookies), SECRET, *absent):
        assert value not in text


def test_audit_lines_name_each_event_and_never_the_cookie_or_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = Site(max_lifetime=HOUR)
    with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
        site.client.get("/write")
        cookie = site.client.cookies["session"]
        site.client.get("/regenerate")
        site.later(HOUR + 1)
        site.client.get("/")

    assert_started_regenerated_and_ended(audit_lines(caplog), [cookie])


@pytest.mark.parametrize("encrypt", MODES)
def test_regenerate_is_audited_without_any_lifetime_setting(
    encrypt: bool, caplog: pytest.LogCaptureFixture
) -> None:
    site = Site(encrypt=encrypt)
    with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
        site.client.get("/write")
        site.client.get("/write")
        site.client.get("/regenerate")
        cookie = site.client.cookies["session"]

    lines = audit_lines(caplog)
    assert [line.split(":")[0] for line in lines] == ["session started", "session regenerated"]
    assert cookie not in "\n".join(lines)
    assert cookie.rpartition(".")[2] not in "\n".join(lines)


def test_the_lifetimes_page_s_login_remembers_for_thirty_days() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "lifetimes.md").read_text("utf-8")
    [block] = re.findall(r"```python\n(.*?)```", page, re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # noqa: S102  # our own documentation
    app = SessionMiddleware(
        Starlette(routes=[Route("/login", namespace["login"], methods=["POST"])]),
        secret_key=SECRET,
        max_age=DAY,
    )

    with TestClient(app, follow_redirects=False) as client:
        remembered = client.post("/login", data={"user": "ada", "remember": "1"})
    with TestClient(app, follow_redirects=False) as client:
        plain = client.post("/login", data={"user": "ada"})

    assert f"Max-Age={30 * DAY};" in remembered.headers["set-cookie"]
    assert f"Max-Age={DAY};" in plain.headers["set-cookie"]


def test_a_session_knows_the_default_max_age_without_being_told() -> None:
    from cookie_session import SessionConfig as Config

    assert Session.configured_max_age == Config.model_fields["max_age"].default
    assert Session().max_age == Config.model_fields["max_age"].default


def test_a_non_default_max_age_is_what_sessions_read() -> None:
    site = Site(max_age=HOUR)

    assert site.client.get("/").json()["max_age"] == HOUR
