"""Servers whose clocks disagree a little: each accepts the other's fresh cookies, up to
CLOCK_SKEW_SECONDS, and max_age still counts on the reader's clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from conftest import SECRET
from cookie_session import CookieExpired, CookieSignatureInvalid, SessionCodec
from cookie_session.codec import CLOCK_SKEW_SECONDS

NOW = 1_767_225_600.0
SKEW = 5.0
"""A few seconds: what two NTP-less hosts commonly drift apart."""
MAX_AGE = 600
SESSION = {"user": "alice", "n": 1}


@dataclass
class Clock:
    """A server's clock, set by the test."""

    now: float

    def __call__(self) -> float:
        return self.now


def _server(clock: Clock) -> SessionCodec:
    return SessionCodec([SECRET], max_age=MAX_AGE, clock=clock)


def test_server_behind_accepts_a_fresh_cookie_from_a_server_ahead() -> None:
    ahead, behind = _server(Clock(NOW + SKEW)), _server(Clock(NOW))
    assert behind.verify(ahead.encode(SESSION)).data == SESSION


def test_server_ahead_accepts_a_fresh_cookie_from_a_server_behind() -> None:
    ahead, behind = _server(Clock(NOW + SKEW)), _server(Clock(NOW))
    assert ahead.verify(behind.encode(SESSION)).data == SESSION


def test_timestamp_exactly_clock_skew_seconds_ahead_is_accepted() -> None:
    writer, reader = _server(Clock(NOW + CLOCK_SKEW_SECONDS)), _server(Clock(NOW))
    assert reader.verify(writer.encode(SESSION)).data == SESSION


def test_timestamp_beyond_the_tolerated_skew_is_rejected() -> None:
    writer, reader = _server(Clock(NOW + CLOCK_SKEW_SECONDS + 1)), _server(Clock(NOW))
    with pytest.raises(CookieSignatureInvalid, match="in the future"):
        reader.verify(writer.encode(SESSION))


def test_max_age_counts_on_the_readers_clock_despite_skew() -> None:
    writer_clock, reader_clock = Clock(NOW + SKEW), Clock(NOW)
    cookie = _server(writer_clock).encode(SESSION)
    reader_clock.now = NOW + SKEW + MAX_AGE + 1
    with pytest.raises(CookieExpired):
        _server(reader_clock).verify(cookie)


def test_cookie_from_a_server_ahead_lives_max_age_on_the_readers_clock() -> None:
    writer_clock, reader_clock = Clock(NOW + SKEW), Clock(NOW)
    cookie = _server(writer_clock).encode(SESSION)
    reader_clock.now = NOW + SKEW + MAX_AGE
    assert _server(reader_clock).verify(cookie).data == SESSION
