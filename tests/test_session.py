"""The Session object's use tracking, its copies, and get_session()."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from conftest import SECRET
from cookie_session import Session, SessionMiddleware, SessionNotInstalled, get_session

SessionUse = Callable[[Session], object]

DATA = {"name": "alice", "n": 1, "cart": [1, 2], "profile": {"theme": "dark"}}


@pytest.fixture
def session() -> Session:
    return Session(DATA)


# -- accessed: any read or write ----------------------------------------------------------------

READS: dict[str, SessionUse] = {
    "getitem": lambda s: s["name"],
    "get": lambda s: s.get("name"),
    "get missing": lambda s: s.get("missing"),
    "in": lambda s: "name" in s,
    "len": len,
    "iter": list,
    "iter alone": iter,  # list() asks for len() too; a for loop asks only for iter()
    "keys": lambda s: s.keys(),
    "==": lambda s: s == {},
    "reversed": lambda s: list(reversed(s)),
}


def test_new_session_is_neither_accessed_nor_exposed() -> None:
    fresh = Session()

    assert (fresh.accessed, fresh.exposed) == (False, False)


def test_session_built_from_data_is_neither_accessed_nor_exposed(session: Session) -> None:
    assert (session.accessed, session.exposed) == (False, False)


def test_session_is_a_dict(session: Session) -> None:
    assert isinstance(session, dict)


def test_in_tells_whether_the_session_holds_a_key(session: Session) -> None:
    assert ("name" in session, "missing" in session) == (True, False)


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_read_sets_accessed(session: Session, read: SessionUse) -> None:
    read(session)

    assert session.accessed


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_read_of_immutable_values_does_not_set_exposed(session: Session, read: SessionUse) -> None:
    read(session)

    assert not session.exposed


def test_mark_accessed_sets_only_accessed(session: Session) -> None:
    session.mark_accessed()

    assert (session.accessed, session.exposed) == (True, False)


# -- exposed: writes, and handing out something that can change in place -------------------------

WRITES: dict[str, SessionUse] = {
    "setitem": lambda s: s.__setitem__("name", "bob"),
    "delitem": lambda s: s.__delitem__("name"),
    "setdefault": lambda s: s.setdefault("new", 1),
    "pop": lambda s: s.pop("name"),
    "pop with default": lambda s: s.pop("name", None),
    "popitem": lambda s: s.popitem(),
    "clear": lambda s: s.clear(),
    "update": lambda s: s.update(name="bob"),
    "|=": lambda s: s.__ior__({"name": "bob"}),
}

HANDING_OUT: dict[str, SessionUse] = {
    "getitem of a list": lambda s: s["cart"],
    "getitem of a dict": lambda s: s["profile"],
    "get of a list": lambda s: s.get("cart"),
    "get of a dict": lambda s: s.get("profile"),
    "get default list": lambda s: s.get("missing", []),
    "values": lambda s: s.values(),
    "items": lambda s: s.items(),
    "copy": lambda s: s.copy(),
    "|": lambda s: s | {},
    "reflected |": lambda s: {} | s,
    "copy.copy": copy.copy,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_write_sets_exposed(session: Session, write: SessionUse) -> None:
    write(session)

    assert session.exposed


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_write_sets_accessed(session: Session, write: SessionUse) -> None:
    write(session)

    assert session.accessed


@pytest.mark.parametrize("hand_out", HANDING_OUT.values(), ids=HANDING_OUT.keys())
def test_handing_out_a_mutable_value_sets_exposed(session: Session, hand_out: SessionUse) -> None:
    hand_out(session)

    assert session.exposed


@pytest.mark.parametrize(
    "value", ["text", 7, 1.5, True, None], ids=lambda value: type(value).__name__
)
def test_reading_an_immutable_value_does_not_set_exposed(value: object) -> None:
    session = Session({"key": value})

    assert (session["key"], session.get("key")) == (value, value)
    assert not session.exposed


def test_in_place_or_keeps_the_session_object(session: Session) -> None:
    same = session
    same |= {"name": "bob"}

    assert same is session
    assert dict(session)["name"] == "bob"


def test_session_is_unhashable_like_a_dict(session: Session) -> None:
    with pytest.raises(TypeError):
        hash(session)


# -- modified: Starlette 1.x's flag, set only when something is written -------------------------


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_write_sets_modified(session: Session, write: SessionUse) -> None:
    write(session)

    assert session.modified


def test_pop_of_a_missing_key_sets_no_flag(session: Session) -> None:
    assert session.pop("missing", "default") == "default"

    assert (session.accessed, session.exposed, session.modified) == (False, False, False)


def test_setdefault_of_an_existing_key_is_a_read(session: Session) -> None:
    assert session.setdefault("cart", []) == [1, 2]

    assert (session.accessed, session.exposed, session.modified) == (True, True, False)


def test_mark_modified_sets_modified(session: Session) -> None:
    session.mark_modified()

    assert session.modified


# -- copies are plain dicts ---------------------------------------------------------------------

COPIES: dict[str, Callable[[Session], object]] = {
    "copy method": lambda s: s.copy(),
    "copy.copy": copy.copy,
    "copy.deepcopy": copy.deepcopy,
    "pickle": lambda s: pickle.loads(pickle.dumps(s)),  # noqa: S301  (our own bytes)
    "|": lambda s: s | {},
}


@pytest.mark.parametrize("make_copy", COPIES.values(), ids=COPIES.keys())
def test_copy_is_a_plain_dict_with_the_same_content(
    session: Session, make_copy: Callable[[Session], object]
) -> None:
    copied = make_copy(session)

    assert type(copied) is dict
    assert copied == DATA


def test_deep_copy_does_not_share_nested_values(session: Session) -> None:
    copied = copy.deepcopy(session)
    copied["cart"].append(3)

    assert dict.__getitem__(session, "cart") == [1, 2]


# -- get_session --------------------------------------------------------------------------------


def http_scope(**extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/", "headers": [], **extra}


def test_get_session_returns_the_scopes_session(session: Session) -> None:
    assert get_session(http_scope(session=session)) is session


def test_get_session_marks_the_session_accessed(session: Session) -> None:
    get_session(http_scope(session=session))

    assert session.accessed


def test_get_session_accepts_a_starlette_request(session: Session) -> None:
    assert get_session(Request(http_scope(session=session))) is session


def test_get_session_accepts_a_starlette_websocket(session: Session) -> None:
    scope = {"type": "websocket", "path": "/", "headers": [], "session": session}

    assert get_session(WebSocket(scope, receive=_never, send=_never)) is session


async def _never(*_: object) -> Any:
    raise AssertionError("not expected to be called")


def test_get_session_without_middleware_raises_session_not_installed() -> None:
    with pytest.raises(SessionNotInstalled, match="SessionMiddleware"):
        get_session(http_scope())


def test_get_session_refuses_a_session_not_made_by_the_middleware() -> None:
    with pytest.raises(SessionNotInstalled):
        get_session(http_scope(session={"name": "alice"}))


def test_session_not_installed_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        get_session(http_scope())


def session_type_app(*, with_middleware: bool) -> Starlette:
    async def show_type(request: Request) -> JSONResponse:
        return JSONResponse(type(get_session(request)).__name__)

    app = Starlette(routes=[Route("/", show_type)])
    if with_middleware:
        app.add_middleware(SessionMiddleware, secret_key=SECRET)
    return app


def test_get_session_in_an_app_with_the_middleware_returns_a_session() -> None:
    client = TestClient(session_type_app(with_middleware=True))

    assert client.get("/").json() == "Session"


def test_get_session_in_an_app_without_the_middleware_raises() -> None:
    client = TestClient(session_type_app(with_middleware=False))

    with pytest.raises(SessionNotInstalled):
        client.get("/")


# -- before_save: hooks for views kept in another form ------------------------------------------


def test_before_save_hooks_run_once_in_order(session: Session) -> None:
    calls: list[str] = []
    session.before_save(lambda: calls.append("first"))
    session.before_save(lambda: calls.append("second"))

    session.run_before_save()
    session.run_before_save()

    assert calls == ["first", "second"]


def test_before_save_marks_the_session_accessed(session: Session) -> None:
    session.before_save(lambda: None)

    assert session.accessed


def hook_app() -> Starlette:
    async def set_late(request: Request) -> JSONResponse:
        session = get_session(request)
        session.before_save(lambda: session.update(late="written by the hook"))
        return JSONResponse("ok")

    async def show(request: Request) -> JSONResponse:
        return JSONResponse(dict(request.session))

    app = Starlette(routes=[Route("/set-late", set_late), Route("/show", show)])
    app.add_middleware(SessionMiddleware, secret_key=SECRET)
    return app


def test_what_a_before_save_hook_writes_reaches_the_cookie() -> None:
    client = TestClient(hook_app())

    client.get("/set-late")

    assert client.get("/show").json() == {"late": "written by the hook"}
