"""Audit lines: a session started, moved to a new ID, revoked, or ended by ``max_lifetime``.

Logged at INFO on the ``cookie_session.audit`` logger, one line per event, naming the event and
the user when there is one. A session is identified by a short keyed hash of its ID (in cookie
modes, which have no ID, of its cookie's signature, so a cookie signed afresh gets a new
reference): with a store the same ID gives the same reference in every line. No line holds the
ID, the cookie or any session data, and without the configuration's secret no reference can be
traced back to one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Final

__all__ = ["AUDIT_LOGGER", "Auditor"]

AUDIT_LOGGER: Final = "cookie_session.audit"
logger = logging.getLogger(AUDIT_LOGGER)


class Auditor:
    """Writes the audit lines of one configuration (whose secret keys the references)."""

    __slots__ = ("_key",)

    def __init__(self, secret: str) -> None:
        # A key of its own, derived from the secret: the references say nothing of the
        # signing key, and differ from one deployment to another.
        self._key = hashlib.sha256(b"cookie-session audit\x00" + secret.encode()).digest()

    def reference(self, identifier: str) -> str:
        """A short keyed hash of a session's ID (or cookie signature) for log lines."""
        digest = hmac.new(self._key, identifier.encode(), hashlib.sha256).hexdigest()
        return digest[:16]

    def log(self, event: str, identifier: str, user: str | None = None, **details: object) -> None:
        """One audit line: ``event`` (started, moved, revoked, ended) for the session."""
        if not logger.isEnabledFor(logging.INFO):
            return
        extra = "".join(f" {name}={value}" for name, value in details.items())
        who = f" user={user!r}" if user is not None else ""
        logger.info("session %s: ref=%s%s%s", event, self.reference(identifier), who, extra)
