"""Signed-cookie sessions for any ASGI application, every setting validated up front."""

from cookie_session.config import SessionConfig

__all__ = ["SessionConfig"]
