"""``cookie-session demo``, started as a real process on 127.0.0.1 and driven over HTTP.

Every test runs in an empty working directory with no ``SESSION_*`` variable from the machine
(the ``clean_env`` fixture), so the demo makes its throw-away secret unless a test sets one.
"""

from __future__ import annotations

import html
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from conftest import OTHER_SECRET, SECRET
from cookie_session import SessionCodec
from redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("clean_env")

COMMAND = (sys.executable, "-m", "cookie_session", "demo")
START_DEADLINE_SECONDS = 30
THROWAWAY_NOTICE = "throw-away secret generated for this run: sessions will not survive a restart"


@dataclass(frozen=True)
class Demo:
    """A running demo server."""

    base_url: str
    log: Path

    def output(self) -> str:
        """Everything the process printed so far, stdout and stderr."""
        return self.log.read_text(encoding="utf-8")

    def client(self) -> httpx2.Client:
        """A client with its own cookie jar."""
        return httpx2.Client(base_url=self.base_url, timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(process: subprocess.Popen[bytes], demo: Demo) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo exited with {process.returncode}:\n{demo.output()}")
        try:
            if httpx2.get(demo.base_url + "/", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the demo did not answer within {START_DEADLINE_SECONDS} s:\n{demo.output()}")


@pytest.fixture
def start_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Demo]]:
    """Start the demo (after the test has set its environment) and always stop it.

    The demo's forms are CSRF-protected unless SESSION_CSRF says otherwise; the tests of what
    they do post without tokens, so they say so (the protection's own tests unset it)."""
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    monkeypatch.setenv("SESSION_CSRF", "false")
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> Demo:
        port = free_port()
        log = tmp_path / f"demo-{port}.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [*COMMAND, "--host", "127.0.0.1", "--port", str(port)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        demo = Demo(f"http://127.0.0.1:{port}", log)
        wait_until_ready(process, demo)
        return demo

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def demo(start_demo: Callable[[], Demo]) -> Demo:
    """The demo with no secret configured."""
    return start_demo()


@pytest.fixture
def configured_demo(start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch) -> Demo:
    """The demo with SESSION_SECRET_KEY and a few other settings in the environment."""
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_COOKIE", "demo_session")
    monkeypatch.setenv("SESSION_MAX_AGE", "3600")
    monkeypatch.setenv("SESSION_SAME_SITE", "Strict")
    return start_demo()


def page_text(client: httpx2.Client, element_id: str) -> str:
    """The text of the page's element with ``id``, unescaped."""
    response = client.get("/")
    assert response.status_code == 200
    match = re.search(rf'id="{element_id}">(.*?)</', response.text, re.DOTALL)
    assert match is not None, f"no #{element_id} on the page"
    return html.unescape(match.group(1))


# -- start-up --------------------------------------------------------------------------------


def test_demo_without_a_secret_says_it_uses_a_throwaway_one(demo: Demo) -> None:
    assert THROWAWAY_NOTICE in " ".join(demo.output().split())


def test_demo_page_tells_that_sessions_end_with_the_throwaway_secret(demo: Demo) -> None:
    with demo.client() as client:
        assert "throw-away secret" in client.get("/").text


def test_demo_with_a_secret_neither_prints_it_nor_makes_another(configured_demo: Demo) -> None:
    with configured_demo.client() as client:
        client.get("/counter")

    output = configured_demo.output()
    assert "throw-away" not in output
    assert "Uvicorn running on http://127.0.0.1:" in output
    assert SECRET not in output


