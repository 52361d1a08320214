"""Requests through SessionMiddleware alone, for counting instructions with callgrind.

Usage (two runs, whose difference is 1000 requests, so start-up cancels out):

    for n in 500 1500; do
        PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=cg.$n \
            .venv/bin/python benchmarks/instructions.py read $n
    done
    # instructions per request: (summary of cg.1500 - summary of cg.500) / 1000

Scenarios: ``nocookie`` (a request without a cookie, session untouched), ``read`` (a valid
cookie, one value read) and ``write`` (a valid cookie, one value changed), 2000 visitors round
robin. Further arguments: ``lifetime`` runs them with ``max_lifetime`` set (the cookies then
carry their session's start); ``post`` makes each request a POST carrying a CSRF token of its
session in the header (the cookies then carry a CSRF secret); ``csrf`` sets ``csrf=True``, so
that ``read 500 post`` and ``read 500 post csrf`` differ by what the check costs. ``starlette``
runs the same requests through Starlette's SessionMiddleware instead, ``bare`` through no
middleware (the handler gets a plain dict), so that a difference can be put as overhead.py puts
it, a share of Starlette's overhead: (ours with a setting - ours) / (starlette - bare). Instruction
counts do not depend on what else the machine runs, so two versions of the code can be compared
on a busy machine where timings (overhead.py) cannot.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from cookie_session import SessionCodec, SessionMiddleware, csrf_token

SECRET = "LEAKCHECK-secret-key-0123456789-abcdefghij"  # a benchmark's
scenario = sys.argv[1]
N = int(sys.argv[2])
FLAGS = set(sys.argv[3:])
UNKNOWN = FLAGS - {"lifetime", "post", "csrf", "starlette", "bare"}
if UNKNOWN:
    raise SystemExit(f"unknown arguments: {sorted(UNKNOWN)}")
LIFETIME = "lifetime" in FLAGS
POST = "post" in FLAGS


async def app(scope: Any, receive: Any, send: Any) -> None:
    s = scope["session"]
    if scenario == "read":
        s.get("user")
    elif scenario == "write":
        s["n"] = s.get("n", 0) + 1
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def bare(scope: Any, receive: Any, send: Any) -> None:
    scope["session"] = {}
    await app(scope, receive, send)


mw: Any
if "starlette" in FLAGS:
    from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware

    mw = StarletteSessionMiddleware(app, secret_key=SECRET)
elif "bare" in FLAGS:
    mw = bare
else:
    mw = SessionMiddleware(
        app,
        secret_key=SECRET,
        max_lifetime=30 * 86400 if LIFETIME else None,
        csrf="csrf" in FLAGS,
    )
codec = SessionCodec([SECRET], max_age=None)
started = {"_cs.started": int(time.time())} if LIFETIME else {}
sessions: list[dict[str, Any]] = [
    {"user": f"user{i}", "n": i, "cart": list(range(5)), **started} for i in range(2000)
]
tokens = [csrf_token(session).encode() if POST else b"" for session in sessions]
cookies = [codec.encode(session).encode() for session in sessions]


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: Any) -> None:
    pass


async def main() -> None:
    for i in range(N):
        headers = [(b"host", b"example.com")]
        if scenario != "nocookie":
            headers.append((b"cookie", b"session=" + cookies[i % 2000]))
        if POST:
            headers.append((b"x-csrf-token", tokens[i % 2000]))
        method = "POST" if POST else "GET"
        scope = {
            "type": "http",
            "method": method,
            "path": "/",
            "headers": headers,
            "scheme": "http",
        }
        await mw(scope, receive, send)


asyncio.run(main())
