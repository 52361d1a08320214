"""Signed-cookie sessions for any ASGI application, every setting validated up front."""

from cookie_session.codec import SessionCodec
from cookie_session.config import SessionConfig
from cookie_session.csrf import csrf_token
from cookie_session.devices import SessionInfo
from cookie_session.exceptions import (
    CookieDecryptionFailed,
    CookieExpired,
    CookieMalformed,
    CookieRejected,
    CookieSignatureInvalid,
    CookieTooLarge,
    SessionConfigWarning,
    SessionError,
    SessionNotInstalled,
    SessionStoreUnavailable,
    SessionTooLarge,
)
from cookie_session.flash import Flash, flash, peek_flashes, pop_flashes
from cookie_session.middleware import SessionFields, SessionMiddleware, SharedSessions
from cookie_session.sealed import SealedCodec
from cookie_session.session import Session, get_session
from cookie_session.stats import SessionStats
from cookie_session.store import RedisSessionStore
from cookie_session.typed import TypedSession

__all__ = [
    "CookieDecryptionFailed",
    "CookieExpired",
    "CookieMalformed",
    "CookieRejected",
    "CookieSignatureInvalid",
    "CookieTooLarge",
    "Flash",
    "RedisSessionStore",
    "SealedCodec",
    "Session",
    "SessionCodec",
    "SessionConfig",
    "SessionConfigWarning",
    "SessionError",
    "SessionFields",
    "SessionInfo",
    "SessionMiddleware",
    "SessionNotInstalled",
    "SessionStats",
    "SessionStoreUnavailable",
    "SessionTooLarge",
    "SharedSessions",
    "TypedSession",
    "csrf_token",
    "flash",
    "get_session",
    "peek_flashes",
    "pop_flashes",
]
