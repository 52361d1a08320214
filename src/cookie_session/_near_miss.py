"""Variables that set nothing but look like a misspelling of one that does.

An unknown ``SESSION_*`` variable is ignored, so ``SESSION_HTTPSONLY=true`` would leave cookies
without ``Secure`` in silence. :func:`warn_near_misses` names each such variable, where it was
found and the real variable it resembles; never its value, which may be a secret.

The rule, on the part of the name after the prefix, in any letter case: a variable that is not a
real one is a near miss of a real one when, ignoring underscores, it takes at most one edit to
turn it into the real one (two edits from 10 letters on; an edit adds, removes or replaces a
letter or swaps two neighbours), or when it is the real one's leading words
(``SESSION_SECRET``) or the real one and one more word (``SESSION_COOKIE_NAME``). That catches
``SESSION_SAMESITE``, ``SESSION_MAX_AGES`` and ``SESSION_SECRET_KEY_FILE`` and leaves
``SESSION_MANAGER`` (which Linux desktops set, two edits from ``SESSION_MAX_AGE``) alone.

Names that Flask and Django give the same settings come first, whatever the rule would say:
``SESSION_COOKIE_SECURE`` means ``SESSION_HTTPS_ONLY`` (not ``SESSION_COOKIE``, which it is one
word more than), ``SESSION_COOKIE_AGE`` means ``SESSION_MAX_AGE``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Final

from cookie_session.exceptions import SessionConfigWarning

__all__ = ["resembled_variable", "warn_near_misses"]

_LONG_NAME: Final = 10
"""Names of this many letters or more (underscores aside) are near misses within two edits."""
_PACKAGE_DIRECTORY: Final = os.path.dirname(__file__) + os.sep

# Flask's, Django's and Flask-Session's names (after the SESSION_ prefix they share with ours)
# for settings this package has: the words of ours.
_OTHER_FRAMEWORKS: Final = {
    "cookie_name": "cookie",
    "cookie_secure": "https_only",
    "cookie_samesite": "same_site",
    "cookie_domain": "domain",
    "cookie_path": "path",
    "cookie_age": "max_age",
    "cookie_partitioned": "partitioned",
    "key_prefix": "store_prefix",
}
_ALWAYS_HTTPONLY: Final = "cookie_httponly"
"""Flask's and Django's switch for HttpOnly, which this package always sets."""


def warn_near_misses(
    layers: Iterable[tuple[str, Iterable[str]]], variables: Sequence[str], env_prefix: str
) -> None:
    """Warn with :class:`SessionConfigWarning` about each near miss of ``variables``.

    ``layers`` are (where, variable names) pairs: the environment, the env file.
    """
    for source, names in layers:
        for name in names:
            resembled = resembled_variable(name, variables, env_prefix)
            if resembled == _ALWAYS_HTTPONLY:
                hint = "the session cookie is always HttpOnly"
            elif resembled is not None:
                hint = f"did you mean {resembled}?"
            else:
                continue
            warnings.warn(
                f"{name} (in the {source}) is not a setting and is ignored; {hint}",
                SessionConfigWarning,
                stacklevel=_stacklevel_outside_package(),
            )


def resembled_variable(name: str, variables: Sequence[str], env_prefix: str) -> str | None:
    """The variable in ``variables`` that ``name`` is a near miss of (the closest, the first of
    equals, or the one another framework's name means), or None when ``name`` is one of them or
    resembles none; ``"cookie_httponly"`` for the HttpOnly switch of Flask and Django."""
    # With no prefix every variable of the machine (PATH, USER...) would be a candidate.
    if not env_prefix or not name.lower().startswith(env_prefix.lower()):
        return None
    if name.lower() in {variable.lower() for variable in variables}:
        return None
    words = _words(name, env_prefix)
    if not words:
        return None
    suffix = "_".join(words)
    if suffix == _ALWAYS_HTTPONLY:
        return _ALWAYS_HTTPONLY
    if suffix in _OTHER_FRAMEWORKS:
        meant = _OTHER_FRAMEWORKS[suffix].split("_")
        for variable in variables:
            if _words(variable, env_prefix) == meant:
                return variable
    letters = "".join(words)
    near: list[tuple[int, str]] = []
    for variable in variables:
        real_words = _words(variable, env_prefix)
        real_letters = "".join(real_words)
        distance = _edit_distance(letters, real_letters)
        allowed = 2 if len(real_letters) >= _LONG_NAME else 1
        leading_words = len(words) < len(real_words) and real_words[: len(words)] == words
        one_more_word = len(words) == len(real_words) + 1 and words[:-1] == real_words
        if distance <= allowed or leading_words or one_more_word:
            near.append((distance, variable))
    return min(near, key=lambda candidate: candidate[0])[1] if near else None


def _words(name: str, env_prefix: str) -> list[str]:
    return [word for word in name[len(env_prefix) :].lower().split("_") if word]


def _edit_distance(text: str, other: str) -> int:
    """Letters to add, remove, replace or swap with a neighbour to turn ``text`` into ``other``
    (the optimal string alignment distance)."""
    before_previous: list[int] = []
    previous = list(range(len(other) + 1))
    for i, letter in enumerate(text, start=1):
        current = [i]
        for j, other_letter in enumerate(other, start=1):
            distance = min(
                previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (letter != other_letter)
            )
            if i > 1 and j > 1 and letter == other[j - 2] and text[i - 2] == other_letter:
                distance = min(distance, before_previous[j - 2] + 1)
            current.append(distance)
        before_previous, previous = previous, current
    return previous[-1]


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package (via
    ``from_env``, ``load`` or ``SessionMiddleware.from_env`` alike). Python 3.12's
    ``skip_file_prefixes`` does this; 3.11 needs the walk."""
    frame = sys._getframe(1)  # the function calling warnings.warn: stacklevel 1
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIRECTORY):
        frame = frame.f_back
        level += 1
    return level
