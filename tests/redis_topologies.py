"""A private Redis Cluster and a private Sentinel-watched primary, for the store's tests.

Both are made of :class:`~redis_server.RedisServer` processes from Debian's ``redis-server``
(no other package), listening on 127.0.0.1, kept in a temporary directory, stopped by process
ID. Their ports are chosen below the ephemeral range (32768-60999 on Linux), where an outgoing
connection cannot be holding one, and a cluster node's bus port is set explicitly.

- :class:`ClusterServers`: 3 primaries and 3 replicas (``redis-cli --cluster create``), with
  ``cluster-node-timeout 2000`` so that a killed primary's replica takes over in seconds
  rather than Redis's default ~20.
- :class:`SentinelServers`: a primary, its replica and 3 sentinels watching them as
  ``mymaster`` (``down-after-milliseconds 1000``).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from ci import unavailable
from redis_server import START_TIMEOUT, STOP_TIMEOUT, RedisServer

SERVICE = "mymaster"
READY_TIMEOUT = 30.0
"""Seconds a topology may take to form (or to recover, for a test that waits for it)."""


_ports = random.SystemRandom()
"""Not the global generator: a plugin that reseeds it before each test (pytest-randomly) would
have every topology try the same ports first."""


def low_free_ports(count: int) -> list[int]:
    """``count`` consecutive ports below the ephemeral range, each free right now."""
    for _ in range(100):
        first = _ports.randrange(20000, 32000 - count)
        ports = list(range(first, first + count))
        if all(_free(port) for port in ports):
            return ports
    raise AssertionError("no free run of ports below 32000")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(condition: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT) -> None:
    """Return once ``condition()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return
        time.sleep(0.05)
    pytest.fail(f"{what}: not after {timeout} s")


def client_at(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=STOP_TIMEOUT)


def replicated(primary: int, replica: int) -> bool:
    """Whether the replica has every write its primary has (so a SIGKILL loses none)."""
    with client_at(primary) as source, client_at(replica) as copy:
        offset = source.info("replication")["master_repl_offset"]
        info = copy.info("replication")
        return bool(info["master_link_status"] == "up" and info["slave_repl_offset"] >= offset)


class ClusterServers:
    """Six cluster nodes: three primaries, each with a replica."""

    def __init__(self, directory: Path) -> None:
        ports = low_free_ports(12)
        self.nodes = [
            RedisServer(
                directory,
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-port", str(bus_port),
                "--cluster-node-timeout", "2000",
                "--repl-diskless-sync-delay", "0",
                port=port,
            )
            for port, bus_port in zip(ports[:6], ports[6:], strict=True)
        ]  # fmt: skip

    @property
    def url(self) -> str:
        """A ``store_url`` naming two of the nodes as seeds."""
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port},127.0.0.1:{self.nodes[1].port}"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            unavailable("redis-cli is not installed (Debian package 'redis-tools')")
        subprocess.run(
            [
                cli, "--cluster", "create",
                *(f"127.0.0.1:{node.port}" for node in self.nodes),
                "--cluster-replicas", "1", "--cluster-yes",
            ],
            check=True, capture_output=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        """Every slot served, every live node agreeing, every replica in sync."""
        wait_until(self._ready, "the cluster is not ready")

    def _ready(self) -> bool:
        roles = self.roles()
        for node in self.nodes:
            if node.running:
                with client_at(node.port) as client:
                    if client.cluster("info")["cluster_state"] != "ok":
                        return False
        primaries = [port for port, role in roles.items() if role == "master"]
        if len(primaries) != 3:
            return False
        for port, role in roles.items():
            if role == "slave":
                with client_at(port) as client:
                    info = client.info("replication")
                if not replicated(int(info["master_port"]), port):
                    return False
        return True

    def roles(self) -> dict[int, str]:
        """Each running node's role: ``master`` or ``slave``."""
        roles = {}
        for node in self.nodes:
            if node.running:
                with client_at(node.port) as client:
                    roles[node.port] = client.info("replication")["role"]
        return roles

    def client(self) -> RedisCluster:
        """A synchronous cluster client, for tests to look at what the store wrote."""
        return RedisCluster(host="127.0.0.1", port=self.nodes[0].port, socket_timeout=STOP_TIMEOUT)

    def node_of(self, key: str) -> RedisServer:
        """The running primary that holds ``key``."""
        with self.client() as client:
            port = client.get_node_from_key(key).port
        return next(node for node in self.nodes if node.port == port)

    def primaries(self) -> list[RedisServer]:
        roles = self.roles()
        return [node for node in self.nodes if roles.get(node.port) == "master"]

    def flush(self) -> None:
        """Forget every key and every loaded script, on every primary."""
        for node in self.primaries():
            with client_at(node.port) as client:
                client.flushall()
                client.script_flush()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelServers:
    """A primary, its replica and three sentinels watching them."""

    def __init__(self, directory: Path) -> None:
        ports = low_free_ports(5)
        self.primary = RedisServer(directory, "--repl-diskless-sync-delay", "0", port=ports[0])
        self.replica = RedisServer(
            directory,
            "--repl-diskless-sync-delay", "0",
            "--replicaof", "127.0.0.1", str(ports[0]),
            port=ports[1],
        )  # fmt: skip
        self.sentinels = [
            RedisServer(
                directory,
                f"sentinel monitor {SERVICE} 127.0.0.1 {ports[0]} 2",
                f"sentinel down-after-milliseconds {SERVICE} 1000",
                f"sentinel failover-timeout {SERVICE} 10000",
                port=port,
                sentinel=True,
            )
            for port in ports[2:]
        ]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> None:
        for server in (self.primary, self.replica, *self.sentinels):
            server.start()
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        """Every sentinel knowing the primary, its replica (in sync) and the other sentinels."""
        wait_until(self._ready, "Sentinel is not ready")

    def _ready(self) -> bool:
        primary = self.primary_port()
        for sentinel in self.sentinels:
            with client_at(sentinel.port) as client:
                if client.sentinel_get_master_addr_by_name(SERVICE)[1] != primary:
                    return False
                replicas = client.sentinel_slaves(SERVICE)
                if len(client.sentinel_sentinels(SERVICE)) != 2 or len(replicas) != 1:
                    return False
                if "s_down" in replicas[0]["flags"]:
                    return False
        replica = next(s.port for s in (self.primary, self.replica) if s.port != primary)
        return replicated(primary, replica)

    def primary_port(self) -> int:
        """The port of the primary, as the first sentinel names it."""
        with client_at(self.sentinels[0].port) as client:
            port: int = client.sentinel_get_master_addr_by_name(SERVICE)[1]
        return port

    def server(self, port: int) -> RedisServer:
        return next(server for server in (self.primary, self.replica) if server.port == port)

    def client(self) -> redis.Redis:
        """A synchronous client of the primary, for tests to look at what the store wrote."""
        return client_at(self.primary_port())

    def flush(self) -> None:
        with self.client() as client:
            client.flushall()
            client.script_flush()

    def stop(self) -> None:
        for server in (*self.sentinels, self.primary, self.replica):
            server.stop()


@contextlib.contextmanager
def running(topology: ClusterServers | SentinelServers) -> Iterator[None]:
    try:
        topology.start()
        yield
    finally:
        topology.stop()


def kill(server: RedisServer) -> None:
    """SIGKILL, as a crash: nothing flushed, no goodbye to the replicas."""
    os.kill(server.pid, signal.SIGKILL)
    server.reap()
