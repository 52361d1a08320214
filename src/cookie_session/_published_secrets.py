"""Secrets that are published: in a framework's documentation, in this project's, or whose
words say they were never meant to be used ("change-me"). Anyone can forge a session signed
with one, so :class:`~cookie_session.SessionConfig` warns (a :class:`PublishedSecretWarning`)
and ``cookie-session check --strict`` fails.
"""

from __future__ import annotations

from typing import Final

__all__ = ["EXAMPLE_SECRETS", "PLACEHOLDER_PHRASES", "published_secret"]

EXAMPLE_SECRETS: Final = frozenset(
    {
        "your-secret-key-min-32-characters-long",  # the reference SessionMiddleware docs
        "super-secret-key-change-this-in-production",  # the same docs' usage section
        # This project's own documentation and examples (tests/test_published_secrets.py
        # checks that every secret they show is here, or says "replace-me" or the like).
        "a-long-random-secret-from-the-environment-0123",
        "correct-horse-battery-staple-0123456789",
        "the-key-we-sign-with-from-now-0123456789",
        "the-key-we-used-until-now-0123456789",
        "the-previous-key-still-accepted-while-cookies-expire",
    }
)
PLACEHOLDER_PHRASES: Final = (
    "change-me",
    "change_me",
    "changeme",
    "change-this",
    "change_this",
    "replace-me",
    "replace_me",
    "your-secret",
    "your_secret",
    "insecure",  # Django's startproject keys: "django-insecure-..."
)


def published_secret(secret: str) -> bool:
    """Whether ``secret`` is a well-known example value (see ``EXAMPLE_SECRETS``)."""
    lowered = secret.lower()
    return lowered in EXAMPLE_SECRETS or any(phrase in lowered for phrase in PLACEHOLDER_PHRASES)
