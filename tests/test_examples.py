"""The examples run as documented: the reference apps under ``examples/`` and the code in ``docs/``.

Each example app is loaded from its file, as uvicorn would load it, and driven with the test
client's cookie jar, which, like a browser, only sends a cookie back where its attributes allow.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from fastapi import FastAPI
from litestar import Litestar
from litestar.testing import TestClient as LitestarTestClient
from starlette.applications import Starlette
from starlette.testclient import TestClient

from conftest import REFERENCE_SECRET
from cookie_session import SessionCodec, SessionMiddleware

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# Pages whose Python blocks are checked here: each page's blocks run in order, in one namespace.
# Pages whose Python blocks run as they are (configuration.md's read a deployment's settings).
CHECKED_PAGES = [
    "docs/how-it-works.md",
    "docs/cookie-format.md",
    "docs/migrating.md",
    "docs/typed-sessions.md",
    "docs/quart.md",
    "docs/observability.md",
    "README.md",
]
PRODUCTION_SECRET = "a-production-secret-from-the-env-0123456789"
FRAMEWORKS_PAGE = ROOT / "docs" / "frameworks.md"
# Its sections that hold Python blocks: one recipe each, whose blocks build ``app``.
FRAMEWORK_RECIPES = ["Starlette", "FastAPI", "Litestar", "Bare ASGI"]


@dataclass(frozen=True)
class Example:
    module: str
    base_url: str
    secret: str
    max_age: int | None
    attributes: dict[str, str | None]
    """The cookie's attributes, names in lower case: ``None`` for a flag such as HttpOnly."""


BASIC = Example(
    module="basic",
    base_url="http://testserver",
    secret=REFERENCE_SECRET,
    max_age=3600,
    attributes={"max-age": "3600", "path": "/", "httponly": None, "samesite": "Lax"},
)
PRODUCTION = Example(
    module="production",
    # Secure and Domain=.example.com: the cookie jar only returns it to https://*.example.com.
    base_url="https://www.example.com",
    secret=PRODUCTION_SECRET,
    max_age=86400,
    attributes={
        "max-age": "86400",
        "secure": None,
        "samesite": "Strict",
        "domain": ".example.com",
        "httponly": None,
        "path": "/",
    },
)
BROWSER_SESSION = Example(
    module="browser_session",
    base_url="http://testserver",
    secret=REFERENCE_SECRET,
    max_age=None,
    attributes={"path": "/", "httponly": None, "samesite": "Lax"},  # no Max-Age, no Expires
)


def load_app(module: str) -> FastAPI:
    """The ``app`` of ``examples/<module>.py``, from a fresh import of the file."""
    spec = importlib.util.spec_from_file_location(f"examples.{module}", EXAMPLES / f"{module}.py")
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    app = loaded.app
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture(params=[BASIC, PRODUCTION, BROWSER_SESSION], ids=lambda example: example.module)
def example(request: pytest.FixtureRequest) -> Example:
    chosen: Example = request.param
    return chosen


