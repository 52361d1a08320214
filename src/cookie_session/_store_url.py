"""The check of ``store_url`` at start-up: a Redis URL redis-py can connect with.

No message quotes any part of the URL: its password may be anywhere in it (before the host, in
the user-name slot, or as a ``password=`` option), and a typo can move it elsewhere.
"""

from __future__ import annotations

import difflib
import inspect
import re
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import SecretStr
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from redis.asyncio import ConnectionPool

__all__ = ["check_store_url"]

_STORE_SCHEMES: Final = frozenset({"redis", "rediss", "unix"})
_DATABASE_PATH = re.compile(r"/?[0-9]*")  # nothing, "/" or a database number such as "/0"
# redis-py options the store depends on (bytes replies, its own retry policy): not for the URL.
_STORE_OWN_OPTIONS: Final = frozenset(
    {"connection_class", "decode_responses", "encoding", "encoding_errors", "parser_class", "retry"}
)


def _store_url_problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("store_url", message)


def check_store_url(url: SecretStr | None) -> SecretStr | None:
    """A Redis URL that redis-py can connect with.

    No message quotes any part of the URL: its password may be anywhere in it (before the host,
    or as a ``password=`` option), and a typo can move it elsewhere.
    """
    if url is None:
        return None
    text = url.get_secret_value()
    if not text.isprintable() or any(character.isspace() for character in text):
        raise _store_url_problem("must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises ValueError unless it is a number from 0 to 65535
    except ValueError:
        raise _store_url_problem("is not a valid URL: check its host and port") from None
    if parts.scheme not in _STORE_SCHEMES:
        raise _store_url_problem(
            "must start with redis:// (TCP), rediss:// (TCP with TLS) or unix:// (a Unix socket)"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise _store_url_problem(
                "a unix:// URL needs the socket's path, such as unix:///run/redis/redis.sock"
            )
    elif not _DATABASE_PATH.fullmatch(parts.path):
        raise _store_url_problem("its path must be a database number such as /0, or nothing")
    own_options = sorted(_STORE_OWN_OPTIONS.intersection(dict(parse_qsl(parts.query))))
    if own_options:
        raise PydanticCustomError(
            "store_url",
            "its query string sets {option}, which the store chooses itself",
            {"option": own_options[0]},
        )
    _check_redis_options(text)
    return url


def _check_redis_options(url: str) -> None:
    """That redis-py is installed, and accepts every option in the URL's query string; an
    option it refuses is named (its name only: the value may be a password)."""
    try:
        from redis.asyncio import ConnectionPool
    except ImportError:
        raise PydanticCustomError(
            "store_unavailable",
            "store_url needs redis-py, which is not installed: pip install 'cookie-session[redis]'",
        ) from None
    if _redis_accepts(ConnectionPool, url):
        return
    base, _, query = url.partition("?")
    known = _known_options()
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _redis_accepts(ConnectionPool, f"{base}?{urlencode({name: value})}"):
            continue
        # Named only when it is, or nearly is, an option of redis-py's: an unknown name could
        # be a password pasted in the wrong place.
        if name in known:
            raise PydanticCustomError(
                "store_url",
                "its query string's option {option} has a value redis-py cannot read",
                {"option": name},
            )
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            raise PydanticCustomError(
                "store_url",
                "its query string's option {option} is not one redis-py knows: did you mean "
                "{known}?",
                {"option": name, "known": close[0]},
            )
        break
    raise _store_url_problem(
        "has an option in its query string that redis-py does not know or cannot read"
    )


def _known_options() -> list[str]:
    """The query-string options redis-py's URLs take, and its connections' keyword arguments."""
    from redis.asyncio.connection import URL_QUERY_ARGUMENT_PARSERS, Connection

    parameters = inspect.signature(Connection.__init__).parameters
    return sorted({*URL_QUERY_ARGUMENT_PARSERS, *parameters} - {"self", "args", "kwargs"})


def _redis_accepts(pool_class: type[ConnectionPool], url: str) -> bool:
    try:
        pool = pool_class.from_url(url)
        # Building a connection opens nothing; it is where redis-py checks the options.
        pool.connection_class(**pool.connection_kwargs)
    except Exception:  # whatever redis-py raises: its messages may quote the option's value
        return False
    return True
