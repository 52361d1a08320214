"""The ``cookie-session`` command (also ``python -m cookie_session``).

``check`` shows a deployment's effective session settings and where each came from (and whether
the Redis store answers), ``generate-secret`` makes a key, ``decode`` says what a cookie holds (or
the session Redis holds for it) or why it is refused, ``sessions`` lists a user's sessions (their
devices, with ``track_devices``), ``revoke`` ends every session of a user or one session, and
``demo`` serves the counter example. No command ever prints a configured secret.

Longer than most modules: one module per command would split what they share (loading the
configuration and reporting its problems the same way, the JSON and text forms, the escaping
of whatever a cookie holds) across files that would all import each other's helpers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import secrets
import sys
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import SecretStr, ValidationError

from cookie_session._audit import AUDIT_LOGGER
from cookie_session._durations import duration, seconds_and_duration
from cookie_session._published_secrets import published_secret
from cookie_session._store_flow import ID_FIELD
from cookie_session.codec import SessionCodec, VerifiedCookie
from cookie_session.config import MIN_SECRET_LENGTH, LoadedConfig, SessionConfig
from cookie_session.cookie import sealed_opener
from cookie_session.devices import SessionInfo
from cookie_session.exceptions import (
    CookieExpired,
    CookieRejected,
    PublishedSecretWarning,
    SessionConfigWarning,
    SessionStoreUnavailable,
)
from cookie_session.store import RedisSessionStore, is_session_id, redacted_url

__all__ = ["main", "new_secret", "published_secret"]

DEFAULT_SECRET_BYTES: Final = 32
MIN_SECRET_BYTES: Final = math.ceil(MIN_SECRET_LENGTH * 3 / 4)
"""token_urlsafe writes 4 characters per 3 bytes: fewer bytes than this make too short a key."""
MAX_SECRET_BYTES: Final = 1024

# Secrets printed in documentation, tutorials and templates: anyone can sign cookies with them.
# ``published_secret`` matches these whole, and any secret containing one of the placeholder
# phrases (``change-me-to-something-long``), in any letter case.
# Settings in seconds, shown with what a person reads ("3600 seconds (1 hour)").
_DURATION_FIELDS: Final = frozenset(
    {"max_age", "refresh_after", "anonymous_max_age", "max_lifetime"}
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    0 on success, 1 when the configuration is invalid or a cookie is refused, 2 on a usage error.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # argparse exits on --help (0) and usage errors (2)
        return exit_request.code if isinstance(exit_request.code, int) else 2
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except BrokenPipeError:  # the reader went away (`cookie-session check --json | head`)
        # Point stdout at nothing so that flushing it at exit cannot fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def new_secret(n_bytes: int = DEFAULT_SECRET_BYTES) -> str:
    """A random URL-safe secret of ``n_bytes`` bytes that SessionConfig accepts."""
    if n_bytes < MIN_SECRET_BYTES:
        raise ValueError(f"a secret needs at least {MIN_SECRET_BYTES} random bytes")
    while True:
        secret = secrets.token_urlsafe(n_bytes)
        try:
            SessionConfig(secret_key=SecretStr(secret))
        except ValidationError:
            continue  # fewer than 8 different characters: vanishingly rare, but possible
        return secret


# -- the parser ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cookie-session",
        description="Check session settings, make a secret, read a session cookie, run the demo.",
    )
    commands = parser.add_subparsers(metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="validate the session settings of this environment and show where each came from",
        description="Load the settings like SessionConfig.from_env() and show them (secrets "
        "only as their length). Exit 0 when valid, 1 with one line per problem when not.",
    )
    _add_sources(check)
    _add_json(check)
    check.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 also when a variable looks like a misspelt one (SESSION_HTTPSONLY), "
        "which sets nothing, or when a secret is a published example",
    )
    check.set_defaults(command=_check)

    generate = commands.add_parser(
        "generate-secret",
        help="print a new random secret for SESSION_SECRET_KEY",
        description="Print a new random URL-safe secret that passes validation.",
    )
    generate.add_argument(
        "--bytes",
        type=_secret_bytes,
        default=DEFAULT_SECRET_BYTES,
        metavar="N",
        help=f"random bytes in the secret ({MIN_SECRET_BYTES}..{MAX_SECRET_BYTES}, "
        f"default {DEFAULT_SECRET_BYTES})",
    )
    generate.set_defaults(command=_generate_secret)

    decode = commands.add_parser(
        "decode",
        help="verify a session cookie and show its data, or why it is refused",
        description="Verify a session cookie's value, signed or encrypted, with the configured "
        "keys; show which key signed it, when, and its data (with a store, the session Redis "
        "holds for its ID). Exit 1 when it is refused or expired, when Redis no longer knows "
        "its session, or when Redis does not answer.",
    )
    decode.add_argument(
        "cookie", metavar="COOKIE", help="the cookie's value ('name=' and quotes are ignored)"
    )
    _add_sources(decode)
    _add_json(decode)
    decode.set_defaults(command=_decode)

    sessions = commands.add_parser(
        "sessions",
        help="list a user's sessions (needs SESSION_STORE_URL and SESSION_USER_KEY)",
        description="List USER's live sessions in the Redis store, the most recently seen "
        "first: each one's ID (its first 8 characters; --json gives whole IDs, which "
        "`revoke --session` takes), when it started and was last seen, its client address and "
        "User-Agent (these four only with SESSION_TRACK_DEVICES), and when it expires.",
    )
    sessions.add_argument("--user", required=True, metavar="USER", help="whose sessions")
    _add_sources(sessions)
    _add_json(sessions)
    sessions.set_defaults(command=_sessions)

    revoke = commands.add_parser(
        "revoke",
        help="end every session of a user, or one session (needs SESSION_STORE_URL)",
        description='With --user, delete every session of USER from the Redis store ("log out '
        'everywhere"; needs SESSION_USER_KEY) and print how many there were. USER is the value '
        'sessions hold under SESSION_USER_KEY, as text: 42 and "42" are one user. With '
        "--session, delete that one session (its whole ID, as `sessions --json` gives it).",
    )
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", metavar="USER", help="the user to sign out everywhere")
    target.add_argument("--session", metavar="ID", help="the session to end")
    _add_sources(revoke)
    revoke.set_defaults(command=_revoke)

    demo = commands.add_parser(
        "demo",
        help="serve the demo page (needs the 'demo' extra)",
        description="Serve the counter demo with uvicorn, configured from the environment and "
        ".env. With no SESSION_SECRET_KEY, a throw-away secret is generated for this run.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    demo.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    demo.set_defaults(command=_demo)
    return parser


def _add_sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file",
        type=_existing(Path.is_file, "file"),
        default=Path(".env"),
        metavar="PATH",
        help="env file to read after the environment (default: .env, skipped when missing)",
    )
    parser.add_argument(
        "--secrets-dir",
        type=_existing(Path.is_dir, "directory"),
        metavar="PATH",
        help="directory of secret files named like the variables (Docker, Kubernetes), "
        "read after the env file",
    )


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def _existing(is_kind: Callable[[Path], bool], kind: str) -> Callable[[str], Path]:
    def existing(text: str) -> Path:
        path = Path(text)
        if not is_kind(path):
            raise argparse.ArgumentTypeError(f"no such {kind}: {text}")
        return path

    return existing


def _secret_bytes(text: str) -> int:
    n_bytes = _whole_number(text)
    if not MIN_SECRET_BYTES <= n_bytes <= MAX_SECRET_BYTES:
        raise argparse.ArgumentTypeError(
            f"must be from {MIN_SECRET_BYTES} (a {MIN_SECRET_LENGTH}-character secret) "
            f"to {MAX_SECRET_BYTES}, got {n_bytes}"
        )
    return n_bytes


def _port(text: str) -> int:
    port = _whole_number(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be from 0 to 65535, got {port}")
    return port


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


# -- the commands ----------------------------------------------------------------------------


def _check(args: argparse.Namespace) -> int:
    loaded, caught = _load(args)
    # A published secret is listed by _warnings(), naming its variable.
    published = sum(issubclass(warning.category, PublishedSecretWarning) for warning in caught)
    caught = [w for w in caught if not issubclass(w.category, PublishedSecretWarning)]
    load_warnings = [str(warning.message) for warning in caught]
    if isinstance(loaded, ValidationError):
        _report_problems(loaded, as_json=args.json, load_warnings=load_warnings)
        return 1
    misspelt = sum(issubclass(warning.category, SessionConfigWarning) for warning in caught)
    config = loaded.config
    settings = {
        field: {
            "value": _shown(getattr(config, field)),
            "variable": SessionConfig.env_variable(field, loaded.env_prefix),
            "source": loaded.sources[field],
        }
        for field in SessionConfig.model_fields
    }
    found_warnings = load_warnings + _warnings(config)
    store = _store_state(config)
    store_down = store is not None and not store["answers"]
    status = 1 if (args.strict and (misspelt or published)) or store_down else 0
    secrets_dir = str(args.secrets_dir) if args.secrets_dir is not None else None
    if args.json:
        _print_json(
            {
                "env_file": str(args.env_file),
                "secrets_dir": secrets_dir,
                "settings": settings,
                "store": store,
                "warnings": found_warnings,
            }
        )
        return status
    env_file_state = "" if args.env_file.is_file() else " (not found, skipped)"
    print(f"env file: {args.env_file}{env_file_state}")
    if secrets_dir is not None:
        print(f"secrets dir: {secrets_dir}")
    rows = [("setting", "variable", "value", "source")]
    rows += [
        (field, row["variable"], _text(field, row["value"]), row["source"])
        for field, row in settings.items()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for *cells, source in rows:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=True)]
        print("  ".join([*padded, source]))
    for warning in found_warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if store is not None and not store_down:
        print(f"store: {store['url']} answers")
    elif store is not None:
        print(
            f"error: the session store {store['url']} does not answer: {store['error']}",
            file=sys.stderr,
        )
    if args.strict and misspelt:
        verbs = "looks misspelt and sets" if misspelt == 1 else "look misspelt and set"
        print(
            f"error: {misspelt} variable{'s' if misspelt != 1 else ''} {verbs} nothing (--strict)",
            file=sys.stderr,
        )
    if args.strict and published:
        print(
            "error: a published example secret is configured: anyone can forge these sessions "
            "(--strict)",
            file=sys.stderr,
        )
    if not (args.strict and (misspelt or published)) and not store_down:
        print("the session configuration is valid")
    return status


def _store_state(config: SessionConfig) -> dict[str, Any] | None:
    """Whether the configured Redis store answers (``None`` for sessions in the cookie)."""
    if config.store_url is None:
        return None
    store = RedisSessionStore.from_config(config)
    failure: str | None = None
    try:
        with _store_log_muted():
            asyncio.run(_ping(store))
    except SessionStoreUnavailable as error:
        failure = error.failure
    url = redacted_url(config.store_url.get_secret_value())
    return {"url": url, "answers": failure is None, "error": failure}


@contextlib.contextmanager
def _store_log_muted() -> Iterator[None]:
    """The store's own ERROR line off while a command reports the failure itself: without
    logging set up, Python prints it to stderr too, and the failure would read twice."""
    store_logger = logging.getLogger("cookie_session")
    disabled, store_logger.disabled = store_logger.disabled, True
    try:
        yield
    finally:
        store_logger.disabled = disabled


@contextlib.contextmanager
def _audit_lines_on_stderr() -> Iterator[None]:
    """The audit line of each session the command revokes, on stderr: a revocation from the
    shell leaves the trail one from the application does, under the same references (the
    store's audit key is the configuration's secret), where the operator's output is kept."""
    audit_logger = logging.getLogger(AUDIT_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    level = audit_logger.level
    audit_logger.addHandler(handler)
    audit_logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        audit_logger.removeHandler(handler)
        audit_logger.setLevel(level)


async def _ping(store: RedisSessionStore) -> None:
    try:
        await store.ping()
    finally:
        await store.aclose()


def _load(
    args: argparse.Namespace,
) -> tuple[LoadedConfig[SessionConfig] | ValidationError, list[warnings.WarningMessage]]:
    """The configuration (or why it is invalid) from the command's sources, and the warnings
    loading gave (misspelt variables) for the command to list like its own, also when the
    configuration is invalid: SESSION_SECRETKEY explains a missing SESSION_SECRET_KEY."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SessionConfigWarning)
        try:
            return SessionConfig.load(args.env_file, secrets_dir=args.secrets_dir), caught
        except ValidationError as error:
            return error, caught


def _generate_secret(args: argparse.Namespace) -> int:
    print(new_secret(args.bytes))
    return 0


def _decode(args: argparse.Namespace) -> int:
    loaded, caught = _load(args)
    load_warnings = [str(warning.message) for warning in caught]
    if isinstance(loaded, ValidationError):
        _report_problems(loaded, as_json=args.json, load_warnings=load_warnings)
        return 1
    for warning in load_warnings:
        print(f"warning: {warning}", file=sys.stderr)
    config = loaded.config
    keys = [key.get_secret_value() for key in (config.secret_key, *config.secret_key_fallbacks)]
    # Accept the value as a Cookie header shows it too: "name=value", or quoted.
    value = args.cookie.strip().removeprefix(f"{config.session_cookie}=").strip('"')
    expired: CookieExpired | None = None
    # A signed codec opens encrypted cookies too (as its other format), whatever encrypt says.
    name = config.session_cookie
    try:
        try:
            cookie = _codec(keys, config.max_age, name).verify(value)
        except CookieExpired as error:
            # The exception does not say which key signed the cookie: verifying again without
            # the age limit does, and decodes the data as well.
            expired = error
            cookie = _codec(keys, None, name).verify(value)
    except CookieRejected as rejection:
        result: dict[str, Any] = {
            "status": "rejected",
            "rejection": type(rejection).__name__,
            "reason": rejection.reason,
        }
    else:
        result = _describe_cookie(cookie, expired, config.max_age)
        if config.encrypt and not config.accept_signed and not cookie.other_format:
            # Shown all the same: the operator may want to know whose cookie it is.
            result["status"] = "refused"
            result["reason"] = (
                f"a signed cookie, and {SessionConfig.env_variable('accept_signed')} is false: "
                "the middleware accepts only encrypted cookies"
            )
        elif config.store_url is not None and result["status"] == "valid":
            _add_stored_session(result, config)
    store = result.get("store")
    if args.json:
        _print_json(result)
    else:
        _print_cookie(result)
        if store is not None and not store["answers"]:
            print(
                f"error: the session store {store['url']} does not answer: {store['error']}",
                file=sys.stderr,
            )
    in_store = store is None or store["found"]
    return 0 if result["status"] == "valid" and in_store else 1


def _add_stored_session(result: dict[str, Any], config: SessionConfig) -> None:
    """With a store, what Redis holds for the session ID the cookie carries, in ``result``."""
    data: dict[str, Any] = result["data"]
    session_id = data.get(ID_FIELD) if len(data) == 1 else None
    if not is_session_id(session_id):
        result["status"] = "refused"
        result["reason"] = (
            "a signed cookie that carries no session ID: with "
            f"{SessionConfig.env_variable('store_url')} set, the middleware refuses it"
        )
        return
    assert isinstance(session_id, str)
    assert config.store_url is not None
    state: dict[str, Any] = {
        "url": redacted_url(config.store_url.get_secret_value()),
        "answers": True,
        "error": None,
        "found": None,
        "data": None,
    }
    try:
        with _store_log_muted():
            fields = asyncio.run(_load_session(RedisSessionStore.from_config(config), session_id))
    except SessionStoreUnavailable as error:
        state["answers"], state["error"] = False, error.failure
    else:
        state["found"] = fields is not None
        if fields is not None:
            state["data"] = {key: _json_or_text(value) for key, value in fields.items()}
    result["store"] = state


async def _load_session(store: RedisSessionStore, session_id: str) -> dict[str, str] | None:
    try:
        return await store.load(session_id)
    finally:
        await store.aclose()


def _json_or_text(text: str) -> Any:
    """A stored value: its JSON, or the text itself if it is not JSON (not written by us)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _revoke(args: argparse.Namespace) -> int:
    by_user = args.user is not None
    store = _store_of(args, "revoked", by_user=by_user)
    if store is None:
        return 1
    try:
        with _store_log_muted(), _audit_lines_on_stderr():
            if by_user:
                revoked = asyncio.run(_closing(store, store.revoke_user(args.user)))
            else:
                found = asyncio.run(_closing(store, store.revoke(args.session)))
    except SessionStoreUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if by_user:
        print(f"revoked {revoked} session{'s' if revoked != 1 else ''} of user {args.user!r}")
        return 0
    shown = _printable(args.session[:SHOWN_ID_CHARACTERS])
    if not found:
        print(f"error: no session {shown}... in Redis (expired or revoked)", file=sys.stderr)
        return 1
    print(f"revoked session {shown}...")
    return 0


def _sessions(args: argparse.Namespace) -> int:
    store = _store_of(args, "listed", by_user=True)
    if store is None:
        return 1
    try:
        with _store_log_muted():
            listed = asyncio.run(_closing(store, store.list_sessions(args.user)))
    except SessionStoreUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        _print_json({"user": args.user, "sessions": [_session_document(info) for info in listed]})
        return 0
    if not listed:
        print(f"no sessions of user {args.user!r}")
        return 0
    rows = [("ID", "STARTED", "LAST SEEN", "ADDRESS", "EXPIRES", "USER-AGENT")]
    rows += [
        (
            info.session_id[:SHOWN_ID_CHARACTERS],
            _when(info.started_at),
            _when(info.last_seen),
            _printable(info.ip or "-"),
            _when(info.expires_at),
            _printable(info.user_agent or "-"),
        )
        for info in listed
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]))
    if not store.track_devices:
        variable = SessionConfig.env_variable("track_devices")
        print(f"(started, last seen, address and User-Agent are kept only with {variable}=true)")
    return 0