def test_demo_with_an_invalid_configuration_reports_each_problem_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_SAME_SITE", "sometimes")
    monkeypatch.setenv("SESSION_PATH", "no-slash")

    result = subprocess.run(COMMAND, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert len(problems) == 2, result.stderr
    assert problems[0].startswith("error: SESSION_PATH")
    assert problems[1].startswith("error: SESSION_SAME_SITE")
    assert SECRET not in result.stdout + result.stderr


def test_demo_without_a_secret_still_reports_other_problems(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_MAX_AGE", "forever")

    result = subprocess.run(COMMAND, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert result.stderr.startswith("error: SESSION_MAX_AGE")
    assert "SESSION_SECRET_KEY" not in result.stderr


# -- the reference /counter endpoint ---------------------------------------------------------


def test_counter_counts_the_visits_of_one_cookie_jar(demo: Demo) -> None:
    with demo.client() as client:
        counts = [client.get("/counter").json() for _ in range(3)]

    assert counts == [{"counter": 1}, {"counter": 2}, {"counter": 3}]


def test_counter_of_another_cookie_jar_starts_again(demo: Demo) -> None:
    with demo.client() as first, demo.client() as second:
        first.get("/counter")
        first.get("/counter")

        assert second.get("/counter").json() == {"counter": 1}


# -- CSRF, on unless configured off ----------------------------------------------------------

TOKEN_FIELD = re.compile(r'<input type="hidden" name="csrf_token" value="([A-Za-z0-9_-]+)">')


def test_the_demo_s_forms_are_csrf_protected_unless_configured_otherwise(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SESSION_CSRF")
    demo = start_demo()
    with demo.client() as client:
        page = client.get("/").text
        tokens = TOKEN_FIELD.findall(page)
        refused = client.post("/increment")
        accepted = client.post("/increment", data={"csrf_token": tokens[0]})

        assert len(tokens) == page.count('method="post"') > 0  # every form
        assert (refused.status_code, refused.text) == (403, "CSRF token missing")
        assert accepted.status_code == 303
        assert page_text(client, "counter") == "1"


def test_session_csrf_false_turns_the_demo_s_protection_off(demo: Demo) -> None:
    with demo.client() as client:
        page = client.get("/").text

        assert TOKEN_FIELD.search(page) is None
        assert client.post("/increment").status_code == 303


# -- the page --------------------------------------------------------------------------------


def test_page_count_button_adds_one(demo: Demo) -> None:
    with demo.client() as client:
        assert page_text(client, "counter") == "0"
        response = client.post("/increment")
        assert response.status_code == 303
        client.post("/increment")

        assert page_text(client, "counter") == "2"


def test_page_shows_the_session_contents(demo: Demo) -> None:
    with demo.client() as client:
        client.get("/counter")

        assert page_text(client, "contents") == '{\n  "counter": 1\n}'


def test_note_is_stored_in_the_session_and_shown_escaped(demo: Demo) -> None:
    note = "<b>buy milk</b> & eggs"
    with demo.client() as client:
        client.post("/note", data={"note": note})
        page = client.get("/").text

    assert "<li>&lt;b&gt;buy milk&lt;/b&gt; &amp; eggs</li>" in page
    assert "<b>buy milk</b>" not in page


def test_note_too_long_for_the_cookie_is_refused(demo: Demo) -> None:
    with demo.client() as client:
        response = client.post("/note", data={"note": "x" * 201})

        assert response.status_code == 400
        assert "set-cookie" not in response.headers


def test_long_non_ascii_notes_keep_the_cookie_within_its_limit(demo: Demo) -> None:
    # "é" is six characters of JSON: five such notes would not fit in a cookie.
    notes = [f"{n} " + "é" * 190 for n in range(5)]
    with demo.client() as client:
        responses = [client.post("/note", data={"note": note}) for note in notes]
        page = client.get("/").text

    assert [response.status_code for response in responses] == [303] * 5  # back to the page
    assert f"<li>{notes[-1]}</li>" in page
    assert f"<li>{notes[0]}</li>" not in page


def test_clear_deletes_the_cookie(demo: Demo) -> None:
    with demo.client() as client:
        client.get("/counter")
        client.post("/note", data={"note": "remember me"})
        assert client.cookies.get("session") is not None

        response = client.post("/clear")

        assert response.status_code == 303
        assert "Max-Age=0" in response.headers["set-cookie"]
        assert client.cookies.get("session") is None
        assert client.get("/counter").json() == {"counter": 1}


def test_page_shows_the_set_cookie_attributes_the_server_sends(configured_demo: Demo) -> None:
    with configured_demo.client() as client:
        set_cookie = client.post("/increment").headers["set-cookie"]
        shown = page_text(client, "set-cookie").removeprefix("Set-Cookie: ")

    sent_name, _, sent_attributes = set_cookie.partition("; ")
    shown_name, _, shown_attributes = shown.partition("; ")
    assert sent_name.startswith("demo_session=")
    assert shown_name == "demo_session=<signed value>"
    assert set(shown_attributes.split("; ")) == set(sent_attributes.split("; "))
    assert "SameSite=Strict" in shown_attributes
    assert SECRET not in configured_demo.output()


def test_page_says_how_long_the_browser_keeps_the_cookie_as_a_person_reads_it(
    configured_demo: Demo,
) -> None:
    with configured_demo.client() as client:
        page = html.unescape(client.get("/").text)

    assert "the browser keeps the cookie for 3600 seconds (1 hour)" in page


# -- encryption ------------------------------------------------------------------------------


def test_demo_with_encryption_says_so_and_sends_encrypted_cookies(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_ENCRYPT", "true")
    demo = start_demo()

    with demo.client() as client:
        cookie = client.post("/increment").headers["set-cookie"].split(";")[0]
        page = client.get("/").text
        shown = page_text(client, "set-cookie")

    assert cookie.startswith("session=~1.")
    assert "Everything below lives in an encrypted cookie" in page
    assert "encrypted (~1." in html.unescape(page)
    assert shown.startswith("Set-Cookie: session=<encrypted value>; ")


def test_demo_shows_the_cookie_before_and_after_encryption_is_turned_on(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    signed_demo = start_demo()
    with httpx2.Client(timeout=10) as client:  # one cookie jar for both servers
        client.post(signed_demo.base_url + "/increment")
        before = html.unescape(client.get(signed_demo.base_url + "/").text)
        monkeypatch.setenv("SESSION_ENCRYPT", "true")
        encrypted_demo = start_demo()
        switching = client.get(encrypted_demo.base_url + "/")  # sent signed, re-sent encrypted
        after = html.unescape(client.get(encrypted_demo.base_url + "/").text)

    assert "signed, not encrypted (eyJ" in before
    assert "signed, not encrypted (eyJ" in html.unescape(switching.text)
    assert switching.headers["set-cookie"].startswith("session=~1.")
    assert "encrypted (~1." in after
    assert '<span class="counter" id="counter">1</span>' in after  # the same session


# -- the "Since start-up" card ---------------------------------------------------------------


def card_counts(demo: Demo) -> dict[str, int]:
    """The counters on the "Since start-up" card, by id, as a visitor without a cookie sees
    them (so that reading them counts nothing)."""
    page = httpx2.get(demo.base_url + "/", timeout=10).text
    card = page[page.index('<section id="stats-card">') :]
    return {name: int(count) for name, count in re.findall(r'id="stat-([\w-]+)">(\d+)<', card)}


def visit_with_cookie(demo: Demo, path: str, cookie: str) -> httpx2.Response:
    return httpx2.get(demo.base_url + path, headers={"cookie": f"session={cookie}"}, timeout=10)


def test_since_start_up_card_shows_what_the_server_did_with_cookies(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_SECRET_KEY_FALLBACKS", json.dumps([OTHER_SECRET]))
    monkeypatch.setenv("SESSION_MAX_AGE", "3600")
    demo = start_demo()
    before = card_counts(demo)
    assert before == dict.fromkeys(before, 0)

    with demo.client() as client:
        client.get("/counter")  # a new session: set
        client.get("/counter")  # accepted, set
        client.post("/clear")  # accepted, deleted
    two_hours_ago = time.time() - 7200
    expired = SessionCodec([SECRET], max_age=None, clock=lambda: two_hours_ago).encode({"n": 1})
    old_key = SessionCodec([OTHER_SECRET], max_age=None).encode({"counter": 5})
    unknown_key = SessionCodec(["LEAKCHECK-unknown-0123456789-abcdefgh"], max_age=None)
    visit_with_cookie(demo, "/counter", expired)  # rejected, then a new session: set
    visit_with_cookie(demo, "/", old_key)  # accepted by fallback key 1, re-signed: set
    visit_with_cookie(demo, "/", unknown_key.encode({"counter": 1}))
    visit_with_cookie(demo, "/", "not-a-signed-cookie")

    card = card_counts(demo)
    assert card == dict.fromkeys(card, 0) | {
        "accepted": 3,
        "rejected-signature": 1,
        "rejected-expired": 1,
        "rejected-malformed": 1,
        "fallback-1": 1,
        "set": 4,
        "deleted": 1,
    }
    assert {"rejected-too_large", "too-large", "store-errors"} <= card.keys()


# -- with a Redis store (SESSION_STORE_URL) --------------------------------------------------


@pytest.fixture
def store_demo(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch, store_url: str
) -> Demo:
    """The demo keeping sessions in the tests' private redis-server, the user under "user"."""
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", store_url)
    monkeypatch.setenv("SESSION_USER_KEY", "user")
    return start_demo()


def store_card(client: httpx2.Client) -> str:
    """The "Sessions in Redis" card of the page this client sees."""
    page = client.get("/").text
    start = page.index('<section id="store-card">')
    return page[start : page.index("</section>", start)]


DEVICE_ITEM = re.compile(
    r'<li class="device"><code>([\w-]+)…</code>( <strong class="this-device">this device</strong>)?'
    r'<br><span class="muted">(.*?)</span>(?:<br><span class="user-agent">(.*?)</span>)?</li>'
)


@dataclass(frozen=True)
class ListedDevice:
    """One session of the device list, as the page shows it (unescaped)."""

    this_device: bool
    details: str
    """"started ... · last seen ... · from ... · expires ...", or only the expiry."""
    user_agent: str | None


def listed_devices(client: httpx2.Client) -> dict[str, ListedDevice]:
    """The signed-in user's sessions on the card, by abbreviated ID."""
    return {
        session_id: ListedDevice(
            bool(mark), html.unescape(details), html.unescape(agent) if agent else None
        )
        for session_id, mark, details, agent in DEVICE_ITEM.findall(store_card(client))
    }


def listed_sessions(client: httpx2.Client) -> dict[str, bool]:
    """The signed-in user's sessions on the card: abbreviated ID -> marked "this device"."""
    return {session_id: device.this_device for session_id, device in listed_devices(client).items()}


def cookie_session_id(client: httpx2.Client) -> str:
    """The session ID the client's cookie carries."""
    cookie = SessionCodec([SECRET], max_age=None).verify(client.cookies["session"])
    session_id: str = cookie.data["sid"]
    return session_id


def stored_session_ids(redis_server: RedisServer) -> set[str]:
    client = redis_server.client()
    try:
        keys = client.keys("cookie-session:session:*")
    finally:
        client.close()
    names = {key.decode() if isinstance(key, bytes) else key for key in keys}
    return {name.removeprefix("cookie-session:session:") for name in names}


def test_store_demo_lists_the_users_sessions_and_marks_this_device(
    store_demo: Demo, redis_server: RedisServer
) -> None:
    with store_demo.client() as laptop, store_demo.client() as phone:
        assert 'action="/login"' in store_card(laptop)  # nobody signed in yet
        laptop.post("/login", data={"user": "alice"})
        phone.post("/login", data={"user": "alice"})

        on_laptop, on_phone = listed_sessions(laptop), listed_sessions(phone)
        laptop_id, phone_id = cookie_session_id(laptop), cookie_session_id(phone)
        assert 'id="user">alice</strong>' in store_card(laptop)

    assert stored_session_ids(redis_server) == {laptop_id, phone_id}
    assert on_laptop == {laptop_id[:12]: True, phone_id[:12]: False}
    assert on_phone == {laptop_id[:12]: False, phone_id[:12]: True}


def test_store_demo_logs_the_user_out_everywhere_and_no_one_else(
    store_demo: Demo, redis_server: RedisServer
) -> None:
    with store_demo.client() as laptop, store_demo.client() as phone, store_demo.client() as bob:
        for client, user in ((laptop, "alice"), (phone, "alice"), (bob, "bob")):
            client.post("/login", data={"user": user})
        bob_id = cookie_session_id(bob)

        response = laptop.post("/logout-everywhere")

        assert response.status_code == 303
        assert stored_session_ids(redis_server) == {bob_id}
        for client in (laptop, phone):
            assert 'action="/login"' in store_card(client)  # signed out
            assert page_text(client, "contents") == "{}"
        assert listed_sessions(bob) == {bob_id[:12]: True}


def test_store_demo_without_a_user_key_shows_the_session_id(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", store_url)
    demo = start_demo()

    with demo.client() as client:
        client.post("/increment")
        shown = page_text(client, "session-id")
        page = client.get("/").text
        session_id = cookie_session_id(client)

    assert shown == session_id
    assert "Everything below lives in Redis" in page
    assert 'action="/logout-everywhere"' not in page


def test_store_demo_logs_out_the_other_devices_and_says_how_many(
    store_demo: Demo, redis_server: RedisServer
) -> None:
    with (
        store_demo.client() as laptop,
        store_demo.client() as phone,
        store_demo.client() as tablet,
        store_demo.client() as bob,
    ):
        for client, user in ((laptop, "alice"), (phone, "alice"), (tablet, "alice"), (bob, "bob")):
            client.post("/login", data={"user": user})
        laptop_id, bob_id = cookie_session_id(laptop), cookie_session_id(bob)

        response = laptop.post("/logout-other-devices")
        shown = laptop.get("/")  # the page the redirect leads to
        again = laptop.get("/")
        alone = laptop.post("/logout-other-devices", follow_redirects=True)

        assert response.status_code == 303
        assert stored_session_ids(redis_server) == {laptop_id, bob_id}
        assert "Logged out 2 other devices." in shown.text
        assert "Logged out" not in again.text  # a flash is shown once
        assert "No other device was signed in." in alone.text
        assert listed_sessions(laptop) == {laptop_id[:12]: True}
        assert page_text(laptop, "user") == "alice"
        for client in (phone, tablet):
            assert 'action="/login"' in store_card(client)  # signed out
        assert listed_sessions(bob) == {bob_id[:12]: True}


def test_store_demo_without_track_devices_lists_only_ids_and_expiries(store_demo: Demo) -> None:
    with store_demo.client() as client:
        client.post("/login", data={"user": "alice"}, headers={"user-agent": "Phone/1.0"})
        (device,) = listed_devices(client).values()
        card = store_card(client)

    assert device.this_device
    assert re.fullmatch(r"expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", device.details)
    assert device.user_agent is None
    assert "Phone/1.0" not in card
    assert "SESSION_TRACK_DEVICES=true" in card


@pytest.fixture
def tracking_demo(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch, store_url: str
) -> Demo:
    """The store demo with SESSION_TRACK_DEVICES=true."""
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", store_url)
    monkeypatch.setenv("SESSION_USER_KEY", "user")
    monkeypatch.setenv("SESSION_TRACK_DEVICES", "true")
    return start_demo()


def test_store_demo_with_track_devices_shows_when_where_and_which_browser(
    tracking_demo: Demo,
) -> None:
    with tracking_demo.client() as laptop, tracking_demo.client() as phone:
        laptop.headers["user-agent"] = "Laptop/2.0 (X11)"
        phone.headers["user-agent"] = "Phone/1.0"
        laptop.post("/login", data={"user": "alice"})
        phone.post("/login", data={"user": "alice"})
        devices = listed_devices(laptop)
        laptop_id, phone_id = cookie_session_id(laptop), cookie_session_id(phone)
        card = store_card(laptop)

    moment = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
    assert devices.keys() == {laptop_id[:12], phone_id[:12]}
    for device in devices.values():
        assert re.fullmatch(
            rf"started {moment} · last seen {moment} · from 127\.0\.0\.1 · expires {moment}",
            device.details,
        )
    assert devices[laptop_id[:12]] == ListedDevice(
        True, devices[laptop_id[:12]].details, "Laptop/2.0 (X11)"
    )
    assert devices[phone_id[:12]] == ListedDevice(
        False, devices[phone_id[:12]].details, "Phone/1.0"
    )
    assert "SESSION_TRACK_DEVICES=true" not in card


def test_store_demo_shows_a_script_user_agent_escaped(tracking_demo: Demo) -> None:
    attack = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
    with tracking_demo.client() as victim, tracking_demo.client() as attacker:
        victim.post("/login", data={"user": "alice"})
        attacker.post("/login", data={"user": "alice"}, headers={"user-agent": attack})
        page = victim.get("/").text
        devices = listed_devices(victim)

    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;&lt;img src=x" in page
    assert [device.user_agent for device in devices.values() if not device.this_device] == [attack]


# -- with SESSION_MAX_LIFETIME ---------------------------------------------------------------


def test_demo_with_max_lifetime_shows_when_the_session_ends(
    start_demo: Callable[[], Demo], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_MAX_LIFETIME", "7200")
    demo = start_demo()

    with demo.client() as client:
        before = page_text(client, "lifetime-left")
        client.post("/increment")
        started = json.loads(page_text(client, "contents"))["_cs.started"]
        shown = page_text(client, "lifetime-left")

    ends = datetime.fromtimestamp(started + 7200, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert before == (
        "A session ends 7200 seconds (2 hours) after it starts, whatever its activity; "
        "this one starts when it is first saved."
    )
    assert re.fullmatch(
        rf"This session ends at {ends}, in (2 hours|1 hour(, \d+ minutes?)?), "
        r"whatever its activity \(max_lifetime: 7200 seconds \(2 hours\)\)\.",
        shown,
    ), shown


def test_demo_without_max_lifetime_says_nothing_of_it(demo: Demo) -> None:
    with demo.client() as client:
        client.post("/increment")
        page = client.get("/").text

    assert 'id="lifetime-left"' not in page
