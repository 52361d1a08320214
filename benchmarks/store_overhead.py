"""What a Redis session store costs per request: ours, starsessions' RedisStore, and no
middleware at all, on one private redis-server; and ours on a Redis Cluster and on a
Sentinel-watched primary.

"devices" is ours keeping a device list (``user_key`` and ``track_devices``; every visitor
signed in). "cluster" is ours on a ``redis+cluster://`` URL of a private 3-primary, 3-replica
cluster, "sentinel" ours on a ``redis+sentinel://`` URL of a private primary, its replica and
three sentinels (both started by tests/redis_topologies.py, as the store's tests start them);
their overhead is reported as a ratio to starsessions' on the single Redis. Run
``python benchmarks/store_overhead.py`` (about 70 s), ``--quick`` (about 15 s),
``--no-topologies`` (the single Redis only, about half a minute) or ``--json PATH`` to keep the
figures. It needs the ``test`` extra (``pip install -e '.[test]'``: starsessions, redis-py,
pytest for the suite's redis-server helpers) and Debian's ``redis-server`` and ``redis-tools``
(``redis-cli`` forms the cluster); the script starts its own servers on free ports of
127.0.0.1, with no persistence, and stops them by process ID when done.

Traffic is many visitors: each middleware first creates VISITORS sessions of its own (a request
without a cookie that writes one), then the requests visit them round-robin, so Redis and the
middlewares see a different session on every request. Requests are raw ASGI calls in this
process, awaited one after another in one event loop, so the middleware and its Redis round
trips are the only difference between candidates. Candidates run in interleaved rounds, in a
rotating order, so drift in the machine's speed hits all alike; each figure is the median over
rounds. Redis runs on the same machine: its share of the CPU is part of what is measured.

Before and after timing, every scenario is checked for the first and the last visitor: the
handler saw the data it should, a write is seen by the next request, and the Redis commands
each request made are counted (ours: none without a cookie, one HGETALL to read). A failed check
aborts the run. On the cluster the commands are counted on each of the three primaries and
added up (a request's keys may live on any of them; replicas are left out, since they replay
their primary's writes); on Sentinel, on the primary the sentinels name.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis
from overhead import (  # the same requests and responses, and the same --json output
    _receive,
    _respond,
    _scope,
    _set_cookie,
    write_figures,
)
from redis.asyncio import Redis
from starsessions import SessionAutoloadMiddleware
from starsessions import SessionMiddleware as StarsessionsMiddleware
from starsessions.stores.redis import RedisStore

from cookie_session import SessionMiddleware
from cookie_session.types import ASGIApp, Message, Scope

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import (
    HANDSHAKE,
    RedisServer,
    command_counts,
    running_redis_server,
)
from redis_topologies import ClusterServers, SentinelServers, client_at, running

SECRET = "benchmark-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
MAX_AGE = 3600
VISITORS = 1000
"""Sessions each middleware creates before timing, then visited round-robin."""

# Target: our overhead / starsessions' overhead, per scenario (issue 13), for ours as it is and
# for ours keeping a device list (issue 22: signed-in sessions, user_key and track_devices).
TARGETS = {"read": 0.6, "write": 1.0}
TOPOLOGIES = ("cluster", "sentinel")
"""Ours on the other topologies: reported beside the single Redis, with no target."""
STORES = ("ours", "devices", *TOPOLOGIES)
CLUSTER_CLIENT = frozenset({"cluster|slots", "cluster|shards", "cluster|nodes", "command"})
"""What redis-py's cluster client asks a node to learn the cluster, before any store command."""


class Handler:
    """The application behind a middleware; does what ``action`` says and records what it saw."""

    def __init__(self) -> None:
        self.action = "read"
        self.new_session: dict[str, Any] = {}
        self.seen: object = None

    def expect(self, action: str) -> None:
        """Do ``action`` from the next request on, having seen nothing yet."""
        self.action, self.seen = action, None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        session = scope.get("session")
        if session is not None:
            if self.action == "read":
                self.seen = session.get("user")
            elif self.action == "write":
                session["counter"] = session.get("counter", 0) + 1
                self.seen = session["counter"]
            elif self.action == "create":
                session.update(self.new_session)
        await _respond(send)


@dataclass
class Candidate:
    name: str
    handler: Handler
    app: ASGIApp
    close: Callable[[], Awaitable[None]]
    cookies: list[bytes | None]
    """The Cookie header of each visitor, filled in by create_sessions()."""
    ports: Callable[[], list[int]]
    """The servers whose commands count as this candidate's: its primaries, found anew."""

    async def request(self, cookie: bytes | None) -> list[Message]:
        """One request; returns the messages the application sent."""
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        await self.app(_scope(cookie), _receive, send)
        return sent


