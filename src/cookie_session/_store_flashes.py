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

import hashlib
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
    """The messages, oldest first: (field name, the pair's JSON). The first ``converted`` are
    those of a ``_cs.flashes`` field written whole, named as they will be once converted."""
    older: str | None
    """The ``_cs.flashes`` field written whole, if one is left (its JSON as stored)."""
    messages: list[object]
    """The session's list as loaded: the older field's messages, then the message fields'."""
    converted: int = 0


def session_fields(fields: dict[str, str]) -> tuple[dict[str, str], LoadedFlashes | None]:
    """The session's fields of a loaded hash, its message fields put together as one
    ``_cs.flashes`` list (after the messages of a ``_cs.flashes`` field, if one is left), and
    what was loaded of the messages; ``None`` and ``fields`` itself when no message waits."""
    names = [name for name in fields if name.startswith(FLASH_FIELD_PREFIX)]  # every load: lean
    older = fields.get(FLASHES_KEY)
    if not names and older is None:
        return fields, None
    entries = sorted((name, fields[name]) for name in names)
    older_messages = (_json_list(older) or []) if older is not None else []
    converted = _converted(older, older_messages)
    messages = older_messages + [json.loads(text) for _, text in entries]
    loaded = LoadedFlashes(converted + entries, older, messages, len(converted))
    if not names:
        return fields, loaded
    session = {key: text for key, text in fields.items() if not key.startswith(FLASH_FIELD_PREFIX)}
    session[FLASHES_KEY] = encode_json_value(messages)
    return session, loaded


def _converted(older: str | None, messages: list[object]) -> list[tuple[str, str]]:
    """The fields the messages of a ``_cs.flashes`` field written whole will have: named
    alike by every request that converts that field (a tag of time zero, so before any
    other message, then their place and a digest of the field), so two requests converting
    it at once write the same fields, not two copies."""
    if older is None or not messages:
        return []
    digest = hashlib.sha256(older.encode()).hexdigest()[:8]
    return [
        (f"{FLASH_FIELD_PREFIX}{0:016x}{number:08x}{digest}", encode_json_value(message))
        for number, message in enumerate(messages)
    ]


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
        fields.update(loaded.entries[loaded.converted :])
        return
    entries = loaded.entries if loaded is not None else []
    tag = f"{_tag_time(entries):016x}"
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
            fields[f"{FLASH_FIELD_PREFIX}{tag}{number:08x}{salt}"] = pair_text
            position = len(entries)  # every later message a new field too, after this one


def _tag_time(entries: list[tuple[str, str]]) -> int:
    """The time for this save's new tags: now, in nanoseconds, or just after the newest tag
    loaded when that is later (another server's clock ahead of this one's): a new message
    always sorts after those already waiting."""
    now = time.time_ns()
    if entries:
        start = len(FLASH_FIELD_PREFIX)
        try:
            newest = int(entries[-1][0][start : start + 16], 16)
        except ValueError:  # a field not named by this module: no time to keep after
            return now
        if newest >= now:
            return newest + 1
    return now


def _json_list(text: str) -> list[object] | None:
    """``text`` read as a JSON list, else ``None``."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, list) else None
