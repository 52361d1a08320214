"""The pages-with-forms recipes of docs/frameworks.md: each block is the file of examples/recipes/
it names, mypy --strict passes each file, and each application works through its framework's test
client (the form's token logs in, the flash is shown once, no token is a 403, the page's token
passes in the header, and the recipe's own test passes)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import re
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient as LitestarTestClient
from mypy import api as mypy_api
from quart import Quart
from starlette.testclient import TestClient

from cookie_session import SessionConfig
from cookie_session.csrf import verify_csrf_token
from cookie_session.testing import client_session
from mypy_check import mypy_errors

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS_PAGE = ROOT / "docs" / "frameworks.md"
RECIPES = ROOT / "examples" / "recipes"
RECIPE_OF_SECTION = {
    "Starlette": "starlette_forms.py",
    "FastAPI": "fastapi_forms.py",
    "Litestar": "litestar_forms.py",
    "Quart": "quart_forms.py",
}
TITLED_BLOCK = re.compile(r'^```python title="([^"]+)"\n(.*?)^```$', flags=re.MULTILINE | re.DOTALL)


def titled_blocks() -> list[tuple[str, str, str]]:
    """Each block of the page that names a file: the ``## `` section it is in, the file, the
    block's text."""
    text = FRAMEWORKS_PAGE.read_text(encoding="utf-8")
    headings = list(re.finditer(r"^## (.+)$", text, flags=re.MULTILINE))
    return [
        ([h[1] for h in headings if h.start() < block.start()][-1], block[1], block[2])
        for block in TITLED_BLOCK.finditer(text)
    ]


def test_each_recipe_block_is_the_file_it_names() -> None:
    blocks = titled_blocks()

    assert blocks, "docs/frameworks.md names no file"
    for _section, name, text in blocks:
        assert text == (ROOT / name).read_text(encoding="utf-8"), f"the block of {name} differs"


def test_each_framework_section_shows_its_recipe_and_every_recipe_is_shown() -> None:
    shown = {section: Path(name).name for section, name, _text in titled_blocks()}

    assert shown == RECIPE_OF_SECTION
    assert sorted(path.name for path in RECIPES.glob("*.py")) == sorted(shown.values())