def make_candidates(
    server: RedisServer, topologies: dict[str, ClusterServers | SentinelServers]
) -> list[Candidate]:
    """bare, starsessions, ours and devices, each with its own handler and, for the stores, its
    own connections to ``server``; then ours on each of ``topologies``."""
    url = server.url

    def single() -> list[int]:
        return [server.port]

    bare = Handler()
    theirs = Handler()
    connection = Redis.from_url(url)
    starsessions = StarsessionsMiddleware(
        SessionAutoloadMiddleware(theirs),  # loads the session before the handler, as ours does
        store=RedisStore(connection=connection),
        lifetime=MAX_AGE,
        cookie_https_only=False,
    )
    mine = Handler()
    ours = SessionMiddleware(mine, secret_key=SECRET, max_age=MAX_AGE, store_url=url)
    tracked = Handler()
    devices = SessionMiddleware(
        tracked,
        secret_key=SECRET,
        max_age=MAX_AGE,
        store_url=url,
        store_prefix="devices:",
        user_key="user",  # every visitor's session is a signed-in one
        track_devices=True,
    )

    async def close_nothing() -> None:
        pass

    assert ours.store is not None  # it has a store_url
    assert devices.store is not None
    candidates = [
        Candidate("bare", bare, bare, close_nothing, [], single),
        Candidate("starsessions", theirs, starsessions, connection.aclose, [], single),
        Candidate("ours", mine, ours, ours.store.aclose, [], single),
        Candidate("devices", tracked, devices, devices.store.aclose, [], single),
    ]
    for name, topology in topologies.items():
        handler = Handler()
        app = SessionMiddleware(handler, secret_key=SECRET, max_age=MAX_AGE, store_url=topology.url)
        assert app.store is not None
        candidates.append(
            Candidate(name, handler, app, app.store.aclose, [], primaries_of(topology))
        )
    return candidates


def primaries_of(topology: ClusterServers | SentinelServers) -> Callable[[], list[int]]:
    """The ports of the servers that run a topology's commands: every primary of a cluster,
    the primary the sentinels name."""
    if isinstance(topology, ClusterServers):
        return lambda: [node.port for node in topology.primaries()]
    return lambda: [topology.primary_port()]


async def create_sessions(candidates: list[Candidate]) -> None:
    """VISITORS sessions per store, each created by that store's middleware."""
    for candidate in candidates:
        if candidate.name == "bare":
            continue
        candidate.handler.expect("create")
        for visitor in range(VISITORS):
            candidate.handler.new_session = {"user": f"visitor-{visitor}", "counter": 0}
            cookie = _set_cookie(await candidate.request(None))
            if cookie is None:
                raise SystemExit(f"check failed: {candidate.name} did not set a cookie")
            candidate.cookies.append(cookie)
    # The floor: no middleware, but the very requests ours gets, so that building the
    # requests costs all candidates alike.
    candidates[0].cookies = next(c.cookies for c in candidates if c.name == "ours")


@dataclass
class Scenario:
    name: str
    action: str  # what the handler does: "read" or "write"
    with_cookie: bool = True


SCENARIOS = [
    Scenario("read", "read"),
    Scenario("write", "write"),
    Scenario("nocookie", "read", with_cookie=False),
]


def _cookies(scenario: Scenario, candidate: Candidate) -> list[bytes | None]:
    return candidate.cookies if scenario.with_cookie else [None]


async def check(scenario: Scenario, candidate: Candidate) -> dict[str, int]:
    """Abort unless the candidate handles the scenario correctly for its first and its last
    visitor; return the Redis commands the last one's request made."""
    commands: dict[str, int] = {}
    for visitor in (0, VISITORS - 1):
        commands = await _check_one(scenario, candidate, visitor)
    return commands


@contextlib.contextmanager
def counting(ports: list[int]) -> Iterator[dict[str, int]]:
    """The Redis commands run inside the block, added up over the servers at ``ports``
    (filled in on the way out), leaving out what a client sends to connect or to learn a
    cluster's layout."""
    commands: dict[str, int] = {}
    for port in ports:
        with client_at(port) as client:
            client.config_resetstat()
    yield commands
    for port in ports:
        with client_at(port) as client:
            for name, calls in command_counts(client).items():
                if name not in HANDSHAKE and name not in CLUSTER_CLIENT:
                    commands[name] = commands.get(name, 0) + calls


