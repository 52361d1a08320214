"""SessionConfig.accept_signed: ending the migration to encrypted cookies (docs/encryption.md)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conftest import SECRET
from cookie_session import SessionConfig


def test_signed_cookies_are_accepted_by_default() -> None:
    assert SessionConfig(secret_key=SECRET, encrypt=True).accept_signed is True


def test_accept_signed_false_goes_with_encrypt() -> None:
    config = SessionConfig(secret_key=SECRET, encrypt=True, accept_signed=False)

    assert (config.encrypt, config.accept_signed) == (True, False)


def test_accept_signed_false_without_encrypt_is_refused_naming_both_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig(secret_key=SECRET, accept_signed=False)

    [problem] = caught.value.errors()
    assert problem["type"] == "cookie_rule"
    assert problem["msg"].startswith("accept_signed=False requires encrypt=True: ")
    assert "every one would be refused" in problem["msg"]


@pytest.mark.usefixtures("clean_env")
def test_session_accept_signed_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_ENCRYPT", "true")
    monkeypatch.setenv("SESSION_ACCEPT_SIGNED", "false")

    loaded = SessionConfig.load(None)

    assert loaded.config.accept_signed is False
    assert loaded.sources["accept_signed"] == "environment"
    assert SessionConfig.env_variable("accept_signed") == "SESSION_ACCEPT_SIGNED"


@pytest.mark.usefixtures("clean_env")
def test_the_rule_from_the_environment_names_both_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_ACCEPT_SIGNED", "false")

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None)

    [problem] = caught.value.errors()
    assert problem["msg"].startswith(
        "SESSION_ACCEPT_SIGNED (from the environment), SESSION_ENCRYPT (not set): "
        "accept_signed=False requires encrypt=True"
    )
