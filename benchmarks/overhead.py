"""What a session middleware costs per request: ours (signed, and encrypted), Starlette's, and
no middleware at all; for csrf_post (a POST carrying the CSRF header token), ours with csrf=True
too.

Run ``python benchmarks/overhead.py`` (about a minute), ``--quick`` (about 10 s) or
``--json PATH`` to keep the figures. Requests are raw ASGI calls in this process (no sockets, no
event loop: the apps never wait, so each call is driven to completion directly), which leaves
the middleware's own cost as the only difference between candidates. Candidates run in
interleaved rounds (bare, Starlette, ours, ours encrypted, bare, ...) so drift in the machine's
speed hits all four alike; each figure is the median over rounds.

Before and after timing, every scenario is checked: the handler saw the data it should, and a
write produced a cookie that the next request accepts. A failed check aborts the run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import msgspec
import pybase64
import starlette
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware

from cookie_session import SessionCodec, SessionMiddleware, csrf_token
from cookie_session.csrf import CSRF_SECRET_KEY
from cookie_session.sealed import SEALED_PREFIX
from cookie_session.types import ASGIApp, Message, Scope

SECRET = "benchmark-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"
assert len(SECRET) == 64
MAX_AGE = 3600
COOKIE = "session"

# Target: our overhead / Starlette's overhead, per scenario (issue 6).
TARGETS = {
    "nocookie_untouched": 0.5,
    "cookie_read": 0.5,
    "cookie_write": 0.5,
    "bad_cookie": 0.4,
    "big_session": 0.5,
    "hostile_header": 0.5,  # issue 10
    "users_read": 0.5,  # issue 11: many visitors, each cookie seen for the first time
    "users_write": 0.5,
    "users_big": 0.5,
}
# Target: our overhead with encrypt=True / Starlette's (signed) overhead, every scenario (issue 12).
ENCRYPTED_TARGET = 1.0
VISITORS = 4096
"""Distinct visitors in the many-visitor scenarios, four times what any per-cookie cache keeps."""
# An ~8 KB Cookie header of bogus session candidates (CPU amplification, issue 10).
HOSTILE_HEADER = b"; ".join([COOKIE.encode() + b"=a.b"] * 640)
SMALL_SESSION = {"user": "alice", "counter": 1}
# A signed-in session that asked for a CSRF token once: its secret rides in the cookie.
_CSRF_SEED: dict[str, Any] = {}
csrf_token(_CSRF_SEED)
CSRF_SESSION = SMALL_SESSION | {CSRF_SECRET_KEY: _CSRF_SEED[CSRF_SECRET_KEY]}
CSRF_TOKEN = csrf_token(dict(CSRF_SESSION)).encode()
"""A token of CSRF_SESSION's secret, sent in the x-csrf-token header of csrf_post's POSTs."""
BIG_SESSION = {
    "user": "alice",
    "counter": 1,
    "cart": [
        {"sku": f"SKU-{n:05d}", "name": f"Item number {n}", "quantity": n % 5 + 1, "price": 9.99}
        for n in range(24)
    ],
}


class Handler:
    """The application behind the middleware; records what it saw for the checks."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.seen: object = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        session = scope.get("session")
        if session is not None:
            if self.action == "read":
                self.seen = session.get("user")
            elif self.action == "write":
                session["counter"] = session.get("counter", 0) + 1
                self.seen = session["counter"]
        await _respond(send)


async def _respond(send: Any) -> None:
    # Fresh messages each time: middlewares add headers to them.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Scenario:
    name: str
    action: str  # what the handler does: "ignore", "read", "write"
    session: dict[str, Any] | None  # what the incoming cookie holds; None: no cookie
    tamper: bool = False  # change one character in the middle of the signature
    expect_seen: object = None
    # How many different visitors the requests cycle through, round-robin: one, as a browser
    # sends the same cookie until it changes; or many (VISITORS), each with a cookie of their
    # own, as a site with thousands of visitors per worker sees them: no per-cookie cache can
    # answer a request, since the same cookie comes back only after VISITORS others.
    variants: int = 1
    # A Cookie header sent as it is, the same for every candidate, instead of minted cookies.
    header: bytes | None = None
    # A POST with CSRF_TOKEN in its header instead of a GET; ours_csrf (csrf=True) runs too.
    csrf_post: bool = False
    # The cookies, per candidate, filled in by prepare().
    cookies: dict[str, list[bytes | None]] = field(default_factory=dict)


