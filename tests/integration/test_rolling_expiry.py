"""Rolling expiry through a real server and real seconds: ``refresh_after=1``, ``max_age=4``.

Ages are whole seconds (``int(now) - signed_at``), so each wait below leaves a full second of
margin on the side that matters: a cookie is refreshed only when its age is over 1.
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
    server = start_server(secret_key=SECRET, max_age="4", refresh_after="1")
    with httpx2.Client(base_url=server.url, timeout=10.0) as client:
        first = client.get("/counter", params={"marker": "rolling"})
        assert first.json()["count"] == 1
        assert client.get("/peek").headers.get_list("set-cookie") == []  # age 0 or 1

        time.sleep(2.2)  # age 2 or 3: over refresh_after, within max_age
        refreshed = client.get("/peek")
        assert refreshed.json() == {"count": 1, "marker": "rolling"}
        assert signed_at(refreshed) > signed_at(first)

        time.sleep(3.3)  # 5.5 s after the first cookie (its age is over 4), 3.3 s after the refresh
        assert client.get("/peek").json() == {"count": 1, "marker": "rolling"}

        time.sleep(5.2)  # idle for longer than max_age
        assert client.get("/peek").json() == {}
