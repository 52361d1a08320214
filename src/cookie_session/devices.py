"""The device list: what a signed-in session of the store records of where it is used, with
``track_devices=True``, and :class:`SessionInfo`, how ``store.list_sessions()`` reports it.

A client address and a User-Agent are personal data: nothing of the kind is recorded unless
``track_devices`` is set. The record is one field of the session's own hash (``_cs.device``,
reserved like every ``_cs.`` key, and never part of the session a handler sees), so it expires,
moves and is revoked with its session, and on a cluster it lives on the session's node. Its last-
seen time is written at most once a minute (:data:`SEEN_INTERVAL`): with a write the request makes
anyway, or else with one small write that leaves the session's expiry as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, NamedTuple

from cookie_session.codec import decode_json_value
from cookie_session.types import Scope

__all__ = [
    "DEVICE_FIELD",
    "SEEN_INTERVAL",
    "USER_AGENT_LIMIT",
    "DeviceRecord",
    "SessionInfo",
    "client_of",
]

DEVICE_FIELD: Final = "_cs.device"
"""The field of a session's hash that holds its :class:`DeviceRecord`."""
SEEN_INTERVAL: Final = 60
"""Seconds between two writes of a session's last-seen time."""
USER_AGENT_LIMIT: Final = 256
"""Characters of the User-Agent header kept (the rest says nothing a person reads)."""


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One session of a user, as :meth:`RedisSessionStore.list_sessions` reports it.

    Every time is timezone-aware UTC. Without ``track_devices`` only ``session_id`` and
    ``expires_at`` are known; so is a session that has made no request since tracking began.
    Compare ``session_id`` with ``request.session.session_id`` to mark "this device".
    """

    session_id: str
    started_at: datetime | None
    """When the session started (its login, or the first request seen with tracking on)."""
    last_seen: datetime | None
    """When a request last used the session (to the minute: :data:`SEEN_INTERVAL`)."""
    expires_at: datetime
    """When Redis drops the session unless it is used (written or refreshed) before then."""
    ip: str | None
    """The client address of its last request as the server saw it (``scope["client"]``;
    behind a proxy, what the server's proxy-header handling made of it)."""
    user_agent: str | None
    """Its last request's ``User-Agent`` (the first 256 characters)."""


class DeviceRecord(NamedTuple):
    """What the session's hash keeps of its device: times in seconds since the epoch."""

    started: int
    seen: int
    ip: str | None
    user_agent: str | None

    def to_json(self) -> str:
        """The field's stored form (compact: it is written once a minute per session)."""
        return json.dumps(list(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> DeviceRecord | None:
        """The record a field holds; ``None`` when absent or not a record (never an error: a
        damaged record is replaced on the session's next request)."""
        if text is None:
            return None
        try:  # msgspec first (every tracked request reads its record)
            started, seen, ip, user_agent = decode_json_value(text)
        except (ValueError, TypeError, RecursionError):
            return None
        if not (_is_time(started) and _is_time(seen)):
            return None
        if not (ip is None or isinstance(ip, str)):
            return None
        if not (user_agent is None or isinstance(user_agent, str)):
            return None
        return cls(started, seen, ip, user_agent)

    def seen_again(self, now: int, client: tuple[str | None, str | None]) -> DeviceRecord:
        """This session seen at ``now`` from ``client`` (its address and User-Agent)."""
        return DeviceRecord(self.started, now, *client)

    def info(self, session_id: str, expires_at: datetime) -> SessionInfo:
        """The :class:`SessionInfo` of this record's session."""
        return SessionInfo(
            session_id=session_id,
            started_at=datetime.fromtimestamp(self.started, UTC),
            last_seen=datetime.fromtimestamp(self.seen, UTC),
            expires_at=expires_at,
            ip=self.ip,
            user_agent=self.user_agent,
        )


def client_of(scope: Scope) -> tuple[str | None, str | None]:
    """A request's client address and User-Agent (its first :data:`USER_AGENT_LIMIT`
    characters), each ``None`` when the request does not say."""
    client = scope.get("client")
    ip = str(client[0]) if client else None
    for name, value in scope["headers"]:
        if name == b"user-agent":
            return ip, value[:USER_AGENT_LIMIT].decode("latin-1")  # one byte, one character
    return ip, None


def _is_time(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
