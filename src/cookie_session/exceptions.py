"""Every exception cookie-session raises on purpose.

Configuration problems are :class:`pydantic.ValidationError` (pydantic's own type, so they fit
whatever already handles settings errors); everything else derives from :class:`SessionError`.

Cookie rejections (:class:`CookieRejected` and its subclasses) never reach a request: the
middleware turns them into an empty session. They are public so tools such as
``cookie-session decode`` can say exactly why a cookie was refused.

:class:`SessionConfigWarning` is a warning, not an exception: the configuration loads, but
probably not as meant.
"""

from typing import TYPE_CHECKING, ClassVar

__all__ = [
    "CookieDecryptionFailed",
    "CookieExpired",
    "CookieMalformed",
    "CookieRejected",
    "CookieSignatureInvalid",
    "CookieTooLarge",
    "PublishedSecretWarning",
    "SessionConfigWarning",
    "SessionError",
    "SessionNotInstalled",
    "SessionStoreUnavailable",
    "SessionTooLarge",
]


class SessionError(Exception):
    """Base class of cookie-session's own exceptions."""


class SessionConfigWarning(UserWarning):
    """Issued by :meth:`SessionConfig.from_env` and :meth:`SessionConfig.load` when a variable
    in the environment or the env file sets nothing but is a near miss of one that does
    (``SESSION_HTTPSONLY`` for ``SESSION_HTTPS_ONLY``, ``SESSION_SAMESITE``, ``SESSION_SECRET``).

    Such a variable is ignored, so the setting it was meant for keeps its default (a cookie
    without ``Secure``, say) in silence. The message names the variable, where it was found and
    the real variable it resembles, never its value. ``cookie-session check`` lists these, and
    ``check --strict`` fails on them.
    """


class PublishedSecretWarning(SessionConfigWarning):
    """Issued when a configuration is made with a published secret (the reference
    documentation's example, this project's, or one that says "change-me"): anyone can forge
    sessions signed with it. The message names the setting, never the value."""


class SessionTooLarge(SessionError):
    """Raised when a session would not fit in one cookie (or, with a store, is bigger than
    ``store_max_bytes``: nothing is then sent to Redis).

    Browsers silently drop a cookie whose ``Set-Cookie`` line passes 4096 bytes, which would log
    the user out without a trace; raising instead makes the mistake visible where it is made.
    Keep less in the session (store an id and keep the data on the server) to fix it.
    """

    def __init__(self, size: int, limit: int, *, stored: bool = False) -> None:
        self.size = size
        """Bytes the ``Set-Cookie`` header's cookie (name, value and attributes) would take;
        with a store, bytes of the session's stored form (each key and its value's JSON)."""
        self.limit = limit
        """The most bytes a cookie may take; with a store, ``store_max_bytes``."""
        if stored:
            message = (
                f"the session would take {size} bytes in the session store, over "
                f"store_max_bytes ({limit} bytes); nothing was written: store less in the session"
            )
        else:
            message = (
                f"the session cookie would be {size} bytes, over the browsers' limit of {limit} "
                "bytes; store less in the session"
            )
        super().__init__(message)


class SessionNotInstalled(SessionError, LookupError):
    """Raised when code asks for the session of a request that no SessionMiddleware handled."""


class SessionStoreUnavailable(SessionError):
    """Raised when the Redis session store cannot be reached or fails a command.

    The request's session is then neither an empty session (which would look like a logout, and
    whose writes would be lost) nor reported saved: loading fails before the application runs,
    saving fails at the response's start, so the client gets an error instead of a success.
    The message names the operation and the failure, never session data, an ID or a password.
    """

    def __init__(self, operation: str, failure: str) -> None:
        self.operation = operation
        """What failed: ``"load"``, ``"save"``, ``"revoke"``, ``"list"`` or ``"ping"``."""
        self.failure = failure
        """Why, as redis-py reported it (a connection error's text, or a reply's error code)."""
        super().__init__(f"the session store is unavailable: {operation} failed: {failure}")


class CookieRejected(SessionError):
    """A session cookie that cannot be trusted; the request gets an empty session instead.

    ``reason`` is a short human-readable phrase that never contains the cookie's value. It is
    built from ``template % args`` only when read: a request carrying many bad cookies costs no
    string formatting unless someone logs the reasons. ``kind`` names the class of problem in
    one word (``"signature"``, ``"expired"``, ``"malformed"``, ``"too_large"``, ``"decrypt"``).
    """

    kind: ClassVar[str] = "rejected"

    # No __init__ at run time: BaseException keeps (template, *args) in ``args``, in C, which
    # makes a refused cookie cheaper than a Python constructor would. Type checkers see one.
    args: tuple[str, *tuple[object, ...]]

    if TYPE_CHECKING:

        def __init__(self, template: str, *args: object) -> None: ...

    @property
    def reason(self) -> str:
        """Why the cookie was refused, without its value."""
        template, *args = self.args
        return template % tuple(args) if args else template

    def __str__(self) -> str:
        return self.reason


class CookieTooLarge(CookieRejected):
    """The cookie is longer than any browser would send; it is refused without being verified."""

    kind: ClassVar[str] = "too_large"


class CookieSignatureInvalid(CookieRejected):
    """The signature does not match the current key or any fallback key, or it claims to have
    been made further in the future than the clock skew servers are allowed."""

    kind: ClassVar[str] = "signature"


class CookieMalformed(CookieRejected):
    """The value does not have the shape of a signed cookie (refused before any signature is
    computed), or its signature is valid but the payload is not base64-encoded JSON of an object.
    """

    kind: ClassVar[str] = "malformed"


class CookieDecryptionFailed(CookieRejected):
    """An encrypted cookie that no configured key opens: changed in any way, sealed with a key
    that is not (or no longer) configured, or for another cookie name. Refused as a whole: AES-GCM
    authenticates every byte, so nothing of a changed cookie is ever decrypted."""

    kind: ClassVar[str] = "decrypt"


class CookieExpired(CookieRejected):
    """The signature is valid but the cookie is older than ``max_age``.

    Carries what the cookie said, so tools can still show it.
    """

    kind: ClassVar[str] = "expired"

    def __init__(
        self, template: str, *args: object, signed_at: int, age: int, payload: bytes
    ) -> None:
        super().__init__(template, *args)
        self.signed_at = signed_at
        """When the cookie was signed, in seconds since the epoch."""
        self.age = age
        """Seconds between signing and the check."""
        self.payload = payload
        """The still-encoded payload (standard base64 of JSON; for an encrypted cookie, its
        still-encrypted value)."""
