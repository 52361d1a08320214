"""Every guarantee the docs state names the test that holds it, and that test exists.

A page states guarantees in a table with a "held by" column, or in a list under a heading named
in GUARANTEE_LISTS; each row or item must cite at least one test as pytest names it
(```tests/test_middleware.py::test_name```). Every test any of these pages cites, anywhere,
must exist (``test_docs_security.missing_citations``, which also holds docs/security.md's table).

What the pages claim that no other test held is checked at the end of this module.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from litestar import Litestar, get
from litestar.middleware import DefineMiddleware
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET
from cookie_session import (
    CookieRejected,
    SealedCodec,
    SessionCodec,
    SessionMiddleware,
    get_session,
)
from redis_server import free_port
from test_docs_security import CITATION, missing_citations

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "README.md",
    "docs/cli.md",
    "docs/configuration.md",
    "docs/cookie-format.md",
    "docs/csrf.md",
    "docs/encryption.md",
    "docs/flash.md",
    "docs/frameworks.md",
    "docs/how-it-works.md",
    "docs/index.md",
    "docs/key-rotation.md",
    "docs/lifetimes.md",
    "docs/migrating.md",
    "docs/observability.md",
    "docs/quart.md",
    "docs/testing.md",
    "docs/typed-sessions.md",
]
GUARANTEE_LISTS = {
    "docs/quart.md": "## What you get",
    "docs/key-rotation.md": "## Proof",
}
"""Sections whose list items are guarantees, each of which must cite a test."""
GUARANTEE_TABLES = [
    "docs/encryption.md",
    "docs/how-it-works.md",
    "docs/lifetimes.md",
    "docs/observability.md",
    "docs/typed-sessions.md",
]
"""Pages that have at least one table of guarantees (a "held by" column)."""


def text_of(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def uncited_table_rows(page_text: str) -> list[str]:
    """Rows of the page's "held by" tables whose "held by" cell cites no test."""
    uncited: list[str] = []
    for table in re.findall(r"(?:^\|.*\n)+", page_text, flags=re.MULTILINE):
        header, _rule, *rows = table.splitlines()
        columns = [cell.strip() for cell in header.strip("|").split("|")]
        if "held by" not in columns:
            continue
        held_by = columns.index("held by")
        for row in rows:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip("|"))]
            if not CITATION.search(cells[held_by]):
                uncited.append(row)
    return uncited


def guarantee_tables(page_text: str) -> int:
    """How many tables of the page have a "held by" column."""
    headers = re.findall(r"^\|(.*)\|\n\|[-| ]+\|$", page_text, flags=re.MULTILINE)
    return sum("held by" in [cell.strip() for cell in header.split("|")] for header in headers)


def list_items(page_text: str, heading: str) -> list[str]:
    """The items of the lists in the section under ``heading``, each with its continuation
    lines."""
    section = page_text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- .*(?:\n  .*)*", section, flags=re.MULTILINE)


@pytest.mark.parametrize("page", PAGES)
def test_every_test_the_page_cites_exists(page: str) -> None:
    assert missing_citations(text_of(page)) == []


@pytest.mark.parametrize("page", GUARANTEE_TABLES)
def test_every_row_of_a_table_of_guarantees_cites_a_test(page: str) -> None:
    text = text_of(page)

    assert guarantee_tables(text) >= 1  # the table is found
    assert uncited_table_rows(text) == []


@pytest.mark.parametrize(("page", "heading"), GUARANTEE_LISTS.items())
def test_every_guarantee_of_a_list_cites_a_test(page: str, heading: str) -> None:
    items = list_items(text_of(page), heading)

    assert len(items) >= 4  # the list is found, and whole
    assert [item for item in items if not CITATION.search(item)] == []


def test_a_row_without_a_test_is_caught() -> None:
    table = (
        "| guarantee | held by |\n"
        "|---|---|\n"
        "| held | `tests/test_middleware.py::test_default_attributes` |\n"
        "| not held | the test suite |\n"
    )

    assert uncited_table_rows(table) == ["| not held | the test suite |"]


def test_a_table_without_a_held_by_column_is_not_a_table_of_guarantees() -> None:
    table = "| counter | counts |\n|---|---|\n| `cookies_set` | writes |\n"

    assert guarantee_tables(table) == 0
    assert uncited_table_rows(table) == []


# -- what the pages claim that no other test held ---------------------------------------------


async def untouched(request: Request) -> Response:
    return Response("never looks at the session")


def cookie_signed(data: dict[str, int], secret: str, *, seconds_ago: int = 0) -> str:
    signed_at = time.time() - seconds_ago
    return SessionCodec([secret], max_age=None, clock=lambda: signed_at).encode(data)


