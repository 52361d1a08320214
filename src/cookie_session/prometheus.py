"""Prometheus metrics of a middleware's :class:`~cookie_session.SessionStats`.

A custom collector for ``prometheus_client``: every scrape reads one ``stats()`` snapshot and
reports it as counters, so the middleware keeps its plain integers and nothing is counted twice::

    sessions = SessionMiddleware(app, config=SessionConfig.from_env())
    registry = CollectorRegistry()
    registry.register(SessionStatsCollector(sessions.stats))

docs/observability.md serves ``registry`` at ``/metrics`` and says which question each metric
answers. The counters start at zero when the process starts, as Prometheus expects of a counter.

Importing this module imports ``prometheus_client`` (the ``prometheus`` extra);
``import cookie_session`` never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

try:
    from prometheus_client.metrics_core import CounterMetricFamily, Metric
    from prometheus_client.registry import Collector
except ImportError as error:
    raise ImportError(
        "cookie_session.prometheus needs prometheus_client: "
        "pip install 'cookie-session[prometheus]'"
    ) from error

from cookie_session.stats import SessionStats

__all__ = ["SessionStatsCollector"]


class SessionStatsCollector(Collector):
    """Reports ``stats()`` to Prometheus as ``cookie_session_*_total`` counters.

    ``stats`` is a middleware's bound :meth:`~cookie_session.SessionMiddleware.stats`, called
    once per scrape. Rejected cookies carry a ``reason`` label; fallback key uses a ``key`` label,
    the key's 1-based position in ``secret_key_fallbacks``.
    """

    def __init__(
        self, stats: Callable[[], SessionStats], *, namespace: str = "cookie_session"
    ) -> None:
        self._stats = stats
        self._namespace = namespace

    def collect(self) -> Iterator[Metric]:
        """One counter family per :class:`SessionStats` field, from one snapshot."""
        stats = self._stats()
        yield self._counter(
            "cookies_accepted",
            "Requests whose session cookie verified, with any key.",
            stats.cookies_accepted,
        )
        rejected = self._family(
            "cookies_rejected",
            "Session cookies refused, by reason (the request got an empty session).",
            labels=["reason"],
        )
        for reason, count in stats.cookies_rejected.items():
            rejected.add_metric([reason], count)
        yield rejected
        fallback = self._family(
            "fallback_key_uses",
            "Cookies verified by a fallback key, by its 1-based position in "
            "secret_key_fallbacks (a key whose count stops growing can be retired).",
            labels=["key"],
        )
        for position, count in enumerate(stats.fallback_key_uses, start=1):
            fallback.add_metric([str(position)], count)
        yield fallback
        yield self._counter(
            "cookies_set",
            "Set-Cookie headers carrying a session (writes, re-signs, refreshes).",
            stats.cookies_set,
        )
        yield self._counter(
            "cookies_deleted",
            "Set-Cookie headers deleting the session cookie.",
            stats.cookies_deleted,
        )
        yield self._counter(
            "too_large_errors",
            "Sessions not sent because the cookie would pass 4096 bytes.",
            stats.too_large_errors,
        )
        yield self._counter(
            "store_errors", "Failed calls to the server-side session store.", stats.store_errors
        )
        yield self._counter(
            "csrf_rejected",
            "Unsafe requests refused (403) for a missing or invalid CSRF token.",
            stats.csrf_rejected,
        )

    def _family(self, name: str, documentation: str, *, labels: list[str]) -> CounterMetricFamily:
        return CounterMetricFamily(f"{self._namespace}_{name}", documentation, labels=labels)

    def _counter(self, name: str, documentation: str, value: int) -> CounterMetricFamily:
        return CounterMetricFamily(f"{self._namespace}_{name}", documentation, value=value)
