"""Several hosts sharing one secret, and the key rotation of docs/key-rotation.md as a rolling
deploy across them: one server restarted at a time, every client visiting every server between
restarts, as a load balancer would spread them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx2
import pytest

from conftest import OTHER_SECRET, SECRET
from cookie_session import CookieRejected, SessionCodec

from .conftest import Server, Setting, StartServer

pytestmark = pytest.mark.timeout(180)

OLD_KEY = SECRET
NEW_KEY = OTHER_SECRET
MAX_AGE = 3600

# docs/key-rotation.md, step by step: the settings every server runs with after each step.
ROTATION: list[tuple[str, Mapping[str, Setting]]] = [
    (
        "1: add the new key as a fallback",
        {"secret_key": OLD_KEY, "secret_key_fallbacks": [NEW_KEY]},
    ),
    ("2: promote the new key", {"secret_key": NEW_KEY, "secret_key_fallbacks": [OLD_KEY]}),
    ("3: remove the old key", {"secret_key": NEW_KEY}),
]
WRITERS = 3


def test_client_alternating_between_two_servers_keeps_one_session(
    start_server: StartServer,
) -> None:
    servers = [start_server(secret_key=SECRET), start_server(secret_key=SECRET)]
    counts: list[int] = []
    pids: set[int] = set()
    with httpx2.Client(timeout=10.0) as client:
        for visit in range(10):
            body = client.get(f"{servers[visit % 2].url}/counter").json()
            counts.append(body["count"])
            pids.add(body["pid"])
    assert len(pids) == 2  # two separate processes answered
    assert counts == list(range(1, 11))


@dataclass
class RotationLog:
    """What the clients saw during a rolling key rotation."""

    counts: dict[int, list[int]] = field(default_factory=dict)
    """Each writing client's count, as every server answered it, in order."""
    read_counts: list[int] = field(default_factory=list)
    """The count the reading client's session held at each of its visits."""
    cookies_after_promotion: list[str] = field(default_factory=list)
    """Every client's cookie once step 2 reached every server."""
    stale_session_before: list[dict[str, object]] = field(default_factory=list)
    stale_session_after: list[dict[str, object]] = field(default_factory=list)
    """What each server made of a cookie signed before the rotation, before and after it."""


def _visit_every_server(
    writers: list[httpx2.Client], reader: httpx2.Client, servers: list[Server], log: RotationLog
) -> None:
    for server in servers:
        for number, writer in enumerate(writers):
            log.counts.setdefault(number, []).append(
                writer.get(f"{server.url}/counter").json()["count"]
            )
        log.read_counts.append(reader.get(f"{server.url}/peek").json().get("count", 0))


def _peek_everywhere(cookie: str, servers: list[Server]) -> list[dict[str, object]]:
    return [
        httpx2.get(f"{server.url}/peek", headers={"cookie": f"session={cookie}"}).json()
        for server in servers
    ]


@pytest.fixture(scope="module")
def rotation(start_server: StartServer) -> RotationLog:
    """Writing clients change their session at every request; the reading client only looks at
    its session after the first, so only the re-signing of fallback-verified cookies keeps it."""
    log = RotationLog()
    servers = [start_server(secret_key=OLD_KEY, max_age=str(MAX_AGE)) for _ in range(2)]
    writers = [httpx2.Client(timeout=10.0) for _ in range(WRITERS)]
    reader = httpx2.Client(timeout=10.0)
    try:
        reader.get(f"{servers[0].url}/counter")
        _visit_every_server(writers, reader, servers, log)
        stale_cookie = writers[0].cookies["session"]  # signed with the old key only
        log.stale_session_before = _peek_everywhere(stale_cookie, servers)
        for step, settings in ROTATION:
            for server in servers:  # a rolling deploy: one server at a time
                server.restart({**settings, "max_age": str(MAX_AGE)})
                _visit_every_server(writers, reader, servers, log)
            if step.startswith("2:"):
                clients = [*writers, reader]
                log.cookies_after_promotion = [client.cookies["session"] for client in clients]
        log.stale_session_after = _peek_everywhere(stale_cookie, servers)
    finally:
        for client in [*writers, reader]:
            client.close()
    return log


VISITS = 2 + len(ROTATION) * 2 * 2
"""Per client: both servers at the start, then both servers after each of the six restarts."""


def test_no_writing_client_loses_its_session_during_a_rolling_key_rotation(
    rotation: RotationLog,
) -> None:
    assert rotation.counts == {number: list(range(1, VISITS + 1)) for number in range(WRITERS)}


def test_reading_client_keeps_its_session_through_a_rolling_key_rotation(
    rotation: RotationLog,
) -> None:
    assert rotation.read_counts == [1] * VISITS


def _verifies(key: str, cookie: str) -> bool:
    try:
        SessionCodec([key], max_age=MAX_AGE).verify(cookie)
    except CookieRejected:
        return False
    return True


def test_promotion_re_signs_every_visiting_clients_cookie_with_the_new_key(
    rotation: RotationLog,
) -> None:
    cookies = rotation.cookies_after_promotion
    assert [_verifies(NEW_KEY, cookie) for cookie in cookies] == [True] * (WRITERS + 1)


def test_cookie_signed_only_by_the_removed_key_is_rejected(rotation: RotationLog) -> None:
    assert [session.get("count") for session in rotation.stale_session_before] == [2, 2]
    assert rotation.stale_session_after == [{}, {}]
