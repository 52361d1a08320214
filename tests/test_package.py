"""What the distribution ships, beyond the code."""

from __future__ import annotations

from importlib.resources import files


def test_package_ships_py_typed_for_type_checkers() -> None:
    assert files("cookie_session").joinpath("py.typed").is_file()
