"""The check of ``store_url`` at start-up: a Redis URL redis-py can connect with.

Besides redis-py's own forms (``redis://``, ``rediss://``, ``unix://``: one server), two with a
list of hosts, which :func:`urllib.parse.urlsplit` cannot read (``h1:1,h2:2`` is no port):

- ``redis+cluster://[user:password@]h1:p1,h2:p2[/0][?options]``: seed nodes of a Redis Cluster
  (database 0 only); the options are redis-py's ``RedisCluster``'s.
- ``redis+sentinel://[user:password@]h1[:26379],h2[:port]/SERVICE[/DB][?options]``: the
  sentinels watching the primary named SERVICE; ``sentinel_``-prefixed options are for the
  sentinels themselves (``sentinel_password``...), the others for the primary.

``rediss+`` is the same with TLS. :func:`split_hosts_url` reads them, here and where the
client is built (:mod:`cookie_session._store_client`).

No message quotes any part of the URL: its password may be anywhere in it (before the host, in
the user-name slot, or as a ``password=`` option), and a typo can move it elsewhere.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import SecretStr
from pydantic_core import PydanticCustomError

__all__ = ["HostsUrl", "check_store_url", "split_hosts_url"]

_STORE_SCHEMES: Final = frozenset({"redis", "rediss", "unix"})
_HOSTS_SCHEMES: Final = {
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
}
_DEFAULT_PORTS: Final = {"cluster": 6379, "sentinel": 26379}
_SERVICE_PATH = re.compile(r"/(?P<service>[^/]+)(?:/(?P<db>[0-9]+))?/?")
_DATABASE_PATH = re.compile(r"/?[0-9]*")  # nothing, "/" or a database number such as "/0"
# redis-py options the store depends on (bytes replies, its own retry policy): not for the URL.
_STORE_OWN_OPTIONS: Final = frozenset(
    {"connection_class", "decode_responses", "encoding", "encoding_errors", "parser_class", "retry"}
)


def _store_url_problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("store_url", message)


@dataclasses.dataclass(frozen=True)
class HostsUrl:
    """A ``redis+cluster://`` or ``redis+sentinel://`` URL, read."""

    kind: str
    """``"cluster"`` or ``"sentinel"``."""
    tls: bool
    credentials: str
    """Everything before the host list's ``@`` (``user:password``), with the ``@``; or ``""``."""
    hosts: tuple[tuple[str, int], ...]
    service: str | None
    """The primary's name, for Sentinel."""
    database: int
    query: str

    def server_url(self, query: str | None = None, *, credentials: bool = True) -> str:
        """A plain URL of the same credentials, database and options (or ``query``), for
        redis-py's own reading of them; its host is the first of the list."""
        host, port = self.hosts[0]
        host = f"[{host}]" if ":" in host else host
        query = self.query if query is None else query
        scheme = "rediss" if self.tls else "redis"
        user_info = self.credentials if credentials else ""
        return f"{scheme}://{user_info}{host}:{port}/{self.database}" + (
            f"?{query}" if query else ""
        )


def split_hosts_url(text: str) -> HostsUrl | None:
    """``text`` read as a URL with a list of hosts; ``None`` for any other scheme.

    Raises PydanticCustomError, quoting nothing of the URL, when it is not well formed.
    """
    scheme, separator, rest = text.partition("://")
    if not separator or scheme not in _HOSTS_SCHEMES:
        return None
    kind, tls = _HOSTS_SCHEMES[scheme]
    credentials, at, rest = rest.rpartition("@")  # a password may hold "@", "/" or "?"
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        hosts = tuple(
            _host_and_port(host, _DEFAULT_PORTS[kind]) for host in parts.netloc.split(",")
        )
    except ValueError:
        raise _store_url_problem(
            f"is not a valid {scheme}:// URL: check its hosts and ports "
            f"(host:port, separated by commas)"
        ) from None
    service = None
    database = 0
    if kind == "cluster":
        if not _DATABASE_PATH.fullmatch(parts.path):
            raise _store_url_problem(
                "its path must be nothing or /0: a Redis Cluster has database 0 only"
            )
        if parts.path.strip("/") not in ("", "0"):
            raise _store_url_problem(
                "a Redis Cluster has database 0 only: its path must be /0 or nothing"
            )
    else:
        path = _SERVICE_PATH.fullmatch(parts.path)
        if path is None:
            raise _store_url_problem(
                f"a {scheme}:// URL names the primary's service after its hosts, with an "
                f"optional database number, such as {scheme}://h1,h2:26380/mymaster/0"
            )
        service = path["service"]
        database = int(path["db"] or 0)
    return HostsUrl(kind, tls, credentials + at, hosts, service, database, parts.query)


