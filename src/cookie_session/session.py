"""The session object handlers see, and the typed way to get it."""

from __future__ import annotations

import sys
from _collections_abc import dict_items, dict_keys, dict_values
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import is_dataclass
from typing import Any, Final, Protocol

from pydantic import BaseModel, TypeAdapter

from cookie_session.exceptions import SessionNotInstalled
from cookie_session.types import Scope

__all__ = [
    "CSRF_SECRET_KEY",
    "MAX_AGE_KEY",
    "MAX_AGE_LIMIT",
    "STARTED_KEY",
    "HasScope",
    "Session",
    "get_session",
    "storable",
]

STARTED_KEY: Final = "_cs.started"
"""The reserved session key holding when the session started (seconds since the epoch), kept
only when ``max_lifetime`` is set: the absolute lifetime counts from it."""
MAX_AGE_KEY: Final = "_cs.max_age"
"""The reserved session key holding the session's own lifetime, set by
:meth:`Session.set_max_age` ("remember me"); absent, the configuration's ``max_age`` applies."""
CSRF_SECRET_KEY: Final = "_cs.csrf"  # noqa: S105  # a key's name, not a secret
"""The reserved session key holding the secret behind the session's CSRF tokens, set by the
first :func:`cookie_session.csrf_token` call (see :mod:`cookie_session.csrf`)."""
MAX_AGE_LIMIT: Final = 400 * 24 * 60 * 60
"""Browsers cap a cookie's lifetime at 400 days."""
_UNSET: Final = object()
DEFAULT_MAX_AGE: Final = 14 * 24 * 60 * 60
"""``SessionConfig.max_age``'s default (a test holds the two equal)."""

# Values a caller cannot change in place: handing one out cannot change the session.
_IMMUTABLE_TYPES: frozenset[type] = frozenset({str, int, float, bool, type(None)})


