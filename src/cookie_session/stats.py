"""Counters of what happened to session cookies since start-up, and their snapshot.

The counters live where the events happen (the middleware, the store) as plain integers that
are incremented on paths already taken, so counting costs no measurable time; ``stats()`` copies
them into a frozen :class:`SessionStats`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = ["REJECTION_REASONS", "SessionStats"]

logger = logging.getLogger("cookie_session")

REJECTION_REASONS: Final = ("signature", "expired", "malformed", "too_large")
"""The reasons every :attr:`SessionStats.cookies_rejected` lists, even at zero."""


@dataclass(frozen=True, slots=True)
class SessionStats:
    """What a :class:`~cookie_session.SessionMiddleware` did since start-up.

    The numbers that explain lost sessions: why incoming cookies were refused, and whether an
    old key is still in use (a fallback key whose count stops growing can be retired).
    """

    cookies_accepted: int
    """Requests whose session cookie verified, with any key."""
    cookies_rejected: Mapping[str, int]
    """Session cookies refused, by reason: ``signature`` (tampered, or signed by an unknown
    key), ``expired``, ``malformed``, ``too_large`` (and ``decrypt`` with encryption)."""
    fallback_key_uses: tuple[int, ...]
    """Cookies verified by each fallback key, in configuration order."""
    cookies_set: int
    """Set-Cookie headers carrying a session (writes, re-signs and refreshes)."""
    cookies_deleted: int
    """Set-Cookie headers deleting the cookie (not also counted in ``cookies_set``)."""
    too_large_errors: int
    """Sessions that could not be sent because the cookie would pass 4096 bytes."""
    store_errors: int
    """Failed calls to the server-side store."""
    csrf_rejected: int
    """Unsafe requests refused (403) for a missing or invalid CSRF token (``csrf=True``)."""


class Counters:
    """The mutable counters behind :class:`SessionStats`; one set per middleware."""

    __slots__ = (
        "_fallback_seen",
        "cookies_accepted",
        "cookies_deleted",
        "cookies_rejected",
        "cookies_set",
        "csrf_rejected",
        "fallback_key_uses",
        "store_errors",
        "too_large_errors",
    )

    def __init__(self, fallback_keys: int, reasons: tuple[str, ...] = REJECTION_REASONS) -> None:
        self.cookies_accepted = 0
        self.cookies_rejected = dict.fromkeys(reasons, 0)
        self.fallback_key_uses = [0] * fallback_keys
        self.cookies_set = 0
        self.cookies_deleted = 0
        self.too_large_errors = 0
        self.store_errors = 0
        self.csrf_rejected = 0
        self._fallback_seen = [False] * fallback_keys

    def rejected(self, reason: str) -> None:
        self.cookies_rejected[reason] = self.cookies_rejected.get(reason, 0) + 1

    def accepted(self, key_index: int) -> None:
        """A cookie verified by key ``key_index`` (0 is the current key)."""
        self.cookies_accepted += 1
        if key_index:
            self.fallback_key_uses[key_index - 1] += 1
            if not self._fallback_seen[key_index - 1]:
                self._fallback_seen[key_index - 1] = True
                logger.info(
                    "fallback key #%d verified a session cookie for the first time since "
                    "start-up; the cookie is re-signed with the current key",
                    key_index,
                )

    def snapshot(self) -> SessionStats:
        return SessionStats(
            cookies_accepted=self.cookies_accepted,
            cookies_rejected=MappingProxyType(dict(self.cookies_rejected)),
            fallback_key_uses=tuple(self.fallback_key_uses),
            cookies_set=self.cookies_set,
            cookies_deleted=self.cookies_deleted,
            too_large_errors=self.too_large_errors,
            store_errors=self.store_errors,
            csrf_rejected=self.csrf_rejected,
        )