@pytest.mark.parametrize("recipe", sorted(RECIPE_OF_SECTION.values()))
def test_the_recipes_pass_mypy_strict(recipe: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mypy_errors(RECIPES / recipe, monkeypatch) == []


def test_the_recipes_pass_mypy_strict_without_pydantic_s_plugin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The page says so: an application need not configure the plugin for them.
    monkeypatch.chdir(ROOT)
    recipes = [(RECIPES / name).relative_to(ROOT).as_posix() for name in RECIPE_OF_SECTION.values()]
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\n", encoding="utf-8")
    report, errors, status = mypy_api.run(["--config-file", str(tmp_path / "mypy.ini"), *recipes])

    assert (errors, status) == ("", 0), report


# -- each recipe, driven through its framework's test client -----------------------------------


@dataclass(frozen=True)
class Page:
    status: int
    text: str
    headers: Mapping[str, str]


@dataclass
class Visitor:
    """A test client of the recipe's framework, behind one async interface; redirects are not
    followed, so that each one is seen."""

    client: Any
    config: SessionConfig

    async def get(self, path: str) -> Page:
        return await self.request("GET", path)

    async def post(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Page:
        return await self.request("POST", path, form, headers)

    async def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Page:
        if isinstance(self.client, TestClient | LitestarTestClient):
            response = self.client.request(
                method, path, data=form, headers=headers, follow_redirects=False
            )
            return Page(response.status_code, response.text, response.headers)
        quart_response = await self.client.open(
            path, method=method, form=form, headers=headers, follow_redirects=False
        )
        text = await quart_response.get_data(as_text=True)
        return Page(quart_response.status_code, text, quart_response.headers)

    def session(self) -> dict[str, Any]:
        return client_session(self.client, self.config)

    async def form_token(self, path: str) -> str:
        """The CSRF field's value in the form of the page at ``path``."""
        page = await self.get(path)
        assert page.status == 200, page.text
        field = re.escape(self.config.csrf_field)
        found = re.search(rf'<input type="hidden" name="{field}" value="([^"]+)">', page.text)
        assert found is not None, page.text
        return found[1]

    async def log_in(self, user: str) -> Page:
        token = await self.form_token("/login")
        return await self.post("/login", {"user": user, self.config.csrf_field: token})


def load_recipe(recipe: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``examples/recipes/<recipe>`` imported afresh, as a module of its own (Litestar resolves
    a handler's annotations in the handler's module)."""
    name = "recipe_" + recipe.removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, RECIPES / recipe)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=sorted(RECIPE_OF_SECTION.values()))
def recipe(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_recipe(request.param, monkeypatch)


@pytest.fixture
async def visitor(recipe: ModuleType) -> AsyncIterator[Visitor]:
    app, config = recipe.app, recipe.config
    assert isinstance(config, SessionConfig)
    assert config.csrf
    if isinstance(app, Quart):
        yield Visitor(app.test_client(), config)
    elif isinstance(app, Litestar):
        with LitestarTestClient(app=app) as litestar_client:
            yield Visitor(litestar_client, config)
    else:
        with TestClient(app) as client:
            yield Visitor(client, config)


def flashed(page: Page) -> list[str]:
    return re.findall(r'<p class="success">([^<]*)</p>', page.text)


@pytest.mark.anyio
async def test_the_login_form_carries_a_token_of_the_session_and_the_header_set_up(
    visitor: Visitor,
) -> None:
    page = await visitor.get("/login")
    token = await visitor.form_token("/login")
    header = visitor.config.csrf_header

    assert verify_csrf_token(visitor.session(), token)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert meta is not None
    assert verify_csrf_token(visitor.session(), meta[1])
    assert f'<body hx-headers=\'{{"{header}": "' in page.text


@pytest.mark.anyio
async def test_a_login_with_the_forms_token_redirects_and_flashes_once(visitor: Visitor) -> None:
    login = await visitor.log_in("ada")
    home = await visitor.get("/")
    again = await visitor.get("/")

    assert (login.status, login.headers["location"]) == (303, "/")
    assert (home.status, flashed(home)) == (200, ["Welcome, ada"])
    assert "Signed in as ada" in home.text
    assert (again.status, flashed(again)) == (200, [])
    assert visitor.session()["user"] == "ada"


@pytest.mark.anyio
async def test_a_login_without_the_token_is_refused(visitor: Visitor) -> None:
    await visitor.get("/login")  # the session and its secret exist: only the token is missing

    refused = await visitor.post("/login", {"user": "mallory"})
    forged = await visitor.post("/login", {"user": "mallory", visitor.config.csrf_field: "x"})

    assert (refused.status, refused.text) == (403, "CSRF token missing")
    assert (forged.status, forged.text) == (403, "CSRF token invalid")
    assert "user" not in visitor.session()


@pytest.mark.anyio
async def test_fetch_and_htmx_send_the_pages_token_in_the_header(visitor: Visitor) -> None:
    await visitor.log_in("ada")
    page = await visitor.get("/")
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    htmx = re.search(r"<body hx-headers='\{\"[^\"]+\": \"([^\"]+)\"\}'>", page.text)
    assert meta is not None
    assert htmx is not None
    header = visitor.config.csrf_header
    assert f'headers: {{"{header}": token}}' in page.text  # what fetch() sends

    by_fetch = await visitor.post("/like", headers={header: meta[1]})
    by_htmx = await visitor.post("/like", headers={header.upper(): htmx[1]})
    without = await visitor.post("/like")

    assert [(by_fetch.status, by_fetch.text), (by_htmx.status, by_htmx.text)] == [
        (200, "1"),
        (200, "2"),
    ]
    assert (without.status, without.text) == (403, "CSRF token missing")


@pytest.mark.anyio
async def test_the_tokens_from_before_the_login_are_refused_after_it(visitor: Visitor) -> None:
    before = await visitor.form_token("/login")
    await visitor.post("/login", {"user": "ada", visitor.config.csrf_field: before})

    replayed = await visitor.post("/like", headers={visitor.config.csrf_header: before})

    assert (replayed.status, replayed.text) == (403, "CSRF token invalid")


def test_the_recipes_own_test_passes(recipe: ModuleType) -> None:
    tests: list[Callable[[], Any]] = [
        test for name, test in vars(recipe).items() if name.startswith("test_")
    ]

    assert len(tests) == 1
    for test in tests:
        result = test()
        if inspect.iscoroutine(result):
            asyncio.run(result)
