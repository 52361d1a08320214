"""The Prometheus recipe through a real server: real requests move the counters of the serving
process's middleware, and ``/metrics``, scraped over HTTP, reports exactly those counts."""

from __future__ import annotations

import time

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import OTHER_SECRET, SECRET
from cookie_session import SessionCodec

from .conftest import Server, StartServer

pytestmark = pytest.mark.timeout(120)

METRICS_APP = "tests.integration.apps:metrics_app"
THIRD_SECRET = "LEAKCHECK-third-key-abcdefghij-0123456789"
UNKNOWN_SECRET = "LEAKCHECK-unknown-0123456789-abcdefgh"
MAX_AGE = 3600

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def signed(data: dict[str, int], secret: str, *, seconds_ago: float = 0) -> str:
    signing_time = time.time() - seconds_ago
    return SessionCodec([secret], max_age=None, clock=lambda: signing_time).encode(data)


def scrape(server: Server) -> Samples:
    """Every sample ``/metrics`` reports, by name and labels, fetched without a cookie."""
    response = httpx2.get(f"{server.url}/metrics", timeout=10.0)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def visit(server: Server, path: str, cookie: str) -> httpx2.Response:
    """One request carrying ``cookie`` as the session cookie, outside any cookie jar."""
    response = httpx2.get(f"{server.url}{path}", headers={"cookie": f"session={cookie}"})
    assert response.status_code == 200
    return response


def counter(name: str, value: float, **labels: str) -> Samples:
    return {(f"cookie_session_{name}_total", tuple(sorted(labels.items()))): value}


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server(
        app=METRICS_APP,
        secret_key=SECRET,
        secret_key_fallbacks=[OTHER_SECRET, THIRD_SECRET],
        max_age=str(MAX_AGE),
    )


def test_a_fresh_server_reports_every_counter_at_zero(start_server: StartServer) -> None:
    fresh = start_server(app=METRICS_APP, secret_key=SECRET, secret_key_fallbacks=[OTHER_SECRET])

    assert scrape(fresh) == {
        **counter("cookies_accepted", 0),
        **counter("cookies_rejected", 0, reason="signature"),
        **counter("cookies_rejected", 0, reason="expired"),
        **counter("cookies_rejected", 0, reason="malformed"),
        **counter("cookies_rejected", 0, reason="too_large"),
        **counter("fallback_key_uses", 0, key="1"),
        **counter("cookies_set", 0),
        **counter("cookies_deleted", 0),
        **counter("too_large_errors", 0),
        **counter("store_errors", 0),
        **counter("csrf_rejected", 0),
    }


def test_metrics_report_exactly_what_real_requests_did(server: Server) -> None:
    with httpx2.Client(base_url=server.url, timeout=10.0) as browser:
        assert browser.get("/counter").json()["count"] == 1  # a write: set
        assert browser.get("/counter").json()["count"] == 2  # accepted, set
        assert browser.get("/clear").json() == {"cleared": True}  # accepted, deleted
    written = signed({"count": 1}, SECRET)
    tampered = signed({"count": 1_000_000}, SECRET).split(".")[0] + written[written.index(".") :]
    assert visit(server, "/peek", tampered).json() == {}
    assert visit(server, "/peek", signed({"count": 1}, UNKNOWN_SECRET)).json() == {}
    expired = signed({"count": 1}, SECRET, seconds_ago=MAX_AGE + 600)
    assert visit(server, "/peek", expired).json() == {}
    assert visit(server, "/peek", "not-a-signed-value").json() == {}
    # Fallback-signed cookies are accepted and re-signed with the current key: accepted, set.
    for secret in (THIRD_SECRET, OTHER_SECRET, THIRD_SECRET):
        assert visit(server, "/peek", signed({"count": 7}, secret)).json() == {"count": 7}

    assert scrape(server) == {
        **counter("cookies_accepted", 5),
        **counter("cookies_rejected", 2, reason="signature"),
        **counter("cookies_rejected", 1, reason="expired"),
        **counter("cookies_rejected", 1, reason="malformed"),
        **counter("cookies_rejected", 0, reason="too_large"),
        **counter("fallback_key_uses", 1, key="1"),
        **counter("fallback_key_uses", 2, key="2"),
        **counter("cookies_set", 5),
        **counter("cookies_deleted", 1),
        **counter("too_large_errors", 0),
        **counter("store_errors", 0),
        **counter("csrf_rejected", 0),
    }
    assert scrape(server) == scrape(server)  # a scrape carries no cookie and counts nothing
