"""Session behaviours that no test held until ``scripts/mutate`` changed them."""

from __future__ import annotations

from cookie_session import Session


def test_in_tells_whether_the_session_holds_a_key() -> None:
    session = Session({"user": "alice"})

    assert ("user" in session, "cart" in session) == (True, False)


def test_iter_alone_marks_the_session_accessed() -> None:
    # list(session) would also ask for len(); a for loop over the session asks only for iter().
    session = Session({"user": "alice"})

    iter(session)

    assert session.accessed
