"""Typed-session behaviours that no test held until ``scripts/mutate`` changed them: fields
stored in the form the model reads back (under an alias, or as JSON text), and a field reset
under its alias named as such."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, ConfigDict, Field, Json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionCodec, SessionMiddleware, TypedSession


class Nickname(BaseModel):
    """A field stored under its alias, and read only by it."""

    model_config = ConfigDict(validate_assignment=True)

    nickname: str = Field("", alias="nick")


class SavedSearch(BaseModel):
    """A field that takes JSON text, as a query parameter would bring it."""

    model_config = ConfigDict(validate_assignment=True)

    filters: Json[dict[str, int]] = Field(default_factory=dict)


nickname_session = TypedSession(Nickname, key="nickname")
search_session = TypedSession(SavedSearch, key="search")


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


def client() -> TestClient:
    app = Starlette(routes=[Route("/nickname", nickname), Route("/search", search)])
    return TestClient(SessionMiddleware(app, secret_key=SECRET))


def test_field_with_an_alias_keeps_its_value_across_requests() -> None:
    browser = client()
    browser.get("/nickname", params={"set": "Al"})

    assert browser.get("/nickname").json() == {"nickname": "Al"}


def test_json_field_keeps_its_value_across_requests() -> None:
    browser = client()
    browser.get("/search", params={"set": '{"page": 3}'})

    assert browser.get("/search").json() == {"filters": {"page": 3}}


def test_field_reset_under_its_alias_is_named_by_the_alias_in_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    browser = client()
    browser.cookies.set(
        "session", SessionCodec([SECRET], max_age=None).encode({"nickname": {"nick": 42}})
    )

    with caplog.at_level(logging.WARNING, logger="cookie_session"):
        browser.get("/nickname")

    [warning] = caplog.messages
    assert warning.endswith("reset to defaults: nick")
