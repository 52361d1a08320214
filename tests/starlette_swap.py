"""A pytest plugin that puts this package in the place of Starlette's session middleware.

``tests/test_starlette_suite.py`` runs Starlette's own ``tests/middleware/test_session.py`` in a
subprocess with ``-p starlette_swap``. The plugin is loaded before that module is imported, so
its ``from starlette.middleware.sessions import Session, SessionMiddleware`` gets
``cookie_session``'s classes. Not a test module: pytest never collects it.
"""

from __future__ import annotations

from typing import Unpack

import pytest
from starlette.middleware import sessions

from cookie_session import Session, SessionFields, SessionMiddleware
from cookie_session.types import ASGIApp

MINIMUM_SECRET_LENGTH = 32
SECRET_PADDING = "-lengthened-for-cookie-session-0123456789"
"""Appended to Starlette's short test secrets (``"example"``): ours must have 32 characters and
8 distinct ones. Distinct secrets stay distinct."""

_patch = pytest.MonkeyPatch()


class LongSecretSessionMiddleware(SessionMiddleware):
    """This package's middleware, taking a secret too short for it as a longer one."""

    def __init__(self, app: ASGIApp, **fields: Unpack[SessionFields]) -> None:
        secret = fields.get("secret_key")
        if isinstance(secret, str) and len(secret) < MINIMUM_SECRET_LENGTH:
            fields["secret_key"] = secret + SECRET_PADDING
        super().__init__(app, **fields)


def pytest_configure(config: pytest.Config) -> None:
    _patch.setattr(sessions, "SessionMiddleware", LongSecretSessionMiddleware)
    _patch.setattr(sessions, "Session", Session)


def pytest_unconfigure(config: pytest.Config) -> None:
    _patch.undo()
