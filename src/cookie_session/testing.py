"""Sessions for tests: put one into a test client, or read one back, without driving a login
through the application::

    from cookie_session.testing import client_session, set_client_session

    client = TestClient(app)
    set_client_session(client, config, {"user": "ada"})  # the test starts signed in
    client.post("/cart", json={"item": "tea"})
    assert client_session(client, config)["cart"] == ["tea"]

The cookie is made as the middleware makes it, by the configuration's codec
(:func:`cookie_session.cookie.make_codec`: Starlette's signed format, or encrypted with
``encrypt=True``), and read as the middleware reads it. It goes into the client's cookie jar
where the application's own Set-Cookie would put it (the configuration's name, ``Domain``,
``Path`` and ``Secure``), so the application's next Set-Cookie replaces it instead of adding a
second session cookie beside it. The clients: httpx2's and httpx's ``Client`` and
``AsyncClient`` (Starlette's and FastAPI's ``TestClient`` is an ``httpx2.Client``; Litestar's
``TestClient`` and ``AsyncTestClient`` are httpx ones) and Quart's test client.

With ``store_url`` set, the cookie carries only the signed ID of a session kept in Redis, so
putting a session into a client means writing it to Redis: the awaitable forms
(:func:`asession_cookie`, :func:`aread_session_cookie`, :func:`aset_client_session`,
:func:`aclient_session`) do, and work in every mode; the synchronous ones refuse such a
configuration with a :class:`TypeError` naming the awaitable one.

Nothing here imports a web framework or an HTTP client: a client is recognised by the classes of
the modules already imported (a client exists only once its module does).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Mapping
from http.cookiejar import Cookie, CookieJar
from typing import TYPE_CHECKING, Any, Protocol, cast

from cookie_session._store_flow import ID_FIELD
from cookie_session.codec import SessionCodec, encode_json_value
from cookie_session.cookie import SessionCookie
from cookie_session.exceptions import CookieRejected, SessionTooLarge
from cookie_session.session import MAX_AGE_KEY
from cookie_session.store import RedisSessionStore, is_session_id, user_of_field

if TYPE_CHECKING:
    from cookie_session.codec import VerifiedCookie
    from cookie_session.config import SessionConfig

__all__ = [
    "aclient_session",
    "aread_session_cookie",
    "asession_cookie",
    "aset_client_session",
    "client_session",
    "read_session_cookie",
    "session_cookie",
    "set_client_session",
]

# The classes of the test clients whose cookie jar these helpers fill: (module, class name).
_HTTPX_CLIENTS = (
    ("httpx2", "Client"),
    ("httpx2", "AsyncClient"),
    ("httpx", "Client"),
    ("httpx", "AsyncClient"),
)
_QUART_CLIENT = ("quart.testing.client", "QuartClient")


# -- cookie values ---------------------------------------------------------------------------


def session_cookie(config: SessionConfig, data: Mapping[str, Any]) -> str:
    """The session cookie value that carries ``data`` under ``config``, signed now (or
    encrypted, with ``encrypt=True``), as the middleware would send it.

    Raises :class:`TypeError` naming the key whose value JSON cannot hold, and
    :class:`~cookie_session.SessionTooLarge` for a session the middleware could not send (its
    Set-Cookie over 4096 bytes). With ``store_url`` set: a :class:`TypeError` (use
    :func:`asession_cookie`).
    """
    _refuse_store(config, "session_cookie")
    return _cookie_value(config, data)


def read_session_cookie(config: SessionConfig, value: str) -> dict[str, Any]:
    """The session a cookie value carries, read as the middleware of ``config`` reads it.

    Raises :class:`ValueError` saying why the middleware would refuse the cookie (a bad
    signature, expired, not a session...). With ``store_url`` set: a :class:`TypeError` (use
    :func:`aread_session_cookie`).
    """
    _refuse_store(config, "read_session_cookie")
    return _verified(config, value).data


async def asession_cookie(config: SessionConfig, data: Mapping[str, Any]) -> str:
    """:func:`session_cookie` in every mode: with ``store_url`` set, ``data`` is saved in
    Redis as a new session (indexed under its user when ``user_key`` is set) and the value is
    the signed cookie carrying its ID.

    With a store, raises :class:`ValueError` for an empty session (a store keeps none: leave
    the client without a cookie instead), :class:`~cookie_session.SessionTooLarge` over
    ``store_max_bytes``, and :class:`~cookie_session.SessionStoreUnavailable` when Redis fails.
    """
    if config.store_url is None:
        return session_cookie(config, data)
    fields = _stored_fields(config, data)
    user = user_of_field(fields.get(config.user_key)) if config.user_key is not None else None
    own = _own_max_age(json.loads(fields[MAX_AGE_KEY])) if MAX_AGE_KEY in fields else None
    store = RedisSessionStore.from_config(config)
    try:
        session_id = await store.create(fields, user, lifetime=own)
    finally:
        await store.aclose()
    # As the store's request path sends it: the session's own lifetime rides in the cookie, so
    # the cookie's age is checked against it rather than against the configuration's max_age.
    carried: dict[str, object] = {ID_FIELD: session_id}
    if own is not None:
        carried[MAX_AGE_KEY] = own
    return _cookie_value(config, carried)


async def aread_session_cookie(config: SessionConfig, value: str) -> dict[str, Any]:
    """:func:`read_session_cookie` in every mode: with ``store_url`` set, the session Redis
    holds under the cookie's signed ID.

    Raises :class:`ValueError` when the middleware would refuse the cookie, and, with a store,
    when the cookie carries no session ID or Redis holds no session under it (expired, revoked,
    never saved); :class:`~cookie_session.SessionStoreUnavailable` when Redis fails.
    """
    if config.store_url is None:
        return read_session_cookie(config, value)
    data = _verified(config, value).data
    # {"sid": ID}, and the session's own lifetime when it has one (set_max_age).
    plain = len(data) == 1 or (len(data) == 2 and MAX_AGE_KEY in data)
    session_id = data.get(ID_FIELD) if plain else None
    if not is_session_id(session_id):
        raise ValueError(
            "the session cookie carries no session ID: with store_url set, the cookie holds only "
            "the signed ID of a session kept in Redis"
        )
    assert isinstance(session_id, str)
    store = RedisSessionStore.from_config(config)
    try:
        fields = await store.load(session_id)
    finally:
        await store.aclose()
    if fields is None:
        raise ValueError(
            "the store holds no session under the cookie's ID: it expired, was revoked, or was "
            "never saved"
        )
    return {key: json.loads(text) for key, text in fields.items()}


# -- test clients --------------------------------------------------------------------------


def set_client_session(client: object, config: SessionConfig, data: Mapping[str, Any]) -> None:
    """Put the session cookie carrying ``data`` into ``client``'s cookie jar, where the
    application's own Set-Cookie for ``config`` would put it (replacing any it set).

    ``client``: an httpx2 or httpx ``Client``/``AsyncClient`` (Starlette's, FastAPI's and
    Litestar's test clients) or Quart's test client; anything else is a :class:`TypeError`.
    Raises as :func:`session_cookie` does; with ``store_url`` set, a :class:`TypeError` (use
    :func:`aset_client_session`).
    """
    _refuse_store(config, "set_client_session")
    jar, host = _jar_of(client)
    _put(jar, host, config, _cookie_value(config, data), data)


def client_session(client: object, config: SessionConfig) -> dict[str, Any]:
    """The session ``client``'s cookie jar holds for ``config`` (``{}`` when it holds no
    session cookie), read as the middleware would read it.

    Raises :class:`ValueError` when the middleware would refuse the cookie; with ``store_url``
    set, a :class:`TypeError` (use :func:`aclient_session`).
    """
    _refuse_store(config, "client_session")
    jar, host = _jar_of(client)
    value = _value_in(jar, host, config)
    return {} if value is None else read_session_cookie(config, value)


async def aset_client_session(
    client: object, config: SessionConfig, data: Mapping[str, Any]
) -> None:
    """:func:`set_client_session` in every mode: with ``store_url`` set, ``data`` is saved in
    Redis first (see :func:`asession_cookie`)."""
    jar, host = _jar_of(client)  # a wrong client is refused before anything is saved
    _put(jar, host, config, await asession_cookie(config, data), data)


async def aclient_session(client: object, config: SessionConfig) -> dict[str, Any]:
    """:func:`client_session` in every mode: with ``store_url`` set, the session Redis holds
    under the ID of the client's cookie (see :func:`aread_session_cookie`)."""
    jar, host = _jar_of(client)
    value = _value_in(jar, host, config)
    return {} if value is None else await aread_session_cookie(config, value)


