"""CSRF tokens kept in the session, and the check that refuses unsafe requests without one.

The session holds one random secret under the reserved key ``"_cs.csrf"``
(:data:`~cookie_session.session.CSRF_SECRET_KEY`), created by the first :func:`csrf_token` call,
so sessions that never ask for a token carry no trace of the feature. A token is never the secret
itself: each call draws a fresh random mask and gives ``mask + (secret XOR mask)`` in hex, so a
page that reflects the token next to attacker-chosen text leaks nothing a compression side
channel (BREACH) could add up across responses, and every token handed out verifies until the
secret changes (:meth:`Session.regenerate` drops it). Django masks its tokens the same way.

With ``csrf=True``, :class:`SessionMiddleware`'s request path hands :class:`CsrfCheck` each
request it must check, with ``scope["session"]`` already the request's session: an ``http``
request whose method is not GET, HEAD, OPTIONS or TRACE, and whose path starts with no
``csrf_exempt`` prefix, must carry a token of its session in the ``csrf_header`` header or in the
``csrf_field`` field of its form, or it is answered ``403`` and the application is not called. A
form body read for the check is handed to the application unchanged.

Quart takes its session from its own hooks, not from the scope: :func:`check_quart_requests`
installs the same check as a ``before_request`` hook. Multipart forms are read with
python-multipart (the ``csrf`` extra), imported when the first such form arrives.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Mapping,
    MutableMapping,
)
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import parse_qsl

from cookie_session.session import CSRF_SECRET_KEY
from cookie_session.types import AnyReceive, AnyScope, AnySend, ASGIApp

if TYPE_CHECKING:
    from quart import Quart
    from quart.wrappers import Request, Response

    from cookie_session.config import SessionConfig
    from cookie_session.cookie import SessionCookie
    from cookie_session.stats import Counters

__all__ = [
    "CSRF_SECRET_KEY",
    "FORM_LIMIT",
    "CsrfCheck",
    "check_quart_requests",
    "csrf_token",
    "verify_csrf_token",
]

logger = logging.getLogger("cookie_session")

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that must not change anything (RFC 9110), so they are not checked."""
FORM_LIMIT: Final = 1024 * 1024
"""The largest form body (bytes) read to find the token; a bigger form must send the header."""
FORM_TYPES: Final = frozenset({b"application/x-www-form-urlencoded", b"multipart/form-data"})

MISSING: Final = "CSRF token missing"
INVALID: Final = "CSRF token invalid"

