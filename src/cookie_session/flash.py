"""Flash messages: one-time messages kept in the session until a later request shows them.

A handler records a message (``flash(request.session, "Saved")``) and redirects; the page it
redirects to takes the messages out (``pop_flashes(request.session)``) and shows them once.
They live in the session under :data:`FLASHES_KEY`, as a JSON list of ``[category, message]``
pairs, oldest first, so they survive the redirect in every storage (signed or encrypted cookie,
Redis) and in every framework: the functions take any mutable mapping, which is what
``request.session`` is in Starlette, FastAPI and Litestar, and ``quart.session`` in Quart.

The key exists only while a message waits: a session that never flashes carries no trace of
the feature, and taking the last message out removes the key. Reading with no message waiting
writes nothing, so it sends no cookie. The key is always written whole (a new list, never one
changed in place), so a framework's own session sees the change.

What a concurrent request of the same visitor can lose depends on the storage (with a store,
which keeps each message in a field of its own, only a move to a new ID; in a cookie, any
request that sends the cookie again): docs/flash.md says exactly, naming the tests that hold
it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final, NamedTuple

__all__ = ["FLASHES_KEY", "Flash", "flash", "peek_flashes", "pop_flashes"]

FLASHES_KEY: Final = "_cs.flashes"
"""The reserved session key holding the waiting messages: a JSON list of ``[category, message]``
pairs, oldest first; absent when none waits."""


class Flash(NamedTuple):
    """A one-time message, as :func:`pop_flashes` and :func:`peek_flashes` return it."""

    category: str
    """What kind of message it is (``"message"`` unless given): ``"error"``, ``"success"``..."""
    message: str
    """The text to show."""


def flash(session: MutableMapping[str, Any], message: str, category: str = "message") -> None:
    """Record ``message`` in ``session``, after any already waiting, until it is popped.

    Raises :class:`TypeError` when ``message`` or ``category`` is not a string.
    """
    _require_text(message, "message")
    _require_text(category, "category")
    session[FLASHES_KEY] = [*_pairs(session), [category, message]]


def pop_flashes(session: MutableMapping[str, Any], category: str | None = None) -> list[Flash]:
    """Take the waiting messages out of ``session`` and return them, oldest first.

    With ``category``, only the messages of that category are taken; the others keep waiting,
    in their order. When none is left the key is removed. Nothing waiting: nothing is written.
    Raises :class:`TypeError` when ``category`` is neither a string nor ``None``.
    """
    if category is not None:
        _require_text(category, "category")
    if FLASHES_KEY not in session:
        return []
    pairs = _pairs(session)
    if category is None:
        taken, kept = pairs, []
    else:
        taken = [pair for pair in pairs if pair[0] == category]
        if not taken:
            return []  # nothing of that category: the others stay as they are
        kept = [pair for pair in pairs if pair[0] != category]
    if kept:
        session[FLASHES_KEY] = kept
    else:
        del session[FLASHES_KEY]
    return [Flash(*pair) for pair in taken]


def peek_flashes(session: Mapping[str, Any]) -> list[Flash]:
    """The waiting messages, oldest first, left in ``session``."""
    return [Flash(*pair) for pair in _pairs(session)]


def _pairs(session: Mapping[str, Any]) -> list[list[str]]:
    """The waiting messages as stored, each a new ``[category, message]`` list.

    Only this module writes the key, but the session may have been put together by other code
    (a test, a migration): anything that is not a pair of strings is no message, and is dropped
    the next time the key is written.
    """
    stored = session.get(FLASHES_KEY)
    if not isinstance(stored, list):
        return []
    return [
        [pair[0], pair[1]]
        for pair in stored
        if isinstance(pair, list | tuple)
        and len(pair) == 2
        and isinstance(pair[0], str)
        and isinstance(pair[1], str)
    ]


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"a flash {name} must be a str, not {type(value).__name__}")
