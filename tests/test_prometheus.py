"""cookie_session.prometheus: a middleware's stats() as Prometheus counters, read at each scrape."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from types import MappingProxyType
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, SECRET, tampered
from cookie_session import SessionCodec, SessionMiddleware, SessionStats, SessionTooLarge
from cookie_session.prometheus import SessionStatsCollector

THIRD_SECRET = "LEAKCHECK-third-key-abcdefghij-0123456789"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def endpoint(request: Request) -> Response:
    if request.url.path == "/write":
        request.session["n"] = request.session.get("n", 0) + 1
    elif request.url.path == "/clear":
        request.session.clear()
    elif request.url.path == "/big":
        request.session["blob"] = "x" * 5000
    return JSONResponse(dict(request.session))


def middleware(**fields: Any) -> SessionMiddleware:
    routes = [Route(path, endpoint) for path in ("/", "/write", "/clear", "/big")]
    return SessionMiddleware(Starlette(routes=routes), secret_key=SECRET, **fields)


def scrape(registry: CollectorRegistry) -> Samples:
    """Every sample of the registry, rendered as Prometheus would fetch it and parsed back."""
    text = generate_latest(registry).decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def registered(sessions: SessionMiddleware) -> CollectorRegistry:
    """A registry holding the recipe's collector for ``sessions``."""
    registry = CollectorRegistry()
    registry.register(SessionStatsCollector(sessions.stats))
    return registry


def visit(sessions: SessionMiddleware, path: str, cookie: str | None = None) -> None:
    headers = {"cookie": f"session={cookie}"} if cookie is not None else {}
    TestClient(sessions).get(path, headers=headers)


def signed(data: dict[str, int], secret: str = SECRET, at: float | None = None) -> str:
    if at is None:
        return SessionCodec([secret], max_age=None).encode(data)
    return SessionCodec([secret], max_age=None, clock=lambda: at).encode(data)


def counter(name: str, value: float, **labels: str) -> Samples:
    return {(f"cookie_session_{name}_total", tuple(sorted(labels.items()))): value}


def test_each_counter_is_a_prometheus_counter_with_the_middlewares_count() -> None:
    sessions = middleware(secret_key_fallbacks=[OTHER_SECRET, THIRD_SECRET], max_age=3600)
    registry = registered(sessions)
    visit(sessions, "/write")
    visit(sessions, "/clear", signed({"n": 1}))
    visit(sessions, "/", tampered(signed({"n": 1})))
    visit(sessions, "/", signed({"n": 1}, at=1_000_000_000))
    visit(sessions, "/", "not-a-cookie")
    visit(sessions, "/", "a" * 4097)
    visit(sessions, "/", signed({"n": 1}, THIRD_SECRET))
    with pytest.raises(SessionTooLarge):
        visit(sessions, "/big")

    assert scrape(registry) == {
        **counter("cookies_accepted", 2),
        **counter("cookies_rejected", 1, reason="signature"),
        **counter("cookies_rejected", 1, reason="expired"),
        **counter("cookies_rejected", 1, reason="malformed"),
        **counter("cookies_rejected", 1, reason="too_large"),
        **counter("fallback_key_uses", 0, key="1"),
        **counter("fallback_key_uses", 1, key="2"),
        **counter("cookies_set", 2),
        **counter("cookies_deleted", 1),
        **counter("too_large_errors", 1),
        **counter("store_errors", 0),
        **counter("csrf_rejected", 0),
    }


def test_every_stats_field_has_a_counter_family_with_help() -> None:
    registry = registered(middleware())
    families = list(text_string_to_metric_families(generate_latest(registry).decode("utf-8")))

    fields = {field.name for field in dataclasses.fields(SessionStats)}
    assert {family.name for family in families} == {f"cookie_session_{name}" for name in fields}
    assert all(family.type == "counter" and family.documentation for family in families)


def test_each_scrape_reads_the_counts_of_that_moment() -> None:
    sessions = middleware()
    registry = registered(sessions)
    cookies_set = ("cookie_session_cookies_set_total", ())

    assert scrape(registry)[cookies_set] == 0
    visit(sessions, "/write")
    assert scrape(registry)[cookies_set] == 1
    visit(sessions, "/write")
    assert scrape(registry)[cookies_set] == 2


def test_a_reason_the_stats_add_is_exported_with_its_label() -> None:
    stats = SessionStats(
        cookies_accepted=0,
        cookies_rejected=MappingProxyType({"signature": 0, "decrypt": 3}),
        fallback_key_uses=(),
        cookies_set=0,
        cookies_deleted=0,
        too_large_errors=0,
        store_errors=0,
        csrf_rejected=0,
    )
    registry = CollectorRegistry()
    registry.register(SessionStatsCollector(lambda: stats))

    samples = scrape(registry)
    assert samples[("cookie_session_cookies_rejected_total", (("reason", "decrypt"),))] == 3
    assert not any(name == "cookie_session_fallback_key_uses_total" for name, _ in samples)


def test_namespaces_keep_two_middlewares_apart_in_one_registry() -> None:
    outer, inner = middleware(), middleware(session_cookie="admin")
    registry = registered(outer)
    registry.register(SessionStatsCollector(inner.stats, namespace="admin_session"))
    visit(outer, "/write")

    samples = scrape(registry)
    assert samples[("cookie_session_cookies_set_total", ())] == 1
    assert samples[("admin_session_cookies_set_total", ())] == 0


def test_without_prometheus_client_the_import_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "try:\n"
        "    import cookie_session.prometheus\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'cookie-session[prometheus]'" in result.stdout
