"""The ASGI types the middleware speaks, declared once for the whole package.

``Scope``, ``Message``, ``Receive`` and ``Send`` are what this package's own code works with:
mutable mappings, as Starlette declares them (an ASGI server hands over plain dicts).

``ASGIApp``, ``AnyScope``, ``AnyReceive`` and ``AnySend`` are the boundary with frameworks, which
disagree on these types: Starlette and FastAPI declare scopes and messages as
``MutableMapping[str, Any]``; Litestar, Quart (Hypercorn) and asgiref as TypedDicts. For one
middleware to wrap, and be used as, any of their applications without a cast, ``Any`` stands
exactly where no other type can serve every framework at once:

- a scope: the middleware writes the session into it, and mypy knows no writable type that a
  TypedDict can be passed as;
- a message handed to a ``send`` (the server's, or the one the middleware gives the
  application): the middleware adds headers to it, and each framework's ``send`` accepts only
  its own message type, so nothing but ``Any`` is a subtype of all of them;
- what the application's ``receive`` returns, for the same reason seen from the application.

What the server's ``receive`` returns needs no ``Any``: every framework's message is a
``Mapping[str, object]``. Starlette's own middleware factory type (``starlette.middleware``)
makes the same choices for the same reason.
"""

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, TypeAlias

__all__ = [
    "ASGIApp",
    "AnyReceive",
    "AnyScope",
    "AnySend",
    "Message",
    "Receive",
    "Scope",
    "Send",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

AnyScope: TypeAlias = Any
"""A scope as any framework declares it: a mutable mapping or a TypedDict."""
AnyReceive = Callable[[], Awaitable[Mapping[str, object]]]
"""The ``receive`` any server or framework calls an application with."""
AnySend = Callable[[Any], Awaitable[None]]
"""The ``send`` any server or framework calls an application with, or hands to one."""
ASGIApp = Callable[[AnyScope, Callable[[], Awaitable[Any]], AnySend], Awaitable[None]]
"""Any framework's ASGI application (Starlette, FastAPI, Litestar, Quart or a bare callable)."""
