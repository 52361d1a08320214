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
from typing import Final, NamedTuple

from cookie_session.codec import encode_json_value
from cookie_session.flash import FLASHES_KEY

__all__ = ["FLASH_FIELD_PREFIX", "LoadedFlashes", "flash_fields", "session_fields"]

FLASH_FIELD_PREFIX: Final = "_cs.flash:"
"""The start of a message field's name; the rest is a tag that sorts as the messages were
recorded (the time in nanoseconds, the message's place in its save, and random digits that
keep two servers' tags apart)."""


class LoadedFlashes(NamedTuple):
    """The messages of a loaded hash, as :func:`flash_fields` needs them at the save."""

    entries: list[tuple[str, str]]
    """The message fields, oldest first: (field name, the pair's JSON)."""
    older: str | None
    """The ``_cs.flashes`` field written whole, if one is left (its JSON as stored)."""
    messages: list[object]
    """The session's list as loaded: the older field's messages, then the message fields'."""


def session_fields(fields: dict[str, str]) -> tuple[dict[str, str], LoadedFlashes | None]:
    """The session's fields of a loaded hash, its message fields put together as one
    ``_cs.flashes`` list (after the messages of a ``_cs.flashes`` field, if one is left), and
    what was loaded of the messages; ``None`` and ``fields`` itself when no message waits."""
    names = [name for name in fields if name.startswith(FLASH_FIELD_PREFIX)]  # every load: lean
    older = fields.get(FLASHES_KEY)
    if not names:
        if older is None:
            return fields, None
        return fields, LoadedFlashes([], older, _json_list(older) or [])
    entries = sorted((name, fields[name]) for name in names)
    session = {key: text for key, text in fields.items() if not key.startswith(FLASH_FIELD_PREFIX)}
    messages = (_json_list(older) or []) if older is not None else []
    messages += [json.loads(text) for _, text in entries]
    session[FLASHES_KEY] = encode_json_value(messages)
    return session, LoadedFlashes(entries, older, messages)


def flash_fields(fields: dict[str, str], loaded: LoadedFlashes | None) -> None:
    """Turn the ``_cs.flashes`` list of the session's ``fields`` (to be saved) into message
    fields, in place.

    A list the request left as it was loaded is saved as it was loaded, field for field, so
    nothing of it is written. Otherwise a message that was loaded keeps its field (it is not
    written again) and a new one gets a new field; messages are matched in order, so the
    fields of those popped are left out (and deleted by the save). Once a new message comes
    before a kept one (the application put it ahead, or a ``_cs.flashes`` field is being
    replaced), every message after it gets a new field too: the tags keep the list's order.
    A ``_cs.flashes`` value that is not a list stays as it is.
    """
    text = fields.get(FLASHES_KEY)
    if text is None:
        return
    pairs = _json_list(text)
    if pairs is None:
        return
    del fields[FLASHES_KEY]
    if loaded is not None and pairs == loaded.messages:
        if loaded.older is not None:
            fields[FLASHES_KEY] = loaded.older
        fields.update(loaded.entries)
        return
    entries = loaded.entries if loaded is not None else []
    tag = f"{time.time_ns():016x}"
    salt = os.urandom(4).hex()
    position = 0  # in entries: a message can only keep a field after those already matched
    for number, pair in enumerate(pairs):
        pair_text = encode_json_value(pair)
        for index in range(position, len(entries)):
            name, stored = entries[index]
            if stored == pair_text:
                fields[name] = stored
                position = index + 1
                break
        else:
            fields[f"{FLASH_FIELD_PREFIX}{tag}{number:04x}{salt}"] = pair_text
            position = len(entries)  # every later message a new field too, after this one


def _json_list(text: str) -> list[object] | None:
    """``text`` read as a JSON list, else ``None``."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None
