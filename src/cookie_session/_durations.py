"""Durations for a reader: 1209600 seconds is 14 days. For the command line and the demo."""

from __future__ import annotations

from typing import Final

__all__ = ["duration", "seconds_and_duration"]

_UNITS: Final = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def duration(seconds: int) -> str:
    """``3725`` -> ``"1 hour, 2 minutes"``: the two largest units, for a reader."""
    parts: list[str] = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}" + ("s" if count != 1 else ""))
    return ", ".join(parts[:2]) or "0 seconds"


def seconds_and_duration(seconds: int) -> str:
    """``1209600`` -> ``"1209600 seconds (14 days)"``: the exact figure, as configured, and what
    a person reads; under a minute the two are one (``"45 seconds"``)."""
    if seconds < 60:
        return duration(seconds)
    return f"{seconds} seconds ({duration(seconds)})"