_T = TypeVar("_T")

SHOWN_ID_CHARACTERS: Final = 8
"""How much of a session ID ``sessions`` and ``revoke`` print: enough to tell sessions apart."""


def _store_of(args: argparse.Namespace, done: str, *, by_user: bool) -> RedisSessionStore | None:
    """The store of the configuration ``args`` point at, or ``None`` once the reason why not is
    printed (invalid configuration, no store, or sessions not indexed by user when needed)."""
    loaded, caught = _load(args)
    load_warnings = [str(warning.message) for warning in caught]
    if isinstance(loaded, ValidationError):
        _report_problems(loaded, as_json=False, load_warnings=load_warnings)
        return None
    for warning in load_warnings:
        print(f"warning: {warning}", file=sys.stderr)
    config = loaded.config
    if config.store_url is None or (by_user and config.user_key is None):
        needed = [SessionConfig.env_variable("store_url")]
        if by_user:
            needed.append(SessionConfig.env_variable("user_key"))
        kind = "sessions in the Redis store, indexed by user," if by_user else "sessions in Redis"
        print(f"error: only {kind} can be {done}: set {' and '.join(needed)}", file=sys.stderr)
        return None
    return RedisSessionStore.from_config(config)


async def _closing(store: RedisSessionStore, operation: Coroutine[Any, Any, _T]) -> _T:
    """Run one store operation, then close the store's connections."""
    try:
        return await operation
    finally:
        await store.aclose()


