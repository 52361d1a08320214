"""The check of ``store_url`` at start-up: a Redis URL redis-py can connect with.

No message quotes any part of the URL: its password may be anywhere in it (before the host, in
the user-name slot, or as a ``password=`` option), and a typo can move it elsewhere.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from pydantic import SecretStr
from pydantic_core import PydanticCustomError

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
    """That redis-py is installed, and accepts every option in the URL's query string."""
    try:
        from redis.asyncio import ConnectionPool
    except ImportError:
        raise PydanticCustomError(
            "store_unavailable",
            "store_url needs redis-py, which is not installed: pip install 'cookie-session[redis]'",
        ) from None
    try:
        pool = ConnectionPool.from_url(url)
        # Building a connection opens nothing; it is where redis-py checks the options.
        pool.connection_class(**pool.connection_kwargs)
    except Exception:  # whatever redis-py raises: its messages may quote the option's value
        raise _store_url_problem(
            "has an option in its query string that redis-py does not know or cannot read"
        ) from None
