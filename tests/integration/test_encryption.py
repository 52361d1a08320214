"""Encryption switched on and off on running servers, and the key rotated under it, through real
HTTP: uvicorn processes restarted with new SESSION_* variables while clients keep visiting.

docs/encryption.md describes these steps; no visitor may lose a session at any of them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx2
import pytest

from conftest import OTHER_SECRET, SECRET
from cookie_session import CookieRejected, SealedCodec, SessionCodec

from .conftest import Setting, StartServer
from .test_scale_out import RotationLog, _peek_everywhere, _visit_every_server

pytestmark = pytest.mark.timeout(240)

OLD_KEY = SECRET
NEW_KEY = OTHER_SECRET
MAX_AGE = "3600"
MARKER = "private-marker-alice@example.org"

# Each step's settings for every server, rolled out one server at a time.
STEPS: list[tuple[str, Mapping[str, Setting]]] = [
    ("encrypt", {"secret_key": OLD_KEY, "encrypt": "true"}),
    ("1: add the new key", {"secret_key": OLD_KEY, "secret_key_fallbacks": [NEW_KEY],
                            "encrypt": "true"}),
    ("2: promote the new key", {"secret_key": NEW_KEY, "secret_key_fallbacks": [OLD_KEY],
                                "encrypt": "true"}),
    ("3: remove the old key", {"secret_key": NEW_KEY, "encrypt": "true"}),
    ("stop encrypting", {"secret_key": NEW_KEY, "encrypt": "false"}),
]  # fmt: skip
WRITERS = 2


def cookie_of(response: httpx2.Response) -> str | None:
    """The session value a response sets, if it sets one."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == "session":
            return rest.split(";")[0]
    return None


def opens_with(codec: SessionCodec | SealedCodec, cookie: str) -> bool:
    try:
        codec.verify(cookie)
    except CookieRejected:
        return False
    return True


def test_one_server_switches_a_read_only_clients_cookie_to_encrypted_and_back(
    start_server: StartServer,
) -> None:
    server = start_server(secret_key=SECRET, encrypt="false")
    with httpx2.Client(timeout=10.0) as client:
        signed = cookie_of(client.get(f"{server.url}/counter", params={"marker": MARKER}))
        server.restart({"secret_key": SECRET, "encrypt": "true"})
        to_encrypted = client.get(f"{server.url}/peek")
        unchanged = client.get(f"{server.url}/peek")
        server.restart({"secret_key": SECRET, "encrypt": "false"})
        to_signed = client.get(f"{server.url}/peek")

    encrypted, signed_again = cookie_of(to_encrypted), cookie_of(to_signed)
    assert signed is not None
    assert signed.startswith("eyJ")
    assert to_encrypted.json() == {"count": 1, "marker": MARKER}
    assert encrypted is not None
    assert encrypted.startswith("~1.")
    assert MARKER.encode() not in base64.urlsafe_b64decode(encrypted[3:] + "==")
    assert SealedCodec([SECRET], max_age=None).verify(encrypted).data == to_encrypted.json()
    assert cookie_of(unchanged) is None  # now in the current format: nothing to send
    assert to_signed.json() == {"count": 1, "marker": MARKER}
    assert signed_again is not None
    assert SessionCodec([SECRET], max_age=None).verify(signed_again).data == to_signed.json()
    assert not signed_again.startswith("~")


def test_ending_the_migration_refuses_signed_cookies_and_keeps_encrypted_sessions(
    start_server: StartServer,
) -> None:
    server = start_server(secret_key=SECRET, encrypt="true")
    signed = {"cookie": "session=" + SessionCodec([SECRET], max_age=None).encode({"count": 7})}
    with httpx2.Client(timeout=10.0) as client:
        client.get(f"{server.url}/counter", params={"marker": MARKER})
        migrating = httpx2.get(f"{server.url}/peek", headers=signed, timeout=10.0)
        server.restart({"secret_key": SECRET, "encrypt": "true", "accept_signed": "false"})
        kept = client.get(f"{server.url}/peek")
        refused = httpx2.get(f"{server.url}/peek", headers=signed, timeout=10.0)

    assert migrating.json() == {"count": 7}
    assert kept.json() == {"count": 1, "marker": MARKER}
    assert (refused.status_code, refused.json(), cookie_of(refused)) == (200, {}, None)


