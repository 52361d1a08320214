"""Configuration behaviours that no test held until ``scripts/mutate`` changed them: a custom
``env_prefix`` followed everywhere a variable is named, and a path that smuggles an attribute."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from conftest import SECRET
from cookie_session import SessionConfig


def test_path_with_a_semicolon_and_no_space_is_refused() -> None:
    with pytest.raises(ValidationError, match="without ';'"):
        SessionConfig(secret_key=SECRET, path="/;Domain=evil.com")


@pytest.mark.usefixtures("clean_env")
def test_secrets_dir_files_are_named_with_the_custom_prefix(tmp_path: Path) -> None:
    (tmp_path / "MYAPP_SECRET_KEY").write_text(SECRET + "\n", encoding="utf-8")

    config = SessionConfig.from_env(None, env_prefix="MYAPP_", secrets_dir=tmp_path)

    assert config.secret_key.get_secret_value() == SECRET


@pytest.mark.usefixtures("clean_env")
def test_missing_setting_is_reported_under_the_custom_prefix_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None, env_prefix="MYAPP_")

    [problem] = caught.value.errors()
    assert problem["msg"].startswith("MYAPP_SECRET_KEY (not set):")
