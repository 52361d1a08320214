"""Flash messages, CSRF, regeneration, ``max_lifetime`` and audit lines through real HTTP, in
every framework (Starlette, Litestar, Quart) and every mode (signed, encrypted, a Redis store).

Each (framework, mode) has two uvicorn servers on 127.0.0.1 serving
``tests.integration.feature_apps``: one with ``csrf=True`` for most tests, and one with a
``max_lifetime`` of four seconds, whose sessions the lifetime tests keep active until it ends
them. All eighteen start at once, are shared by the module's tests, and are stopped by process
group at its end; a store-backed server uses the run's private redis-server. The client is
httpx over TCP, and the audit lines are read from each server's own log.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from conftest import SECRET
from redis_server import RedisServer

from .conftest import Server, Setting

pytestmark = pytest.mark.timeout(180)

FRAMEWORKS = ("starlette", "litestar", "quart")
MODES = ("signed", "encrypted", "store")
COMBINATIONS = list(itertools.product(FRAMEWORKS, MODES))
STORE_COMBINATIONS = [(framework, "store") for framework in FRAMEWORKS]

MAX_LIFETIME = 4
"""Seconds a session of the lifetime servers may live, however active."""
KEEP_ALIVE_INTERVAL = 0.5
LIFETIME_DEADLINE = 30.0
"""Seconds a lifetime run may take before it is given up (it takes about MAX_LIFETIME)."""

NOTE = "LEAKCHECK-note-of-the-session"
FLASH = "LEAKCHECK-flash-Order placed"
MISSING = "CSRF token missing"
INVALID = "CSRF token invalid"


@dataclass
class Deployment:
    """One server of the module: what it serves, and its log."""

    framework: str
    mode: str
    server: Server
    log_dir: Path

    def client(self) -> httpx2.Client:
        """A visitor with a cookie jar of its own."""
        return httpx2.Client(base_url=self.server.url, timeout=10.0)

    def log(self) -> str:
        """Everything the server has written so far (its audit lines included)."""
        return "".join(path.read_text() for path in sorted(self.log_dir.glob("*.log")))

    def audit_lines(self) -> list[str]:
        """The server's audit lines so far, without the logger's name and level."""
        prefix = "cookie_session.audit INFO "
        return [line[len(prefix) :] for line in self.log().splitlines() if line.startswith(prefix)]


def _settings(framework: str, mode: str, store_url: str, *, lifetime: bool) -> dict[str, Setting]:
    settings: dict[str, Setting] = {"secret_key": SECRET}
    if lifetime:
        # refresh_after: every keep-alive past the first second re-signs the cookie, so
        # neither the idle limit (max_age) nor the cookie's age is what ends the session.
        settings |= {"max_lifetime": str(MAX_LIFETIME), "refresh_after": "1", "max_age": "60"}
    else:
        settings["csrf"] = "true"
    if mode == "encrypted":
        settings["encrypt"] = "true"
    elif mode == "store":
        prefix = f"features-{framework}-{'lifetime' if lifetime else 'csrf'}:"
        settings |= {"store_url": store_url, "store_prefix": prefix, "user_key": "user"}
    return settings


@pytest.fixture(scope="module")
def deployments(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
) -> Iterator[dict[tuple[str, str, bool], Deployment]]:
    """Every server of the module, by (framework, mode, lifetime), started in parallel."""
    started: dict[tuple[str, str, bool], Deployment] = {}
    for framework, mode in COMBINATIONS:
        for lifetime in (False, True):
            log_dir = tmp_path_factory.mktemp(f"{framework}-{mode}")
            server = Server(log_dir, app=f"tests.integration.feature_apps:{framework}_app")
            started[framework, mode, lifetime] = Deployment(framework, mode, server, log_dir)

    def start(key: tuple[str, str, bool]) -> None:
        framework, mode, lifetime = key
        started[key].server.start(_settings(framework, mode, redis_server.url, lifetime=lifetime))

    try:
        with ThreadPoolExecutor(max_workers=len(started)) as pool:
            list(pool.map(start, started))  # re-raises a server's failure to start
        yield started
    finally:
        for deployment in started.values():
            deployment.server.stop()


def _combination_id(combination: tuple[str, str]) -> str:
    return "-".join(combination)


@pytest.fixture(params=COMBINATIONS, ids=_combination_id)
def deployment(
    request: pytest.FixtureRequest, deployments: dict[tuple[str, str, bool], Deployment]
) -> Deployment:
    """The ``csrf=True`` server of each (framework, mode)."""
    framework, mode = request.param
    return deployments[framework, mode, False]


@pytest.fixture(params=STORE_COMBINATIONS, ids=_combination_id)
def store_deployment(
    request: pytest.FixtureRequest, deployments: dict[tuple[str, str, bool], Deployment]
) -> Deployment:
    """The ``csrf=True`` server of each framework with a store (and ``user_key="user"``)."""
    framework, mode = request.param
    return deployments[framework, mode, False]


def _token(client: httpx2.Client) -> str:
    """The session's CSRF token, starting the session when it has none."""
    response = client.get("/token")
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def _post(client: httpx2.Client, path: str, token: str, **form: str) -> httpx2.Response:
    """A form posted with ``token`` in the CSRF header."""
    return client.post(path, data=form, headers={"x-csrf-token": token})


