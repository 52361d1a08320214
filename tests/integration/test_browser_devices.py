"""The demo's device list in Chromium: one user signed in from two browser profiles (a laptop and
a phone) on the demo served by uvicorn with a real redis-server, ``track_devices`` and ``csrf``
on, and "log out other devices" clicked as a person would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from conftest import SECRET
from cookie_session import SessionCodec

from .conftest import BROWSER_TIMEOUT_MS, DEMO_APP, Server, StartServer

pytestmark = pytest.mark.timeout(120)

LAPTOP = "Laptop-Browser/1.0 (X11; Linux)"
PHONE = "Phone-Browser/2.0 (Android)"


@pytest.fixture
def devices_server(start_server: StartServer, store_url: str) -> Iterator[Server]:
    server = start_server(
        app=DEMO_APP,
        secret_key=SECRET,
        store_url=store_url,
        user_key="user",
        track_devices="true",
        csrf="true",
    )
    yield server
    server.stop()  # its store is emptied for the next test


def device_context(browser: Browser, user_agent: str) -> BrowserContext:
    """A browser profile of its own (its own cookie jar) announcing ``user_agent``."""
    context = browser.new_context(user_agent=user_agent)
    context.set_default_timeout(BROWSER_TIMEOUT_MS)
    return context


def sign_in(context: BrowserContext, server: Server, user: str) -> Page:
    """Open the demo in ``context`` and log in as ``user`` with the page's form."""
    page = context.new_page()
    page.goto(server.url)
    page.fill('input[name="user"]', user)
    page.click('button:has-text("Log in as")')
    expect(page.locator("#user")).to_have_text(user)
    return page


def session_id_of(context: BrowserContext) -> str:
    """The session ID the profile's (HttpOnly) session cookie carries."""
    (cookie,) = [cookie for cookie in context.cookies() if cookie["name"] == "session"]
    session_id: str = SessionCodec([SECRET], max_age=None).verify(cookie["value"]).data["sid"]
    return session_id


def test_log_out_other_devices_from_the_laptop_signs_the_phone_out(
    browser: Browser, devices_server: Server
) -> None:
    laptop, phone = device_context(browser, LAPTOP), device_context(browser, PHONE)
    try:
        laptop_page = sign_in(laptop, devices_server, "alice")
        phone_page = sign_in(phone, devices_server, "alice")
        laptop_id, phone_id = session_id_of(laptop), session_id_of(phone)
        laptop_page.reload()

        devices = laptop_page.locator("#user-sessions li.device")
        expect(devices).to_have_count(2)
        this_device = devices.filter(has=laptop_page.locator(".this-device"))
        expect(this_device).to_have_count(1)
        expect(this_device).to_contain_text(laptop_id[:12])
        expect(this_device.locator(".user-agent")).to_have_text(LAPTOP)
        other = devices.filter(has_not=laptop_page.locator(".this-device"))
        expect(other).to_contain_text(phone_id[:12])
        expect(other.locator(".user-agent")).to_have_text(PHONE)
        expect(phone_page.locator("#user-sessions .this-device")).to_have_count(1)  # its own

        laptop_page.click('button:has-text("Log out other devices")')

        expect(laptop_page.locator(".flash")).to_have_text("Logged out 1 other device.")
        expect(devices).to_have_count(1)
        expect(devices.locator(".this-device")).to_have_count(1)
        expect(devices).to_contain_text(laptop_id[:12])
        phone_page.reload()
        expect(phone_page.locator('form[action="/login"]')).to_be_visible()
        expect(phone_page.locator("#user")).to_have_count(0)
        laptop_page.reload()
        expect(laptop_page.locator("#user")).to_have_text("alice")  # still signed in
    finally:
        laptop.close()
        phone.close()