async def _check_one(scenario: Scenario, candidate: Candidate, visitor: int) -> dict[str, int]:
    handler = candidate.handler
    handler.expect(scenario.action)
    cookie = candidate.cookies[visitor] if scenario.with_cookie else None
    with counting(candidate.ports()) as commands:
        messages = await candidate.request(cookie)
    if candidate.name == "bare":
        return commands
    failed = f"check failed: {scenario.name}/{candidate.name}/visitor {visitor}"
    new_cookie = _set_cookie(messages)
    if scenario.action == "write":
        if not isinstance(handler.seen, int):
            raise SystemExit(f"{failed}: the handler saw counter {handler.seen!r}")
        written = handler.seen
        await candidate.request(new_cookie or cookie)  # the next request, with the new cookie
        if handler.seen != written + 1:
            raise SystemExit(
                f"{failed}: the write was not seen by the next request "
                f"(counter {handler.seen!r}, expected {written + 1})"
            )
        return commands
    expected = f"visitor-{visitor}" if scenario.with_cookie else None
    if handler.seen != expected:
        raise SystemExit(f"{failed}: the handler saw {handler.seen!r}, expected {expected!r}")
    if candidate.name in STORES:
        if new_cookie is not None:
            raise SystemExit(f"{failed}: a cookie was sent for a read")
        expected_commands = [{"hgetall": 1} if scenario.with_cookie else {}]
        if candidate.name == "devices" and scenario.with_cookie:
            # once a minute per session: its last-seen time, by a script that checks it exists
            expected_commands.append({"hgetall": 1, "eval": 1, "exists": 1, "hset": 1})
        if commands not in expected_commands:
            raise SystemExit(f"{failed}: Redis commands {commands}")
    return commands


async def time_batch(candidate: Candidate, cookies: list[bytes | None]) -> float:
    """Microseconds per request, over one request per cookie, one after another."""
    request = candidate.request
    start = time.perf_counter_ns()
    for cookie in cookies:
        await request(cookie)
    return (time.perf_counter_ns() - start) / len(cookies) / 1000