@pytest.fixture
def client(example: Example, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("SESSION_SECRET_KEY", PRODUCTION_SECRET)  # read by examples/production.py
    with TestClient(load_app(example.module), base_url=example.base_url) as test_client:
        yield test_client


def attributes_of(set_cookie: str) -> dict[str, str | None]:
    """A Set-Cookie header's attributes (names in lower case, as they are case-insensitive)."""
    _, *attributes = set_cookie.split(";")
    parsed: dict[str, str | None] = {}
    for attribute in attributes:
        name, has_value, value = attribute.strip().partition("=")
        parsed[name.lower()] = value if has_value else None
    return parsed


def test_counter_increments_across_requests(client: TestClient) -> None:
    counts = [client.get("/counter").json()["counter"] for _ in range(3)]
    assert counts == [1, 2, 3]


def test_cookie_has_exactly_the_configured_attributes(client: TestClient, example: Example) -> None:
    response = client.get("/counter")
    [set_cookie] = response.headers.get_list("set-cookie")
    assert set_cookie.startswith("fastrapi_session=")
    assert attributes_of(set_cookie) == example.attributes


def test_cookie_is_signed_with_the_configured_secret(client: TestClient, example: Example) -> None:
    client.get("/counter")
    cookie = client.cookies["fastrapi_session"]
    codec = SessionCodec([example.secret], max_age=example.max_age)
    assert codec.verify(cookie).data == {"counter": 1}


@pytest.fixture
def restore_log_level() -> Iterator[None]:
    """The docs show how to turn on the debug log; other tests must not inherit that."""
    logger = logging.getLogger("cookie_session")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("clean_env", "restore_log_level")
@pytest.mark.parametrize("page", CHECKED_PAGES)
def test_python_blocks_of_the_docs_run(page: str) -> None:
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    blocks = list(re.finditer(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL))
    assert blocks, f"{page} has no Python block to check"
    namespace: dict[str, object] = {"__name__": page}
    for block in blocks:
        # Padded so that a traceback's line numbers are the page's own.
        source = "\n" * text.count("\n", 0, block.start(1)) + block[1]
        # The docs are ours; running their examples is the point.
        exec(compile(source, str(path), "exec"), namespace)  # noqa: S102


# -- docs/frameworks.md: each recipe driven through its framework's test client ---------------


class ShopResponse(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


class Browser(Protocol):
    """What a visit needs of a test client; Starlette's and Litestar's both are one."""

    @property
    def cookies(self) -> Mapping[str, str]: ...

    def post(self, url: str, *, json: Any = None) -> ShopResponse: ...


def python_blocks_by_section(path: Path) -> dict[str, list[str]]:
    """A page's Python blocks under each ``## `` heading, padded so that a traceback's line
    numbers are the page's own."""
    text = path.read_text(encoding="utf-8")
    headings = list(re.finditer(r"^## (.+)$", text, flags=re.MULTILINE))
    sections: dict[str, list[str]] = {}
    for block in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        heading = [h[1] for h in headings if h.start() < block.start()][-1]
        padded = "\n" * text.count("\n", 0, block.start(1)) + block[1]
        sections.setdefault(heading, []).append(padded)
    return sections


def recipe_app(framework: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """The ``app`` built by the recipe for ``framework``, run as a module of its own (Litestar
    resolves a handler's annotations in the handler's module)."""
    name = "frameworks_recipe_" + framework.lower().replace(" ", "_")
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    for source in python_blocks_by_section(FRAMEWORKS_PAGE)[framework]:
        # The docs are ours; running their examples is the point.
        exec(compile(source, str(FRAMEWORKS_PAGE), "exec"), module.__dict__)  # noqa: S102
    app: object = module.app
    return app


def visit_the_shop(browser: Browser) -> None:
    """Log in, add two items to the cart, log out: what every recipe's shop promises."""
    assert browser.post("/login", json={"user": "ada"}).json() == {"user": "ada"}
    codec = SessionCodec([REFERENCE_SECRET], max_age=None)
    assert codec.verify(browser.cookies["session"]).data == {"user": "ada"}
    browser.post("/cart", json={"item": "tea"})
    assert browser.post("/cart", json={"item": "milk"}).json() == {"cart": ["tea", "milk"]}
    logout = browser.post("/logout")
    assert logout.headers["set-cookie"].startswith("session=; Max-Age=0; ")
    assert "session" not in browser.cookies
    # A cart started after logging out starts empty.
    assert browser.post("/cart", json={"item": "tea"}).json() == {"cart": ["tea"]}


def test_frameworks_page_has_a_recipe_per_framework() -> None:
    assert list(python_blocks_by_section(FRAMEWORKS_PAGE)) == FRAMEWORK_RECIPES


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("framework", FRAMEWORK_RECIPES)
def test_framework_recipe_logs_in_fills_a_cart_and_logs_out(
    framework: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", REFERENCE_SECRET)  # read by the bare ASGI recipe
    app = recipe_app(framework, monkeypatch)
    if isinstance(app, Litestar):
        with LitestarTestClient(app=app) as litestar_client:
            visit_the_shop(litestar_client)
    else:
        assert isinstance(app, Starlette | SessionMiddleware)
        visit_the_shop(TestClient(app))