@dataclass
class RolloutLog(RotationLog):
    """What the clients saw while encryption was switched on, the key rotated, then off."""

    cookies_after: dict[str, list[str]] = field(default_factory=dict)
    """Every client's cookie once a step reached every server."""


@pytest.fixture(scope="module")
def rollout(start_server: StartServer) -> RolloutLog:
    log = RolloutLog()
    servers = [start_server(secret_key=OLD_KEY, max_age=MAX_AGE) for _ in range(2)]
    writers = [httpx2.Client(timeout=10.0) for _ in range(WRITERS)]
    reader = httpx2.Client(timeout=10.0)
    clients = [*writers, reader]
    try:
        reader.get(f"{servers[0].url}/counter", params={"marker": MARKER})
        _visit_every_server(writers, reader, servers, log)
        stale_cookie = ""
        for step, settings in STEPS:
            for server in servers:
                server.restart({**settings, "max_age": MAX_AGE})
                _visit_every_server(writers, reader, servers, log)
            log.cookies_after[step] = [client.cookies["session"] for client in clients]
            if step == "encrypt":
                stale_cookie = writers[0].cookies["session"]  # sealed with the old key only
                log.stale_session_before = _peek_everywhere(stale_cookie, servers)
            if step.startswith("3:"):
                log.stale_session_after = _peek_everywhere(stale_cookie, servers)
    finally:
        for client in clients:
            client.close()
    return log


VISITS = 2 + len(STEPS) * 2 * 2
"""Per client: both servers at the start, then both servers after each of the ten restarts."""


def test_no_writing_client_loses_its_session_at_any_step(rollout: RolloutLog) -> None:
    assert rollout.counts == {number: list(range(1, VISITS + 1)) for number in range(WRITERS)}


def test_reading_client_keeps_its_session_at_every_step(rollout: RolloutLog) -> None:
    assert rollout.read_counts == [1] * VISITS


def test_switching_encryption_on_everywhere_encrypts_every_visiting_clients_cookie(
    rollout: RolloutLog,
) -> None:
    cookies = rollout.cookies_after["encrypt"]

    assert [cookie[:3] for cookie in cookies] == ["~1."] * (WRITERS + 1)
    assert all(opens_with(SealedCodec([OLD_KEY], max_age=None), cookie) for cookie in cookies)
    reader_cookie = cookies[-1]
    assert MARKER.encode() not in base64.urlsafe_b64decode(reader_cookie[3:] + "==")


def test_promotion_re_seals_every_visiting_clients_cookie_with_the_new_key(
    rollout: RolloutLog,
) -> None:
    cookies = rollout.cookies_after["2: promote the new key"]

    assert all(opens_with(SealedCodec([NEW_KEY], max_age=None), cookie) for cookie in cookies)
    assert not any(opens_with(SealedCodec([OLD_KEY], max_age=None), c) for c in cookies)


def test_cookie_sealed_only_with_the_removed_key_is_refused(rollout: RolloutLog) -> None:
    assert [session.get("count") for session in rollout.stale_session_before] == [2 + 2 * 2] * 2
    assert rollout.stale_session_after == [{}, {}]


def test_switching_encryption_off_signs_every_visiting_clients_cookie_again(
    rollout: RolloutLog,
) -> None:
    cookies = rollout.cookies_after["stop encrypting"]

    assert not any(cookie.startswith("~") for cookie in cookies)
    assert all(opens_with(SessionCodec([NEW_KEY], max_age=None), cookie) for cookie in cookies)