def test_a_refresh_is_counted_in_cookies_set() -> None:
    # how-it-works.md, Rolling expiry; observability.md, cookies_set
    app = SessionMiddleware(
        Starlette(routes=[Route("/", untouched)]),
        secret_key=SECRET,
        max_age=3600,
        refresh_after=600,
    )
    due = cookie_signed({"visits": 3}, SECRET, seconds_ago=700)

    response = TestClient(app, cookies={"session": due}).get("/")

    assert "session=" in response.headers["set-cookie"]
    assert app.stats().cookies_set == 1


def test_a_cookie_re_signed_with_the_current_key_carries_vary() -> None:
    # how-it-works.md, Vary
    app = SessionMiddleware(
        Starlette(routes=[Route("/", untouched)]),
        secret_key=SECRET,
        secret_key_fallbacks=[OTHER_SECRET],
    )
    old = cookie_signed({"visits": 3}, OTHER_SECRET)

    response = TestClient(app, cookies={"session": old}).get("/")

    assert "session=" in response.headers["set-cookie"]
    assert response.headers["vary"] == "Cookie"


SIZES = range(300)
"""Sessions of every JSON length up to 300 bytes, so every remainder of base64's groups of 3."""


def test_an_encrypted_cookie_is_about_4_3_of_its_json_plus_51_bytes() -> None:
    # encryption.md, "Not hidden: the size"
    sealed = SealedCodec([SECRET], max_age=None)
    for length in SIZES:
        session = {"note": "x" * length}

        encrypted = len(sealed.encode(session))

        assert abs(encrypted - (len(SessionCodec.serialise(session)) * 4 / 3 + 51)) < 1


def test_an_encrypted_cookie_is_14_to_16_bytes_longer_than_the_signed_one() -> None:
    # encryption.md, the format's "Overhead"
    sealed, signed = SealedCodec([SECRET], max_age=None), SessionCodec([SECRET], max_age=None)
    differences = {
        len(sealed.encode(session)) - len(signed.encode(session))
        for session in ({"note": "x" * length} for length in SIZES)
    }

    assert differences == {14, 15, 16}


def test_the_cookies_attributes_come_in_the_documented_order() -> None:
    # cookie-format.md: Max-Age, Path, HttpOnly, SameSite, then Secure, Domain, Partitioned
    async def write(request: Request) -> Response:
        get_session(request)["n"] = 1
        return Response()

    app = SessionMiddleware(
        Starlette(routes=[Route("/", write)]),
        secret_key=SECRET,
        same_site="none",
        https_only=True,
        domain=".example.com",
        partitioned=True,
    )

    set_cookie = TestClient(app, base_url="https://www.example.com").get("/").headers["set-cookie"]

    assert set_cookie.split("; ")[1:] == [
        "Max-Age=1209600",
        "Path=/",
        "HttpOnly",
        "SameSite=None",
        "Secure",
        "Domain=.example.com",
        "Partitioned",
    ]


def test_a_misspelt_setting_in_define_middleware_stops_litestar_when_it_is_built() -> None:
    # frameworks.md, Litestar
    @get("/")
    async def home() -> str:
        return "home"

    misspelt = DefineMiddleware(SessionMiddleware, secret_key=SECRET, samesite="lax")

    with pytest.raises(ValidationError, match="samesite"):
        Litestar(route_handlers=[home], middleware=[misspelt])


@pytest.mark.usefixtures("clean_env")
def test_the_demo_never_shows_its_throw_away_secret() -> None:
    # cli.md: "the demo keeps its secret to itself", here the one it makes when none is set
    port = free_port()
    demo = subprocess.Popen(
        [Path(sys.executable).with_name("cookie-session"), "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert demo.stdout is not None
    try:
        output = ""
        while "Uvicorn running" not in output:
            line = demo.stdout.readline()
            assert line, output
            output += line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/counter", timeout=30) as counter:
            cookie = counter.headers["set-cookie"].split(";")[0].removeprefix("session=")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
            shown = output + page.read().decode("utf-8")
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        shown_at_exit, _ = demo.communicate(timeout=30)
    shown += shown_at_exit

    assert "throw-away secret" in shown
    assert [word for word in words(shown) if verifies(cookie, word)] == []


def words(text: str) -> set[str]:
    """Everything in ``text`` that could be the throw-away secret (``secrets.token_urlsafe``)."""
    return set(re.findall(r"[A-Za-z0-9_-]{32,}", text))


def verifies(cookie: str, secret: str) -> bool:
    try:
        SessionCodec([secret], max_age=None).verify(cookie)
    except CookieRejected:
        return False
    return True