def _session_document(info: SessionInfo) -> dict[str, Any]:
    return {
        "session_id": info.session_id,
        "started_at": info.started_at.isoformat() if info.started_at else None,
        "last_seen": info.last_seen.isoformat() if info.last_seen else None,
        "expires_at": info.expires_at.isoformat(),
        "ip": info.ip,
        "user_agent": info.user_agent,
    }


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"


def _printable(text: str) -> str:
    """``text`` with every character a terminal could act on (controls, bidi overrides)
    escaped as in JSON: a User-Agent is the client's to choose."""
    return "".join(
        character if character.isprintable() else _json_escape(character) for character in text
    )


def _demo(args: argparse.Namespace) -> int:
    try:
        from cookie_session.demo import serve
    except ImportError as error:
        print(
            f"error: the demo needs the 'demo' extra ({error.name} is not installed): "
            "pip install 'cookie-session[demo]'",
            file=sys.stderr,
        )
        return 1
    try:
        config, throwaway_secret = _demo_config()
    except ValidationError as error:
        _report_problems(error, as_json=False)
        return 1
    if throwaway_secret:
        print(
            "notice: SESSION_SECRET_KEY is not set (neither in the environment nor in .env), "
            "so the demo signs cookies with a throw-away secret generated for this run: "
            "sessions will not survive a restart. Set SESSION_SECRET_KEY to keep them "
            "(`cookie-session generate-secret` makes one).",
            file=sys.stderr,
            flush=True,
        )
    serve(config, host=args.host, port=args.port, throwaway_secret=throwaway_secret)
    return 0