def _state(client: httpx2.Client) -> dict[str, Any]:
    response = client.get("/state")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def _handler_runs(client: httpx2.Client) -> int:
    runs: int = client.get("/calls").json()["calls"]
    return runs


# Flash messages


def test_a_flash_set_before_a_redirect_is_shown_once_after_it(deployment: Deployment) -> None:
    with deployment.client() as client:
        token = _token(client)
        shown = client.post(
            "/flash", data={"message": FLASH, "csrf_token": token}, follow_redirects=True
        )
        shown_again = client.get("/flashes")

    assert [answer.status_code for answer in shown.history] == [303]
    assert shown.json() == [["message", FLASH]]
    assert shown_again.json() == []


# CSRF


def test_a_post_without_a_token_is_refused_403_before_the_handler(
    deployment: Deployment,
) -> None:
    with deployment.client() as client:
        _token(client)  # the session has a token; the request does not carry it
        runs_before = _handler_runs(client)
        refused = client.post("/transfer", data={"amount": "5"})
        runs_after = _handler_runs(client)

    assert refused.status_code == 403
    assert refused.text == MISSING
    assert refused.headers["content-type"].startswith("text/plain")
    assert runs_after == runs_before


def test_a_post_with_another_sessions_token_is_refused_before_the_handler(
    deployment: Deployment,
) -> None:
    with deployment.client() as attacker, deployment.client() as victim:
        attackers_token = _token(attacker)
        _token(victim)
        runs_before = _handler_runs(victim)
        refused = _post(victim, "/transfer", attackers_token, amount="5")
        runs_after = _handler_runs(victim)

    assert (refused.status_code, refused.text) == (403, INVALID)
    assert runs_after == runs_before


def test_a_post_with_the_token_in_the_header_runs_the_handler(deployment: Deployment) -> None:
    with deployment.client() as client:
        runs_before = _handler_runs(client)
        accepted = _post(client, "/transfer", _token(client), amount="5")

    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"amount": "5", "calls": runs_before + 1}


def test_a_post_with_the_token_in_the_form_runs_the_handler_with_its_body(
    deployment: Deployment,
) -> None:
    with deployment.client() as client:
        runs_before = _handler_runs(client)
        token = _token(client)
        accepted = client.post("/transfer", data={"csrf_token": token, "amount": "7"})

    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"amount": "7", "calls": runs_before + 1}  # the body, read again


# Regeneration


def test_regenerate_changes_the_csrf_token_and_refuses_the_old_one(
    deployment: Deployment,
) -> None:
    with deployment.client() as client:
        old_token = _token(client)
        assert _post(client, "/regenerate", old_token).status_code == 200
        with_old = _post(client, "/transfer", old_token, amount="1")
        with_new = _post(client, "/transfer", _token(client), amount="2")

    assert (with_old.status_code, with_old.text) == (403, INVALID)
    assert with_new.status_code == 200, with_new.text


def test_regenerate_keeps_the_data(deployment: Deployment) -> None:
    with deployment.client() as client:
        token = _token(client)
        _post(client, "/note", token, text=NOTE)
        _post(client, "/regenerate", token)
        state = _state(client)

    assert state["data"]["note"] == NOTE


def test_regenerate_moves_a_stored_session_to_a_new_id_and_drops_the_old(
    store_deployment: Deployment,
) -> None:
    with store_deployment.client() as client, store_deployment.client() as replay:
        token = _token(client)
        _post(client, "/note", token, text=NOTE)
        old_id = _state(client)["session_id"]
        replay.cookies.set("session", client.cookies["session"])  # the cookie before the move
        _post(client, "/regenerate", token)
        new_id = _state(client)["session_id"]
        replayed = _state(replay)

    assert old_id is not None
    assert new_id not in (None, old_id)
    assert replayed == {"session_id": None, "data": {}}