SCENARIOS = [
    Scenario("nocookie_untouched", "ignore", None),
    Scenario("cookie_read", "read", SMALL_SESSION, expect_seen="alice"),
    Scenario("cookie_write", "write", SMALL_SESSION, expect_seen=2),
    Scenario("bad_cookie", "read", SMALL_SESSION, tamper=True, expect_seen=None),
    Scenario("big_session", "read", BIG_SESSION, expect_seen="alice"),
    Scenario("hostile_header", "read", None, header=HOSTILE_HEADER, expect_seen=None),
    Scenario("users_read", "read", SMALL_SESSION, expect_seen="alice", variants=VISITORS),
    Scenario("users_write", "write", SMALL_SESSION, expect_seen=2, variants=VISITORS),
    Scenario("users_big", "read", BIG_SESSION, expect_seen="alice", variants=VISITORS),
    Scenario("csrf_post", "read", CSRF_SESSION, expect_seen="alice", csrf_post=True),
]
# The many-visitor rows first: they are what a real site sees.
SCENARIOS.sort(key=lambda scenario: not scenario.name.startswith("users_"))


def _drive(coroutine: Awaitable[None]) -> None:
    """Run a coroutine that never suspends, without an event loop."""
    assert isinstance(coroutine, Coroutine)
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("the application suspended; the benchmark cannot drive it")