# 24 bytes: 192 random bits (OWASP asks at least 128 of a session's secrets; Django's CSRF secret
# has about 190). A token is mask + masked secret in lower-case hex, 96 characters, and so is the
# secret kept in the session, 48: hex is what CPython decodes fastest (bytes.fromhex), and every
# character of it is URL-safe.
_SECRET_BYTES: Final = 24
_SECRET_CHARACTERS: Final = 2 * _SECRET_BYTES
_TOKEN_CHARACTERS: Final = 4 * _SECRET_BYTES
_SECRET_BITS: Final = 8 * _SECRET_BYTES
_LOW_BITS: Final = (1 << _SECRET_BITS) - 1
_DECODED_BYTES: Final = 3 * _SECRET_BYTES
"""What a token and a secret decode to together: mask, masked secret, secret."""
_SECRET_START: Final = 2 * _SECRET_BYTES
_MASK_SHIFT: Final = 2 * _SECRET_BITS
# Bound once: looked up on their types each call, they would be made anew each time.
_from_hex: Final = bytes.fromhex
_int_from_bytes: Final = int.from_bytes


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, for a form's hidden field or a ``<meta>`` tag.

    Creates the session's secret when it has none (a write: the cookie is sent). Each call
    returns a freshly masked form of the same secret, and every one verifies until the secret
    changes (:meth:`Session.regenerate`; with a store and ``user_key``, a change of user).
    96 lower-case hex digits (``0-9 a-f``), safe in a URL, a form or a header as they are.
    """
    secret = _secret(session.get(CSRF_SECRET_KEY))
    if secret is None:
        secret = secrets.token_bytes(_SECRET_BYTES)
        session[CSRF_SECRET_KEY] = secret.hex()
    mask = secrets.token_bytes(_SECRET_BYTES)
    return (mask + _xor(mask, secret)).hex()


def verify_csrf_token(session: object, token: str | None) -> bool:
    """Whether ``token`` is a token of ``session``'s secret, compared in constant time.

    ``False`` for no token, a malformed one, and a session without a secret (or no session).
    Reading the session this way does not count as the application's use of it.
    """
    if token is None or not token.isascii():
        return False
    # dict.get: this look at a Session is no use of it (no Vary, no flags).
    if isinstance(session, dict):
        stored = dict.get(session, CSRF_SECRET_KEY)
    elif isinstance(session, Mapping):
        stored = session.get(CSRF_SECRET_KEY)
    else:
        return False
    return _verifies(stored, token.encode("ascii"))


def _verifies(stored: object, token: bytes) -> bool:
    """Whether ``token``, as a request carries it (bytes), is a token of the secret a session
    holds (``stored``: its hex, or whatever else the session holds under the key).

    The check's own path: every request it lets through pays for it, so it is written for
    speed (measured with benchmarks/overhead.py's csrf_post and instructions.py's ``post csrf``,
    docs/performance.md). The token and the secret are decoded together, in one call of
    ``bytes.fromhex``: a token is exactly 96 characters, and only 96 hex digits and the
    secret's 48 decode to the 72 bytes of mask, masked secret and secret (a space, which
    ``fromhex`` skips between bytes, leaves too few; anything else not a hex digit is refused
    by it). Hex digits are read in either case. The unmasking is one XOR of integers; the
    comparison is hmac.compare_digest's.
    """
    if not isinstance(stored, str) or len(token) != _TOKEN_CHARACTERS:
        return False
    try:
        raw = _from_hex(token.decode("ascii") + stored)
    except ValueError:  # not hex, or not ASCII (UnicodeDecodeError is a ValueError)
        return False
    if len(raw) != _DECODED_BYTES:
        return False
    # The mask in the highest 192 bits, the masked secret in the next, the secret in the lowest.
    bits = _int_from_bytes(raw)
    unmasked = (bits >> _MASK_SHIFT) ^ (bits >> _SECRET_BITS & _LOW_BITS)
    return hmac.compare_digest(unmasked.to_bytes(_SECRET_BYTES), raw[_SECRET_START:])


def _secret(stored: object) -> bytes | None:
    """The secret a session holds, or ``None`` when it holds none (or something else): the 24
    bytes that its 48 hex digits spell."""
    if not isinstance(stored, str) or len(stored) != _SECRET_CHARACTERS:
        return None
    try:
        raw = bytes.fromhex(stored)
    except ValueError:
        return None
    return raw if len(raw) == _SECRET_BYTES else None


def _xor(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left) ^ int.from_bytes(right)).to_bytes(len(left))


class CsrfCheck:
    """What ``csrf=True`` adds to a request path: the check of its unsafe ``http`` requests.

    The request path (cookie or store) has put the request's session in ``scope["session"]``
    and calls :meth:`check` for an ``http`` request whose method is not in
    :data:`SAFE_METHODS`; every other request goes to the application without a call here.
    Each refusal is counted in ``counters.csrf_rejected``.
    """

    __slots__ = ("_counters", "_exempt", "_field", "_header", "_oversized", "app")

    def __init__(self, app: ASGIApp, config: SessionConfig, counters: Counters) -> None:
        self.app = app
        """What a request that passes is handed to."""
        self._counters = counters
        self._header = config.csrf_header.encode("latin-1")  # lower case, as ASGI gives names
        self._field = config.csrf_field.encode("utf-8")
        self._exempt = tuple(config.csrf_exempt)
        self._oversized = _oversized_reason(config.csrf_header)

    def check(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> Awaitable[None]:
        """An unsafe ``http`` request: the application's call when its path is exempt or it
        carries a valid token (header first, else its form), or a 403."""
        # Not a coroutine function: a request let by on its header goes on as the
        # application's own coroutine, with none of the check's in between. That, and
        # _verifies, is what the check costs each such request (docs/performance.md).
        if self._exempt and scope["path"].startswith(self._exempt):
            return self.app(scope, receive, send)
        header = self._header
        for name, value in scope["headers"]:
            if name == header and value:  # the first non-empty one
                # dict.get: the check's look at the Session is no use of it (no Vary, no flags)
                if _verifies(dict.get(scope["session"], CSRF_SECRET_KEY), value):
                    return self.app(scope, receive, send)
                return self._refuse(scope, send, INVALID)
        return self._check_form(scope, receive, send)

    async def _check_form(self, scope: AnyScope, receive: AnyReceive, send: AnySend) -> None:
        """The check of a request without the header: the token must be in its form."""
        content_type = b""
        declared_length = 0
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length" and value.isdigit():
                declared_length = int(value)
        token: bytes | None = None
        media_type = content_type.partition(b";")[0].strip().lower()
        if media_type in FORM_TYPES:
            if declared_length > FORM_LIMIT:
                await self._refuse(scope, send, self._oversized)
                return
            messages, body, over_limit = await _read_body(receive)
            if over_limit:
                await self._refuse(scope, send, self._oversized)
                return
            if body is not None:
                token = _form_field(body, media_type, content_type, self._field)
            receive = _replay(messages, receive)
        if token is None:
            await self._refuse(scope, send, MISSING)
            return
        if not _verifies(dict.get(scope["session"], CSRF_SECRET_KEY), token):
            await self._refuse(scope, send, INVALID)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: AnyScope, send: AnySend, reason: str) -> None:
        self._counters.csrf_rejected += 1
        logger.debug("CSRF check refused %s %s: %s", scope["method"], scope["path"], reason)
        body = reason.encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _oversized_reason(header: str) -> str:
    return f"{MISSING}: a form over 1 MiB is not read for it; send the token in the {header} header"


async def _read_body(
    receive: AnyReceive,
) -> tuple[list[Mapping[str, object]], bytes | None, bool]:
    """The request's body messages as received, the body they carry (``None`` when the client
    went away first), and whether reading stopped because the body passed FORM_LIMIT."""
    messages: list[Mapping[str, object]] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None, False
        chunk = message.get("body", b"")
        assert isinstance(chunk, bytes)
        size += len(chunk)
        if size > FORM_LIMIT:
            return messages, None, True
        chunks.append(chunk)
        if not message.get("more_body", False):
            return messages, b"".join(chunks), False


def _replay(
    messages: list[Mapping[str, object]], receive: AnyReceive
) -> Callable[[], Awaitable[Mapping[str, object]]]:
    """A ``receive`` that gives the messages already read, then those still to come."""
    pending = iter(messages)

    async def replay() -> Mapping[str, object]:
        for message in pending:
            return message
        return await receive()

    return replay


def _form_field(body: bytes, media_type: bytes, content_type: bytes, field: bytes) -> bytes | None:
    """The first value of ``field`` in a form body, or ``None`` when it has none."""
    if media_type == b"application/x-www-form-urlencoded":
        # Latin-1 both ways: byte for byte, whatever the form's own encoding.
        for name, value in parse_qsl(
            body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
        ):
            if name.encode("latin-1") == field:
                return value.encode("latin-1")
        return None
    return _multipart_field(body, content_type, field)


def _multipart_field(body: bytes, content_type: bytes, field: bytes) -> bytes | None:
    """The first plain (not file) value of ``field`` in a ``multipart/form-data`` body, read
    with python-multipart; ``None`` when it has none or the body is not well-formed."""
    try:
        from python_multipart.multipart import MultipartParser, parse_options_header
    except ImportError:
        raise ImportError(
            "reading the CSRF token of a multipart/form-data form needs python-multipart: "
            "pip install 'cookie-session[csrf]' (or send the token in the header)"
        ) from None
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        return None
    header = [b"", b""]  # the name and value of the part header being read
    disposition = b""
    wanted = False
    value = bytearray()
    found: list[bytes] = []

    def on_part_begin() -> None:
        nonlocal disposition
        disposition = b""

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def on_header_end() -> None:
        nonlocal disposition
        if header[0].lower() == b"content-disposition":
            disposition = header[1]
        header[:] = [b"", b""]

    def on_headers_finished() -> None:
        nonlocal wanted
        options = parse_options_header(disposition)[1]
        wanted = not found and options.get(b"name") == field and b"filename" not in options
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if wanted:
            value.extend(data[start:end])

    def on_part_end() -> None:
        if wanted:
            found.append(bytes(value))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except ValueError:  # python-multipart's FormParserError: not a well-formed body
        return None
    return found[0] if found else None


class QuartSessions(Protocol):
    """What :func:`check_quart_requests` needs of ``cookie_session.quart``'s interface."""

    @property
    def config(self) -> SessionConfig: ...

    @property
    def cookie(self) -> SessionCookie: ...


