"""docs/store.md stays true: its code runs against a real Redis, and its table of keys and
costs matches what the store does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from conftest import SECRET
from redis_server import HANDSHAKE, command_counts

from .conftest import MakeClient, id_in, sign_in

STORE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "store.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", STORE_PAGE.read_text(encoding="utf-8"), re.DOTALL)


def python_block_with(text: str) -> str:
    [block] = [block for block in python_blocks() if text in block]
    return block


def test_set_up_block_builds_a_store_backed_app() -> None:
    namespace: dict[str, Any] = {}

    exec(python_block_with("add_middleware"), namespace)  # noqa: S102  # our own documentation

    assert namespace["app"].user_middleware[0].kwargs["store_url"] == "redis://localhost:6379/0"


@pytest.mark.anyio
async def test_revocation_block_works_as_described(
    make_client: MakeClient,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: None,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", store_url)
    monkeypatch.setenv("SESSION_USER_KEY", "user")
    laptop, phone = make_client(), make_client()
    laptop_id, phone_id = sign_in(laptop, "42"), sign_in(phone, "42")
    namespace: dict[str, Any] = {}
    exec(python_block_with("log_out_everywhere"), namespace)  # noqa: S102  # our own documentation

    try:
        assert sorted(await namespace["devices"](42)) == sorted([laptop_id, phone_id])
        assert await namespace["log_out_device"](laptop_id) is True
        assert await namespace["log_out_device"](laptop_id) is False
        assert await namespace["log_out_everywhere"](42) == 1
    finally:
        await namespace["shutdown"]()

    assert phone.get("/show").json()["data"] == {}


def test_cookie_is_107_characters_as_the_page_says(client: TestClient) -> None:
    client.post("/set", json={"big": "x" * 10_000})

    assert len(client.cookies["session"]) == 107
    assert "(107 characters)" in STORE_PAGE.read_text(encoding="utf-8")


def test_costs_table_matches_the_commands_sent(
    client: TestClient, redis_client: redis.Redis
) -> None:
    def counted() -> dict[str, int]:
        counts = command_counts(redis_client)
        redis_client.config_resetstat()
        return {name: count for name, count in counts.items() if name not in HANDSHAKE}

    client.get("/show")
    assert counted() == {}
    client.post("/set", json={"n": 1})
    counted()
    client.get("/show")
    assert counted() == {"hgetall": 1}
    client.post("/set", json={"n": 2})
    # The script's own PEXPIRE and HSET are counted too; they run inside the one EVALSHA.
    assert counted() == {"hgetall": 1, "evalsha": 1, "pexpire": 1, "hset": 1}
    session_id = id_in(client.cookies["session"])
    client.get("/clear")
    # Anonymous: the write script deletes the fields the request read (a message flashed
    # meanwhile would keep the session); the emptied hash is gone with them.
    assert counted() == {"hgetall": 1, "evalsha": 1, "pexpire": 1, "hdel": 1, "exists": 1}
    assert redis_client.exists(f"cookie-session:session:{session_id}") == 0


def test_login_block_moves_a_planted_session_to_a_new_id(store_url: str) -> None:
    from types import SimpleNamespace

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import RedirectResponse, Response
    from starlette.routing import Route

    from cookie_session import SessionMiddleware

    async def authenticate(request: Request) -> SimpleNamespace:
        return SimpleNamespace(id=42)

    namespace: dict[str, Any] = {
        "Request": Request,
        "Response": Response,
        "RedirectResponse": RedirectResponse,
        "authenticate": authenticate,
    }
    exec(python_block_with("regenerate()"), namespace)  # noqa: S102  # our own documentation

    async def plant(request: Request) -> Response:
        request.session["cart"] = [1]
        return Response("planted")

    app = SessionMiddleware(
        Starlette(routes=[Route("/plant", plant), Route("/login", namespace["login"])]),
        secret_key=SECRET,
        store_url=store_url,
    )
    with TestClient(app, follow_redirects=False) as client:
        planted = id_in(client.get("/plant").cookies["session"])
        logged_in = id_in(client.get("/login").cookies["session"])

    assert logged_in != planted
