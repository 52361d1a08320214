"""The demo's forms: a stored note is flashed once after the redirect, and with ``csrf`` on
every form carries the session's token and a post without it is refused."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionConfig
from cookie_session.demo import create_app

TOKEN_FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]+)">')


def test_a_stored_note_is_flashed_once_after_the_redirect() -> None:
    with TestClient(create_app(SessionConfig(secret_key=SECRET))) as client:
        shown = client.post("/note", data={"note": "buy oat milk"})  # follows the 303
        again = client.get("/")

    assert shown.text.count("Note stored.") == 1
    assert "Note stored." not in again.text
    assert "buy oat milk" in again.text


def test_without_csrf_the_forms_carry_no_token() -> None:
    with TestClient(create_app(SessionConfig(secret_key=SECRET))) as client:
        page = client.get("/").text

    assert TOKEN_FIELD.search(page) is None


def test_with_csrf_every_form_carries_the_token_and_a_post_without_it_is_refused() -> None:
    config = SessionConfig(secret_key=SECRET, csrf=True)
    with TestClient(create_app(config)) as client:
        page = client.get("/").text
        tokens = TOKEN_FIELD.findall(page)
        refused = client.post("/note", data={"note": "forged"})
        accepted = client.post("/note", data={"note": "mine", "csrf_token": tokens[0]})

    assert len(tokens) == page.count('method="post"')  # every form
    assert (refused.status_code, refused.text) == (403, "CSRF token missing")
    assert accepted.status_code == 200
    assert "Note stored." in accepted.text
    assert "forged" not in accepted.text


def test_with_csrf_and_a_store_the_device_forms_carry_the_token_too(store_url: str) -> None:
    config = SessionConfig(secret_key=SECRET, csrf=True, store_url=store_url, user_key="user")
    with TestClient(create_app(config)) as client:
        login_token = TOKEN_FIELD.findall(client.get("/").text)[0]
        client.post("/login", data={"user": "alice", "csrf_token": login_token})
        page = client.get("/").text
        tokens = TOKEN_FIELD.findall(page)
        refused = client.post("/logout-other-devices")
        accepted = client.post("/logout-other-devices", data={"csrf_token": tokens[0]})

    assert 'action="/logout-other-devices"' in page
    assert len(tokens) == page.count('method="post"')  # every form
    assert (refused.status_code, refused.text) == (403, "CSRF token missing")
    assert accepted.status_code == 200
    assert "No other device was signed in." in accepted.text
