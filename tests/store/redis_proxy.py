"""A TCP proxy between the store and a real redis-server that can hold a chosen command.

It reads the client's byte stream as RESP commands and forwards them one by one; when a
command matches the held predicate, it stops there (the commands before it have been
forwarded, the matching one and all after it wait) until :meth:`RedisProxy.release`. So a test
can run another client's commands at an exact point between two commands of one pipeline,
instead of hoping a race happens.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

Predicate = Callable[[list[bytes]], bool]


def parse_command(buffer: bytes) -> tuple[list[bytes], int] | None:
    """The first complete RESP command in ``buffer`` (an array of bulk strings, as redis-py
    sends every command) and its length in bytes; ``None`` while it is incomplete."""
    if not buffer:
        return None
    if not buffer.startswith(b"*"):
        raise ValueError(f"not a RESP array: {buffer[:20]!r}")
    line_end = buffer.find(b"\r\n")
    if line_end == -1:
        return None
    count = int(buffer[1:line_end])
    position = line_end + 2
    arguments: list[bytes] = []
    for _ in range(count):
        line_end = buffer.find(b"\r\n", position)
        if line_end == -1:
            return None
        length = int(buffer[position + 1 : line_end])
        start = line_end + 2
        if len(buffer) < start + length + 2:
            return None
        arguments.append(buffer[start : start + length])
        position = start + length + 2
    return arguments, position


class RedisProxy:
    """Listens on 127.0.0.1 (a free port) and forwards every connection to ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.held = asyncio.Event()
        """Set once a command matching :meth:`hold` has been stopped."""
        self._released = asyncio.Event()
        self._predicate: Predicate | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    def hold(self, predicate: Predicate) -> None:
        """Stop the next command for which ``predicate(arguments)`` is true (once)."""
        self.held.clear()
        self._released.clear()
        self._predicate = predicate

    def release(self) -> None:
        """Let the held command, and everything after it, through."""
        self._released.set()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        server_reader, server = await asyncio.open_connection("127.0.0.1", self.target_port)
        upstream = asyncio.ensure_future(self._forward_commands(client_reader, server))
        downstream = asyncio.ensure_future(self._forward_bytes(server_reader, client))
        for task in (upstream, downstream):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (upstream, downstream):
                task.cancel()
            for writer in (client, server):
                writer.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await writer.wait_closed()

    async def _forward_commands(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        buffer = b""
        while data := await reader.read(65536):
            buffer += data
            while (parsed := parse_command(buffer)) is not None:
                arguments, size = parsed
                predicate = self._predicate
                if predicate is not None and predicate(arguments):
                    self._predicate = None
                    self.held.set()
                    await self._released.wait()
                writer.write(buffer[:size])
                buffer = buffer[size:]
                await writer.drain()

    @staticmethod
    async def _forward_bytes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
