"""``examples/session_management.py`` passes ``mypy --strict`` and does what its docstring says,
driven through its test client against the tests' private redis-server: a login moves the
session, "remember me" keeps it 30 days, the page says when ``max_lifetime`` ends it, the device
list marks this device and escapes what clients sent, and other devices are logged out, all at
once or one by one, with the session's CSRF token only."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
import redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from conftest import SECRET
from cookie_session import SessionCodec
from mypy_check import mypy_errors
from redis_server import RedisServer

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "session_management.py"
THIRTY_DAYS = 30 * 24 * 60 * 60
TOKEN = re.compile(r'<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]+)">')

pytestmark = pytest.mark.usefixtures("clean_env")


def load_example() -> Starlette:
    """The example's ``app``, from a fresh import of its file (it reads the environment then)."""
    spec = importlib.util.spec_from_file_location("examples.session_management", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = module.app
    assert isinstance(app, Starlette)
    return app


class Device:
    """A browser of its own (its cookie jar and User-Agent) on the example's one test client:
    one event loop serves every device, as one server process would."""

    def __init__(self, client: TestClient, user_agent: str) -> None:
        self._client = client
        self._user_agent = user_agent
        self.cookies = httpx2.Cookies()

    def get(self, path: str) -> httpx2.Response:
        return self.request("GET", path)

    def post(
        self, path: str, data: dict[str, str] | None = None, *, follow_redirects: bool = True
    ) -> httpx2.Response:
        return self.request("POST", path, data=data, follow_redirects=follow_redirects)

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        *,
        follow_redirects: bool = True,
    ) -> httpx2.Response:
        self._client.cookies = self.cookies
        try:
            return self._client.request(
                method,
                path,
                data=data,
                headers={"user-agent": self._user_agent},
                follow_redirects=follow_redirects,
            )
        finally:
            self.cookies = self._client.cookies


MakeDevice = Callable[..., Device]


@pytest.fixture
def make_client(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeDevice]:
    """Devices on one instance of the example, each with its own cookie jar."""
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", store_url)
    with TestClient(load_example()) as client:

        def make(user_agent: str = "testclient") -> Device:
            return Device(client, user_agent)

        yield make


@pytest.fixture
def redis_client(redis_server: RedisServer, store_url: str) -> Iterator[redis.Redis]:
    client = redis_server.client()
    try:
        yield client
    finally:
        client.close()


def token(client: Device) -> str:
    """The CSRF token the page's forms carry."""
    match = TOKEN.search(client.get("/").text)
    assert match is not None, "no form with a CSRF token on the page"
    return match[1]


def post(client: Device, path: str, **form: str) -> str:
    """Post a form of the page (with its CSRF token), follow the redirect, return the page."""
    response = client.post(path, data={"csrf_token": token(client), **form})
    assert response.status_code == 200, response.text
    return response.text


def session_id_of(client: Device) -> str:
    session_id: str = (
        SessionCodec([SECRET], max_age=None).verify(client.cookies["session"]).data["sid"]
    )
    return session_id


def stored_ids(client: redis.Redis) -> set[str]:
    keys = client.keys("cookie-session:session:*")
    names = [key.decode() if isinstance(key, bytes) else str(key) for key in keys]
    return {name.removeprefix("cookie-session:session:") for name in names}


def stored_start(client: redis.Redis, session_id: str) -> int:
    """When the stored session started (its ``_cs.started`` field)."""
    value = client.hget(f"cookie-session:session:{session_id}", "_cs.started")
    assert isinstance(value, bytes)
    started: int = json.loads(value)
    return started


def device_rows(page: str) -> dict[str, str]:
    """The device list: abbreviated ID -> the rest of its row (HTML)."""
    return dict(re.findall(r"<tr><td>([\w-]+)…</td>(.*?)</tr>", page))


def test_the_example_passes_mypy_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mypy_errors(EXAMPLE, monkeypatch) == []


def test_a_login_moves_the_session_and_remember_me_keeps_it_30_days(
    make_client: MakeDevice, redis_client: redis.Redis
) -> None:
    remembered, forgotten = make_client(), make_client()
    anonymous_id = (token(remembered), session_id_of(remembered))[1]  # the token saves it

    login = remembered.post(
        "/login",
        data={"csrf_token": token(remembered), "user": "alice", "remember": "on"},
        follow_redirects=False,
    )
    forgotten.post("/login", data={"csrf_token": token(forgotten), "user": "bob"})

    assert login.status_code == 303
    assert f"Max-Age={THIRTY_DAYS};" in login.headers["set-cookie"]
    assert session_id_of(remembered) != anonymous_id
    assert anonymous_id not in stored_ids(redis_client)
    assert "is remembered for 30 days without a visit" in remembered.get("/").text
    assert "is forgotten when the browser closes" in forgotten.get("/").text


