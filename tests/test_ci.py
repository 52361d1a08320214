"""tests/ci.py: which values of ``CI`` make a test that cannot run fail instead of skipping."""

from __future__ import annotations

import pytest

from ci import in_ci, unavailable


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "Yes", "on", "ON", " true "])
def test_ci_set_to_a_true_value_is_ci(value: str) -> None:
    assert in_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "false", "False", "0", "no", "off", "nope"])
def test_ci_set_to_anything_else_is_not_ci(value: str) -> None:
    assert not in_ci({"CI": value})


def test_no_ci_variable_is_not_ci() -> None:
    assert not in_ci({})


def test_an_unavailable_test_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")

    with pytest.raises(pytest.fail.Exception, match=r"no server \(CI=1: this test must run\)"):
        unavailable("no server")


def test_an_unavailable_test_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="no server"):
        unavailable("no server")