def _demo_config() -> tuple[SessionConfig, bool]:
    """The environment's configuration, with a new secret if (and only if) none is set, and
    CSRF protection on unless the environment (or .env) says otherwise: the demo's forms show
    how a protected form looks."""
    try:
        config, throwaway_secret = SessionConfig.from_env(), False
    except ValidationError as error:
        secret_missing = any(
            problem["type"] == "missing" and problem["loc"] == ("secret_key",)
            for problem in error.errors()
        )
        if not secret_missing:
            raise
        config, throwaway_secret = SessionConfig.from_env(secret_key=new_secret()), True
    if "csrf" not in config.model_fields_set:  # set from the environment or .env: as it says
        config = SessionConfig.from_env(secret_key=config.secret_key, csrf=True)
    return config, throwaway_secret


# -- output ----------------------------------------------------------------------------------


def _report_problems(
    error: ValidationError, *, as_json: bool, load_warnings: Sequence[str] = ()
) -> None:
    """One line per problem; each message already names the variable that holds the value.

    ``load_warnings`` follow, one line each (a list in the JSON document).
    """
    problems = [" ".join(problem["msg"].split()) for problem in error.errors()]
    if as_json:
        _print_json({"configuration_errors": problems, "warnings": list(load_warnings)})
        return
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    for warning in load_warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _warnings(config: SessionConfig) -> list[str]:
    """Settings that are valid but probably a mistake."""
    warnings: list[str] = []
    secret_variable = SessionConfig.env_variable("secret_key")
    named_keys = [(secret_variable, config.secret_key)]
    fallbacks_variable = SessionConfig.env_variable("secret_key_fallbacks")
    named_keys += [
        (f"{fallbacks_variable} entry {number}", key)
        for number, key in enumerate(config.secret_key_fallbacks, start=1)
    ]
    for name, key in named_keys:
        if published_secret(key.get_secret_value()):
            warnings.append(
                f"{name} is a well-known example value: anyone can forge sessions with it; "
                "use `cookie-session generate-secret` to make a real one"
            )
    if config.domain is not None and not config.https_only:
        warnings.append(
            f"{SessionConfig.env_variable('domain')} is {config.domain!r} but "
            f"{SessionConfig.env_variable('https_only')} is false: the cookie also goes over "
            "plain HTTP to every host of that domain"
        )
    if config.store_url is not None and config.user_key is None:
        warnings.append(
            f"{SessionConfig.env_variable('store_url')} is set but "
            f"{SessionConfig.env_variable('user_key')} is not: a login never moves the session "
            "to a new ID by itself, so the application must call session.regenerate() when a "
            "user logs in, or session fixation is possible"
        )
    return warnings