class Session(dict[str, Any]):
    """The session: a ``dict`` (so ``request.session`` works in Starlette and FastAPI) that notes
    how it was used, which lets the middleware skip work for sessions nobody touched.

    ``accessed`` is set by any read or write and adds ``Vary: Cookie`` to the response.
    ``exposed`` is set by any write, and by any read that hands out a value that can be changed
    in place (a list or a dict): only then does the middleware serialise the session to see
    whether its content changed, which is what decides whether a cookie is sent.
    ``modified`` is Starlette 1.x's flag: set by any write and by :meth:`mark_modified`.
    """

    # Class-level defaults: a session nobody touches costs no attribute writes at all.
    accessed: bool = False
    exposed: bool = False
    modified: bool = False
    resend: bool = False
    """Set by :meth:`mark_modified`: the cookie is sent again even if the content is the same."""
    regenerated: bool = False
    """Set by :meth:`regenerate`: the session starts afresh when the response starts."""
    session_id: str | None = None
    """The server-side store's ID for this session; ``None`` for sessions kept in the cookie."""
    configured_max_age: int | None = DEFAULT_MAX_AGE
    """The configuration's ``max_age``: what :attr:`max_age` is until :meth:`set_max_age`.
    Set on the class each request path makes its sessions of (see :func:`configured_class`)."""

    # Callables to run when the response starts, before the session is judged and signed.
    _before_save: list[Callable[[], None]] | None = None

    def before_save(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` when the response starts, just before the session is signed.

        For code that keeps a view of the session in another form (typed sessions do) and
        writes it back as late as possible. Hooks run in the order they were added.
        """
        self.accessed = True
        if self._before_save is None:
            self._before_save = []
        self._before_save.append(hook)

    def run_before_save(self) -> None:
        """Run the hooks added by :meth:`before_save`, once; the middleware calls this."""
        hooks, self._before_save = self._before_save, None
        for hook in hooks or ():
            hook()

    def mark_accessed(self) -> None:
        """Note that the session was looked at (Starlette's ``request.session`` calls this)."""
        self.accessed = True

    def mark_modified(self) -> None:
        """Send the cookie again on this response, with a fresh signing time, even if the
        content did not change: a manual "keep me signed in" (Starlette 1.x's API)."""
        self._write()
        self.resend = True

    def regenerate(self) -> None:
        """Keep the data but start the session afresh, as a login should (OWASP: renew the ID
        on any change of privilege).

        With a Redis store the session moves to a new ID when the response starts: the old
        ID's data is deleted in the same step and the cookie carries the new ID, so an ID
        planted before the login (session fixation) is worth nothing after it. In every mode
        the cookie is sent again, freshly signed. Without ``user_key`` (which does this on its
        own whenever the signed-in user changes), a login must call it.
        """
        self._write()
        self.regenerated = True
        self.resend = True
        dict.pop(self, STARTED_KEY, None)  # the lifetime starts again when it is saved
        dict.pop(self, CSRF_SECRET_KEY, None)  # and tokens handed out before are void

    def set_max_age(self, seconds: int | None) -> None:
        """Give this session its own lifetime instead of the configuration's ``max_age``
        ("remember me" for 30 days, or ``None``: a cookie that ends when the browser closes,
        the server still applying the configured ``max_age``). Kept across later requests;
        the cookie's ``Max-Age``, the server's age check and, with a store, the data's expiry
        follow it. The cookie is sent on this response.

        Raises :class:`TypeError` for a bool or a non-int, :class:`ValueError` outside
        1 .. 34560000 (400 days, the browsers' cap).
        """
        if seconds is not None:
            if isinstance(seconds, bool) or not isinstance(seconds, int):
                raise TypeError(
                    f"set_max_age takes whole seconds or None, not {type(seconds).__name__}"
                )
            if not 1 <= seconds <= MAX_AGE_LIMIT:
                raise ValueError(
                    f"set_max_age takes 1 to {MAX_AGE_LIMIT} seconds (400 days, the browsers' "
                    f"cap), got {seconds}"
                )
        self[MAX_AGE_KEY] = seconds
        self.resend = True

    @property
    def max_age(self) -> int | None:
        """The lifetime in force: :meth:`set_max_age`'s, else the configuration's."""
        value = dict.get(self, MAX_AGE_KEY, _UNSET)
        if value is _UNSET:
            return self.configured_max_age
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def _expose_all(self) -> None:
        self.accessed = True
        self.exposed = True

    def _write(self) -> None:
        self.accessed = True
        self.exposed = True
        self.modified = True

    # -- reads -------------------------------------------------------------------------------

    # A read that hands out a list or dict exposes the session: it may be changed in place.
    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        value = dict.__getitem__(self, key)
        if type(value) not in _IMMUTABLE_TYPES:
            self.exposed = True
        return value

    def get(self, key: str, default: Any = None, /) -> Any:
        self.accessed = True
        value = dict.get(self, key, default)
        if type(value) not in _IMMUTABLE_TYPES:
            self.exposed = True
        return value

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.accessed = True
        return dict.__len__(self)

    def __eq__(self, other: object) -> bool:
        self.accessed = True
        return dict.__eq__(self, other)

    __hash__ = None  # a dict is unhashable; defining __eq__ must not change that

    def keys(self) -> dict_keys[str, Any]:
        self.accessed = True
        return dict.keys(self)

    # values(), items() and copies give out the values themselves, which may be changed later.
    def values(self) -> dict_values[str, Any]:
        self._expose_all()
        return dict.values(self)

    def items(self) -> dict_items[str, Any]:
        self._expose_all()
        return dict.items(self)

    def copy(self) -> dict[str, Any]:
        self._expose_all()
        return dict(dict.items(self))

    def __or__(self, other: dict[Any, Any], /) -> dict[Any, Any]:
        self._expose_all()
        return dict(dict.items(self)) | other

    def __ror__(self, other: dict[Any, Any], /) -> dict[Any, Any]:
        self._expose_all()
        return other | dict(dict.items(self))

    def __reversed__(self) -> Iterator[str]:
        self.accessed = True
        return dict.__reversed__(self)

    def __repr__(self) -> str:
        return f"Session({dict.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # copy.copy / deepcopy / pickle go through here; a plain dict keeps nothing of ours.
        self._expose_all()
        return (dict, (dict(dict.items(self)),))

    # -- writes ------------------------------------------------------------------------------

    def __setitem__(self, key: str, value: Any) -> None:
        self._write()
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        self._write()
        dict.__delitem__(self, key)

    def setdefault(self, key: str, default: Any = None, /) -> Any:
        if dict.__contains__(self, key):
            return self[key]  # a read: nothing is written (Starlette's ``modified`` agrees)
        self._write()
        return dict.setdefault(self, key, default)

    def pop(self, key: str, /, *default: Any) -> Any:
        if dict.__contains__(self, key):  # a missing key: no flag set, as in Starlette's Session
            self._write()
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        self._write()
        return dict.popitem(self)

    def clear(self) -> None:
        self._write()
        dict.clear(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._write()
        dict.update(self, *args, **kwargs)

    def __ior__(self, other: Any) -> Session:  # type: ignore[override,misc]  # in-place |= returns the session itself, not a dict
        self._write()
        dict.update(self, other)
        return self


class HasScope(Protocol):
    """Anything carrying an ASGI scope: Starlette's, FastAPI's and Litestar's ``Request`` and
    ``WebSocket``. Read-only here, since Litestar declares its scopes as TypedDicts."""

    @property
    def scope(self) -> Mapping[str, Any]: ...


def get_session(connection: HasScope | Scope) -> Session:
    """The session of a request, websocket or ASGI scope.

    Raises :class:`~cookie_session.exceptions.SessionNotInstalled` when no
    :class:`~cookie_session.SessionMiddleware` handled the request.
    """
    scope = connection if isinstance(connection, MutableMapping) else connection.scope
    session = scope.get("session")
    if not isinstance(session, Session):
        raise SessionNotInstalled(
            "this request has no cookie_session.Session: add cookie_session.SessionMiddleware "
            "to the application (or move it outside whatever replaced scope['session'])"
        )
    session.mark_accessed()
    return session


def storable(session: object) -> Mapping[str, Any]:
    """What an application left in ``scope["session"]``, as the mapping that will be stored.

    A mapping is kept as it is; ``None`` and Litestar's ``Empty`` (``request.clear_session()``)
    are an empty session; a pydantic model or a dataclass (Litestar's ``set_session(model)``)
    becomes its JSON form. Anything else is an error: it is never dropped in silence.
    """
    if isinstance(session, Mapping):
        return session
    if session is None or _is_litestar_empty(session):
        return {}
    if isinstance(session, BaseModel):
        return session.model_dump(mode="json")
    if is_dataclass(session) and not isinstance(session, type):
        dumped = TypeAdapter(type(session)).dump_python(session, mode="json")
        if isinstance(dumped, dict):
            return dumped
    raise TypeError(
        f"scope['session'] holds a {type(session).__qualname__}, which cannot be stored in the "
        "session cookie: put a mapping, a pydantic model, a dataclass or None there"
    )


def _is_litestar_empty(value: object) -> bool:
    """Litestar's ``Empty`` sentinel, recognised without importing Litestar."""
    empty_module = sys.modules.get("litestar.types.empty")
    return empty_module is not None and value is getattr(empty_module, "Empty", None)


def configured_class(base: type[Session], max_age: int | None) -> type[Session]:
    """A subclass of ``base`` whose sessions know the configuration's ``max_age``: made once
    per request path, so that no request pays for telling each session; ``base`` itself for
    the default ``max_age`` (a class of its own costs a little on every request)."""
    if max_age == base.configured_max_age:
        return base
    return type(
        base.__name__, (base,), {"configured_max_age": max_age, "__module__": base.__module__}
    )
