"""A secret published in documentation (the reference example's, this project's own) is refused
by no rule, so it is warned about: at start-up with a PublishedSecretWarning, and by
``cookie-session check`` (``--strict`` fails on it)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from pydantic import ValidationError

from conftest import REFERENCE_SECRET, SECRET
from cookie_session import SessionConfig, SessionConfigWarning
from cookie_session._published_secrets import published_secret
from cookie_session.exceptions import PublishedSecretWarning

REPOSITORY = Path(__file__).resolve().parent.parent
# Where a user copies settings from: the README, the docs, the examples, .env.example.
PUBLISHED_FILES = [
    REPOSITORY / "README.md",
    REPOSITORY / ".env.example",
    *sorted((REPOSITORY / "docs").glob("*.md")),
    *sorted(path for path in (REPOSITORY / "examples").rglob("*") if path.is_file()),
]
# A secret-looking literal: words of lower-case letters and digits joined by hyphens.
LITERAL = re.compile(r"""["'=]([a-z0-9]+(?:-[a-z0-9]+){3,})["'\s]""")


def shown_secrets() -> set[str]:
    """Every literal in the published files that SessionConfig would take as a secret."""
    found: set[str] = set()
    for path in PUBLISHED_FILES:
        for literal in LITERAL.findall(path.read_text(encoding="utf-8")):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PublishedSecretWarning)
                    SessionConfig(secret_key=literal)
            except ValidationError:
                continue
            found.add(literal)
    return found


def test_the_published_files_show_secrets() -> None:
    assert REFERENCE_SECRET in shown_secrets()  # else the scan below proves nothing


@pytest.mark.parametrize("secret", sorted(shown_secrets()))
def test_every_secret_the_docs_and_examples_show_is_known_as_published(secret: str) -> None:
    assert published_secret(secret)


def test_a_published_secret_warns_at_start_up_naming_the_setting_only() -> None:
    with pytest.warns(PublishedSecretWarning) as caught:
        SessionConfig(secret_key=REFERENCE_SECRET, secret_key_fallbacks=[REFERENCE_SECRET])

    messages = [str(warning.message) for warning in caught]
    assert messages == [
        "secret_key is a published example secret: anyone can forge these sessions; use "
        "`cookie-session generate-secret` to make a real one",
        "secret_key_fallbacks[0] is a published example secret: anyone can forge these "
        "sessions; use `cookie-session generate-secret` to make a real one",
    ]
    assert all(REFERENCE_SECRET not in message for message in messages)
    assert issubclass(PublishedSecretWarning, SessionConfigWarning)


def test_a_real_secret_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionConfigWarning)
        SessionConfig(secret_key=SECRET)


def test_the_reference_example_still_runs_with_its_secret() -> None:
    with pytest.warns(PublishedSecretWarning):
        config = SessionConfig(secret_key=REFERENCE_SECRET, max_age=3600, https_only=False)

    assert config.max_age == 3600


def test_a_refused_configuration_with_a_published_secret_only_raises() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SessionConfigWarning)
        with pytest.raises(ValidationError, match="samesite"):
            SessionConfig.model_validate({"secret_key": REFERENCE_SECRET, "samesite": "lax"})
