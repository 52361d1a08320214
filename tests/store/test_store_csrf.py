"""The CSRF check with sessions in Redis: the secret is one more stored key, changed by
regenerate() and, with user_key, by a change of user. Driven against the shared redis-server,
through Starlette, Litestar and Quart (tests/test_csrf.py's apps, with a store)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import TestClient as LitestarClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionMiddleware, csrf_token, get_session
from cookie_session.csrf import CSRF_SECRET_KEY
from test_csrf import litestar_app, multipart, quart_app, quart_text, quart_token

from .conftest import USER_KEY, id_in, session_cookie, stored
from .test_store_quart import id_of


async def token(request: Request) -> PlainTextResponse:
    return PlainTextResponse(csrf_token(get_session(request)))


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type=request.headers.get("content-type"))


async def login(request: Request) -> PlainTextResponse:
    get_session(request)[USER_KEY] = request.query_params["user"]
    return PlainTextResponse("signed in")


async def login_and_token(request: Request) -> PlainTextResponse:
    """Signs in and renders a form of the new session, as a login page that shows the next
    form at once would: regenerate() first."""
    session = get_session(request)
    session[USER_KEY] = request.query_params["user"]
    session.regenerate()
    return PlainTextResponse(csrf_token(session))


async def regenerate(request: Request) -> PlainTextResponse:
    get_session(request).regenerate()
    return PlainTextResponse("regenerated")


ROUTES = [
    Route("/token", token),
    Route("/echo", echo, methods=["POST"]),
    Route("/login", login, methods=["POST"]),
    Route("/login-and-token", login_and_token, methods=["POST"]),
    Route("/regenerate", regenerate, methods=["POST"]),
]


@pytest.fixture
def app(store_url: str) -> SessionMiddleware:
    return SessionMiddleware(
        Starlette(routes=ROUTES),
        secret_key=SECRET,
        store_url=store_url,
        user_key=USER_KEY,
        csrf=True,
    )


@pytest.fixture
def client(app: SessionMiddleware) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def header(value: str) -> dict[str, str]:
    return {"x-csrf-token": value}


def test_store_the_secret_is_one_more_stored_key(
    client: TestClient, redis_client: redis.Redis
) -> None:
    response = client.get("/token")
    cookie = session_cookie(response)
    assert cookie

    assert list(stored(redis_client, id_in(cookie))) == [CSRF_SECRET_KEY]


def test_store_a_token_in_the_header_or_form_passes_and_the_body_is_unchanged(
    client: TestClient,
) -> None:
    value = client.get("/token").text
    by_header = client.post("/echo", headers=header(value), content=b'{"a": 1}')
    form = f"csrf_token={value}&note=caf%C3%A9".encode()
    by_form = client.post(
        "/echo", content=form, headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert (by_header.status_code, by_header.content) == (200, b'{"a": 1}')
    assert (by_form.status_code, by_form.content) == (200, form)


def test_store_a_request_without_a_valid_token_is_refused_and_counted(
    client: TestClient, app: SessionMiddleware
) -> None:
    client.get("/token")
    missing = client.post("/echo")
    invalid = client.post("/echo", headers=header(csrf_token({})))

    assert (missing.status_code, missing.text) == (403, "CSRF token missing")
    assert (invalid.status_code, invalid.text) == (403, "CSRF token invalid")
    assert app.stats().csrf_rejected == 2


def test_store_regenerate_changes_the_token(client: TestClient) -> None:
    before = client.get("/token").text
    assert client.post("/regenerate", headers=header(before)).status_code == 200

    refused = client.post("/echo", headers=header(before))
    after = client.get("/token").text

    assert (refused.status_code, refused.text) == (403, "CSRF token invalid")
    assert client.post("/echo", headers=header(after)).status_code == 200


def test_store_a_change_of_user_changes_the_token(client: TestClient) -> None:
    before = client.get("/token").text
    assert client.post("/login", params={"user": "ada"}, headers=header(before)).status_code == 200

    refused = client.post("/echo", headers=header(before))
    after = client.get("/token").text

    assert (refused.status_code, refused.text) == (403, "CSRF token invalid")
    assert client.post("/echo", headers=header(after)).status_code == 200


def test_store_a_token_made_after_regenerate_in_the_login_request_stays_valid(
    client: TestClient,
) -> None:
    before = client.get("/token").text
    response = client.post("/login-and-token", params={"user": "ada"}, headers=header(before))
    assert response.status_code == 200

    assert client.post("/echo", headers=header(response.text)).status_code == 200
    assert client.post("/echo", headers=header(before)).status_code == 403


# -- Litestar and Quart ----------------------------------------------------------------------


@pytest.fixture
def litestar_client(store_url: str) -> Iterator[LitestarClient[Litestar]]:
    with LitestarClient(app=litestar_app(store_url=store_url, user_key=USER_KEY)) as client:
        yield client


def test_store_litestar_a_form_with_the_token_passes_and_without_it_is_refused(
    litestar_client: LitestarClient[Litestar], redis_client: redis.Redis
) -> None:
    token = litestar_client.get("/token").text
    passed = litestar_client.post("/transfer", data={"csrf_token": token, "amount": "5"})
    missing = litestar_client.post("/transfer", data={"amount": "5"})
    invalid = litestar_client.post("/transfer", data={"amount": "5", "csrf_token": "forged"})

    assert list(stored(redis_client, id_in(litestar_client.cookies["session"]))) == [
        CSRF_SECRET_KEY
    ]
    assert (passed.status_code, passed.json()) == (201, {"amount": "5"})
    assert (missing.status_code, missing.text) == (403, "CSRF token missing")
    assert (invalid.status_code, invalid.text) == (403, "CSRF token invalid")


@pytest.mark.anyio
async def test_store_quart_a_form_or_header_with_the_token_passes_and_without_it_is_refused(
    store_url: str, redis_client: redis.Redis
) -> None:
    client = quart_app(store_url=store_url, user_key=USER_KEY).test_client()
    page = await client.get("/token")
    token = await page.get_data(as_text=True)

    by_form = await client.post("/transfer", form={"csrf_token": token, "amount": "5"})
    by_header = await client.post(
        "/transfer", form={"amount": "6"}, headers={"X-CSRF-Token": token}
    )
    missing = await client.post("/transfer", form={"amount": "5"})
    invalid = await client.post("/transfer", form={"amount": "5", "csrf_token": csrf_token({})})

    assert list(stored(redis_client, id_of(page.headers["Set-Cookie"]))) == [CSRF_SECRET_KEY]
    assert (await by_form.get_json())["amount"] == "5"
    assert (await by_header.get_json())["amount"] == "6"
    assert await quart_text(missing) == (403, "CSRF token missing")
    assert await quart_text(invalid) == (403, "CSRF token invalid")


@pytest.mark.anyio
async def test_store_quart_the_view_reads_a_multipart_body_form_and_files_unchanged(
    store_url: str,
) -> None:
    client = quart_app(store_url=store_url, user_key=USER_KEY).test_client()
    token = await quart_token(client)
    body, content_type = multipart({"csrf_token": token, "note": "café"})

    response = await client.post("/received", data=body, headers={"content-type": content_type})

    received: dict[str, Any] = await response.get_json()
    assert received == {
        "body": body.decode(),
        "form": {"csrf_token": [token], "note": ["café"]},
        "files": {"upload": "file content"},
    }


@pytest.mark.anyio
async def test_store_quart_a_change_of_user_changes_the_token(store_url: str) -> None:
    client = quart_app(store_url=store_url, user_key=USER_KEY).test_client()
    before = await quart_token(client)
    signed_in = await client.post(
        "/login", query_string={"user": "ada"}, headers={"X-CSRF-Token": before}
    )
    assert signed_in.status_code == 200

    refused = await client.post("/transfer", form={"amount": "5"}, headers={"X-CSRF-Token": before})
    after = await quart_token(client)
    passed = await client.post("/transfer", form={"amount": "5"}, headers={"X-CSRF-Token": after})

    assert await quart_text(refused) == (403, "CSRF token invalid")
    assert passed.status_code == 200