def _shown(value: object) -> Any:
    """A setting as it may be shown: secrets replaced by their length."""
    if isinstance(value, SecretStr):
        return f"<hidden, {len(value.get_secret_value())} characters>"
    if isinstance(value, tuple):
        return [_shown(item) for item in value]
    return value


def _text(field: str, value: Any) -> str:
    if value is None:
        return "none (a browser-session cookie)" if field == "max_age" else "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(value) if value else "(none)"
    if field in _DURATION_FIELDS:
        return seconds_and_duration(value)
    return str(value)


def _describe_cookie(
    cookie: VerifiedCookie, expired: CookieExpired | None, max_age: int | None
) -> dict[str, Any]:
    age = expired.age if expired is not None else int(time.time()) - cookie.signed_at
    described: dict[str, Any] = {
        "status": "expired" if expired is not None else "valid",
        "format": "encrypted" if cookie.other_format else "signed",
        "key": "current" if cookie.key_index == 0 else f"fallback #{cookie.key_index}",
        "signed_at": datetime.fromtimestamp(cookie.signed_at, UTC).isoformat(),
        "age_seconds": age,
        "max_age": max_age,
        "data": cookie.data,
    }
    if expired is not None:
        described["reason"] = expired.reason
    return described


def _print_cookie(result: dict[str, Any]) -> None:
    if result["status"] == "rejected":
        print(f"rejected: {result['reason']} ({result['rejection']})")
        return
    max_age: int | None = result["max_age"]
    age: int = result["age_seconds"]
    if max_age is None:
        expiry = "never: max_age is none, so the server applies no age limit"
    else:
        limit = f"max_age is {seconds_and_duration(max_age)}"
        if age > max_age:
            expiry = f"EXPIRED {duration(age - max_age)} ago; {limit}"
        else:
            expiry = f"in {duration(max_age - age)}; {limit}"
    if result["key"] == "current":
        key = f"the current key ({SessionConfig.env_variable('secret_key')})"
    else:
        key = f"{result['key']} of {SessionConfig.env_variable('secret_key_fallbacks')}"
    if age < 0:
        age_text = f"signed {duration(-age)} in the future (within the allowed clock skew)"
    else:
        age_text = seconds_and_duration(age)
    status = result["status"]
    if status == "refused":
        status += f" ({result['reason']})"
    print(f"status:     {status}")
    print(f"format:     {result['format']}")
    # An encrypted cookie is not signed: it is sealed, and opened by a key.
    by, at = (
        ("opened by", "sealed at")
        if result["format"] == "encrypted"
        else ("signed by", "signed at")
    )
    print(f"{by}:  {key}")
    print(f"{at}:  {result['signed_at']}")
    print(f"age:        {age_text}")
    print(f"expires:    {expiry}")
    print("data:")
    print(_json_text(result["data"]))
    store = result.get("store")
    if store is None or not store["answers"]:
        return
    if store["found"]:
        print(f"stored in Redis ({store['url']}):")
        print(_json_text(store["data"]))
    else:
        print(
            f"Redis ({store['url']}) no longer knows this session (expired or revoked): "
            "the middleware gives it an empty session"
        )