def test_a_login_without_remember_me_is_a_browser_session_cookie(make_client: MakeDevice) -> None:
    client = make_client()

    login = client.post(
        "/login", data={"csrf_token": token(client), "user": "bob"}, follow_redirects=False
    )

    assert login.status_code == 303
    assert login.headers["set-cookie"].startswith("session=")
    assert "max-age" not in login.headers["set-cookie"].lower()
    assert "expires" not in login.headers["set-cookie"].lower()


def test_the_page_says_when_max_lifetime_ends_the_session(
    make_client: MakeDevice, redis_client: redis.Redis
) -> None:
    client = make_client()
    page = post(client, "/login", user="alice", remember="on")
    started = stored_start(redis_client, session_id_of(client))

    ends = datetime.fromtimestamp(started + THIRTY_DAYS, UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert f"and ends at {ends} whatever you do." in page


def test_the_device_list_marks_this_device_and_escapes_what_clients_sent(
    make_client: MakeDevice,
) -> None:
    attack = "<script>alert(1)</script>"
    laptop, phone = make_client("Laptop/1.0"), make_client(attack)
    post(laptop, "/login", user="alice")
    post(phone, "/login", user="alice")
    laptop_id, phone_id = session_id_of(laptop), session_id_of(phone)

    page = laptop.get("/").text
    rows = device_rows(page)

    assert rows.keys() == {laptop_id[:12], phone_id[:12]}
    assert "<td>Laptop/1.0</td>" in rows[laptop_id[:12]]
    assert "this device" in rows[laptop_id[:12]]
    assert "this device" not in rows[phone_id[:12]]
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in rows[phone_id[:12]]
    assert "<script" not in page


def test_log_out_other_devices_keeps_this_one_and_spares_other_users(
    make_client: MakeDevice, redis_client: redis.Redis
) -> None:
    laptop, phone, tablet, bob = (make_client() for _ in range(4))
    for client, user in ((laptop, "alice"), (phone, "alice"), (tablet, "alice"), (bob, "bob")):
        post(client, "/login", user=user)
    laptop_id, bob_id = session_id_of(laptop), session_id_of(bob)

    page = post(laptop, "/logout-other-devices")

    assert '<p class="flash">Logged out 2 other devices.</p>' in page
    assert stored_ids(redis_client) == {laptop_id, bob_id}
    assert device_rows(page).keys() == {laptop_id[:12]}
    for client in (phone, tablet):
        assert 'action="/login"' in client.get("/").text


def test_log_out_one_device_ends_only_that_one_of_this_user(
    make_client: MakeDevice, redis_client: redis.Redis
) -> None:
    laptop, phone, tablet, bob = (make_client() for _ in range(4))
    for client, user in ((laptop, "alice"), (phone, "alice"), (tablet, "alice"), (bob, "bob")):
        post(client, "/login", user=user)
    ids = {
        name: session_id_of(client)
        for name, client in (("laptop", laptop), ("phone", phone), ("tablet", tablet), ("bob", bob))
    }

    ended = post(laptop, "/logout-device", session=ids["phone"][:12])
    refused = post(laptop, "/logout-device", session=ids["bob"][:12])  # not alice's

    assert '<p class="flash">Logged out that device.</p>' in ended
    assert "flash" not in refused
    assert stored_ids(redis_client) == {ids["laptop"], ids["tablet"], ids["bob"]}
    assert 'action="/login"' in phone.get("/").text
    assert 'id="user">alice<' in tablet.get("/").text
    assert 'id="user">bob<' in bob.get("/").text


def test_a_post_without_the_csrf_token_is_refused(
    make_client: MakeDevice, redis_client: redis.Redis
) -> None:
    laptop, phone = make_client(), make_client()
    post(laptop, "/login", user="alice")
    post(phone, "/login", user="alice")

    forged = laptop.post("/logout-other-devices")

    assert (forged.status_code, forged.text) == (403, "CSRF token missing")
    assert len(stored_ids(redis_client)) == 2


def test_confirming_the_password_regenerates_the_session(
    make_client: MakeDevice, redis_client: redis.Redis
) -> None:
    client = make_client()
    post(client, "/login", user="alice")
    before, token_before = session_id_of(client), token(client)

    page = post(client, "/reauthenticate", password="secret")

    assert "Password confirmed." in page
    assert session_id_of(client) != before
    assert stored_ids(redis_client) == {session_id_of(client)}
    assert 'id="user">alice<' in page
    refused = client.post("/logout", data={"csrf_token": token_before})
    assert (refused.status_code, refused.text) == (403, "CSRF token invalid")