class Candidate:
    def __init__(self, name: str, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        self.name = name
        self.wrap = wrap

    def request(
        self, app: ASGIApp, cookie: bytes | None, csrf_token: bytes | None = None
    ) -> list[Message]:
        """One request, a POST carrying ``csrf_token`` when given; returns the messages the
        application sent."""
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        _drive(app(_scope(cookie, csrf_token), _receive, send))
        return sent


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _scope(cookie: bytes | None, csrf_token: bytes | None = None) -> Scope:
    headers = [(b"host", b"testserver"), (b"user-agent", b"benchmark")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    if csrf_token is not None:
        headers.append((b"x-csrf-token", csrf_token))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET" if csrf_token is None else "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


MAX_LIFETIME = 30 * 24 * 3600
"""ours_lifetime's max_lifetime: its cookies carry their start, checked on every request."""
LIFETIME_MARGIN = 0.05
"""How far ours_lifetime's ratio may be above ours' (issue 22)."""
CSRF_POST_MARGIN = 0.1
"""How far ours_csrf's ratio may be above ours' on csrf_post (issue 24)."""
CSRF_PASS_MARGIN = 0.02
"""How far on a request the check lets by (a GET: every other row)."""
CSRF_CANDIDATE = Candidate(
    "ours_csrf",
    lambda app: SessionMiddleware(app, secret_key=SECRET, max_age=MAX_AGE, csrf=True),
)
CANDIDATES = [
    Candidate("bare", lambda app: app),
    Candidate(
        "starlette",
        lambda app: StarletteSessionMiddleware(app, secret_key=SECRET, max_age=MAX_AGE),
    ),
    Candidate("ours", lambda app: SessionMiddleware(app, secret_key=SECRET, max_age=MAX_AGE)),
    Candidate(
        "ours_encrypted",
        lambda app: SessionMiddleware(app, secret_key=SECRET, max_age=MAX_AGE, encrypt=True),
    ),
    Candidate(
        "ours_lifetime",
        lambda app: SessionMiddleware(
            app, secret_key=SECRET, max_age=MAX_AGE, max_lifetime=MAX_LIFETIME
        ),
    ),
    CSRF_CANDIDATE,
]
"""Who runs every scenario."""


def token_of(scenario: Scenario) -> bytes | None:
    """The CSRF token the scenario's requests carry (they are then POSTs), if any."""
    return CSRF_TOKEN if scenario.csrf_post else None


def _set_cookie(messages: list[Message]) -> bytes | None:
    for name, value in messages[0].get("headers", ()):
        if name == b"set-cookie":
            cookie: bytes = value.split(b";", 1)[0]
            return cookie
    return None


def prepare(scenario: Scenario) -> None:
    """Make each candidate's cookies for the scenario, with its own middleware."""
    for candidate in CANDIDATES:
        if scenario.header is not None:
            scenario.cookies[candidate.name] = [scenario.header]
            continue
        if scenario.session is None:
            scenario.cookies[candidate.name] = [None]
            continue
        if candidate.name == "bare":
            continue
        scenario.cookies[candidate.name] = [
            _make_cookie(candidate, scenario.session | {"visitor": n}, scenario.tamper)
            if n
            else _make_cookie(candidate, scenario.session, scenario.tamper)
            for n in range(scenario.variants)
        ]
    if "bare" not in scenario.cookies:
        # The floor: no middleware, but the very requests ours gets (the same Cookie headers,
        # cycled the same way), so that building the requests costs all candidates alike.
        scenario.cookies["bare"] = scenario.cookies["ours"]


def _make_cookie(candidate: Candidate, session: dict[str, Any], tamper: bool) -> bytes:
    """A cookie made by the candidate's own middleware, holding ``session``."""

    async def writer(scope: Scope, receive: Any, send: Any) -> None:
        scope["session"].update(session)
        await _respond(send)

    cookie = _set_cookie(candidate.request(candidate.wrap(writer), None))
    if cookie is None:
        raise SystemExit(f"check failed: {candidate.name} did not set a cookie")
    encrypted = cookie.startswith(f"{COOKIE}=".encode() + SEALED_PREFIX)
    if encrypted != (candidate.name == "ours_encrypted"):
        raise SystemExit(f"check failed: {candidate.name} set a cookie that is {encrypted=}")
    if tamper:
        # Inside the 27-character signature; in an encrypted cookie, the 16-byte GCM tag.
        middle = len(cookie) - 14
        replacement = b"A" if cookie[middle : middle + 1] != b"A" else b"B"
        cookie = cookie[:middle] + replacement + cookie[middle + 1 :]
    return cookie


def check(scenario: Scenario, candidate: Candidate) -> None:
    """Abort unless the candidate handles the scenario correctly, for its first visitor and
    its last."""
    cookies = scenario.cookies[candidate.name]
    for cookie in {0: cookies[0], -1: cookies[-1]}.values():
        _check_one(scenario, candidate, cookie)


def _check_one(scenario: Scenario, candidate: Candidate, cookie: bytes | None) -> None:
    handler = Handler(scenario.action)
    app = candidate.wrap(handler)
    messages = candidate.request(app, cookie, token_of(scenario))
    if candidate.name == "bare":
        return
    if handler.seen != scenario.expect_seen:
        raise SystemExit(
            f"check failed: {scenario.name}/{candidate.name}: handler saw {handler.seen!r}, "
            f"expected {scenario.expect_seen!r}"
        )
    new_cookie = _set_cookie(messages)
    if scenario.action == "write":
        if new_cookie is None:
            raise SystemExit(f"check failed: {scenario.name}/{candidate.name}: no Set-Cookie")
        follow_up = Handler("write")
        candidate.request(candidate.wrap(follow_up), new_cookie)
        if follow_up.seen != 3:
            raise SystemExit(
                f"check failed: {scenario.name}/{candidate.name}: the written cookie was not "
                f"accepted (counter {follow_up.seen!r}, expected 3)"
            )
    elif new_cookie is not None and candidate.name.startswith("ours"):
        raise SystemExit(f"check failed: {scenario.name}/{candidate.name} sent a cookie for a read")
    if candidate is CSRF_CANDIDATE and scenario.csrf_post:
        # The check is on: the same POST without the token never reaches the handler.
        refused = Handler(scenario.action)
        status = candidate.request(candidate.wrap(refused), cookie, b"forged")[0]["status"]
        if status != 403 or refused.seen is not None:
            raise SystemExit(f"check failed: {scenario.name}/{candidate.name} let a forged POST by")


def time_batch(
    candidate: Candidate, app: ASGIApp, cookies: list[bytes | None], csrf_token: bytes | None
) -> float:
    """Microseconds per request, over one request per cookie."""
    request = candidate.request
    start = time.perf_counter_ns()
    for cookie in cookies:
        request(app, cookie, csrf_token)
    return (time.perf_counter_ns() - start) / len(cookies) / 1000


def run(rounds: int, batch: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for scenario in SCENARIOS:
        runners = CANDIDATES
        apps = {c.name: c.wrap(Handler(scenario.action)) for c in runners}
        samples: dict[str, list[float]] = {c.name: [] for c in runners}
        for round_number in range(-1, rounds):  # round -1 warms up
            for candidate in runners:
                # The same number of requests everywhere; where there are several cookies,
                # each round goes on where the last stopped, so they keep cycling.
                cookies = scenario.cookies[candidate.name]
                first = (round_number + 1) * batch
                requests = [cookies[(first + n) % len(cookies)] for n in range(batch)]
                seconds = time_batch(candidate, apps[candidate.name], requests, token_of(scenario))
                if round_number >= 0:
                    samples[candidate.name].append(seconds)
        results[scenario.name] = {name: statistics.median(s) for name, s in samples.items()}
    return results


def print_floor() -> None:
    """The work no implementation of the format can skip, for users_big's first cookie,
    measured alone: the HMAC, the base64 decoding and the JSON parsing."""
    scenario = next(s for s in SCENARIOS if s.name == "users_big")
    cookie = scenario.cookies["ours"][0]
    assert cookie is not None
    signed, _, _ = cookie.partition(b"=")[2].rpartition(b".")
    payload = signed.rpartition(b".")[0]
    signer = SessionCodec([SECRET], max_age=None)._signers[0]
    raw = pybase64.b64decode(payload)
    parts = {
        "HMAC-SHA1": lambda: signer.signature(signed),
        "base64 (pybase64)": lambda: pybase64.b64decode(payload, validate=True),
        "JSON (msgspec)": lambda: msgspec.json.decode(raw),
    }
    figures = {
        name: min(timeit.repeat(part, number=2000, repeat=9)) / 2000 * 1e6
        for name, part in parts.items()
    }
    print(
        f"floor for users_big ({len(cookie)}-byte cookie), best of 9, microseconds: "
        + ", ".join(f"{name} {value:.2f}" for name, value in figures.items())
        + f"; together {sum(figures.values()):.2f}"
    )


def parse_arguments(
    argv: list[str] | None, description: str | None, quick: str
) -> argparse.Namespace:
    """The options every benchmark here takes: ``--quick`` (described by ``quick``), ``--json``."""
    parser = argparse.ArgumentParser(description=(description or "").split("\n\n")[0] or None)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    return parser.parse_args(argv)


def write_figures(path: str | None, figures: dict[str, Any]) -> None:
    """``figures`` as JSON at ``path`` (``--json``), if one was given."""
    if path:
        with open(path, "w", encoding="utf-8") as output:
            json.dump(figures, output, indent=2)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv, __doc__, "about 10 seconds instead of ~1 min")
    rounds, batch = (15, 400) if args.quick else (41, 1200)

    for scenario in SCENARIOS:
        prepare(scenario)
        for candidate in CANDIDATES:
            check(scenario, candidate)

    results = run(rounds, batch)

    for scenario in SCENARIOS:
        for candidate in CANDIDATES:
            check(scenario, candidate)

    rows = []
    print(
        f"python {platform.python_version()}, starlette {starlette.__version__}, "
        f"cookie-session {version('cookie-session')}: {rounds} rounds x {batch} requests, "
        "median microseconds per request"
    )
    header = (
        f"{'scenario':<20}{'bare':>8}{'starlette':>11}{'ours':>8}"
        f"{'starlette +':>13}{'ours +':>9}{'ratio':>8}{'target':>8}"
        f"{'encrypted':>11}{'encrypted +':>13}{'ratio':>8}{'target':>8}"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    csrf_rows: list[str] = []
    lifetime_rows: list[str] = []
    for scenario in SCENARIOS:
        figures = results[scenario.name]
        starlette_overhead = figures["starlette"] - figures["bare"]
        ours_overhead = figures["ours"] - figures["bare"]
        ratio = ours_overhead / starlette_overhead
        target = TARGETS.get(scenario.name)
        met = target is None or ratio <= target
        encrypted_overhead = figures["ours_encrypted"] - figures["bare"]
        encrypted_ratio = encrypted_overhead / starlette_overhead
        encrypted_met = encrypted_ratio <= ENCRYPTED_TARGET
        all_met &= met and encrypted_met
        missed = [name for name, ok in (("ours", met), ("encrypted", encrypted_met)) if not ok]
        print(
            f"{scenario.name:<20}{figures['bare']:>8.2f}{figures['starlette']:>11.2f}"
            f"{figures['ours']:>8.2f}{starlette_overhead:>13.2f}{ours_overhead:>9.2f}"
            f"{ratio:>8.2f}{'-' if target is None else '<= ' + str(target):>8}"
            f"{figures['ours_encrypted']:>11.2f}{encrypted_overhead:>13.2f}"
            f"{encrypted_ratio:>8.2f}{'<= ' + str(ENCRYPTED_TARGET):>8}"
            f"{'  MISSED: ' + ', '.join(missed) if missed else ''}"
        )
        lifetime_overhead = figures["ours_lifetime"] - figures["bare"]
        lifetime_ratio = lifetime_overhead / starlette_overhead
        lifetime_met = lifetime_ratio <= ratio + LIFETIME_MARGIN
        all_met &= lifetime_met
        lifetime_rows.append(
            f"{scenario.name:<20}{lifetime_overhead:>9.2f}{lifetime_ratio:>8.2f}"
            f"{lifetime_ratio - ratio:>+8.2f}{'' if lifetime_met else '  MISSED'}"
        )
        row: dict[str, Any] = {
            "overhead_us_lifetime": lifetime_overhead,
            "ratio_lifetime": lifetime_ratio,
            "met_lifetime": lifetime_met,
        }
        if CSRF_CANDIDATE.name in figures:
            csrf_overhead = figures[CSRF_CANDIDATE.name] - figures["bare"]
            row |= {
                "overhead_us_csrf": csrf_overhead,
                "ratio_csrf": csrf_overhead / starlette_overhead,
            }
            # Issue 24: a checked POST within 0.1 of the same POST unchecked; a request the
            # check lets by (GET) within 0.02.
            margin = CSRF_POST_MARGIN if scenario.csrf_post else CSRF_PASS_MARGIN
            csrf_met = row["ratio_csrf"] <= ratio + margin
            all_met &= csrf_met
            csrf_rows.append(
                f"{scenario.name:<20}{ours_overhead:>9.2f}{ratio:>8.2f}{csrf_overhead:>9.2f}"
                f"{row['ratio_csrf']:>8.2f}{row['ratio_csrf'] - ratio:>+8.2f}"
                f"{'<= +' + str(margin):>9}{'' if csrf_met else '  MISSED'}"
            )
        rows.append(
            {
                **row,
                "scenario": scenario.name,
                "us_per_request": figures,
                "overhead_us": {
                    "starlette": starlette_overhead,
                    "ours": ours_overhead,
                    "ours_encrypted": encrypted_overhead,
                },
                "ratio": ratio,
                "target": target,
                "met": met,
                "ratio_encrypted": encrypted_ratio,
                "target_encrypted": ENCRYPTED_TARGET,
                "met_encrypted": encrypted_met,
            }
        )
    print("all targets met" if all_met else "some targets missed")
    print(
        f"users_*: {VISITORS} visitors with a cookie each, visited round-robin: every request\n"
        "is this process's first sight of its cookie. The other rows replay one cookie.\n"
        "encrypted: ours with encrypt=True; its ratio is to Starlette's signed overhead.\n"
        "csrf_post: a POST with the CSRF header token, the handler reading the session; ours\n"
        "runs it with csrf=False (the table) and csrf=True (below), ratios to Starlette's."
    )
    print("csrf: ours with csrf=False and csrf=True (Starlette checks nothing)")
    print(
        f"{'scenario':<20}{'off +':>9}{'ratio':>8}{'on +':>9}{'ratio':>8}{'on-off':>8}{'target':>9}"
    )
    for line in csrf_rows:
        print(line)
    print(
        f"lifetime: ours with max_lifetime={MAX_LIFETIME} (its cookies carry their start); "
        f"target: its ratio at most {LIFETIME_MARGIN} above ours'"
    )
    print(f"{'scenario':<20}{'ours +':>9}{'ratio':>8}{'vs ours':>8}")
    for line in lifetime_rows:
        print(line)
    print_floor()
    write_figures(
        args.json,
        {
            "python": platform.python_version(),
            "starlette": starlette.__version__,
            "rounds": rounds,
            "batch": batch,
            "results": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
