"""The store packs its commands with hiredis itself (redis-py's own path walks every argument in
Python first): the bytes must be redis-py's, and text in another encoding is left to redis-py."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection

from cookie_session._store_connection import _hiredis_packer

SCRIPT_SHA = "0123456789abcdef0123456789abcdef01234567"
COMMANDS: list[tuple[str | int, ...]] = [
    ("HGETALL", "session:ABCdef-_0123456789abcdefghijklmnopqrstuvwxyz0"),
    ("EVALSHA", SCRIPT_SHA, 1, "session:x", "0", 1_209_600_000, 2, "n", "5", "note", '"\\u00e9"'),
    ("HSET", "session:x", "note", "é ü 😀 and a long text " * 40),
    ("ZADD", "user:ada", 1_800_000_000_123, "id", "XX"),
    ("PEXPIRE", "session:x", -1),
    ("DEL", ""),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[str(command[0]) for command in COMMANDS])
def test_hiredis_packs_the_store_s_commands_as_redis_py_does(
    command: tuple[str | int, ...],
) -> None:
    pack = _hiredis_packer({})
    assert pack is not None

    assert pack(command) == b"".join(Connection().pack_command(*command))


@pytest.mark.parametrize(
    "options",
    [{"encoding": "latin-1"}, {"encoding": "utf-16"}, {"encoding_errors": "replace"}],
    ids=["latin-1", "utf-16", "errors-replace"],
)
def test_connections_that_encode_otherwise_are_left_to_redis_py(options: dict[str, str]) -> None:
    assert _hiredis_packer(options) is None


@pytest.mark.parametrize("encoding", ["utf-8", "UTF-8", "utf8", "utf_8"])
def test_every_spelling_of_utf_8_is_packed_by_hiredis(encoding: str) -> None:
    assert _hiredis_packer({"encoding": encoding}) is not None
