"""Requests per second through real HTTP: a small store-backed app under uvicorn with 2 workers,
on one private redis-server and on a private 3-primary, 3-replica Redis Cluster.

Run ``python benchmarks/store_throughput.py`` (about a minute), ``--quick`` (about 25 s) or
``--json PATH`` to keep the figures. It needs the ``test`` extra (``pip install -e '.[test]'``:
uvicorn, httpx2, redis-py, pytest for the suite's redis-server helpers) and Debian's
``redis-server`` and ``redis-tools`` (``redis-cli`` forms the cluster). Every server (the
redis-servers, and one uvicorn per topology, each with 2 worker processes) listens on
127.0.0.1 on a free port and is stopped by process ID (uvicorn by its process group).

The app (``make_app``, which uvicorn imports from this file) has two routes: ``/read`` answers
the session's counter, ``/write`` adds one to it (and creates the session on a first visit).
Its store is ``SESSION_STORE_URL`` (a ``redis://`` or a ``redis+cluster://`` URL), without
``user_key``.

The load: VISITORS visitors, each with its own session cookie (made by one ``/write`` each
before timing), shared among CONCURRENCY asyncio tasks in this process, each task sending one
request at a time (so a visitor never has two requests in flight) through one httpx2
``AsyncClient`` with keep-alive connections; 80 % reads and 20 % writes, in a fixed pseudo-random
order. Both servers run at once and are timed in alternating rounds, so drift in the machine's
speed hits both alike; the figure is the median over rounds of the round's requests / its
seconds. After timing, every visitor's counter is read back and must equal the writes it was
answered 200 for (the run aborts if not): no write lost.

Read the figures for what they are. On a small machine the load generator (one Python
process, and httpx2 is not cheap), the two uvicorn workers (asyncio and h11 unless uvloop and
httptools are installed) and every redis-server share the same CPUs, so the figure is that of
the whole machine, bound by its CPUs, not by Redis; a cluster's three primaries and three
replicas cannot go faster than one server when they all share two cores with everything else.
It shows what the cluster costs a request here, not what it gains on separate hosts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx2
import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cookie_session import SessionMiddleware, get_session
from cookie_session.types import ASGIApp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from redis_server import running_redis_server
from redis_topologies import ClusterServers, running

SECRET = "benchmark-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
MAX_AGE = 3600
WORKERS = 2
VISITORS = 1000
CONCURRENCY = 50
"""Requests in flight at once (tasks, each with its own share of the visitors)."""
WRITE_SHARE = 0.2
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
HERE = Path(__file__).resolve().parent


# The app, as each uvicorn worker builds it.


async def read(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(get_session(request).get("count", 0)))


async def write(request: Request) -> PlainTextResponse:
    session = get_session(request)
    session["count"] = session.get("count", 0) + 1
    return PlainTextResponse(str(session["count"]))


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def make_app() -> ASGIApp:
    """uvicorn's ``--factory``: the app on the store at ``SESSION_STORE_URL``."""
    app = Starlette(routes=[Route("/read", read), Route("/write", write), Route("/health", health)])
    return SessionMiddleware(
        app, secret_key=SECRET, max_age=MAX_AGE, store_url=os.environ["SESSION_STORE_URL"]
    )