def test_a_login_with_user_key_gives_a_new_id_and_csrf_token(
    store_deployment: Deployment,
) -> None:
    with store_deployment.client() as client:
        old_token = _token(client)
        old_id = _state(client)["session_id"]
        assert _post(client, "/login", old_token, user="ada").status_code == 200
        new_id = _state(client)["session_id"]
        with_old = _post(client, "/transfer", old_token, amount="1")
        with_new = _post(client, "/transfer", _token(client), amount="2")

    assert old_id is not None
    assert new_id not in (None, old_id)
    assert (with_old.status_code, with_old.text) == (403, INVALID)
    assert with_new.status_code == 200, with_new.text


# Audit lines


def test_a_session_start_is_one_audit_line(deployment: Deployment) -> None:
    with deployment.client() as client:
        before = len(deployment.audit_lines())
        token = _token(client)  # the session's first save: its CSRF secret
        started = deployment.audit_lines()[before:]
        _post(client, "/note", token, text=NOTE)
        after_a_change = deployment.audit_lines()[before:]

    assert len(started) == 1
    assert started[0].startswith("session started: ref=")
    assert after_a_change == started  # a change to a started session is no start


def test_a_regeneration_is_one_audit_line(deployment: Deployment) -> None:
    expected = "session moved: ref=" if deployment.mode == "store" else "session regenerated: ref="
    with deployment.client() as client:
        token = _token(client)
        _post(client, "/note", token, text=NOTE)
        before = len(deployment.audit_lines())
        _post(client, "/regenerate", token)
        regenerated = deployment.audit_lines()[before:]

    assert len(regenerated) == 1
    assert regenerated[0].startswith(expected)


def test_a_login_is_an_audit_line_of_a_move_naming_the_user(
    store_deployment: Deployment,
) -> None:
    with store_deployment.client() as client:
        token = _token(client)
        before = len(store_deployment.audit_lines())
        _post(client, "/login", token, user="grace")
        logged_in = store_deployment.audit_lines()[before:]

    assert len(logged_in) == 1
    assert logged_in[0].startswith("session moved: ref=")
    assert "user='grace'" in logged_in[0]


def _cookie_value(set_cookie: str) -> str:
    return set_cookie.partition(";")[0].partition("=")[2]


def _cookie_secrets(set_cookies: Iterable[str]) -> set[str]:
    """The values of these Set-Cookie headers, and each long part of them (a cookie is
    ``payload.timestamp.signature``, a sealed one ends with its sealed bytes): none may be
    logged, whole or in part."""
    values = {_cookie_value(set_cookie) for set_cookie in set_cookies} - {""}
    return values | {part for value in values for part in value.split(".") if len(part) >= 16}


@dataclass
class Visit:
    """What a visitor's client saw: every session cookie value, session ID and token."""

    secrets: set[str] = field(default_factory=set)

    def record(self, response: httpx2.Response) -> None:
        self.secrets |= _cookie_secrets(response.headers.get_list("set-cookie"))

    def record_state(self, state: Mapping[str, Any]) -> None:
        if state["session_id"] is not None:
            self.secrets.add(state["session_id"])
        # All but the user: the audit lines name the user, by design.
        data = {key: value for key, value in state["data"].items() if key != "user"}
        self.secrets.update(value for value in data.values() if isinstance(value, str))


def test_no_log_line_holds_a_cookie_a_session_id_or_session_data(
    deployment: Deployment,
) -> None:
    visit = Visit()
    with httpx2.Client(
        base_url=deployment.server.url, timeout=10.0, event_hooks={"response": [visit.record]}
    ) as client:
        token = _token(client)
        visit.secrets.add(token)
        _post(client, "/note", token, text=NOTE)
        visit.record_state(_state(client))
        client.post("/flash", data={"message": FLASH, "csrf_token": token}, follow_redirects=True)
        _post(client, "/regenerate", token)
        token = _token(client)
        visit.secrets.add(token)
        visit.record_state(_state(client))
        if deployment.mode == "store":
            _post(client, "/login", token, user="grace")
            visit.record_state(_state(client))

    secrets = visit.secrets | {NOTE, FLASH}
    log = deployment.log()
    assert len(secrets) >= 6  # two cookies at least, two tokens, a CSRF secret, the note...
    assert sorted(secret for secret in secrets if secret in log) == []


# max_lifetime


@dataclass
class LifetimeRun:
    """One visitor keeping a session active past ``max_lifetime``: the Set-Cookie that started
    it, then the answers to its keep-alive reads, oldest first, the last being the first
    without the session's note."""

    deployment: Deployment
    started: str
    states: list[dict[str, Any]] = field(default_factory=list)
    set_cookies: list[list[str]] = field(default_factory=list)


