"""A real browser's cookie handling: headless Chromium (driven by Playwright) against real
servers. Attributes are read from the browser's own cookie store, not from response headers."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Cookie, Page, ViewportSize

from conftest import SECRET
from cookie_session import SessionCodec

from .conftest import DEMO_APP, Server, StartServer

pytestmark = pytest.mark.timeout(120)

MAX_AGE = 3600
DEMO_VIEWPORT: ViewportSize = {"width": 1200, "height": 900}
PLANTED = {"count": 41, "marker": "planted"}


@pytest.fixture(scope="module")
def lax_server(start_server: StartServer) -> Server:
    return start_server(secret_key=SECRET, max_age=str(MAX_AGE))


@pytest.fixture(scope="module")
def browser_session_server(start_server: StartServer) -> Server:
    return start_server(secret_key=SECRET, max_age="none")


@pytest.fixture(scope="module")
def app_path_server(start_server: StartServer) -> Server:
    return start_server(secret_key=SECRET, path="/app")


@pytest.fixture(scope="module")
def strict_server(start_server: StartServer) -> Server:
    return start_server(secret_key=SECRET, same_site="strict")


@pytest.fixture(scope="module")
def demo_server(start_server: StartServer) -> Server:
    return start_server(app=DEMO_APP, secret_key=SECRET)


def _json(page: Page, url: str) -> Any:
    """Navigate to ``url`` as a person would, and return the JSON it answered."""
    response = page.goto(url)
    assert response is not None
    return response.json()


def _session_cookies(context: BrowserContext) -> list[Cookie]:
    return [cookie for cookie in context.cookies() if cookie["name"] == "session"]


def _session_cookie(context: BrowserContext) -> Cookie:
    (cookie,) = _session_cookies(context)
    return cookie


def _follow_link(page: Page, from_origin: str, to_url: str) -> list[str]:
    """Open a page on ``from_origin`` with a link to ``to_url``, click it, and return the
    names of the cookies the browser sent with that navigation (``to_url`` is /cookies)."""
    page.goto(f"{from_origin}/link?to={quote(to_url, safe='')}")
    with page.expect_response(to_url) as arrival:
        page.click("#go")
    names: list[str] = arrival.value.json()["cookies"]
    return names


def test_counter_increments_across_page_loads(context: BrowserContext, lax_server: Server) -> None:
    page = context.new_page()
    counts = [_json(page, f"{lax_server.url}/counter")["count"] for _ in range(3)]
    assert counts == [1, 2, 3]


def test_session_cookie_is_http_only_in_the_browser_store(
    context: BrowserContext, lax_server: Server
) -> None:
    context.new_page().goto(f"{lax_server.url}/counter")
    assert _session_cookie(context)["httpOnly"] is True


def test_page_script_cannot_read_the_session_cookie(
    context: BrowserContext, lax_server: Server
) -> None:
    page = context.new_page()
    page.goto(f"{lax_server.url}/counter")
    page.goto(f"{lax_server.url}/link?to=%2F")  # an HTML page of the same origin
    page.evaluate("document.cookie = 'visible=yes'")  # a cookie scripts may read, for contrast
    assert _session_cookies(context)  # the browser has the session cookie...
    assert page.evaluate("document.cookie") == "visible=yes"  # ...but shows scripts only this


def test_max_age_none_makes_a_browser_session_cookie(
    context: BrowserContext, browser_session_server: Server
) -> None:
    context.new_page().goto(f"{browser_session_server.url}/counter")
    assert _session_cookie(context)["expires"] == -1


def test_max_age_sets_the_cookie_expiry(context: BrowserContext, lax_server: Server) -> None:
    page = context.new_page()
    before = time.time()
    page.goto(f"{lax_server.url}/counter")
    after = time.time()
    # The browser counts Max-Age from when it received the response, in whole seconds.
    assert before + MAX_AGE - 1 <= _session_cookie(context)["expires"] <= after + MAX_AGE + 1


def test_browser_stores_the_cookie_with_its_configured_path(
    context: BrowserContext, app_path_server: Server
) -> None:
    context.new_page().goto(f"{app_path_server.url}/app/counter")
    assert _session_cookie(context)["path"] == "/app"


def test_cookie_with_path_app_is_sent_under_app(
    context: BrowserContext, app_path_server: Server
) -> None:
    page = context.new_page()
    page.goto(f"{app_path_server.url}/app/counter")
    assert "session" in _json(page, f"{app_path_server.url}/app/cookies")["cookies"]


def test_cookie_with_path_app_is_not_sent_to_other(
    context: BrowserContext, app_path_server: Server
) -> None:
    page = context.new_page()
    page.goto(f"{app_path_server.url}/app/counter")
    assert _session_cookies(context)  # the browser has it...
    assert "session" not in _json(page, f"{app_path_server.url}/other")["cookies"]  # ...keeps it


def test_clearing_the_session_removes_the_cookie_from_the_browser(
    context: BrowserContext, lax_server: Server
) -> None:
    page = context.new_page()
    page.goto(f"{lax_server.url}/counter")
    assert _session_cookies(context)
    page.goto(f"{lax_server.url}/clear")
    assert _session_cookies(context) == []


def test_strict_cookie_is_not_sent_on_a_cross_site_navigation(
    context: BrowserContext, strict_server: Server, lax_server: Server
) -> None:
    page = context.new_page()
    page.goto(f"{strict_server.url}/counter")
    other_site = f"http://localhost:{lax_server.port}"  # not 127.0.0.1: another site
    assert "session" not in _follow_link(page, other_site, f"{strict_server.url}/cookies")


def test_strict_cookie_is_sent_on_a_same_site_navigation(
    context: BrowserContext, strict_server: Server
) -> None:
    page = context.new_page()
    page.goto(f"{strict_server.url}/counter")
    assert "session" in _follow_link(page, strict_server.url, f"{strict_server.url}/cookies")


def test_lax_cookie_is_sent_on_the_same_cross_site_navigation(
    context: BrowserContext, lax_server: Server, strict_server: Server
) -> None:
    # The contrast that shows the navigation above is one a cookie may ride on at all.
    page = context.new_page()
    page.goto(f"{lax_server.url}/counter")
    other_site = f"http://localhost:{strict_server.port}"
    assert "session" in _follow_link(page, other_site, f"{lax_server.url}/cookies")


def test_demo_cookie_card_is_on_screen_at_1200_by_900_without_scrolling(
    context: BrowserContext, demo_server: Server
) -> None:
    for number in range(5):  # the most notes the demo keeps: its longest page
        note = f"note {number} " + "é" * 60
        assert context.request.post(f"{demo_server.url}/note", form={"note": note}).ok
    page = context.new_page()
    page.set_viewport_size(DEMO_VIEWPORT)
    page.goto(demo_server.url)

    box = page.locator("#cookie-card").bounding_box()

    assert page.locator("li").count() == 5  # the notes are on the page, above or beside it
    assert box is not None
    assert page.evaluate("window.scrollY") == 0
    assert box["x"] >= 0
    assert box["y"] >= 0
    assert box["x"] + box["width"] <= DEMO_VIEWPORT["width"]
    assert box["y"] + box["height"] <= DEMO_VIEWPORT["height"]


def _signed_session_cookie(data: dict[str, Any]) -> str:
    """``session=<value>``: a session cookie holding ``data``, validly signed with the servers'
    secret (as an attacker could replay one that the site once issued)."""
    return f"session={SessionCodec([SECRET], max_age=None).encode(data)}"


def _plant(context: BrowserContext, cookie: str, *, path: str = "/") -> str:
    """Put in the browser a ``theme`` cookie whose value hides ``cookie`` after a space, as a
    sibling subdomain can (cookie tossing); return the pair as the browser will send it."""
    context.add_cookies(
        [{"name": "theme", "value": f"dark {cookie}", "domain": "127.0.0.1", "path": path}]
    )
    return f"theme=dark {cookie}"


def _visit_counter(page: Page, server: Server) -> tuple[dict[str, Any], str]:
    """Load /counter; return its JSON and the Cookie header the browser sent with it."""
    response = page.goto(f"{server.url}/counter?marker=mine")
    assert response is not None
    counted: dict[str, Any] = response.json()
    return counted, response.request.all_headers().get("cookie", "")


def test_the_planted_session_cookie_is_valid_on_its_own(
    context: BrowserContext, lax_server: Server
) -> None:
    # The contrast that shows the two tests below plant a cookie the server would accept.
    name, value = _signed_session_cookie(PLANTED).split("=", 1)
    context.add_cookies([{"name": name, "value": value, "domain": "127.0.0.1", "path": "/"}])
    counted, _ = _visit_counter(context.new_page(), lax_server)
    assert (counted["count"], counted["marker"]) == (42, "planted")


def test_a_session_cookie_inside_another_cookies_value_is_not_the_session(
    context: BrowserContext, lax_server: Server
) -> None:
    planted = _plant(context, _signed_session_cookie(PLANTED))

    counted, sent = _visit_counter(context.new_page(), lax_server)

    assert sent == planted  # Chromium sent the planted text as it is...
    assert (counted["count"], counted["marker"]) == (1, "mine")  # ...and it was no session


def test_a_planted_session_sent_before_the_real_one_does_not_replace_it(
    context: BrowserContext, lax_server: Server
) -> None:
    page = context.new_page()
    _visit_counter(page, lax_server)  # the browser's own session: count 1, marker "mine"
    # A longer path makes the browser send the planted cookie first.
    planted = _plant(context, _signed_session_cookie(PLANTED), path="/counter")

    counted, sent = _visit_counter(page, lax_server)

    assert sent.startswith(f"{planted}; session=")
    assert (counted["count"], counted["marker"]) == (2, "mine")