# The servers.


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Uvicorn:
    """``uvicorn store_throughput:make_app --factory --workers 2`` on 127.0.0.1, in its own
    process group."""

    def __init__(self, name: str, store_url: str, log_dir: Path) -> None:
        self.name = name
        self.store_url = store_url
        self.port = _free_port()
        self.log_path = log_dir / f"uvicorn-{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """uvicorn's own process ID, which leads its process group."""
        assert self._process is not None, "uvicorn is not running"
        return self._process.pid

    def start(self) -> None:
        command = [
            sys.executable, "-m", "uvicorn", "store_throughput:make_app", "--factory",
            "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(WORKERS), "--no-access-log",
        ]  # fmt: skip
        environment = {**os.environ, "SESSION_STORE_URL": self.store_url}
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
                command,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, workers included
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self.stop()
                raise SystemExit(f"uvicorn exited during start-up:\n{self.log_path.read_text()}")
            started = self.log_path.read_text().count("Application startup complete.")
            if started >= WORKERS and self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"uvicorn not ready after {STARTUP_TIMEOUT} s")

    def _answers(self) -> bool:
        try:
            return httpx2.get(f"{self.url}/health", timeout=1.0).status_code == 200
        except httpx2.TransportError:
            return False

    def stop(self) -> None:
        """Stop its process group (the process we started and its workers): politely, then
        by force."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers, if any
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def serving(name: str, store_url: str, log_dir: Path) -> Iterator[Uvicorn]:
    server = Uvicorn(name, store_url, log_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# The load.


@dataclass
class Visitor:
    cookie: str = ""
    """The ``Cookie`` header: ``session=...``."""
    writes: int = 0
    """Writes answered 200, the first (which made the session) included."""


@dataclass
class Round:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


def _session_cookie(response: httpx2.Response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        pair = header.split(";", 1)[0]
        if pair.startswith("session="):
            return pair
    return None


async def _send(
    client: httpx2.AsyncClient, base: str, visitor: Visitor, path: str
) -> httpx2.Response:
    headers = {"cookie": visitor.cookie} if visitor.cookie else {}
    response = await client.get(f"{base}{path}", headers=headers)
    if response.status_code == 200:
        cookie = _session_cookie(response)
        if cookie is not None:
            visitor.cookie = cookie
        if path == "/write":
            visitor.writes += 1
    return response


async def create_visitors(client: httpx2.AsyncClient, base: str) -> list[Visitor]:
    """VISITORS sessions, each made by a first ``/write``."""
    visitors = [Visitor() for _ in range(VISITORS)]

    async def make(share: list[Visitor]) -> None:
        for visitor in share:
            response = await _send(client, base, visitor, "/write")
            if response.status_code != 200 or not visitor.cookie:
                raise SystemExit(f"check failed: {base}: a first write got {response.status_code}")

    await asyncio.gather(*(make(visitors[n::CONCURRENCY]) for n in range(CONCURRENCY)))
    return visitors


async def drive(
    client: httpx2.AsyncClient, base: str, visitors: list[Visitor], seconds: float, seed: int
) -> tuple[Round, float]:
    """CONCURRENCY tasks sending requests for ``seconds``; the round's counts and its length."""
    result = Round()
    deadline = time.perf_counter() + seconds

    async def task(number: int) -> None:
        share = visitors[number::CONCURRENCY]
        choose = random.Random(seed * CONCURRENCY + number).random
        turn = 0
        while time.perf_counter() < deadline:
            visitor = share[turn % len(share)]
            turn += 1
            path = "/write" if choose() < WRITE_SHARE else "/read"
            sent = time.perf_counter()
            try:
                response = await _send(client, base, visitor, path)
            except httpx2.HTTPError:
                result.errors += 1
                continue
            result.latencies.append(time.perf_counter() - sent)
            if response.status_code == 200:
                result.requests += 1
            else:
                result.errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(task(n) for n in range(CONCURRENCY)))
    return result, time.perf_counter() - start


async def check_counts(client: httpx2.AsyncClient, base: str, visitors: list[Visitor]) -> None:
    """Abort unless every visitor's counter is the number of its acknowledged writes."""

    async def check(share: list[Visitor]) -> None:
        for visitor in share:
            response = await client.get(f"{base}/read", headers={"cookie": visitor.cookie})
            if response.status_code != 200 or int(response.text) != visitor.writes:
                raise SystemExit(
                    f"check failed: {base}: a visitor's counter is {response.text!r} "
                    f"(status {response.status_code}), {visitor.writes} writes acknowledged"
                )

    await asyncio.gather(*(check(visitors[n::CONCURRENCY]) for n in range(CONCURRENCY)))


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes ``pids`` have used (from /proc; 0 where
    there is none)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _group(leader: int) -> list[int]:
    """The processes of the process group ``leader`` leads (uvicorn and its workers)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == leader:  # pgrp
                    members.append(int(entry.name))
    return members


@dataclass
class Target:
    """One uvicorn and the redis-servers behind it."""

    server: Uvicorn
    redis_pids: list[int]


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)
    """Requests/s answered 200, per round."""
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    """Time spent in this topology's rounds."""
    cpu: dict[str, float] = field(
        default_factory=lambda: {"load generator": 0.0, "uvicorn": 0.0, "redis": 0.0}
    )
    """CPU seconds used during those rounds, by whom."""


def _cpu(target: Target) -> dict[str, float]:
    return {
        "load generator": time.process_time(),
        "uvicorn": _cpu_seconds(_group(target.server.pid)),
        "redis": _cpu_seconds(target.redis_pids),
    }