# -- internals -----------------------------------------------------------------------------


def _refuse_store(config: SessionConfig, name: str) -> None:
    if config.store_url is not None:
        raise TypeError(
            f"{name}() cannot reach Redis, and with store_url set the session lives there: "
            f"await a{name}() instead"
        )


def _cookie_value(config: SessionConfig, data: Mapping[str, Any]) -> str:
    """``data`` signed (or sealed) as the middleware of ``config`` would send it: by the
    cookie's own Set-Cookie, whose size limit (SessionTooLarge) counts the Max-Age it carries,
    the session's own (set_max_age) if it has one."""
    cookie = SessionCookie(config)
    return cookie.set({}, cookie.codec.serialise(data), cookie.max_age_for(data, None))


def _verified(config: SessionConfig, value: str) -> VerifiedCookie:
    # SessionCookie.verify, not the codec's alone: a session with a lifetime of its own
    # (set_max_age) is judged by it, longer or shorter than the configuration's max_age.
    try:
        return SessionCookie(config).verify(value.encode("utf-8"))
    except CookieRejected as rejection:
        raise ValueError(
            f"the session cookie is refused ({rejection.kind}): {rejection.reason}"
        ) from rejection


def _stored_fields(config: SessionConfig, data: Mapping[str, Any]) -> dict[str, str]:
    """The session as the store keeps it: each top-level key and its value's JSON."""
    # Through the cookie's JSON: a value JSON cannot hold is a TypeError naming its key, and
    # keys that are not strings are named as JSON names them, as the middleware does.
    as_json: dict[str, Any] = json.loads(SessionCodec.serialise(data))
    if not as_json:
        raise ValueError(
            "an empty session is no session in the store: leave the client without a session "
            "cookie instead"
        )
    fields = {key: encode_json_value(value) for key, value in as_json.items()}
    size = sum(len(key.encode()) + len(text) for key, text in fields.items())
    if size > config.store_max_bytes:
        raise SessionTooLarge(size, config.store_max_bytes, stored=True)
    return fields


