"""Typed sessions: a pydantic model bound to a session key, through Starlette and FastAPI apps.

Most tests run against both frameworks (the ``client`` fixture): a Starlette app whose handlers
call ``cart_session.load(request)`` and a FastAPI app whose handlers take
``Annotated[CartSession, Depends(cart_session)]``. Old-shape cookies are signed here with the
test secret, as an earlier deploy of the application would have signed them.
"""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Body, Depends, FastAPI
from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError, model_validator
from pydantic_core import PydanticSerializationError
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from conftest import SECRET
from cookie_session import (
    SessionConfig,
    SessionMiddleware,
    SessionNotInstalled,
    TypedSession,
    get_session,
)
from cookie_session.testing import client_session, read_session_cookie, set_client_session
from test_examples import load_app

COOKIE = "session"
CONFIG = SessionConfig(secret_key=SECRET)


class Item(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    sku: str
    quantity: int = 1


class CartSession(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    user_id: int | None = None
    items: list[Item] = []


class Profile(BaseModel):
    """A field renamed from ``name``, which reads the old name too."""

    model_config = ConfigDict(validate_assignment=True, validate_by_name=True)

    display_name: str = Field("", validation_alias="name")


class Preferences(BaseModel):
    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    theme: str = "light"


class Range(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    low: int = 0
    high: int = 10

    @model_validator(mode="after")
    def low_not_above_high(self) -> Range:
        if self.low > self.high:
            raise ValueError("low is above high")
        return self


class Nickname(BaseModel):
    """A field stored under its alias, and read only by it."""

    model_config = ConfigDict(validate_assignment=True)

    nickname: str = Field("", alias="nick")


class SavedSearch(BaseModel):
    """A field that takes JSON text, as a query parameter would bring it."""

    model_config = ConfigDict(validate_assignment=True)

    filters: Json[dict[str, int]] = Field(default_factory=dict)


cart_session = TypedSession(CartSession, key="cart")
profile_session = TypedSession(Profile, key="profile")
preferences_session = TypedSession(Preferences, key="preferences")
range_session = TypedSession(Range, key="range")
nickname_session = TypedSession(Nickname, key="nickname")
search_session = TypedSession(SavedSearch, key="search")
Cart = Annotated[CartSession, Depends(cart_session)]


def cart_response(cart: CartSession) -> JSONResponse:
    return JSONResponse(cart.model_dump(mode="json"))


def assign_user(cart: CartSession, user_id: Any) -> JSONResponse:
    """Set the cart's user, answering 422 with the failing fields when the value does not fit."""
    try:
        cart.user_id = user_id
    except ValidationError as error:
        return JSONResponse({"invalid": [problem["loc"] for problem in error.errors()]}, 422)
    return cart_response(cart)


def count_visit(request: Request, cart: CartSession) -> JSONResponse:
    """Count visits in the plain dict session, beside the typed cart."""
    session = get_session(request)
    session["visits"] = session.get("visits", 0) + 1
    return JSONResponse({"visits": session["visits"], "items": len(cart.items)})


def log_out(request: Request) -> JSONResponse:
    get_session(request).clear()
    return JSONResponse({"logged_out": True})


# -- the Starlette app ----------------------------------------------------------------------


async def starlette_show_cart(request: Request) -> JSONResponse:
    return cart_response(cart_session.load(request))


async def starlette_set_user(request: Request) -> JSONResponse:
    body = await request.json()
    return assign_user(cart_session.load(request), body["user_id"])


async def starlette_add_item(request: Request) -> JSONResponse:
    cart = cart_session.load(request)
    cart.items.append(Item.model_validate(await request.json()))
    return cart_response(cart)


async def starlette_count_visit(request: Request) -> JSONResponse:
    return count_visit(request, cart_session.load(request))


async def starlette_same_instance(request: Request) -> JSONResponse:
    return JSONResponse({"same": cart_session.load(request) is cart_session.load(request)})


async def starlette_log_out(request: Request) -> JSONResponse:
    cart_session.load(request)
    return log_out(request)


async def add_unvalidated_item(request: Request) -> JSONResponse:
    """Put the request body into the cart's list as it is: nothing validates an in-place append."""
    cart_session.load(request).items.append(await request.json())
    return JSONResponse({"appended": True})


async def load_cart_as_range(request: Request) -> JSONResponse:
    cart_session.load(request)
    TypedSession(Range, key="cart").load(request)
    return JSONResponse({"loaded": True})


async def show_profile(request: Request) -> JSONResponse:
    return JSONResponse(profile_session.load(request).model_dump(mode="json"))


async def show_preferences(request: Request) -> JSONResponse:
    return JSONResponse(preferences_session.load(request).model_dump(mode="json"))


async def show_range(request: Request) -> JSONResponse:
    return JSONResponse(range_session.load(request).model_dump(mode="json"))


async def nickname(request: Request) -> JSONResponse:
    model = nickname_session.load(request)
    if "set" in request.query_params:
        model.nickname = request.query_params["set"]
    return JSONResponse({"nickname": model.nickname})


async def search(request: Request) -> JSONResponse:
    model = search_session.load(request)
    if "set" in request.query_params:
        # JSON text, which validate_assignment reads into the dict the field holds.
        model.filters = request.query_params["set"]  # type: ignore[assignment]  # a JSON string into a Json field, as a form would send it
    return JSONResponse({"filters": model.filters})


async def websocket_set_user(websocket: WebSocket) -> None:
    cart_session.load(websocket).user_id = 7
    await websocket.accept()
    await websocket.close()


def starlette_app(*, with_middleware: bool = True) -> Starlette:
    app = Starlette(
        routes=[
            Route("/cart", starlette_show_cart),
            Route("/user", starlette_set_user, methods=["POST"]),
            Route("/items", starlette_add_item, methods=["POST"]),
            Route("/visits", starlette_count_visit, methods=["POST"]),
            Route("/same", starlette_same_instance),
            Route("/logout", starlette_log_out, methods=["POST"]),
            Route("/items/unvalidated", add_unvalidated_item, methods=["POST"]),
            Route("/cart-as-range", load_cart_as_range),
            Route("/profile", show_profile),
            Route("/preferences", show_preferences),
            Route("/range", show_range),
            Route("/nickname", nickname),
            Route("/search", search),
            WebSocketRoute("/ws", websocket_set_user),
        ]
    )
    if with_middleware:
        app.add_middleware(SessionMiddleware, config=CONFIG)
    return app


# -- the FastAPI app ------------------------------------------------------------------------


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/cart")
    async def show_cart(cart: Cart) -> CartSession:
        return cart

    @app.post("/user")
    async def set_user(cart: Cart, body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
        return assign_user(cart, body["user_id"])

    @app.post("/items")
    async def add_item(item: Item, cart: Cart) -> CartSession:
        cart.items.append(item)
        return cart

    @app.post("/visits")
    async def visit(request: Request, cart: Cart) -> JSONResponse:
        return count_visit(request, cart)

    @app.get("/same")
    async def same_instance(request: Request, cart: Cart) -> dict[str, bool]:
        return {"same": cart is cart_session.load(request)}

    @app.post("/logout")
    async def logout(request: Request, cart: Cart) -> JSONResponse:
        return log_out(request)

    app.add_middleware(SessionMiddleware, config=CONFIG)
    return app


@pytest.fixture(params=["starlette", "fastapi"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """A client of the Starlette app and, in a second run, of the FastAPI app."""
    app = starlette_app() if request.param == "starlette" else fastapi_app()
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def starlette_client() -> Iterator[TestClient]:
    """A client of the Starlette app, for routes that only it has."""
    with TestClient(starlette_app()) as test_client:
        yield test_client


def warnings_logged(client: TestClient, path: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """The WARNING messages of logger ``cookie_session`` while ``client`` gets ``path``."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cookie_session"):
        client.get(path)
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "cookie_session" and record.levelno == logging.WARNING
    ]


# -- declaring a typed session --------------------------------------------------------------


def test_model_without_validate_assignment_is_refused() -> None:
    class Unchecked(BaseModel):
        user_id: int | None = None

    with pytest.raises(TypeError, match=r"Unchecked must set .*validate_assignment=True"):
        TypedSession(Unchecked, key="unchecked")


def test_model_with_a_required_field_is_refused() -> None:
    class NeedsUser(BaseModel):
        model_config = ConfigDict(validate_assignment=True)

        user_id: int
        note: str = ""

    with pytest.raises(TypeError, match=r"every field of NeedsUser needs a default.*user_id"):
        TypedSession(NeedsUser, key="needs_user")


def test_importing_the_package_imports_no_web_framework() -> None:
    code = (
        "import sys, cookie_session; "
        "frameworks = {'fastapi', 'quart', 'starlette', 'prometheus_client', 'redis', "
        "'cryptography'}; "
        "print(sorted({name.split('.')[0] for name in sys.modules} & frameworks))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_signature_of_the_class_is_its_constructors() -> None:
    assert list(inspect.signature(TypedSession).parameters) == ["model", "key"]


def test_signature_of_an_instance_takes_the_request_for_fastapi() -> None:
    [parameter] = inspect.signature(cart_session).parameters.values()
    assert parameter.annotation is HTTPConnection


# -- reading and writing --------------------------------------------------------------------


def test_new_visitor_gets_the_model_defaults(client: TestClient) -> None:
    assert client.get("/cart").json() == {"user_id": None, "items": []}


def test_reading_a_new_visitors_model_sends_no_cookie(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/cart").headers


def test_assignment_persists_across_requests(client: TestClient) -> None:
    client.post("/user", json={"user_id": 7})
    assert client.get("/cart").json()["user_id"] == 7


def test_in_place_change_persists_across_requests(client: TestClient) -> None:
    client.post("/items", json={"sku": "tea"})
    client.post("/items", json={"sku": "jam", "quantity": 2})
    assert client.get("/cart").json()["items"] == [
        {"sku": "tea", "quantity": 1},
        {"sku": "jam", "quantity": 2},
    ]


def test_model_is_stored_as_json_under_its_key(client: TestClient) -> None:
    client.post("/items", json={"sku": "tea"})
    assert client_session(client, CONFIG) == {
        "cart": {"user_id": None, "items": [{"sku": "tea", "quantity": 1}]}
    }


def test_unchanged_model_sends_no_cookie(client: TestClient) -> None:
    client.post("/user", json={"user_id": 7})
    assert "set-cookie" not in client.get("/cart").headers


def test_wrong_type_assignment_fails_in_the_handler(client: TestClient) -> None:
    response = client.post("/user", json={"user_id": "ada"})
    assert response.status_code == 422
    assert response.json() == {"invalid": [["user_id"]]}


def test_failed_assignment_keeps_the_previous_value(client: TestClient) -> None:
    client.post("/user", json={"user_id": 7})
    client.post("/user", json={"user_id": "ada"})
    assert client.get("/cart").json()["user_id"] == 7


def test_in_place_value_of_the_wrong_type_fails_when_the_response_starts(
    starlette_client: TestClient,
) -> None:
    with pytest.raises(PydanticSerializationError, match="Expected `Item`"):
        starlette_client.post("/items/unvalidated", json={"sku": "tea"})


def test_plain_dict_session_works_beside_the_model(client: TestClient) -> None:
    client.post("/items", json={"sku": "tea"})
    client.post("/visits")
    assert client.post("/visits").json() == {"visits": 2, "items": 1}


def test_plain_dict_keys_are_stored_beside_the_models_key(client: TestClient) -> None:
    client.post("/visits")
    client.post("/items", json={"sku": "tea"})
    assert client_session(client, CONFIG) == {
        "visits": 1,
        "cart": {"user_id": None, "items": [{"sku": "tea", "quantity": 1}]},
    }


def test_field_with_an_alias_keeps_its_value_across_requests(
    starlette_client: TestClient,
) -> None:
    starlette_client.get("/nickname", params={"set": "Al"})

    assert starlette_client.get("/nickname").json() == {"nickname": "Al"}


def test_json_field_keeps_its_value_across_requests(starlette_client: TestClient) -> None:
    starlette_client.get("/search", params={"set": '{"page": 3}'})

    assert starlette_client.get("/search").json() == {"filters": {"page": 3}}


def test_repeated_load_returns_the_same_instance(client: TestClient) -> None:
    assert client.get("/same").json() == {"same": True}


def test_clearing_the_session_after_loading_the_model_deletes_the_cookie(
    client: TestClient,
) -> None:
    client.post("/user", json={"user_id": 7})
    response = client.post("/logout")
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert COOKIE not in client.cookies


def test_another_model_under_a_loaded_key_is_a_type_error(starlette_client: TestClient) -> None:
    with pytest.raises(TypeError, match="'cart' is already loaded as CartSession"):
        starlette_client.get("/cart-as-range")


def test_load_without_session_middleware_raises_session_not_installed() -> None:
    client = TestClient(starlette_app(with_middleware=False))
    with pytest.raises(SessionNotInstalled, match=r"add cookie_session\.SessionMiddleware"):
        client.get("/cart")


def test_model_changed_before_a_websocket_is_accepted_is_saved(
    starlette_client: TestClient,
) -> None:
    with starlette_client.websocket_connect("/ws") as websocket:
        headers: dict[bytes, bytes] = dict(websocket.extra_headers or [])
    signed = headers[b"set-cookie"].decode().removeprefix(f"{COOKIE}=").split(";")[0]
    assert read_session_cookie(CONFIG, signed) == {"cart": {"user_id": 7, "items": []}}


# -- schema evolution: cookies written for an older model -----------------------------------


def test_renamed_field_drops_the_old_key_and_keeps_the_rest(client: TestClient) -> None:
    set_client_session(
        client, CONFIG, {"cart": {"user": 7, "items": [{"sku": "tea", "quantity": 1}]}}
    )
    response = client.get("/cart")
    assert response.status_code == 200
    assert response.json() == {"user_id": None, "items": [{"sku": "tea", "quantity": 1}]}


def test_renamed_field_with_its_old_name_as_validation_alias_keeps_its_value(
    starlette_client: TestClient,
) -> None:
    set_client_session(starlette_client, CONFIG, {"profile": {"name": "Ada"}})
    assert starlette_client.get("/profile").json() == {"display_name": "Ada"}
    assert client_session(starlette_client, CONFIG) == {"profile": {"display_name": "Ada"}}


def test_field_whose_type_changed_is_reset_and_the_others_kept(client: TestClient) -> None:
    set_client_session(
        client, CONFIG, {"cart": {"user_id": "ada", "items": [{"sku": "tea", "quantity": 1}]}}
    )
    response = client.get("/cart")
    assert response.status_code == 200
    assert response.json() == {"user_id": None, "items": [{"sku": "tea", "quantity": 1}]}


def test_field_whose_type_changed_logs_a_warning_naming_it_without_the_data(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    set_client_session(client, CONFIG, {"cart": {"user_id": "ada-lovelace", "items": []}})
    [warning] = warnings_logged(client, "/cart", caplog)
    assert warning.endswith("reset to defaults: user_id")
    assert "ada-lovelace" not in warning


def test_field_reset_under_its_alias_is_named_by_the_alias_in_the_warning(
    starlette_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    set_client_session(starlette_client, CONFIG, {"nickname": {"nick": 42}})

    [warning] = warnings_logged(starlette_client, "/nickname", caplog)

    assert warning.endswith("reset to defaults: nick")


def test_invalid_nested_value_resets_only_its_top_level_field(client: TestClient) -> None:
    set_client_session(
        client, CONFIG, {"cart": {"user_id": 3, "items": [{"sku": "tea", "quantity": "a"}]}}
    )
    assert client.get("/cart").json() == {"user_id": 3, "items": []}


def test_extra_field_is_dropped(client: TestClient) -> None:
    set_client_session(client, CONFIG, {"cart": {"user_id": 3, "items": [], "coupon": "WELCOME"}})
    response = client.get("/cart")
    assert response.status_code == 200
    assert response.json() == {"user_id": 3, "items": []}


def test_unknown_key_is_dropped_from_a_model_that_forbids_extras(
    starlette_client: TestClient,
) -> None:
    set_client_session(
        starlette_client, CONFIG, {"preferences": {"theme": "dark", "font": "serif"}}
    )
    assert starlette_client.get("/preferences").json() == {"theme": "dark"}


def test_unknown_key_is_not_named_in_the_warning(
    starlette_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    set_client_session(
        starlette_client, CONFIG, {"preferences": {"theme": 7, "font-for-ada": "serif"}}
    )
    [warning] = warnings_logged(starlette_client, "/preferences", caplog)
    assert warning.endswith("reset to defaults: theme")


def test_wholly_wrong_type_starts_from_the_defaults(client: TestClient) -> None:
    set_client_session(client, CONFIG, {"cart": ["tea", "jam"]})
    response = client.get("/cart")
    assert response.status_code == 200
    assert response.json() == {"user_id": None, "items": []}


def test_wholly_wrong_type_logs_a_warning_without_the_data(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    set_client_session(client, CONFIG, {"cart": "tea-and-jam"})
    [warning] = warnings_logged(client, "/cart", caplog)
    assert warning.startswith("session['cart'] (a str) no longer fits CartSession")
    assert "tea-and-jam" not in warning


def test_data_failing_a_model_validator_starts_from_the_defaults(
    starlette_client: TestClient,
) -> None:
    set_client_session(starlette_client, CONFIG, {"range": {"low": 5, "high": 1}})
    assert starlette_client.get("/range").json() == {"low": 0, "high": 10}


def test_fields_that_fit_only_with_the_reset_ones_start_from_the_defaults(
    starlette_client: TestClient,
) -> None:
    # "high" is reset to 10, and the "low" that was kept is above it.
    set_client_session(starlette_client, CONFIG, {"range": {"low": 50, "high": "top"}})
    assert starlette_client.get("/range").json() == {"low": 0, "high": 10}


def test_repaired_data_is_stored_on_the_first_response(client: TestClient) -> None:
    set_client_session(
        client, CONFIG, {"visits": 4, "cart": {"user_id": "ada", "coupon": "WELCOME"}}
    )
    client.get("/cart")
    assert client_session(client, CONFIG) == {"visits": 4, "cart": {"user_id": None, "items": []}}


def test_repaired_data_logs_a_warning_only_on_the_first_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    set_client_session(client, CONFIG, {"cart": {"user_id": "ada"}})
    first = warnings_logged(client, "/cart", caplog)
    second = warnings_logged(client, "/cart", caplog)
    assert (len(first), second) == (1, [])


# -- the FastAPI example --------------------------------------------------------------------


@pytest.fixture
def example_client() -> Iterator[TestClient]:
    with TestClient(load_app("typed_cart")) as test_client:
        yield test_client


def test_example_keeps_the_cart_across_requests(example_client: TestClient) -> None:
    example_client.post("/cart/items", json={"sku": "tea", "quantity": 2})
    example_client.post("/cart/items", json={"sku": "tea"})
    assert example_client.get("/cart").json() == {
        "items": [{"sku": "tea", "quantity": 3}],
        "coupon": None,
    }


def test_example_refuses_a_malformed_coupon_in_the_handler(example_client: TestClient) -> None:
    assert example_client.put("/cart/coupon", params={"code": "welcome!"}).status_code == 422
    assert example_client.get("/cart").json()["coupon"] is None


def test_example_counts_visits_in_the_plain_session(example_client: TestClient) -> None:
    example_client.post("/cart/items", json={"sku": "tea"})
    example_client.get("/visits")
    assert example_client.get("/visits").json() == {"visits": 2}
