"""Encrypted sessions in a real browser: headless Chromium (driven by Playwright) keeps, sends
and replaces the encrypted cookie like any other, and its cookie store holds nothing readable."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from conftest import SECRET
from cookie_session import SealedCodec

from .conftest import StartServer

pytestmark = pytest.mark.timeout(120)

MARKER = "private-marker-alice@example.org"


def _json(page: Page, url: str) -> Any:
    response = page.goto(url)
    assert response is not None
    return response.json()


def _session_value(context: BrowserContext) -> str:
    (value,) = [cookie["value"] for cookie in context.cookies() if cookie["name"] == "session"]
    return value


def test_browser_keeps_an_encrypted_session(
    context: BrowserContext, start_server: StartServer
) -> None:
    server = start_server(secret_key=SECRET, encrypt="true")
    page = context.new_page()

    counts = [_json(page, f"{server.url}/counter?marker={MARKER}")["count"] for _ in range(3)]

    value = _session_value(context)
    assert counts == [1, 2, 3]
    assert value.startswith("~1.")
    assert MARKER.encode() not in base64.urlsafe_b64decode(value[3:] + "==")
    assert SealedCodec([SECRET], max_age=None).verify(value).data == {
        "count": 3,
        "marker": MARKER,
    }


def test_browser_session_survives_encryption_being_turned_on(
    context: BrowserContext, start_server: StartServer
) -> None:
    server = start_server(secret_key=SECRET, encrypt="false")
    page = context.new_page()
    _json(page, f"{server.url}/counter?marker={MARKER}")
    signed = _session_value(context)

    server.restart({"secret_key": SECRET, "encrypt": "true"})
    kept = _json(page, f"{server.url}/peek")

    assert signed.startswith("eyJ")
    assert kept == {"count": 1, "marker": MARKER}
    assert _session_value(context).startswith("~1.")  # re-sent encrypted on a read-only visit
    assert _json(page, f"{server.url}/counter")["count"] == 2