async def run(candidates: list[Candidate], rounds: int, batch: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for scenario in SCENARIOS:
        samples: dict[str, list[float]] = {c.name: [] for c in candidates}
        for candidate in candidates:
            candidate.handler.expect(scenario.action)
        for round_number in range(-1, rounds):  # round -1 warms up
            turn = round_number % len(candidates)
            for candidate in candidates[turn:] + candidates[:turn]:
                # Each round goes on where the last stopped, so the visitors keep cycling.
                cookies = _cookies(scenario, candidate)
                first = (round_number + 1) * batch
                requests = [cookies[(first + n) % len(cookies)] for n in range(batch)]
                microseconds = await time_batch(candidate, requests)
                if round_number >= 0:
                    samples[candidate.name].append(microseconds)
        results[scenario.name] = {name: statistics.median(s) for name, s in samples.items()}
    return results


async def measure(
    server: RedisServer,
    topologies: dict[str, ClusterServers | SentinelServers],
    rounds: int,
    batch: int,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, dict[str, int]]]]:
    """The figures, and the commands per request of each scenario and store, checked before
    and after timing."""
    candidates = make_candidates(server, topologies)
    try:
        await create_sessions(candidates)
        commands: dict[str, dict[str, dict[str, int]]] = {}
        for scenario in SCENARIOS:
            commands[scenario.name] = {
                c.name: await check(scenario, c) for c in candidates if c.name != "bare"
            }
        results = await run(candidates, rounds, batch)
        for scenario in SCENARIOS:
            for candidate in candidates:
                await check(scenario, candidate)
    finally:
        for candidate in candidates:
            await candidate.close()
    return results, commands


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """overhead.py's options (``--quick``, ``--json``) and ``--no-topologies``."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0] or None)
    parser.add_argument("--quick", action="store_true", help="about 15 s instead of ~70 s")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    parser.add_argument(
        "--no-topologies",
        action="store_true",
        help="the single Redis only: no cluster or Sentinel rows (about half a minute)",
    )
    return parser.parse_args(argv)


@contextlib.contextmanager
def running_topologies(
    directory: Path, wanted: bool
) -> Iterator[dict[str, ClusterServers | SentinelServers]]:
    """A started cluster and Sentinel group (nothing unless ``wanted``), stopped on the way
    out."""
    if not wanted:
        yield {}
        return
    if shutil.which("redis-cli") is None:
        raise SystemExit("redis-cli is not installed (Debian package 'redis-tools')")
    cluster, sentinel = ClusterServers(directory), SentinelServers(directory)
    with running(cluster), running(sentinel):
        yield {"cluster": cluster, "sentinel": sentinel}


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    rounds, batch = (9, 300) if args.quick else (31, 1000)
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (Debian package 'redis-server')")

    load_before = _load()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="store-benchmark-") as directory,
        running_redis_server(Path(directory)) as server,
        running_topologies(Path(directory), not args.no_topologies) as topologies,
    ):
        client = server.client()
        try:
            redis_version = str(client.info("server")["redis_version"])
        finally:
            client.close()
        results, commands = asyncio.run(measure(server, topologies, rounds, batch))
    load_after = _load()
    names = list(topologies)

    print(
        f"python {platform.python_version()}, redis-server {redis_version}, "
        f"redis-py {redis.__version__}, starsessions {version('starsessions')}, "
        f"cookie-session {version('cookie-session')}: {VISITORS} sessions per store visited "
        f"round-robin, {rounds} rounds x {batch} requests, median microseconds per request"
    )
    print(f"load average before: {load_before}; after: {load_after}")
    header = (
        f"{'scenario':<10}{'bare':>8}{'starsessions':>14}{'ours':>9}{'devices':>9}"
        f"{'starsessions +':>16}{'ours +':>9}{'ratio':>8}{'devices +':>11}{'ratio':>8}"
        f"{'target':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    all_met = True
    for scenario in SCENARIOS:
        figures = results[scenario.name]
        theirs = figures["starsessions"] - figures["bare"]
        ours = figures["ours"] - figures["bare"]
        devices = figures["devices"] - figures["bare"]
        ratio, devices_ratio = ours / theirs, devices / theirs
        target = TARGETS.get(scenario.name)
        met = target is None or max(ratio, devices_ratio) <= target
        all_met &= met
        print(
            f"{scenario.name:<10}{figures['bare']:>8.2f}{figures['starsessions']:>14.2f}"
            f"{figures['ours']:>9.2f}{figures['devices']:>9.2f}{theirs:>16.2f}{ours:>9.2f}"
            f"{ratio:>8.2f}{devices:>11.2f}{devices_ratio:>8.2f}"
            f"{'-' if target is None else '<= ' + str(target):>8}"
            f"{'' if met else '  MISSED'}"
        )
        rows.append(
            {
                "scenario": scenario.name,
                "us_per_request": figures,
                "overhead_us": {"starsessions": theirs, "ours": ours, "devices": devices},
                "ratio": ratio,
                "devices_ratio": devices_ratio,
                "target": target,
                "met": met,
                "redis_commands": commands[scenario.name],
            }
        )
    print("all targets met" if all_met else "some targets missed")
    if names:
        print(
            "ours on other topologies, with the same load; ratio: overhead over bare / "
            "starsessions' overhead on the single Redis (no target)"
        )
        header = f"{'scenario':<10}{'ours':>8}{'ratio':>8}" + "".join(
            f"{name:>10}{name + ' +':>12}{'ratio':>8}" for name in names
        )
        print(header)
        print("-" * len(header))
        for scenario, row in zip(SCENARIOS, rows, strict=True):
            figures = results[scenario.name]
            theirs = figures["starsessions"] - figures["bare"]
            line = f"{scenario.name:<10}{figures['ours']:>8.2f}{row['ratio']:>8.2f}"
            topology_ratios = {}
            for name in names:
                overhead = figures[name] - figures["bare"]
                topology_ratios[name] = overhead / theirs
                line += f"{figures[name]:>10.2f}{overhead:>12.2f}{overhead / theirs:>8.2f}"
            row["topology_ratios"] = topology_ratios
            print(line)
        print(
            "cluster: 3 primaries + 3 replicas; sentinel: a primary, its replica, 3 sentinels; "
            "all on this machine, on 127.0.0.1"
        )
    print("Redis commands per request (INFO commandstats; a script's own commands included):")
    for scenario in SCENARIOS:
        counted = ", ".join(
            f"{name} {' '.join(f'{c}x{n}' for c, n in sorted(per.items())) or 'none'}"
            for name, per in commands[scenario.name].items()
        )
        print(f"  {scenario.name}: {counted}")
    if "cluster" in names:
        print("  (cluster: counted on each primary and added up)")
    print(f"run took {time.monotonic() - started:.0f} s, servers' start-up included")
    write_figures(
        args.json,
        {
            "python": platform.python_version(),
            "redis_server": redis_version,
            "redis_py": redis.__version__,
            "starsessions": version("starsessions"),
            "visitors": VISITORS,
            "rounds": rounds,
            "batch": batch,
            "load_average": {"before": load_before, "after": load_after},
            "topologies": names,
            "results": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