def check_quart_requests(app: Quart, sessions: QuartSessions) -> None:
    """Check Quart's unsafe requests for the CSRF token, as the middleware does with
    ``csrf=True``: a ``before_request`` hook that answers 403 instead of running the view.

    ``sessions`` is the interface :func:`cookie_session.quart.use_cookie_session` returned;
    its configuration must have ``csrf=True``. The token is taken from the body Quart caches
    (``request.get_data(cache=True)``) with the middleware's own form reader, and Quart's form
    and files are then filled from those bytes (:func:`_parse_quart_form`), so the view reads
    the body, the form and the files as it would without the check. A form over 1 MiB is
    refused, saying to send the header.
    """
    import quart  # only Quart applications call this

    config = sessions.config
    if not config.csrf:
        raise ValueError("check_quart_requests checks CSRF tokens: set csrf=True in the config")
    counters = sessions.cookie.counters
    oversized = _oversized_reason(config.csrf_header)
    field = config.csrf_field.encode("utf-8")

    def refuse(reason: str) -> Response:
        counters.csrf_rejected += 1
        request = quart.request
        logger.debug("CSRF check refused %s %s: %s", request.method, request.path, reason)
        return quart.Response(
            reason,
            status=403,
            headers={"Cache-Control": "no-store"},
            content_type="text/plain; charset=utf-8",
        )

    async def check_csrf_token() -> Response | None:
        request = quart.request
        if request.method in SAFE_METHODS or request.path.startswith(config.csrf_exempt):
            return None
        token = request.headers.get(config.csrf_header) or None
        body: bytes | None = None
        if token is None and request.mimetype.encode("latin-1") in FORM_TYPES:
            if (request.content_length or 0) > FORM_LIMIT:
                return refuse(oversized)
            # Quart reads the whole body for get_data: the same limit, after the fact. Cached,
            # it is what the view's get_data reads; its form and files are filled below.
            body = await request.get_data(cache=True, as_text=False, parse_form_data=False)
            if len(body) > FORM_LIMIT:
                return refuse(oversized)
            content_type = request.headers.get("content-type", "").encode("latin-1")
            media_type = request.mimetype.encode("latin-1")
            value = _form_field(body, media_type, content_type, field)
            token = None if value is None else value.decode("latin-1")
        if token is None:
            return refuse(MISSING)
        if not verify_csrf_token(quart.session._get_current_object(), token):  # type: ignore[attr-defined]  # werkzeug's LocalProxy
            return refuse(INVALID)
        if body is not None:
            await _parse_quart_form(request, body)
        return None

    app.before_request(check_csrf_token)


async def _parse_quart_form(request: Request, body: bytes) -> None:
    """Fill Quart's form and files from the ``body`` the check read, as ``request.form`` would
    have: once the body is read, Quart's own parser finds nothing left to read (0.23) or, had it
    run first, leaves ``get_data()`` empty (0.20 to 0.22). Its parser, its limits and its
    storage classes, on the same bytes; the result goes where ``request.form`` keeps it."""

    parser = request.make_form_data_parser()
    request._form, request._files = await parser.parse(
        _ReadBody(body),  # type: ignore[arg-type]  # a Body, to Quart: awaited or iterated
        request.mimetype,
        request.content_length,
        request.mimetype_params,
    )


class _ReadBody:
    """A body already read, as Quart's form parsers take one: awaited whole (urlencoded) or
    iterated (multipart)."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __await__(self) -> Generator[Any, None, bytes]:
        return self._whole().__await__()

    async def _whole(self) -> bytes:
        return self._data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._data