async def measure(targets: list[Target], rounds: int, seconds: float) -> dict[str, Figures]:
    servers = [target.server for target in targets]
    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    figures = {server.name: Figures() for server in servers}
    # No cookie jar: each visitor sends its own cookie, and a jar shared by all would add the
    # last session set to a visitor's first request.
    no_jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx2.AsyncClient(limits=limits, timeout=30.0, cookies=no_jar) as client:
        visitors = {server.name: await create_visitors(client, server.url) for server in servers}
        for server in servers:  # warm-up: connections opened, code paths taken
            await drive(client, server.url, visitors[server.name], min(seconds, 2.0), seed=0)
        for number in range(rounds):
            turn = number % len(targets)
            for target in targets[turn:] + targets[:turn]:
                server = target.server
                before = _cpu(target)
                result, elapsed = await drive(
                    client, server.url, visitors[server.name], seconds, seed=number + 1
                )
                after = _cpu(target)
                figure = figures[server.name]
                figure.seconds += elapsed
                for who in figure.cpu:
                    figure.cpu[who] += after[who] - before[who]
                figure.rates.append(result.requests / elapsed)
                figure.errors += result.errors
                figure.latencies.extend(result.latencies)
        for server in servers:
            await check_counts(client, server.url, visitors[server.name])
    return figures


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0] or None)
    parser.add_argument("--quick", action="store_true", help="about 25 s instead of ~1 min")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    rounds, seconds = (2, 3.0) if args.quick else (5, 4.0)
    for binary, package in (("redis-server", "redis-server"), ("redis-cli", "redis-tools")):
        if shutil.which(binary) is None:
            raise SystemExit(f"{binary} is not installed (Debian package {package!r})")

    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="store-throughput-") as name:
        directory = Path(name)
        cluster = ClusterServers(directory)
        with running_redis_server(directory) as single, running(cluster):
            client = single.client()
            try:
                redis_version = str(client.info("server")["redis_version"])
            finally:
                client.close()
            with (
                serving("single", single.url, directory) as on_single,
                serving("cluster", cluster.url, directory) as on_cluster,
            ):
                targets = [
                    Target(on_single, [single.pid]),
                    Target(on_cluster, [node.pid for node in cluster.nodes]),
                ]
                figures = asyncio.run(measure(targets, rounds, seconds))
    load_after = _load()

    print(
        f"python {platform.python_version()}, uvicorn {version('uvicorn')} ({WORKERS} workers; "
        f"uvloop {_installed('uvloop')}, httptools {_installed('httptools')}), "
        f"httpx2 {version('httpx2')}, redis-server {redis_version}, redis-py {redis.__version__}, "
        f"cookie-session {version('cookie-session')}"
    )
    print(
        f"{VISITORS} visitors with a session each, {CONCURRENCY} requests in flight, "
        f"{100 - WRITE_SHARE * 100:.0f} % reads / {WRITE_SHARE * 100:.0f} % writes; "
        f"{rounds} rounds x {seconds:.0f} s per topology, alternating"
    )
    print(f"load average before: {load_before}; after: {load_after}")
    print(
        f"{os.cpu_count()} CPUs shared by the load generator (this process), the uvicorn "
        "workers and every redis-server: a figure for this whole machine, not for Redis"
    )
    header = (
        f"{'store':<34}{'requests/s':>12}{'rounds (min-max)':>20}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'CPUs: client':>14}{'uvicorn':>9}{'redis':>7}"
    )
    print(header)
    print("-" * len(header))
    labels = {
        "single": "one redis-server",
        "cluster": "cluster, 3 primaries + 3 replicas",
    }
    rows = {}
    medians = {name: statistics.median(figure.rates) for name, figure in figures.items()}
    for name, figure in figures.items():
        median = medians[name]
        cuts = statistics.quantiles(figure.latencies, n=100)
        p50, p99 = cuts[49] * 1000, cuts[98] * 1000
        print(
            f"{labels[name]:<34}{median:>12.0f}"
            f"{f'{min(figure.rates):.0f}-{max(figure.rates):.0f}':>20}"
            f"{p50:>9.1f}{p99:>9.1f}{figure.errors:>8}"
            + "".join(
                f"{figure.cpu[who] / figure.seconds:>{width}.2f}"
                for who, width in (("load generator", 14), ("uvicorn", 9), ("redis", 7))
            )
        )
        rows[name] = {
            "requests_per_second": median,
            "rounds": figure.rates,
            "p50_ms": p50,
            "p99_ms": p99,
            "errors": figure.errors,
            "cpus_used": {who: used / figure.seconds for who, used in figure.cpu.items()},
        }
    print(f"cluster / one server: {medians['cluster'] / medians['single']:.2f}")
    print(
        "CPUs: CPU seconds per second of the rounds used by the load generator, the uvicorn "
        "processes and the redis-servers (all six for the cluster); the rest of "
        f"{os.cpu_count()} went to other work on the machine or was idle"
    )
    print("every visitor's counter read back equal to its acknowledged writes")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as output:
            json.dump(
                {
                    "python": platform.python_version(),
                    "uvicorn": version("uvicorn"),
                    "workers": WORKERS,
                    "redis_server": redis_version,
                    "redis_py": redis.__version__,
                    "visitors": VISITORS,
                    "concurrency": CONCURRENCY,
                    "write_share": WRITE_SHARE,
                    "rounds": rounds,
                    "seconds": seconds,
                    "cpus": os.cpu_count(),
                    "load_average": {"before": load_before, "after": load_after},
                    "results": rows,
                },
                output,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
