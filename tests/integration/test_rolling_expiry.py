"""Rolling expiry through a real server and real seconds: ``refresh_after=2``, ``max_age=6``.

Ages are whole seconds (``int(now) - signed_at``). Every wait below leaves at least a second of
margin on each side of the rule it checks, so a server that stalls for a second under load
(CI machines are shared) still gives the same answers.
"""

from __future__ import annotations

import time

import httpx2
import pytest

from conftest import SECRET
from cookie_session import SessionCodec

from .conftest import StartServer

pytestmark = pytest.mark.timeout(120)

CODEC = SessionCodec([SECRET], max_age=None)


def signed_at(response: httpx2.Response) -> int:
    return CODEC.verify(response.cookies["session"]).signed_at


def test_an_active_visitor_is_refreshed_and_an_idle_one_expires(
    start_server: StartServer,
) -> None:
    server = start_server(secret_key=SECRET, max_age="6", refresh_after="2")
    with httpx2.Client(base_url=server.url, timeout=10.0) as client:
        first = client.get("/counter", params={"marker": "rolling"})
        assert first.json()["count"] == 1
        assert client.get("/peek").headers.get_list("set-cookie") == []  # age 0 to 2: not over 2

        time.sleep(3.5)  # age 3 or more: over refresh_after, well within max_age
        refreshed = client.get("/peek")
        assert refreshed.json() == {"count": 1, "marker": "rolling"}
        assert signed_at(refreshed) > signed_at(first)

        time.sleep(4.0)  # 7.5 s after the first cookie (over max_age), about 4 after the refresh
        assert client.get("/peek").json() == {"count": 1, "marker": "rolling"}

        time.sleep(7.5)  # idle for longer than max_age
        assert client.get("/peek").json() == {}
