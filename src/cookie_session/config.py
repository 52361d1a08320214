"""SessionConfig: every session setting, validated before a request is served.

Values come from code (``SessionConfig(secret_key=...)``, which never reads the environment) or
from the deployment (``SessionConfig.from_env()``: overrides, environment variables, an env file,
a secrets directory, then defaults). Whatever the source, every problem is reported in one
:class:`pydantic.ValidationError`, and no secret ever appears in it.

Longer than the other modules on purpose: it is the one place to read every setting and every
rule (each field's validator, the cross-field rules, and what keeps secrets out of errors).
Where the values come from is :mod:`cookie_session._environment`'s job, the Redis URL check
:mod:`cookie_session._store_url`'s.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import warnings
from collections.abc import Mapping
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Final,
    Literal,
    Self,
    TypedDict,
    Unpack,
)

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ModelWrapValidatorHandler,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from cookie_session._environment import ConfigSource, LoadedConfig, Unreadable, load
from cookie_session._published_secrets import published_secret
from cookie_session._store_url import check_store_url
from cookie_session.exceptions import PublishedSecretWarning

__all__ = [
    "MAX_AGE_LIMIT",
    "MAX_ATTRIBUTE_LENGTH",
    "MAX_HOST_NAME_LENGTH",
    "MIN_SECRET_DISTINCT_CHARACTERS",
    "MIN_SECRET_LENGTH",
    "ConfigSource",
    "LoadedConfig",
    "SameSite",
    "SessionConfig",
    "SessionFields",
]

MIN_SECRET_LENGTH: Final = 32
MIN_SECRET_DISTINCT_CHARACTERS: Final = 8
MAX_AGE_LIMIT: Final = 400 * 24 * 60 * 60
"""Browsers cap a cookie's lifetime at 400 days (RFC 6265bis); a longer one is silently cut."""
STORE_MAX_BYTES_LIMIT: Final = 512 * 1024 * 1024
"""Redis's own limit on one string: a session's JSON can be no bigger."""
MAX_ATTRIBUTE_LENGTH: Final = 1024
"""RFC 6265bis: browsers ignore a Path or Domain attribute value longer than this."""
MAX_HOST_NAME_LENGTH: Final = 253
"""The longest host name DNS can carry."""

SameSite = Literal["lax", "strict", "none"]


class _OptionalFields(TypedDict, total=False):
    """Every setting but ``secret_key``, each optional."""

    secret_key_fallbacks: tuple[str | SecretStr, ...] | list[str | SecretStr]
    session_cookie: str
    max_age: int | None
    path: str
    same_site: SameSite
    https_only: bool
    domain: str | None
    partitioned: bool
    encrypt: bool
    accept_signed: bool
    refresh_after: int | None
    store_url: str | SecretStr | None
    store_prefix: str
    user_key: str | None
    anonymous_max_age: int | None
    store_max_bytes: int
    max_lifetime: int | None
    track_devices: bool
    csrf: bool
    csrf_header: str
    csrf_field: str
    csrf_exempt: tuple[str, ...] | list[str]


class SessionFields(_OptionalFields, total=False):
    """The settings :class:`SessionMiddleware` takes as keyword arguments; see SessionConfig."""

    secret_key: str | SecretStr


class _ConfigArguments(_OptionalFields):
    """What ``SessionConfig(...)`` takes in code: ``secret_key`` required, a plain ``str``
    welcome (type checkers need no pydantic plugin to accept it), every other setting optional."""

    secret_key: str | SecretStr