def _print_json(document: dict[str, Any]) -> None:
    print(_json_text(document))


def _json_text(value: Any) -> str:
    """``value`` as indented JSON, non-ASCII text kept readable, and nothing a terminal acts on.

    ``json.dumps`` escapes C0 controls (ESC, BEL) but lets through the C1 controls (U+009B
    starts an escape sequence, as ESC [ does), bidi overrides and isolates (which reorder what a
    reader sees), line separators, lone surrogates (which stdout cannot encode) and the other
    characters Python calls non-printable: a session's strings, keys included, are the client's
    to choose. Each becomes its JSON escape, so the text stays valid JSON of the same value.
    """
    # Outside its strings the text holds only printable ASCII and the indentation's newlines
    # (a newline inside a string is already "\n"): whatever is escaped here is in a string.
    return "".join(
        character if character.isprintable() or character == "\n" else _json_escape(character)
        for character in json.dumps(value, indent=2, ensure_ascii=False)
    )


def _json_escape(character: str) -> str:
    """The ``\\uXXXX`` escape of ``character`` (a surrogate pair beyond the BMP)."""
    code = ord(character)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _codec(keys: list[str], max_age: int | None, cookie_name: str) -> SessionCodec:
    """A signed codec that opens encrypted cookies too, whatever ``encrypt`` says."""
    opener = sealed_opener(keys, max_age=max_age, cookie_name=cookie_name)
    return SessionCodec(keys, max_age=max_age, open_sealed=opener)
