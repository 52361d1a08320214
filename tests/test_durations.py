"""Durations as the command line and the demo show them (cookie_session._durations)."""

from __future__ import annotations

import pytest

from cookie_session._durations import duration, seconds_and_duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (3725, "1 hour, 2 minutes"),
        (90061, "1 day, 1 hour"),
        (1209600, "14 days"),
    ],
)
def test_duration_names_the_two_largest_units(seconds: int, shown: str) -> None:
    assert duration(seconds) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (60, "60 seconds (1 minute)"),
        (1209600, "1209600 seconds (14 days)"),
        (34560000, "34560000 seconds (400 days)"),
    ],
)
def test_seconds_and_duration_gives_the_figure_and_what_a_person_reads(
    seconds: int, shown: str
) -> None:
    assert seconds_and_duration(seconds) == shown
