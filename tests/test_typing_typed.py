"""Typed sessions' typing: handlers get the model's own type under ``mypy --strict``, never Any.

The handlers below are the accepted module: mypy checks them in the project's main run, and
``test_typed_handlers_pass_mypy_strict`` checks them again from the test suite. Each snippet under
``tests/typing_rejected/typed_*.py`` holds one mistake in a handler of ``examples/typed_cart.py``;
the tests run mypy on it and require exactly the error that mistake deserves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, assert_type

import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionMiddleware, TypedSession
from mypy_check import assert_rejected_at_mistake, mypy_errors
from test_typed import CartSession, Item, cart_session

assert_type(cart_session, TypedSession[CartSession])
Cart = Annotated[CartSession, Depends(cart_session)]


async def starlette_handler(request: Request) -> JSONResponse:
    cart = cart_session.load(request)
    assert_type(cart, CartSession)
    assert_type(cart.user_id, int | None)
    assert_type(cart.items, list[Item])
    cart.user_id = 7
    cart.items.append(Item(sku="tea"))
    return JSONResponse({"model": type(cart).__name__})


async def fastapi_handler(cart: Cart) -> dict[str, str]:
    assert_type(cart, CartSession)
    cart.items.append(Item(sku="jam", quantity=2))
    return {"model": type(cart).__name__}


def starlette_app() -> Starlette:
    app = Starlette(routes=[Route("/", starlette_handler)])
    app.add_middleware(SessionMiddleware, secret_key=SECRET)
    return app


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_api_route("/", fastapi_handler)
    app.add_middleware(SessionMiddleware, secret_key=SECRET)
    return app


# -- accepted ---------------------------------------------------------------------------------


def test_typed_handlers_pass_mypy_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mypy_errors(Path(__file__).resolve(), monkeypatch) == []


def test_starlette_handler_gets_the_model_at_run_time() -> None:
    assert TestClient(starlette_app()).get("/").json() == {"model": "CartSession"}


def test_fastapi_handler_gets_the_model_at_run_time() -> None:
    assert TestClient(fastapi_app()).get("/").json() == {"model": "CartSession"}


# -- rejected ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        pytest.param(
            "typed_misspelt_attribute.py",
            'error: "CartSession" has no attribute "copuon"; maybe "coupon"?  [attr-defined]',
            id="misspelt attribute",
        ),
        pytest.param(
            "typed_wrong_value_type.py",
            'error: Incompatible types in assignment (expression has type "int", variable has '
            'type "str | None")  [assignment]',
            id="wrong value type",
        ),
        pytest.param(
            "typed_wrong_item_type.py",
            'error: Argument 1 to "append" of "list" has incompatible type "str"; expected '
            '"Item"  [arg-type]',
            id="wrong item type",
        ),
        pytest.param(
            "typed_model_not_pydantic.py",
            'error: Value of type variable "M" of "TypedSession" cannot be "dict[Any, Any]"  '
            "[type-var]",
            id="model not pydantic",
        ),
    ],
)
def test_mypy_rejects_a_typed_session_mistake(
    snippet: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_rejected_at_mistake(snippet, expected, monkeypatch)