def _keep_active_until_the_session_ends(deployment: Deployment) -> LifetimeRun:
    """Keep-alive reads every KEEP_ALIVE_INTERVAL, each with the latest cookie the server sent,
    until one finds the session empty. The cookie is sent past its ``Max-Age`` too: a browser
    drops it by then, but a stolen cookie's holder need not, and the server must end it itself.
    """
    with deployment.client() as client:
        started = client.post("/note", data={"text": NOTE})
        assert started.status_code == 200, started.text
        run = LifetimeRun(deployment, started.headers["set-cookie"])
        cookie = _cookie_value(run.started)
        deadline = time.monotonic() + LIFETIME_DEADLINE
        while time.monotonic() < deadline:
            time.sleep(KEEP_ALIVE_INTERVAL)
            client.cookies.clear()  # no jar: this visitor keeps the cookie whatever its Max-Age
            response = client.get("/state", headers={"cookie": f"session={cookie}"})
            assert response.status_code == 200, response.text
            run.states.append(response.json())
            run.set_cookies.append(response.headers.get_list("set-cookie"))
            if "note" not in run.states[-1]["data"]:
                break
            cookie = next(map(_cookie_value, run.set_cookies[-1]), cookie)  # re-signed or not
    return run


@pytest.fixture(scope="module")
def lifetime_runs(
    deployments: dict[tuple[str, str, bool], Deployment],
) -> dict[tuple[str, str], LifetimeRun]:
    """One run on each lifetime server, all at once (each takes about MAX_LIFETIME)."""
    servers = {combination: deployments[(*combination, True)] for combination in COMBINATIONS}
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        runs = pool.map(_keep_active_until_the_session_ends, servers.values())
        return dict(zip(servers, runs, strict=True))


@pytest.fixture(params=COMBINATIONS, ids=_combination_id)
def lifetime_run(
    request: pytest.FixtureRequest, lifetime_runs: dict[tuple[str, str], LifetimeRun]
) -> LifetimeRun:
    """The lifetime run of each (framework, mode)."""
    run: LifetimeRun = lifetime_runs[request.param]
    return run


def test_a_session_past_its_max_lifetime_is_empty_though_active_all_along(
    lifetime_run: LifetimeRun,
) -> None:
    *active, ended = lifetime_run.states
    refreshed = [cookies for cookies in lifetime_run.set_cookies[:-1] if cookies]

    assert "note" not in ended["data"], f"still alive after {LIFETIME_DEADLINE} s"
    assert ended == {"session_id": None, "data": {}}
    assert len(active) >= 2  # kept active for more than one keep-alive
    assert all(state["data"]["note"] == NOTE for state in active)
    assert refreshed, "the cookie was never re-signed while the session was active"


def test_no_cookie_of_a_session_outlives_its_max_lifetime(lifetime_run: LifetimeRun) -> None:
    cookies = [lifetime_run.started, *itertools.chain(*lifetime_run.set_cookies)]
    max_ages = [int(cookie.split("Max-Age=")[1].split(";")[0]) for cookie in cookies]

    assert max_ages[0] == MAX_LIFETIME  # less than max_age: what remains of the lifetime
    assert all(0 <= max_age <= MAX_LIFETIME for max_age in max_ages), cookies


def test_a_session_ended_by_max_lifetime_has_its_cookie_deleted(
    lifetime_run: LifetimeRun,
) -> None:
    (deletion,) = lifetime_run.set_cookies[-1]

    assert deletion.startswith("session=;")
    assert "Max-Age=0" in deletion


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_stored_session_ended_by_max_lifetime_is_gone_from_the_store(
    framework: str,
    lifetime_runs: dict[tuple[str, str], LifetimeRun],
    redis_server: RedisServer,
) -> None:
    prefix = _settings(framework, "store", redis_server.url, lifetime=True)["store_prefix"]
    assert lifetime_runs[framework, "store"].states[-1]["data"] == {}
    client = redis_server.client()
    try:
        left = client.keys(f"{prefix}*")
    finally:
        client.close()

    assert left == []  # the run's session was the server's only one


def test_the_end_of_a_session_s_max_lifetime_is_an_audit_line(
    lifetime_run: LifetimeRun,
) -> None:
    lines = lifetime_run.deployment.audit_lines()
    ended = [line for line in lines if line.startswith("session ended:")]

    assert len(ended) == 1, lines
    assert ended[0].endswith(" reason=max_lifetime")


def test_no_lifetime_log_line_holds_a_cookie_a_session_id_or_session_data(
    lifetime_run: LifetimeRun,
) -> None:
    answers = itertools.chain(*lifetime_run.set_cookies)
    cookies = _cookie_secrets([lifetime_run.started, *answers])
    ids = {state["session_id"] for state in lifetime_run.states if state["session_id"]}
    secrets = {NOTE} | cookies | ids
    log = lifetime_run.deployment.log()

    assert len(secrets) >= 3  # the note, the first cookie and a re-signed one at least
    assert sorted(secret for secret in secrets if secret in log) == []