def _host_and_port(text: str, default_port: int) -> tuple[str, int]:
    """``host[:port]`` (IPv6 in brackets); ValueError when it is not one."""
    parts = urlsplit(f"//{text}")
    if not parts.hostname or parts.username is not None or parts.path or parts.query:
        raise ValueError("not a host")
    return parts.hostname, parts.port or default_port


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
    hosts_url = split_hosts_url(text)
    if hosts_url is not None:
        _check_own_options(hosts_url.query)
        _check_hosts_url_options(hosts_url)
        return url
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # raises ValueError unless it is a number from 0 to 65535
    except ValueError:
        raise _store_url_problem("is not a valid URL: check its host and port") from None
    if parts.scheme not in _STORE_SCHEMES:
        raise _store_url_problem(
            "must start with redis:// (TCP), rediss:// (TCP with TLS), unix:// (a Unix socket), "
            "redis+cluster:// (a Redis Cluster) or redis+sentinel:// (a primary watched by "
            "Sentinel), or rediss+ for either with TLS"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise _store_url_problem(
                "a unix:// URL needs the socket's path, such as unix:///run/redis/redis.sock"
            )
    elif not _DATABASE_PATH.fullmatch(parts.path):
        raise _store_url_problem("its path must be a database number such as /0, or nothing")
    _check_own_options(parts.query)
    _require_redis_py()
    _check_redis_options(text, _pool_accepts)
    return url


def _check_own_options(query: str) -> None:
    own_options = sorted(_STORE_OWN_OPTIONS.intersection(dict(parse_qsl(query))))
    if own_options:
        raise PydanticCustomError(
            "store_url",
            "its query string sets {option}, which the store chooses itself",
            {"option": own_options[0]},
        )


def _require_redis_py() -> None:
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise PydanticCustomError(
            "store_unavailable",
            "store_url needs redis-py, which is not installed: pip install 'cookie-session[redis]'",
        ) from None


def _check_hosts_url_options(url: HostsUrl) -> None:
    """The options of a cluster's or a Sentinel's URL, as redis-py reads them."""
    _require_redis_py()
    if url.kind == "cluster":
        _check_redis_options(url.server_url(), _cluster_accepts)
        return
    options = parse_qsl(url.query, keep_blank_values=True)
    # The primary's options as a server's; the sentinels' (sentinel_*) likewise, unprefixed.
    _check_redis_options(
        url.server_url(
            urlencode([item for item in options if not item[0].startswith("sentinel_")])
        ),
        _pool_accepts,
    )
    sentinels = [
        (name.removeprefix("sentinel_"), value)
        for name, value in options
        if name.startswith("sentinel_")
    ]
    _check_redis_options(url.server_url(urlencode(sentinels)), _pool_accepts, prefix="sentinel_")


def _check_redis_options(url: str, accepts: Callable[[str], bool], prefix: str = "") -> None:
    """That redis-py accepts every option in the URL's query string; an option it refuses is
    named (its name only, with ``prefix``: the value may be a password)."""
    if accepts(url):
        return
    base, _, query = url.partition("?")
    known = [f"{prefix}{option}" for option in _known_options()]
    for name, value in parse_qsl(query, keep_blank_values=True):
        if accepts(f"{base}?{urlencode({name: value})}"):
            continue
        name = f"{prefix}{name}"
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


def _pool_accepts(url: str) -> bool:
    from redis.asyncio import ConnectionPool

    try:
        pool = ConnectionPool.from_url(url)
        # Building a connection opens nothing; it is where redis-py checks the options.
        pool.connection_class(**pool.connection_kwargs)
    except Exception:  # whatever redis-py raises: its messages may quote the option's value
        return False
    return True


def _cluster_accepts(url: str) -> bool:
    from redis.asyncio.cluster import RedisCluster

    try:
        RedisCluster.from_url(url)  # connects on first use only
    except Exception:  # whatever redis-py raises: its messages may quote the option's value
        return False
    return True
