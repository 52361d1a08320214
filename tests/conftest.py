"""Fixtures shared by every test module."""

from __future__ import annotations

import os

import pytest

from cookie_session import SessionConfig

# Distinctive so that a leak is easy to grep for in any output.
SECRET = "LEAKCHECK-secret-key-0123456789-abcdefghij"
OTHER_SECRET = "LEAKCHECK-other-key-9876543210-zyxwvutsrq"
REFERENCE_SECRET = "your-secret-key-min-32-characters-long"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No SESSION_* variable from the machine, and a working directory without a .env file."""
    for name in list(os.environ):
        if name.upper().startswith("SESSION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def config() -> SessionConfig:
    """A valid configuration with the defaults and the shared test secret."""
    return SessionConfig(secret_key=SECRET)
