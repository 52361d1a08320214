"""Session lifetimes through ``cookie_session.quart`` (cookie sessions, signed and encrypted; the
store's are in tests/store/test_store_quart.py), on a clock the tests move: ``max_lifetime``,
``set_max_age`` ("remember me"), ``regenerate()``, and the audit lines of an encrypted session."""

from __future__ import annotations

import logging
from typing import Any, Unpack, cast

import pytest
from quart import Quart, Response, request, session
from quart.typing import ResponseReturnValue

from conftest import SECRET
from cookie_session import SealedCodec, SessionCodec, SessionFields, csrf_token
from cookie_session.quart import QuartSession, use_cookie_session
from test_lifetimes import (
    DAY,
    HOUR,
    MODES,
    Clock,
    assert_started_regenerated_and_ended,
    audit_lines,
)

pytestmark = pytest.mark.anyio

NOTE = "LEAKCHECK-a-note-kept-in-the-session"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Quart runs on asyncio only


def this_session() -> QuartSession:
    return cast(QuartSession, session)  # the request's, through Quart's proxy


class QuartSite:
    """A Quart app over ``quart.session`` (signed, or encrypted) on a clock the test moves, and
    its test client. Routes: ``/`` (the session and ``max_age``), ``/write`` (counts, and keeps
    ``?note=`` when given), ``/remember[?days=N]`` (``set_max_age``), ``/regenerate`` (answers
    the new CSRF token), ``/token``, and a POST ``/transfer`` (checked with ``csrf=True``)."""

    def __init__(self, **fields: Unpack[SessionFields]) -> None:
        fields.setdefault("secret_key", SECRET)
        fields.setdefault("max_age", DAY)
        self.clock = Clock()
        self.app = Quart(__name__)
        interface = use_cookie_session(self.app, **fields)
        codec = SealedCodec if interface.config.encrypt else SessionCodec
        interface.cookie.codec = codec([SECRET], max_age=interface.config.max_age, clock=self.clock)
        self._add_routes()
        self.client = self.app.test_client()

    def _add_routes(self) -> None:
        app = self.app

        @app.route("/")
        async def show() -> ResponseReturnValue:
            return {"data": dict(session), "max_age": this_session().max_age}

        @app.route("/write")
        async def write() -> ResponseReturnValue:
            session["n"] = session.get("n", 0) + 1
            if "note" in request.args:
                session["note"] = request.args["note"]
            return {"n": session["n"]}

        @app.route("/remember")
        async def remember() -> ResponseReturnValue:
            days = request.args.get("days")
            this_session().set_max_age(int(days) * DAY if days else None)
            return "remembered"

        @app.route("/regenerate")
        async def regenerate() -> ResponseReturnValue:
            this_session().regenerate()
            return csrf_token(session)

        @app.route("/token")
        async def token() -> ResponseReturnValue:
            return csrf_token(session)

        @app.route("/transfer", methods=["POST"])
        async def transfer() -> ResponseReturnValue:
            return "sent"

    def later(self, seconds: float) -> None:
        self.clock.now += seconds

    async def get(self, path: str) -> Response:
        return await self.client.get(path)

    async def data(self) -> dict[str, Any]:
        shown: dict[str, Any] = (await (await self.get("/")).get_json())["data"]
        return shown


def cookie_attributes(response: Response) -> dict[str, str]:
    """The attributes of the response's one session Set-Cookie, by name."""
    [header] = response.headers.getlist("Set-Cookie")
    return dict(part.partition("=")[::2] for part in header.split("; ")[1:])


def cookie_value(response: Response) -> str:
    [header] = response.headers.getlist("Set-Cookie")
    return header.split(";", 1)[0].partition("=")[2]


# -- max_lifetime ------------------------------------------------------------------------------


@pytest.mark.parametrize("encrypt", MODES)
async def test_quart_max_lifetime_ends_a_session_even_when_active(encrypt: bool) -> None:
    site = QuartSite(encrypt=encrypt, max_lifetime=3 * HOUR, refresh_after=60)
    await site.get("/write")
    for _ in range(5):  # active every half hour: rolling expiry alone would never end it
        site.later(HOUR / 2)
        assert (await site.data())["n"] == 1

    site.later(HOUR / 2 + 1)
    response = await site.get("/")

    assert (await response.get_json())["data"] == {}
    assert cookie_value(response) == ""
    assert cookie_attributes(response)["Max-Age"] == "0"


# -- set_max_age -------------------------------------------------------------------------------


async def test_quart_remember_me_sends_a_thirty_day_cookie() -> None:
    site = QuartSite(max_age=DAY)
    await site.get("/write")

    response = await site.get("/remember?days=30")

    assert cookie_attributes(response)["Max-Age"] == str(30 * DAY)


async def test_quart_set_max_age_none_sends_a_cookie_without_max_age() -> None:
    site = QuartSite(max_age=DAY)
    await site.get("/write")

    response = await site.get("/remember")

    assert "Max-Age" not in cookie_attributes(response)
    assert "Expires" not in cookie_attributes(response)


# -- regenerate ----------------------------------------------------------------------------------


async def test_quart_regenerate_voids_the_csrf_tokens_handed_out_before() -> None:
    site = QuartSite(csrf=True)
    before = await (await site.get("/token")).get_data(as_text=True)

    after = await (await site.get("/regenerate")).get_data(as_text=True)

    refused = await site.client.post("/transfer", headers={"X-CSRF-Token": before})
    assert (refused.status_code, await refused.get_data(as_text=True)) == (
        403,
        "CSRF token invalid",
    )
    assert (await site.client.post("/transfer", headers={"X-CSRF-Token": after})).status_code == 200


# -- audit lines -------------------------------------------------------------------------------


async def test_quart_encrypted_sessions_write_their_audit_lines_without_the_cookie_or_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = QuartSite(encrypt=True, max_lifetime=HOUR)
    with caplog.at_level(logging.INFO, logger="cookie_session.audit"):
        cookie = cookie_value(await site.get(f"/write?note={NOTE}"))
        regenerated = cookie_value(await site.get("/regenerate"))
        site.later(HOUR + 1)
        await site.get("/")

    assert_started_regenerated_and_ended(audit_lines(caplog), [cookie, regenerated], NOTE)
