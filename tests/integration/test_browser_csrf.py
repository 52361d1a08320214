"""The CSRF check against a real browser: headless Chromium posting real forms and fetch() calls
to a uvicorn server with ``SESSION_CSRF=true`` (tests/integration/csrf_apps.py), and another
server, on another port, playing the attacker's site."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from conftest import SECRET

from .conftest import Server, StartServer

pytestmark = pytest.mark.timeout(120)

CSRF_APP = "tests.integration.csrf_apps:csrf_app"


@pytest.fixture(scope="module")
def bank(start_server: StartServer) -> Server:
    return start_server(app=CSRF_APP, secret_key=SECRET, csrf="true")


@pytest.fixture(scope="module")
def attacker(start_server: StartServer) -> Server:
    """Another server: on another port it is another origin, and under ``localhost`` (not
    127.0.0.1) another site."""
    return start_server(app=CSRF_APP, secret_key=SECRET)


def _transfers(page: Page, bank: Server) -> Any:
    response = page.request.get(f"{bank.url}/transfers")
    assert response.ok
    return response.json()


def _open_form(context: BrowserContext, bank: Server) -> Page:
    page = context.new_page()
    response = page.goto(f"{bank.url}/form")
    assert response is not None
    assert response.ok
    return page


def test_a_same_site_form_with_the_token_succeeds(context: BrowserContext, bank: Server) -> None:
    page = _open_form(context, bank)
    with page.expect_navigation() as arrival:
        page.click("#send")
    response = arrival.value

    assert response is not None
    assert response.status == 200
    assert page.text_content("#done") == "transferred 5"
    assert _transfers(page, bank) == [5]


@pytest.mark.parametrize(
    ("attacker_host", "cookie_sent"),
    [
        # SameSite=Lax keeps the cookie from another site's POST...
        pytest.param("localhost", False, id="another-site"),
        # ...but not from a page of the same site on another port (or another subdomain):
        # there the token is the only defence.
        pytest.param("127.0.0.1", True, id="same-site-another-port"),
    ],
)
def test_a_form_on_another_origin_posting_to_the_app_is_refused(
    context: BrowserContext, bank: Server, attacker: Server, attacker_host: str, cookie_sent: bool
) -> None:
    page = _open_form(context, bank)  # the visitor has a session, and its secret
    target = f"{bank.url}/transfer"
    page.goto(f"http://{attacker_host}:{attacker.port}/attack?target={target}")
    with page.expect_response(target) as arrival:
        page.click("#send")
    response = arrival.value

    assert ("session=" in response.request.all_headers().get("cookie", "")) is cookie_sent
    assert response.status == 403
    assert response.text() == "CSRF token missing"
    assert _transfers(page, bank) == []


def test_fetch_with_the_meta_tag_token_in_the_header_succeeds(
    context: BrowserContext, bank: Server
) -> None:
    page = _open_form(context, bank)
    page.click("#fetch")
    page.wait_for_function("document.getElementById('result').textContent !== ''")

    assert page.text_content("#result") == '200 {"transferred":7}'
    assert _transfers(page, bank) == [7]


def test_fetch_without_the_header_is_refused(context: BrowserContext, bank: Server) -> None:
    page = _open_form(context, bank)
    page.click("#no-header")
    page.wait_for_function("document.getElementById('result').textContent !== ''")

    assert page.text_content("#result") == "403 CSRF token missing"
    assert _transfers(page, bank) == []
