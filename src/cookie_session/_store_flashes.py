"""How a Redis store keeps flash messages: each waiting message a hash field of its own.

In the session (every storage, every framework) the waiting messages are one key,
:data:`~cookie_session.flash.FLASHES_KEY`, a list of ``[category, message]`` pairs. A store
writes only the keys a request changed, so one list field would still be overwritten whole by
two requests that flash at once: the last write would drop the other's message. In the hash,
therefore, each message is a field of its own, named :data:`FLASH_FIELD_PREFIX` plus a
time-ordered tag, and the list is put together when the session is loaded:

- a request that flashes adds a field no other request writes;
- a request that pops deletes the fields it read, and only those, so a message flashed
  meanwhile by another request stays;
- a request that does neither writes no message field at all.

A ``_cs.flashes`` field written whole (by an older version, or by :mod:`cookie_session.testing`)
is read as the oldest messages and replaced by message fields at the next save that changes
them.
"""

from __future__ import annotations

import json
import os
import time
from typing import Final

from cookie_session.codec import encode_json_value
from cookie_session.flash import FLASHES_KEY

__all__ = ["FLASH_FIELD_PREFIX", "FlashEntries", "flash_fields", "session_fields"]

FLASH_FIELD_PREFIX: Final = "_cs.flash:"
"""The start of a message field's name; the rest is a tag that sorts as the messages were
recorded (the time in nanoseconds, the message's place in its save, and random digits that
keep two servers' tags apart)."""

FlashEntries = list[tuple[str, str]]
"""The message fields of a loaded hash, oldest first: (field name, the pair's JSON)."""


def session_fields(fields: dict[str, str]) -> tuple[dict[str, str], FlashEntries]:
    """The session's fields of a loaded hash, its message fields put together as one
    ``_cs.flashes`` list (after the messages of a ``_cs.flashes`` field, if one is left), and
    the message fields taken, oldest first. Without message fields: ``fields`` itself."""
    names = [name for name in fields if name.startswith(FLASH_FIELD_PREFIX)]  # every load: lean
    if not names:
        return fields, []
    entries = sorted((name, fields[name]) for name in names)
    session = {key: text for key, text in fields.items() if not key.startswith(FLASH_FIELD_PREFIX)}
    older = session.get(FLASHES_KEY)
    parts = [text for _, text in entries]
    if older is not None:
        kept = _json_list(older)
        if kept is not None:
            parts[:0] = [encode_json_value(pair) for pair in kept]
    session[FLASHES_KEY] = "[" + ", ".join(parts) + "]"
    return session, entries


def flash_fields(fields: dict[str, str], loaded: FlashEntries) -> None:
    """Turn the ``_cs.flashes`` list of the session's ``fields`` (to be saved) into message
    fields, in place: a message that was ``loaded`` keeps its field (so it is not written
    again), a new one gets a new field. Messages are matched in order, so the fields of
    those popped meanwhile are left out (and deleted by the save). A ``_cs.flashes`` value
    that is not a list stays as it is."""
    text = fields.get(FLASHES_KEY)
    if text is None:
        return
    pairs = _json_list(text)
    if pairs is None:
        return
    del fields[FLASHES_KEY]
    tag = f"{time.time_ns():016x}"
    salt = os.urandom(4).hex()
    position = 0  # in loaded: a message can only keep a field after those already matched
    for number, pair in enumerate(pairs):
        pair_text = encode_json_value(pair)
        for index in range(position, len(loaded)):
            name, stored = loaded[index]
            if stored == pair_text:
                fields[name] = stored
                position = index + 1
                break
        else:
            fields[f"{FLASH_FIELD_PREFIX}{tag}{number:04x}{salt}"] = pair_text


def _json_list(text: str) -> list[object] | None:
    """``text`` read as a JSON list, else ``None``."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None
