"""Typed sessions: part of the session declared as a pydantic model, checked by mypy and pydantic.

``TypedSession(CartSession, key="cart")`` binds a model to one key of the session. In a handler,
``cart_session.load(request)`` (Starlette) or ``Depends(cart_session)`` (FastAPI) gives the
request's ``CartSession``: one instance per request, built from ``session["cart"]``. The handler
changes it like any object; its JSON form is written back into the session when the response
starts (through :meth:`Session.before_save`), so every change is kept, in-place ones too
(``cart.items.append(item)``), and the usual rule applies: a cookie is sent only if the session's
content changed. The plain :class:`SessionMiddleware` is all it needs.

Stored data that no longer fits the model (the model changed since the cookie was written) never
fails a request: see :meth:`TypedSession.load` for what is kept. Nothing here imports Starlette or
FastAPI, except when FastAPI itself asks for the dependency's signature.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, MutableMapping
from functools import partial
from typing import Any, Final, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from cookie_session.session import HasScope, Session, get_session
from cookie_session.types import Scope

__all__ = ["TypedSession"]

logger = logging.getLogger("cookie_session")

M = TypeVar("M", bound=BaseModel)

# The scope entry where the models loaded for the request are kept, by key.
_LOADED: Final = "cookie_session.typed"
_MISSING: Final = object()


def _json_form(model: BaseModel) -> dict[str, Any]:
    """What the session stores for ``model``: valid input for the same model again.

    A value put into a nested container in place (so never validated) that does not fit its
    field raises :class:`pydantic_core.PydanticSerializationError` rather than being stored.
    """
    return model.model_dump(mode="json", by_alias=True, round_trip=True, warnings="error")


def _aliases(field: FieldInfo) -> list[str]:
    """The names other than its own that a field is read by, when they are plain strings."""
    return [alias for alias in (field.alias, field.validation_alias) if isinstance(alias, str)]


class _LoadedModel:
    """A model handed out for one request, with what it held then, to see whether it changed."""

    __slots__ = ("json_form", "key", "model", "session")

    def __init__(self, session: Session, key: str, model: BaseModel) -> None:
        self.session = session
        self.key = key
        self.model = model
        self.json_form = _json_form(model)

    def save(self) -> None:
        """Write the model into the session if it changed since it was loaded."""
        json_form = _json_form(self.model)
        if json_form != self.json_form:
            self.session[self.key] = json_form
            self.json_form = json_form


def _save_all(loaded_models: Mapping[str, _LoadedModel]) -> None:
    for loaded in loaded_models.values():
        loaded.save()


class _FastAPISignature:
    """``__signature__`` of a :class:`TypedSession` instance: one parameter, the request.

    FastAPI fills a dependency's parameters by their annotations, and only Starlette's classes
    mean "the request"; ``HasScope`` would be read as a query parameter. Starlette is imported
    here, when FastAPI inspects the dependency, so that ``import cookie_session`` never imports it.
    On the class itself this is ``None``, which lets ``inspect`` describe the constructor as usual.
    """

    def __get__(self, instance: object, owner: type | None = None) -> inspect.Signature | None:
        if instance is None:
            return None
        from starlette.requests import HTTPConnection

        connection = inspect.Parameter(
            "connection", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HTTPConnection
        )
        return inspect.Signature([connection])


class TypedSession(Generic[M]):
    """The part of the session under ``key``, as an instance of the pydantic model ``model``.

    The model must validate assignment (``model_config = ConfigDict(validate_assignment=True)``)
    so that a wrong value fails where it is assigned, and every field must have a default, since
    a new visitor's session is empty. Both are checked here, when the application starts.
    """

    __slots__ = ("key", "model")

    __signature__ = _FastAPISignature()

    def __init__(self, model: type[M], *, key: str) -> None:
        if not model.model_config.get("validate_assignment", False):
            raise TypeError(
                f"{model.__name__} must set model_config = ConfigDict(validate_assignment=True), "
                "so that a wrong value fails where it is assigned, not when the response starts"
            )
        required = [name for name, field in model.model_fields.items() if field.is_required()]
        if required:
            raise TypeError(
                f"every field of {model.__name__} needs a default, since a new visitor's session "
                f"is empty; {', '.join(required)} has none"
            )
        self.model = model
        """The pydantic model the session's data under :attr:`key` is an instance of."""
        self.key = key
        """The session key the model's data is stored under, as a JSON object."""

    def __repr__(self) -> str:
        return f"TypedSession({self.model.__name__}, key={self.key!r})"

    def load(self, connection: HasScope | Scope) -> M:
        """The request's model: built from the session on the first call, the same one after.

        Stored data that does not fit the model never fails the request. A stored object keeps
        every field that still validates; a field whose value no longer does is reset to its
        default, and keys the model does not know are dropped (a field renamed without a
        ``validation_alias`` listing the old name counts as one dropped and one new field).
        Anything else (a stored list, a number, an object the model rejects as a whole) gives a
        model with every default. Either way a WARNING on logger ``cookie_session`` names the
        key and the fields reset, never the data, and the repaired data is stored at once, so
        the cookie takes the new shape on this response.

        Raises :class:`~cookie_session.exceptions.SessionNotInstalled` when the request did not
        go through :class:`~cookie_session.SessionMiddleware`, and :class:`TypeError` when
        another model is already loaded under the same key for this request.
        """
        # Every ASGI scope is a dict at run time, whatever type a framework declares for it.
        scope = cast(
            Scope, connection if isinstance(connection, MutableMapping) else connection.scope
        )
        session = get_session(scope)
        loaded_models: dict[str, _LoadedModel] | None = scope.get(_LOADED)
        if loaded_models is None:
            loaded_models = scope[_LOADED] = {}
            session.before_save(partial(_save_all, loaded_models))
        loaded = loaded_models.get(self.key)
        if loaded is None:
            loaded = loaded_models[self.key] = self._read(session)
        model = loaded.model
        if not isinstance(model, self.model):
            raise TypeError(
                f"session key {self.key!r} is already loaded as {type(model).__name__} in this "
                f"request, not as {self.model.__name__}"
            )
        return model

    async def __call__(self, connection: HasScope) -> M:
        """:meth:`load`, as a FastAPI dependency: ``Annotated[Model, Depends(typed_session)]``."""
        return self.load(connection)

    def _read(self, session: Session) -> _LoadedModel:
        # dict.get: the stored value is never handed out, so the session need not watch it.
        stored = dict.get(session, self.key, _MISSING)
        model = self.model() if stored is _MISSING else self._fit(stored)
        loaded = _LoadedModel(session, self.key, model)
        if stored is not _MISSING and stored != loaded.json_form:
            session[self.key] = _json_form(model)  # repaired, or in the model's current shape
        return loaded

    def _fit(self, stored: object) -> M:
        """The model for data the session holds, following the policy :meth:`load` describes."""
        try:
            return self.model.model_validate(stored)
        except ValidationError as error:
            problems = error.errors(include_url=False, include_context=False, include_input=False)
        failed = {problem["loc"][:1] for problem in problems}  # () when the whole input failed
        if isinstance(stored, dict) and () not in failed:
            failed_keys = {loc[0] for loc in failed}
            kept = {key: value for key, value in stored.items() if key not in failed_keys}
            try:
                model = self.model.model_validate(kept)
            except ValidationError:
                pass  # the fields left still fail together (a model validator): start afresh
            else:
                # Keys that are no field's name came from the cookie: they are data, not logged.
                fields = self.model.model_fields
                aliases = (alias for field in fields.values() for alias in _aliases(field))
                names = {*fields, *aliases}
                reset = sorted(str(key) for key in failed_keys if key in names)
                logger.warning(
                    "session[%r] no longer fits %s: kept what still fits; reset to defaults: %s",
                    self.key,
                    self.model.__name__,
                    ", ".join(reset) or "no field",
                )
                return model
        logger.warning(
            "session[%r] (a %s) no longer fits %s as a whole: every field starts from its default",
            self.key,
            type(stored).__name__,
            self.model.__name__,
        )
        return self.model()