class _Host(Protocol):
    @property
    def host(self) -> str: ...


class _HttpxCookies(Protocol):
    @property
    def jar(self) -> CookieJar: ...


class _HttpxClient(Protocol):
    @property
    def cookies(self) -> _HttpxCookies: ...

    @property
    def base_url(self) -> _Host: ...


class _QuartApp(Protocol):
    @property
    def config(self) -> Mapping[str, Any]: ...


class _QuartClient(Protocol):
    cookie_jar: CookieJar | None

    @property
    def app(self) -> _QuartApp: ...


def _jar_of(client: object) -> tuple[CookieJar, str]:
    """The client's cookie jar, and the host its requests go to."""
    if _is_instance(client, *_QUART_CLIENT):
        quart_client = cast(_QuartClient, client)
        if quart_client.cookie_jar is None:
            raise TypeError("this Quart test client keeps no cookies (made with use_cookies=False)")
        # The Host header Quart's test client sends, whose host it files cookies under.
        server_name = quart_client.app.config.get("SERVER_NAME") or "localhost"
        return quart_client.cookie_jar, re.sub(r":\d+$", "", server_name)
    if any(_is_instance(client, module, name) for module, name in _HTTPX_CLIENTS):
        httpx_client = cast(_HttpxClient, client)
        return httpx_client.cookies.jar, httpx_client.base_url.host
    raise TypeError(
        "expected a test client with a cookie jar: an httpx2 or httpx Client or AsyncClient "
        "(Starlette's, FastAPI's or Litestar's TestClient) or Quart's test client, not "
        f"{type(client).__qualname__}"
    )


def _is_instance(client: object, module: str, name: str) -> bool:
    """Whether ``client`` is a ``module.name``, without importing ``module``."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None)
    return isinstance(cls, type) and isinstance(client, cls)


def _jar_domain(config: SessionConfig, host: str) -> str:
    """The domain a cookie jar files the application's session cookie under: the ``Domain``
    attribute with a leading dot, or else the request's host as ``http.cookiejar`` names it
    (``testserver`` is ``testserver.local``)."""
    if config.domain is not None:
        return "." + config.domain.lstrip(".")
    if not host:  # a client without a base URL: a cookie for any host
        return ""
    name = (f"[{host}]" if ":" in host else host).lower()
    return name if "." in name else name + ".local"


def _own_max_age(value: object) -> int | None:
    """A session's own lifetime as :meth:`Session.set_max_age` stores it, else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _put(
    jar: CookieJar, host: str, config: SessionConfig, value: str, data: Mapping[str, Any]
) -> None:
    """Put ``value``, the cookie carrying ``data``, in ``jar`` as the application's
    Set-Cookie would have: it expires with the session's own lifetime when it has one."""
    domain = _jar_domain(config, host)
    max_age = SessionCookie(config).max_age_for(data, None)
    jar.set_cookie(
        Cookie(
            version=0,
            name=config.session_cookie,
            value=value,
            port=None,
            port_specified=False,
            domain=domain,
            domain_specified=config.domain is not None,
            domain_initial_dot=config.domain is not None and config.domain.startswith("."),
            path=config.path,
            path_specified=True,
            secure=config.https_only,
            expires=None if max_age is None else int(time.time()) + max_age,
            discard=max_age is None,
            comment=None,
            comment_url=None,
            rest={"HttpOnly": ""},
        )
    )


def _value_in(jar: CookieJar, host: str, config: SessionConfig) -> str | None:
    """The value of the session cookie ``jar`` holds where :func:`_put` would put it."""
    domain = _jar_domain(config, host)
    for cookie in jar:
        if (
            cookie.name == config.session_cookie
            and cookie.domain == domain
            and cookie.path == config.path
        ):
            value: str | None = cookie.value
            return value
    return None