# RFC 9110 "tchar": what a cookie name may be made of (RFC 6265 says a token).
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 6265 path-value: printable ASCII except ";" (and no spaces, which browsers trim oddly).
_COOKIE_PATH = re.compile(r"/[\x21-\x3a\x3c-\x7e]*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_NONE_WORDS = frozenset({"", "none", "null"})

# Environment variable names, without the prefix, where they differ from the field name.
_ENV_SUFFIXES: Final[Mapping[str, str]] = {"session_cookie": "COOKIE"}


def _check_secret(secret: SecretStr) -> SecretStr:
    value = secret.get_secret_value()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # The error's own text would quote the character (and its .object the whole secret).
        raise PydanticCustomError(
            "secret_not_text",
            "must be valid Unicode text: it holds a lone surrogate, which is what a stray "
            "non-UTF-8 byte in an environment variable becomes",
        ) from None
    if len(value) < MIN_SECRET_LENGTH:
        raise PydanticCustomError(
            "secret_too_short",
            "must be at least {min_length} characters long, got {length} "
            "(`cookie-session generate-secret` makes one)",
            {"min_length": MIN_SECRET_LENGTH, "length": len(value)},
        )
    if len(set(value)) < MIN_SECRET_DISTINCT_CHARACTERS:
        raise PydanticCustomError(
            "secret_too_simple",
            "must use at least {min_distinct} different characters, got {distinct} "
            "(`cookie-session generate-secret` makes one)",
            {"min_distinct": MIN_SECRET_DISTINCT_CHARACTERS, "distinct": len(set(value))},
        )
    return secret


def _hide_secret(value: object) -> object:
    if isinstance(value, SecretStr | Unreadable):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    return Unreadable(f"a value of type {type(value).__name__}")


def _hide_secrets(value: object) -> object:
    if isinstance(value, str):
        # From the environment: a JSON list. Decoded here rather than by pydantic-settings,
        # whose decoding error would not be a ValidationError (and would quote the value).
        try:
            value = json.loads(value) if value.strip() else []
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
            return Unreadable("invalid JSON")
    if isinstance(value, list | tuple):
        return tuple(_hide_secret(item) for item in value)
    return Unreadable(f"a value of type {type(value).__name__}")


def _refuse_unreadable(expected: str) -> BeforeValidator:
    def refuse(value: object) -> object:
        if isinstance(value, Unreadable):
            raise PydanticCustomError(
                "secret_type", "must be {expected}, got {got}", {"expected": expected, "got": value}
            )
        return value

    return BeforeValidator(refuse)


def _json_list(value: object) -> object:
    """A list from the environment is JSON (``["/hooks/", "/api/public/"]``); decoded here, as a
    decoding error of pydantic-settings' would not be a ValidationError."""
    if isinstance(value, str):
        if not value.strip():
            return ()
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise PydanticCustomError(
                "json_list", 'must be a JSON list of strings, such as ["/hooks/"]'
            ) from None
    return value


def _check_exempt_prefixes(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    for prefix in prefixes:
        if not prefix.startswith("/"):
            raise PydanticCustomError(
                "csrf_exempt",
                "each prefix must be a path starting with '/', got '{prefix}'",
                {"prefix": prefix},
            )
    return prefixes


def _check_header_name(name: str) -> str:
    if not name or not _COOKIE_NAME.fullmatch(name):
        raise PydanticCustomError(
            "header_name", "must be an HTTP header name: letters, digits and !#$%&'*+-.^_`|~"
        )
    return name


def _check_form_field(name: str) -> str:
    if not name:
        raise PydanticCustomError("form_field", "must not be empty")
    return name


def _none_words_to_none(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in _NONE_WORDS:
        return None
    return value


def _reject_bool(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "must be a whole number of seconds, not a boolean")
    return value


def _empty_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _check_cookie_name(name: str) -> str:
    if not _COOKIE_NAME.fullmatch(name):
        raise PydanticCustomError(
            "cookie_name",
            "must be a non-empty token of ASCII letters, digits and !#$%&'*+-.^_`|~ "
            '(no spaces, controls or ()<>@,;:\\"/[]?={})',
        )
    return name


def _check_path(path: str) -> str:
    if len(path) > MAX_ATTRIBUTE_LENGTH:
        raise PydanticCustomError(
            "cookie_path",
            "must be at most {limit} characters, got {length}",
            {"limit": MAX_ATTRIBUTE_LENGTH, "length": len(path)},
        )
    if not _COOKIE_PATH.fullmatch(path):
        raise PydanticCustomError(
            "cookie_path",
            "must start with '/' and contain only printable ASCII without ';' or spaces",
        )
    return path


def _check_domain(domain: str | None) -> str | None:
    if domain is None:
        return None
    host = domain.removeprefix(".")
    labels = host.split(".")
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip or labels[-1].isdigit():
        raise PydanticCustomError("cookie_domain", "must be a host name, not an IP address")
    if len(host) > MAX_HOST_NAME_LENGTH or not all(
        _DOMAIN_LABEL.fullmatch(label) for label in labels
    ):
        raise PydanticCustomError(
            "cookie_domain",
            "must be a host name such as 'example.com' or '.example.com': letters, digits and "
            "hyphens between dots, at most {limit} characters, with no scheme, port, path, "
            "spaces or trailing dot",
            {"limit": MAX_HOST_NAME_LENGTH},
        )
    if host == "localhost":
        return domain
    if len(labels) == 1:
        raise PydanticCustomError(
            "cookie_domain",
            "'{domain}' is a single label: browsers refuse cookies for a top-level domain or a "
            "lone host name; use a domain of at least two labels such as 'example.com' "
            "(or 'localhost')",
            {"domain": host},
        )
    if _is_public_suffix(host):
        raise PydanticCustomError(
            "cookie_domain",
            "'{domain}' is a public suffix, shared by unrelated sites: browsers refuse cookies "
            "for it; use your own domain under it (such as 'example.{domain}')",
            {"domain": host},
        )
    return domain


def _check_encryption_available(encrypt: bool) -> bool:
    if encrypt:
        try:
            # The module cookie_session.sealed encrypts with; importing it is the only sure test
            # that the package is there and works (a broken OpenSSL binding fails here too).
            import cryptography.hazmat.primitives.ciphers.aead  # noqa: F401
        except ImportError:
            raise PydanticCustomError(
                "encryption_unavailable",
                "encrypt=True needs the 'cryptography' package, which is not installed: "
                "pip install 'cookie-session[encryption]'",
            ) from None
    return encrypt


def _check_form_parser_available(csrf: bool) -> bool:
    if csrf:
        import importlib.util

        # Found, not imported: the check imports it on the first multipart form it reads.
        if importlib.util.find_spec("python_multipart") is None:
            raise PydanticCustomError(
                "csrf_form_parser_unavailable",
                "csrf=True reads the token of multipart/form-data forms with python-multipart, "
                "which is not installed: pip install 'cookie-session[csrf]'",
            )
    return csrf


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # Loaded on first use (about 60 ms), only by configurations that set a domain.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def _is_public_suffix(host: str) -> bool:
    """Whether ``host`` is on the Public Suffix List (ICANN and private sections, as browsers)."""
    return bool(_public_suffixes().is_public(host))


def _blank_to_none(value: object) -> object:
    if isinstance(value, SecretStr) and not value.get_secret_value().strip():
        return None
    return value


def _check_store_prefix(prefix: str) -> str:
    if not prefix:
        raise PydanticCustomError(
            "store_prefix", "must not be empty: every Redis key this package writes starts with it"
        )
    return prefix


_Secret = Annotated[SecretStr, AfterValidator(_check_secret)]
# Takes the place of an invalid or missing secret while the cross-attribute rules are checked.
_STAND_IN_SECRET: Final = SecretStr("stand-in for the cross-attribute rules 0123456789")


class SessionConfig(BaseSettings):
    """The validated settings of a session cookie.

    ``SessionConfig(...)`` validates the values given in code and reads nothing else; use
    :meth:`from_env` to read the deployment's environment, env file and secrets directory.
    """

    model_config = SettingsConfigDict(
        env_prefix="SESSION_",
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        validate_default=True,
    )

    secret_key: Annotated[_Secret, _refuse_unreadable("a string")] = Field(
        description="Signs every cookie. At least 32 characters and 8 different characters."
    )
    secret_key_fallbacks: Annotated[
        tuple[_Secret, ...], NoDecode, _refuse_unreadable("a JSON list of strings")
    ] = Field(
        default=(),
        description="Older keys still accepted when reading a cookie, never used to sign.",
    )
    session_cookie: Annotated[str, AfterValidator(_check_cookie_name)] = Field(
        default="session", description="The cookie's name."
    )
    max_age: Annotated[
        Annotated[int, Field(ge=1, le=MAX_AGE_LIMIT)] | None,
        BeforeValidator(_none_words_to_none),
        BeforeValidator(_reject_bool),
    ] = Field(
        default=14 * 24 * 60 * 60,
        description="Seconds a cookie stays valid; None for a cookie that ends with the browser.",
    )
    path: Annotated[str, AfterValidator(_check_path)] = Field(
        default="/", description="The cookie's Path attribute."
    )
    same_site: Annotated[SameSite, BeforeValidator(_lower)] = Field(
        default="lax", description="The cookie's SameSite attribute."
    )
    https_only: bool = Field(default=False, description="Sets the Secure attribute.")
    domain: Annotated[
        str | None,
        BeforeValidator(_lower),
        BeforeValidator(_empty_to_none),
        AfterValidator(_check_domain),
    ] = Field(default=None, description="The cookie's Domain attribute; None for this host only.")
    partitioned: bool = Field(default=False, description="Sets the Partitioned (CHIPS) attribute.")
    encrypt: Annotated[bool, AfterValidator(_check_encryption_available)] = Field(
        default=False,
        description="Encrypt the cookie's contents (AES-256-GCM) instead of only signing them; "
        "needs the 'encryption' extra.",
    )
    accept_signed: bool = Field(
        default=True,
        description="With encrypt=True, still accept signed (Starlette-format) cookies and send "
        "them back encrypted, so that turning encryption on logs nobody out; False once every "
        "client has been re-sealed, to refuse them (also a sibling application's signed cookie "
        "made with the same secret).",
    )
    refresh_after: Annotated[
        Annotated[int, Field(ge=1)] | None,
        BeforeValidator(_none_words_to_none),
        BeforeValidator(_reject_bool),
    ] = Field(
        default=None,
        description="Rolling expiry: a cookie signed longer ago than this many seconds is sent "
        "again, freshly signed, on the next response; None to never refresh.",
    )
    store_url: Annotated[
        SecretStr | None,
        AfterValidator(check_store_url),
        BeforeValidator(_blank_to_none),
        _refuse_unreadable("a string"),
    ] = Field(
        default=None,
        description="Keep sessions in Redis (redis://, rediss:// or unix:// URL; "
        "redis+cluster:// for a Redis Cluster, redis+sentinel:// for a primary watched by "
        "Sentinel; a secret: it may hold a password), the cookie carrying only a signed session "
        "ID; None for sessions in the cookie. Needs the 'redis' extra.",
    )
    store_prefix: Annotated[str, AfterValidator(_check_store_prefix)] = Field(
        default="cookie-session:", description="Every Redis key of the store starts with this."
    )
    user_key: Annotated[str | None, BeforeValidator(_empty_to_none)] = Field(
        default=None,
        description="The session key naming the signed-in user (store only): a change of its "
        "value moves the session to a new ID, and sessions are indexed by user for revocation.",
    )
    anonymous_max_age: Annotated[
        Annotated[int, Field(ge=1, le=MAX_AGE_LIMIT)] | None,
        BeforeValidator(_none_words_to_none),
        BeforeValidator(_reject_bool),
    ] = Field(
        default=None,
        description="Store only: seconds a session with no signed-in user (nothing under "
        "user_key, or no user_key) lives in Redis after its last write, at most max_age; None "
        "for as long as a signed-in one. Shorter keeps a flood of anonymous sessions from "
        "filling Redis (docs/store.md).",
    )
    store_max_bytes: Annotated[int, Field(ge=1, le=STORE_MAX_BYTES_LIMIT)] = Field(
        default=1024 * 1024,
        description="Store only: the largest session the store accepts (its JSON, all keys); a "
        "bigger one is a SessionTooLarge error and nothing is written.",
    )
    max_lifetime: Annotated[
        Annotated[int, Field(ge=1, le=MAX_AGE_LIMIT)] | None,
        BeforeValidator(_none_words_to_none),
        BeforeValidator(_reject_bool),
    ] = Field(
        default=None,
        description="Absolute lifetime: a session that started longer ago than this many seconds "
        "is ended on its next request, whatever refresh_after and activity did; None for none.",
    )
    track_devices: bool = Field(
        default=False,
        description="Store with user_key only: record when each signed-in session started and "
        "was last seen, its client address and User-Agent, for store.list_sessions() (a device "
        "list). Personal data: off unless asked.",
    )
    csrf: Annotated[bool, AfterValidator(_check_form_parser_available)] = Field(
        default=False,
        description="Refuse unsafe requests (not GET, HEAD, OPTIONS, TRACE) that do not carry "
        "the session's CSRF token, with a 403; needs the 'csrf' extra.",
    )
    csrf_header: Annotated[str, AfterValidator(_check_header_name), BeforeValidator(_lower)] = (
        Field(default="x-csrf-token", description="The header that carries the CSRF token.")
    )
    csrf_field: Annotated[str, AfterValidator(_check_form_field)] = Field(
        default="csrf_token", description="The form field that carries the CSRF token."
    )
    csrf_exempt: Annotated[
        tuple[str, ...],
        NoDecode,
        AfterValidator(_check_exempt_prefixes),
        BeforeValidator(_json_list),
    ] = Field(
        default=(),
        description="Path prefixes whose requests are not checked for a CSRF token (webhooks); "
        "each starts with '/'.",
    )

    if TYPE_CHECKING:
        # The signature type checkers see, with or without the pydantic plugin: secrets as
        # plain strings, every setting by name, an unknown keyword an error.
        def __init__(self, **values: Unpack[_ConfigArguments]) -> None: ...

    else:

        def __init__(self, **values: Any) -> None:
            # BaseSettings.__init__ would honour _env_file, _secrets_dir, _cli_parse_args...:
            # values in code are the whole truth here.
            settings_arguments = sorted(key for key in values if key.startswith("_"))
            if settings_arguments:
                raise TypeError(
                    f"SessionConfig() takes settings only, not {', '.join(settings_arguments)}; "
                    "use SessionConfig.from_env(env_file=..., secrets_dir=...) to read them"
                )
            super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Values in code are the whole truth: reading the environment is from_env's job.
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _hide_secret_inputs(cls, data: Any) -> Any:
        """Wrap raw secrets before any field is validated, so that no error (not even one
        rendered by an application's settings model that embeds this one) can print them."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            # pydantic would quote the input whole (a secret in a string or an object's
            # attributes): read the fields an object has, or refuse it without quoting it.
            attributes = {
                name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)
            }
            if not attributes:
                return Unreadable(f"a value of type {type(data).__name__}")
            data = attributes
        if isinstance(data, Mapping):
            data = dict(data)
            if "secret_key" in data:
                data["secret_key"] = _hide_secret(data["secret_key"])
            if "secret_key_fallbacks" in data:
                data["secret_key_fallbacks"] = _hide_secrets(data["secret_key_fallbacks"])
            if data.get("store_url") is not None:  # its password is a secret
                data["store_url"] = _hide_secret(data["store_url"])
            # An unknown key may be a misspelt secret (APP_SESSION__SECRET=...).
            for key in data.keys() - cls.model_fields.keys():
                data[key] = _hide_secret(data[key])
        return data

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, validated like a new configuration (never a raw secret)."""
        if not update:
            return super().model_copy(deep=deep)
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return self.model_validate({**values, **update})

    if not TYPE_CHECKING:  # mypy keeps the pydantic plugin's typed model_construct

        @classmethod
        def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
            """Validates like :meth:`model_validate`: a configuration is never built unchecked
            (an unchecked one would keep a secret as a plain string that ``repr`` prints)."""
            return cls.model_validate(values)

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        context: Any | None = None,
        **options: Any,
    ) -> Self:
        """Like pydantic's, except that invalid JSON is reported without quoting it."""
        try:
            data = json.loads(json_data)
        except (ValueError, RecursionError) as error:
            position = (
                f"line {error.lineno} column {error.colno}"
                if isinstance(error, json.JSONDecodeError)
                else "too deeply nested"
            )
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "json_invalid", "Invalid JSON at {position}", {"position": position}
                        ),
                        loc=(),
                        input=None,
                    )
                ],
                hide_input=True,
            ) from None
        return cls.model_validate(data, strict=strict, context=context, **options)

    def __setattr__(self, name: str, value: Any) -> None:
        # pydantic's "Instance is frozen" error quotes the value, ignoring hide_input_in_errors.
        try:
            super().__setattr__(name, value)
        except ValidationError as error:
            details = [
                InitErrorDetails(type=item["type"], loc=item["loc"], input=None)
                for item in error.errors()
            ]
            raise ValidationError.from_exception_data(
                error.title, details, hide_input=True
            ) from None

    @model_validator(mode="wrap")
    @classmethod
    def _check_cookie_rules(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """The rules browsers apply across attributes (a cookie breaking one is dropped).

        They are checked even when some fields are invalid, among the fields that are valid, so
        that one error lists every problem.
        """
        try:
            config = handler(data)
        except ValidationError as error:
            if not isinstance(data, Mapping):
                raise
            failed = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
            valid = {key: value for key, value in data.items() if key not in failed}
            valid.setdefault("secret_key", _STAND_IN_SECRET)  # needed, and in no rule
            try:
                # Only to check the rules: a refused configuration warns about nothing.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", PublishedSecretWarning)
                    config_of_valid_fields = handler(valid)
            except ValidationError:
                raise error from None
            problems = [
                (fields, message)
                for fields, message in config_of_valid_fields._cookie_rule_problems()
                if failed.isdisjoint(fields)
            ]
            if not problems:
                raise
            details = [
                InitErrorDetails(
                    type=PydanticCustomError(item["type"], item["msg"]),
                    loc=item["loc"],
                    input=item["input"],
                )
                for item in error.errors(include_url=False)
            ]
            raise ValidationError.from_exception_data(
                cls.__name__, details + _rule_errors(problems)
            ) from None
        problems = config._cookie_rule_problems()
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, _rule_errors(problems))
        _warn_if_published(config)
        return config

    def _cookie_rule_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Each cross-attribute rule this configuration breaks: the fields, and a message."""
        problems: list[tuple[tuple[str, ...], str]] = []
        if self.same_site == "none" and not self.https_only:
            problems.append(
                (
                    ("same_site", "https_only"),
                    "same_site='none' requires https_only=True: browsers reject SameSite=None "
                    "cookies without Secure",
                )
            )
        if self.partitioned and not self.https_only:
            problems.append(
                (
                    ("partitioned", "https_only"),
                    "partitioned=True requires https_only=True: browsers reject Partitioned "
                    "cookies without Secure",
                )
            )
        if self.refresh_after is not None and (
            self.max_age is None or self.refresh_after >= self.max_age
        ):
            problems.append(
                (
                    ("refresh_after", "max_age"),
                    "refresh_after must be less than max_age (and max_age not None): a cookie "
                    "is refreshed once it is older than refresh_after, and refused once older "
                    "than max_age",
                )
            )
        name = self.session_cookie.lower()
        if name.startswith("__secure-") and not self.https_only:
            problems.append(
                (
                    ("session_cookie", "https_only"),
                    "a session_cookie starting with '__Secure-' requires https_only=True",
                )
            )
        if name.startswith("__host-") and (
            not self.https_only or self.path != "/" or self.domain is not None
        ):
            problems.append(
                (
                    ("session_cookie", "https_only", "path", "domain"),
                    "a session_cookie starting with '__Host-' requires https_only=True, "
                    "path='/' and no domain",
                )
            )
        if not self.accept_signed and not self.encrypt:
            problems.append(
                (
                    ("accept_signed", "encrypt"),
                    "accept_signed=False requires encrypt=True: without encryption every session "
                    "cookie is a signed one, and every one would be refused",
                )
            )
        if self.encrypt and self.store_url is not None:
            problems.append(
                (
                    ("encrypt", "store_url"),
                    "encrypt=True cannot go with store_url: a store keeps no session data in the "
                    "cookie, only its signed ID",
                )
            )
        if self.store_url is None:
            problems.extend(
                ((field, "store_url"), f"{field} requires store_url: it applies to the Redis store")
                for field in ("anonymous_max_age", "store_max_bytes")
                if getattr(self, field) != type(self).model_fields[field].default
            )
        elif (
            self.anonymous_max_age is not None
            and self.max_age is not None
            and self.anonymous_max_age > self.max_age
        ):
            problems.append(
                (
                    ("anonymous_max_age", "max_age"),
                    "anonymous_max_age must not exceed max_age: it is the shorter lifetime of "
                    "sessions with no signed-in user",
                )
            )
        missing = [field for field in ("store_url", "user_key") if getattr(self, field) is None]
        if self.track_devices and missing:
            problems.append(
                (
                    ("track_devices", *missing),
                    f"track_devices requires {' and '.join(missing)}: devices are listed per "
                    "signed-in user, from the sessions the Redis store indexes by user",
                )
            )
        if self.user_key is not None and self.store_url is None:
            problems.append(
                (
                    ("user_key", "store_url"),
                    "user_key requires store_url: sessions are moved to a new ID and indexed "
                    "by user only in the Redis store",
                )
            )
        return problems

    @classmethod
    def env_variable(cls, field: str, env_prefix: str = "SESSION_") -> str:
        """The variable that sets ``field``: ``session_cookie`` is read from ``SESSION_COOKIE``."""
        if field not in cls.model_fields:
            raise KeyError(field)
        return env_prefix + _ENV_SUFFIXES.get(field, field.upper())

    @classmethod
    def from_env(
        cls,
        env_file: str | os.PathLike[str] | None = ".env",
        *,
        env_prefix: str = "SESSION_",
        secrets_dir: str | os.PathLike[str] | None = None,
        **overrides: Unpack[SessionFields],
    ) -> Self:
        """Read the settings of a deployment.

        Highest precedence first: ``overrides``, environment variables, ``env_file`` (a missing
        file is not an error; ``None`` skips it), files in ``secrets_dir`` named like the
        variables, then the defaults. Variables are matched in any letter case; unknown ones are
        ignored, with a :class:`SessionConfigWarning` for a near miss of a real one
        (``SESSION_HTTPSONLY``). Errors name the variable that held the wrong value.
        """
        return cls.load(
            env_file, env_prefix=env_prefix, secrets_dir=secrets_dir, **overrides
        ).config

    @classmethod
    def load(
        cls,
        env_file: str | os.PathLike[str] | None = ".env",
        *,
        env_prefix: str = "SESSION_",
        secrets_dir: str | os.PathLike[str] | None = None,
        **overrides: Unpack[SessionFields],
    ) -> LoadedConfig[Self]:
        """Like :meth:`from_env`, and also tell where each setting came from."""
        return load(
            cls,
            env_file,
            env_prefix=env_prefix,
            secrets_dir=secrets_dir,
            overrides=overrides,
            env_variable=cls.env_variable,
        )


def _rule_errors(problems: list[tuple[tuple[str, ...], str]]) -> list[InitErrorDetails]:
    return [
        InitErrorDetails(
            type=PydanticCustomError("cookie_rule", message, {"fields": ", ".join(fields)}),
            # Its own heading ("same_site and https_only"): with none, pydantic prints the rule
            # under the previous error's field, as if it were about that field alone.
            loc=(" and ".join(fields),),
            input=None,
        )
        for fields, message in problems
    ]


def _warn_if_published(config: SessionConfig) -> None:
    """Warn, naming the setting (never the value), about each published secret it holds."""
    keys = [("secret_key", config.secret_key)]
    keys += [
        (f"secret_key_fallbacks[{index}]", key)
        for index, key in enumerate(config.secret_key_fallbacks)
    ]
    for name, key in keys:
        if published_secret(key.get_secret_value()):
            warnings.warn(
                PublishedSecretWarning(
                    f"{name} is a published example secret: anyone can forge these sessions; "
                    "use `cookie-session generate-secret` to make a real one"
                ),
                stacklevel=2,
            )
