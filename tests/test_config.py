"""SessionConfig: what it accepts, what it refuses, where it reads, and what it never shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

import cookie_session
from cookie_session import SessionConfig, SessionConfigWarning
from cookie_session.config import LoadedConfig

VALID_SECRET = "LEAKCHECK-config-secret-0123456789-abcdef"  # not published: no warning
OLDER_SECRET = "an-older-key-still-accepted-0123456789"
LEAK = "LEAKCHECK"  # every secret below that must stay hidden contains this marker
LEAKY_VALID_SECRET = "LEAKCHECK-a-perfectly-good-secret-0123456789"

Layer = Literal["environment", "env file", "secrets dir"]
LAYERS: tuple[Layer, ...] = ("environment", "env file", "secrets dir")

# 253 characters: three labels of 63 (the longest a label may be), one of 57, then "com".
LONGEST_DOMAIN = ".".join(["a" * 63] * 3 + ["a" * 57, "com"])
ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


class AppSettings(BaseSettings):
    """An application's own settings with the session nested in it, as the docs show.

    Deliberately without ``hide_input_in_errors``: it renders the nested model's errors.
    """

    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

    session: SessionConfig
    debug: bool = False


class Deployment:
    """Puts variables in one of the places ``SessionConfig.from_env`` reads, then loads them."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.env_file = directory / "deploy.env"
        self.secrets_dir = directory / "secrets"
        self.secrets_dir.mkdir()
        self._monkeypatch = monkeypatch

    def set(self, layer: Layer, **variables: str) -> None:
        for name, value in variables.items():
            if layer == "environment":
                self._monkeypatch.setenv(name, value)
            elif layer == "env file":
                with self.env_file.open("a", encoding="utf-8") as env_file:
                    env_file.write(f"{name}='{value}'\n")
            else:
                (self.secrets_dir / name).write_text(value + "\n", encoding="utf-8")

    def load(self, **overrides: Any) -> LoadedConfig[SessionConfig]:
        return SessionConfig.load(self.env_file, secrets_dir=self.secrets_dir, **overrides)

    def refuse(self, **overrides: Any) -> ValidationError:
        with pytest.raises(ValidationError) as caught:
            self.load(**overrides)
        return caught.value


@pytest.fixture(autouse=True)
def clean_app_env(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like ``clean_env``, also for the prefixes this module uses besides SESSION_."""
    for name in list(os.environ):
        if name.upper().startswith(("APP_", "MYAPP_")):
            monkeypatch.delenv(name)


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    return Deployment(tmp_path, monkeypatch)


def make(**settings: Any) -> SessionConfig:
    """A config built in code: the reference secret plus ``settings``."""
    return SessionConfig(**{"secret_key": VALID_SECRET, **settings})


def refuse(**settings: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        make(**settings)
    return caught.value


def fields_named(error: ValidationError) -> list[str]:
    return [str(item["loc"][0]) for item in error.errors()]


def assert_no_secret_in_error(error: ValidationError) -> None:
    renderings = {
        "str": str(error),
        "repr": repr(error),
        "errors()": str(error.errors()),
        "json()": error.json(),
        "traceback": "".join(traceback.format_exception(error)),
    }
    for how, text in renderings.items():
        assert LEAK not in text, f"a secret is shown by the error's {how}"


def assert_no_secret_in_config(config: BaseSettings) -> None:
    renderings = {
        "repr": repr(config),
        "str": str(config),
        "model_dump_json()": config.model_dump_json(),
        "model_dump()": str(config.model_dump()),
    }
    for how, text in renderings.items():
        assert LEAK not in text, f"a secret is shown by the config's {how}"


# --- Values in code -------------------------------------------------------------------------


def test_reference_secret_of_38_characters_is_accepted_unchanged() -> None:
    reference = "your-secret-key-min-32-characters-long"  # the reference documentation's secret
    assert len(reference) == 38
    with pytest.warns(SessionConfigWarning, match="published example secret"):
        config = SessionConfig(secret_key=reference)
    assert config.secret_key.get_secret_value() == reference


def test_reference_example_is_accepted_unchanged() -> None:
    config = make(session_cookie="fastrapi_session", max_age=3600, https_only=False)

    assert (config.session_cookie, config.max_age, config.https_only) == (
        "fastrapi_session",
        3600,
        False,
    )


def test_production_example_is_accepted_unchanged() -> None:
    config = make(max_age=86400, https_only=True, same_site="strict", domain=".example.com")

    assert (config.max_age, config.https_only, config.same_site, config.domain) == (
        86400,
        True,
        "strict",
        ".example.com",
    )


def test_browser_session_example_keeps_max_age_none() -> None:
    assert make(max_age=None).max_age is None


def test_defaults() -> None:
    config = make()

    assert config.secret_key_fallbacks == ()
    assert config.session_cookie == "session"
    assert config.max_age == 1209600
    assert config.path == "/"
    assert config.same_site == "lax"
    assert config.https_only is False
    assert config.domain is None
    assert config.partitioned is False
    assert config.encrypt is False
    assert config.store_url is None
    assert config.store_prefix == "cookie-session:"
    assert config.user_key is None


def test_secret_key_is_required() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig()  # type: ignore[call-arg]  # the missing secret is the point

    assert [(item["loc"], item["type"]) for item in caught.value.errors()] == [
        (("secret_key",), "missing")
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("secret_key", "abcdefgh" * 4),  # exactly 32 characters, exactly 8 different
        ("max_age", 1),
        ("max_age", 34560000),
        ("path", "/app"),
        ("path", "/a/b-c_d.e~%20"),
        ("session_cookie", "fastrapi_session"),
        ("session_cookie", "my.cookie-1!#$%&'*+^_`|~"),
        ("domain", "example.com"),
        ("domain", "localhost"),
        ("domain", "sub.my-site.co.uk"),
        ("domain", "xn--bcher-kva.example"),
        ("same_site", "strict"),
        ("https_only", True),
    ],
)
def test_valid_value_is_kept(field: str, value: object) -> None:
    kept = getattr(make(**{field: value}), field)

    assert (kept.get_secret_value() if isinstance(kept, SecretStr) else kept) == value


def test_fallback_keys_are_kept_in_order() -> None:
    config = make(secret_key_fallbacks=[OLDER_SECRET, "abcdefgh" * 4])

    assert [key.get_secret_value() for key in config.secret_key_fallbacks] == [
        OLDER_SECRET,
        "abcdefgh" * 4,
    ]


@pytest.mark.parametrize(
    ("given", "stored"), [("Lax", "lax"), ("STRICT", "strict"), ("sTrIcT", "strict")]
)
def test_same_site_accepts_any_case_and_stores_lower_case(given: str, stored: str) -> None:
    assert make(same_site=given).same_site == stored


def test_same_site_none_in_capitals_is_stored_lower_case() -> None:
    assert make(same_site="None", https_only=True).same_site == "none"


@pytest.mark.parametrize(
    ("given", "stored"),
    [(".Example.COM", ".example.com"), ("WWW.Example.com", "www.example.com")],
)
def test_domain_is_lower_cased_and_keeps_its_leading_dot(given: str, stored: str) -> None:
    assert make(domain=given).domain == stored


def test_empty_domain_means_none() -> None:
    assert make(domain="").domain is None


# The list of bad input, and a few neighbours. Each names its field and says why.
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        pytest.param("secret_key", "", "at least 32 characters", id="empty secret"),
        pytest.param("secret_key", VALID_SECRET[:31], "at least 32", id="31-char secret"),
        pytest.param("secret_key", "a" * 40, "at least 8 different", id="low-variety secret"),
        pytest.param("secret_key", "abcdefg" * 5, "at least 8 different", id="7 distinct chars"),
        pytest.param("secret_key", 12345, "must be a string", id="secret not a string"),
        pytest.param("secret_key_fallbacks", ["too-short"], "at least 32", id="short fallback"),
        pytest.param("secret_key_fallbacks", ["a" * 40], "at least 8", id="low-variety fallback"),
        pytest.param("max_age", 0, "greater than or equal to 1", id="max_age 0"),
        pytest.param("max_age", -1, "greater than or equal to 1", id="max_age -1"),
        pytest.param("max_age", 34560001, "less than or equal to 34560000", id="max_age 400d+1s"),
        pytest.param("max_age", "abc", "valid integer", id="max_age abc"),
        pytest.param("max_age", 3.5, "fractional part", id="max_age 3.5"),
        pytest.param("max_age", True, "not a boolean", id="max_age True"),
        pytest.param("same_site", "bogus", "'lax', 'strict' or 'none'", id="same_site bogus"),
        pytest.param("same_site", "", "'lax', 'strict' or 'none'", id="same_site empty"),
        pytest.param("path", "app", "must start with '/'", id="path without /"),
        pytest.param("path", "/; Domain=evil.com", "without ';'", id="path with ;"),
        pytest.param("path", "/;Domain=evil.com", "without ';'", id="path with ; and no space"),
        pytest.param("path", "/my app", "spaces", id="path with space"),
        pytest.param("path", "/app\nX-Evil: 1", "spaces", id="path with newline"),
        pytest.param("path", "/app\t", "spaces", id="path with tab"),
        pytest.param("session_cookie", "my session", "non-empty token", id="name with space"),
        pytest.param("session_cookie", "a;b", "non-empty token", id="name with ;"),
        pytest.param("session_cookie", "a=b", "non-empty token", id="name with ="),
        pytest.param("session_cookie", "a,b", "non-empty token", id="name with ,"),
        pytest.param("session_cookie", "séssion", "non-empty token", id="name non-ASCII"),
        pytest.param("session_cookie", "", "non-empty token", id="name empty"),
        pytest.param("session_cookie", "a\x00b", "non-empty token", id="name with control"),
        pytest.param("domain", "https://example.com", "no scheme", id="domain with scheme"),
        pytest.param("domain", "example.com:8080", "port", id="domain with port"),
        pytest.param("domain", "example.com/app", "path", id="domain with path"),
        pytest.param("domain", "exa mple.com", "spaces", id="domain with space"),
        pytest.param("domain", "_.example.com", "letters, digits", id="underscore label"),
        pytest.param("domain", "my_host.example.com", "letters, digits", id="underscore"),
        pytest.param("domain", "example.com.", "trailing dot", id="trailing dot"),
        pytest.param("domain", "127.0.0.1", "not an IP address", id="IPv4 domain"),
        pytest.param("domain", "::1", "not an IP address", id="IPv6 domain"),
        pytest.param("domain", "1.2.3", "not an IP address", id="numeric last label"),
        pytest.param("domain", "com", "single label", id="top-level domain"),
        pytest.param("domain", ".com", "single label", id="top-level domain with dot"),
        pytest.param("domain", "co.uk", "public suffix", id="ICANN suffix of two labels"),
        pytest.param("domain", "github.io", "public suffix", id="private-section suffix"),
        pytest.param("domain", "intranet", "single label", id="single label"),
        pytest.param("domain", LONGEST_DOMAIN + "a", "at most 253", id="254-character domain"),
        pytest.param("path", "/" + "a" * 1024, "at most 1024", id="1025-character path"),
        pytest.param(
            "secret_key", LEAK + "\udcff" + VALID_SECRET, "lone surrogate", id="surrogate secret"
        ),
        pytest.param(
            "secret_key_fallbacks",
            [LEAK + "\udcff" + VALID_SECRET],
            "lone surrogate",
            id="surrogate fallback",
        ),
    ],
)
def test_bad_value_is_rejected_naming_its_field(field: str, value: object, message: str) -> None:
    error = refuse(**{field: value})

    [problem] = error.errors()
    assert problem["loc"][0] == field
    assert message in problem["msg"]


def test_every_bad_field_is_reported_in_one_error() -> None:
    error = refuse(
        secret_key="",
        secret_key_fallbacks=["short"],
        session_cookie="a b",
        max_age=0,
        path="app",
        same_site="bogus",
        https_only="maybe",
        domain="http://example.com",
        partitioned="perhaps",
        encrypt="secretly",
        accept_signed="perhaps",
        refresh_after="soon",
        store_url="http://cache:6379",
        store_prefix="",
        user_key=5,
        anonymous_max_age=0,
        store_max_bytes=0,
        max_lifetime=0,
        track_devices="perhaps",
        csrf="perhaps",
        csrf_header="x csrf",
        csrf_field="",
        csrf_exempt=["hooks"],
    )

    assert sorted(fields_named(error)) == sorted(SessionConfig.model_fields)


def test_misspelt_setting_is_rejected() -> None:
    error = refuse(samesite="strict")

    assert [(item["loc"], item["type"]) for item in error.errors()] == [
        (("samesite",), "extra_forbidden")
    ]


def test_config_is_frozen() -> None:
    config = make()

    with pytest.raises(ValidationError, match="frozen"):
        config.max_age = 60  # type: ignore[misc]  # assigning to a frozen model is the point

    assert config.max_age == 1209600


def test_construction_in_code_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_MAX_AGE", "60")
    monkeypatch.setenv("SESSION_SAME_SITE", "strict")
    Path(".env").write_text("SESSION_PATH=/app\n", encoding="utf-8")

    config = make()

    assert (config.max_age, config.same_site, config.path) == (1209600, "lax", "/")


def test_construction_in_code_does_not_take_the_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", VALID_SECRET)

    with pytest.raises(ValidationError) as caught:
        SessionConfig()  # type: ignore[call-arg]  # the missing secret is the point

    assert fields_named(caught.value) == ["secret_key"]


# --- Rules across fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({"same_site": "none"}, {"same_site", "https_only"}),
        ({"same_site": "NONE"}, {"same_site", "https_only"}),
        ({"partitioned": True}, {"partitioned", "https_only"}),
        ({"session_cookie": "__Secure-session"}, {"session_cookie", "https_only"}),
        ({"session_cookie": "__secure-session"}, {"session_cookie", "https_only"}),
        ({"session_cookie": "__SECURE-session"}, {"session_cookie", "https_only"}),
        ({"session_cookie": "__Host-session"}, {"session_cookie", "https_only", "path", "domain"}),
        ({"session_cookie": "__host-session"}, {"session_cookie", "https_only", "path", "domain"}),
        (
            {"session_cookie": "__HOST-session", "https_only": True, "path": "/app"},
            {"session_cookie", "https_only", "path", "domain"},
        ),
        (
            {"session_cookie": "__Host-session", "https_only": True, "domain": "example.com"},
            {"session_cookie", "https_only", "path", "domain"},
        ),
    ],
)
def test_broken_cookie_rule_is_rejected_naming_the_fields(
    settings: dict[str, Any], fields: set[str]
) -> None:
    error = refuse(**settings)

    [problem] = error.errors()
    assert problem["type"] == "cookie_rule"
    assert all(field in problem["msg"] for field in fields)


def test_every_broken_cookie_rule_is_reported_in_one_error() -> None:
    error = refuse(same_site="none", partitioned=True, session_cookie="__Secure-session")

    messages = [item["msg"] for item in error.errors()]
    assert len(messages) == 3
    assert any("same_site='none'" in message for message in messages)
    assert any("partitioned=True" in message for message in messages)
    assert any("'__Secure-'" in message for message in messages)


def test_cookie_rules_are_reported_alongside_invalid_fields() -> None:
    error = refuse(same_site="none", max_age=0)

    assert [item["loc"] for item in error.errors()] == [("max_age",), ("same_site and https_only",)]
    assert "same_site='none' requires https_only=True" in error.errors()[1]["msg"]


def test_cookie_rule_on_an_invalid_field_is_not_reported() -> None:
    # https_only is wrong itself: whether it would satisfy the rule cannot be known.
    error = refuse(same_site="none", https_only="maybe")

    assert [item["loc"] for item in error.errors()] == [("https_only",)]


def test_cookie_rules_are_reported_when_the_secret_is_invalid() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig(secret_key="too short", partitioned=True)

    assert [item["loc"] for item in caught.value.errors()] == [
        ("secret_key",),
        ("partitioned and https_only",),
    ]


def test_a_cross_field_rule_is_printed_under_its_own_heading() -> None:
    error = refuse(same_site="none", max_age=0)

    lines = str(error).splitlines()
    rule = next(index for index, line in enumerate(lines) if "same_site='none'" in line)
    assert lines[rule - 1] == "same_site and https_only"


def test_a_short_secret_s_message_says_how_to_make_one() -> None:
    error = refuse(secret_key="too short")

    assert "cookie-session generate-secret" in error.errors()[0]["msg"]


@pytest.mark.parametrize(
    "settings",
    [
        {"same_site": "none", "https_only": True},
        {"partitioned": True, "https_only": True},
        {"same_site": "none", "partitioned": True, "https_only": True},
        {"session_cookie": "__Secure-session", "https_only": True},
        {"session_cookie": "__Secure-session", "https_only": True, "path": "/app"},
        {"session_cookie": "__secure-session", "https_only": True, "domain": ".example.com"},
        {"session_cookie": "__Host-session", "https_only": True},
        {"session_cookie": "__HOST-session", "https_only": True, "path": "/", "domain": None},
        {"session_cookie": "__Host_session"},  # no prefix: the dash is part of it
        {"session_cookie": "__Securely"},
    ],
)
def test_cookie_rules_accept_what_browsers_accept(settings: dict[str, Any]) -> None:
    assert make(**settings).model_dump(include=set(settings)) == settings


# --- Settings that need an extra ------------------------------------------------------------------


@pytest.mark.parametrize("encrypt", [True, False])
def test_encrypt_is_accepted_with_cryptography_installed(encrypt: bool) -> None:
    assert make(encrypt=encrypt).encrypt is encrypt


@dataclass(frozen=True)
class NeedsExtra:
    """A setting that needs an optional package: refused without it, naming the extra."""

    setting: str
    module: str  # what the check looks for: set to None in sys.modules, it is "not installed"
    error_type: str
    extra: str
    variable_value: str
    message_start: str


NEEDS_EXTRA = [
    pytest.param(
        NeedsExtra(
            "encrypt", "cryptography", "encryption_unavailable", "encryption", "yes",
            "SESSION_ENCRYPT (from the environment): encrypt=True needs",
        ),
        id="encrypt",
    ),
    pytest.param(
        NeedsExtra(
            "csrf", "python_multipart", "csrf_form_parser_unavailable", "csrf", "true",
            "SESSION_CSRF (from the environment): csrf=True reads",
        ),
        id="csrf",
    ),
]  # fmt: skip


@pytest.mark.parametrize("needs", NEEDS_EXTRA)
def test_a_setting_without_its_package_names_the_extra(
    needs: NeedsExtra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, needs.module, None)  # as if it were not installed

    error = refuse(**{needs.setting: True})

    [problem] = error.errors()
    assert (problem["loc"], problem["type"]) == ((needs.setting,), needs.error_type)
    assert f"pip install 'cookie-session[{needs.extra}]'" in problem["msg"]


@pytest.mark.parametrize("needs", NEEDS_EXTRA)
def test_a_setting_left_off_needs_no_package(
    needs: NeedsExtra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, needs.module, None)

    assert getattr(make(**{needs.setting: False}), needs.setting) is False


@pytest.mark.parametrize("needs", NEEDS_EXTRA)
def test_a_setting_without_its_package_names_its_variable(
    needs: NeedsExtra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, needs.module, None)
    monkeypatch.setenv("SESSION_SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv(f"SESSION_{needs.setting.upper()}", needs.variable_value)

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None)

    [problem] = caught.value.errors()
    assert problem["msg"].startswith(needs.message_start)
    assert f"cookie-session[{needs.extra}]" in problem["msg"]


def test_a_csrf_configuration_does_not_import_python_multipart() -> None:
    """Found at start-up, imported only by the first multipart form the check reads."""
    script = (
        "import sys\n"
        "from cookie_session import SessionConfig\n"
        f"SessionConfig(secret_key={VALID_SECRET!r}, csrf=True)\n"
        "print('python_multipart' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- From the environment -------------------------------------------------------------------


def test_from_env_reads_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SESSION_SECRET_KEY": VALID_SECRET,
        "SESSION_SECRET_KEY_FALLBACKS": json.dumps([OLDER_SECRET]),
        "SESSION_COOKIE": "__Host-app",
        "SESSION_MAX_AGE": "3600",
        "SESSION_PATH": "/",
        "SESSION_SAME_SITE": "none",
        "SESSION_HTTPS_ONLY": "true",
        "SESSION_DOMAIN": "",
        "SESSION_PARTITIONED": "1",
        # true cannot go with a store (test_a_setting_without_its_package_names_its_variable
        # reads a true one)
        "SESSION_ENCRYPT": "false",
        "SESSION_REFRESH_AFTER": "600",
        "SESSION_STORE_URL": "rediss://cache.internal:6380/2",
        "SESSION_STORE_PREFIX": "app:",
        "SESSION_USER_KEY": "user_id",
        "SESSION_MAX_LIFETIME": "86400",
        "SESSION_TRACK_DEVICES": "yes",
        "SESSION_CSRF": "on",
        "SESSION_CSRF_HEADER": "X-XSRF-Token",
        "SESSION_CSRF_FIELD": "_token",
        "SESSION_CSRF_EXEMPT": '["/hooks/", "/api/public/"]',
    }.items():
        monkeypatch.setenv(name, value)

    config = SessionConfig.from_env()

    assert config.secret_key.get_secret_value() == VALID_SECRET
    assert [key.get_secret_value() for key in config.secret_key_fallbacks] == [OLDER_SECRET]
    assert config.store_url is not None
    assert config.store_url.get_secret_value() == "rediss://cache.internal:6380/2"
    assert config.model_dump(exclude={"secret_key", "secret_key_fallbacks", "store_url"}) == {
        "session_cookie": "__Host-app",
        "max_age": 3600,
        "path": "/",
        "same_site": "none",
        "https_only": True,
        "domain": None,
        "partitioned": True,
        "encrypt": False,
        "accept_signed": True,
        "refresh_after": 600,
        "store_prefix": "app:",
        "user_key": "user_id",
        "anonymous_max_age": None,
        "store_max_bytes": 1048576,
        "max_lifetime": 86400,
        "track_devices": True,
        "csrf": True,
        "csrf_header": "x-xsrf-token",
        "csrf_field": "_token",
        "csrf_exempt": ("/hooks/", "/api/public/"),
    }


@pytest.mark.parametrize(
    ("field", "variable"),
    [
        ("secret_key", "SESSION_SECRET_KEY"),
        ("secret_key_fallbacks", "SESSION_SECRET_KEY_FALLBACKS"),
        ("session_cookie", "SESSION_COOKIE"),
        ("max_age", "SESSION_MAX_AGE"),
        ("path", "SESSION_PATH"),
        ("same_site", "SESSION_SAME_SITE"),
        ("https_only", "SESSION_HTTPS_ONLY"),
        ("domain", "SESSION_DOMAIN"),
        ("partitioned", "SESSION_PARTITIONED"),
        ("encrypt", "SESSION_ENCRYPT"),
        ("accept_signed", "SESSION_ACCEPT_SIGNED"),
        ("refresh_after", "SESSION_REFRESH_AFTER"),
        ("store_url", "SESSION_STORE_URL"),
        ("store_prefix", "SESSION_STORE_PREFIX"),
        ("user_key", "SESSION_USER_KEY"),
        ("anonymous_max_age", "SESSION_ANONYMOUS_MAX_AGE"),
        ("store_max_bytes", "SESSION_STORE_MAX_BYTES"),
        ("max_lifetime", "SESSION_MAX_LIFETIME"),
        ("track_devices", "SESSION_TRACK_DEVICES"),
        ("csrf", "SESSION_CSRF"),
        ("csrf_header", "SESSION_CSRF_HEADER"),
        ("csrf_field", "SESSION_CSRF_FIELD"),
        ("csrf_exempt", "SESSION_CSRF_EXEMPT"),
    ],
)
def test_each_setting_has_its_variable(field: str, variable: str) -> None:
    assert SessionConfig.env_variable(field) == variable


def test_override_beats_the_environment(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_MAX_AGE="100")

    loaded = deployment.load(secret_key=VALID_SECRET, max_age=60)

    assert (loaded.config.max_age, loaded.sources["max_age"]) == (60, "argument")


def test_environment_beats_the_env_file(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_MAX_AGE="100")
    deployment.set("env file", SESSION_MAX_AGE="200")

    loaded = deployment.load(secret_key=VALID_SECRET)

    assert (loaded.config.max_age, loaded.sources["max_age"]) == (100, "environment")


def test_env_file_beats_the_secrets_dir(deployment: Deployment) -> None:
    deployment.set("env file", SESSION_MAX_AGE="200")
    deployment.set("secrets dir", SESSION_MAX_AGE="300")

    loaded = deployment.load(secret_key=VALID_SECRET)

    assert (loaded.config.max_age, loaded.sources["max_age"]) == (200, "env file")


def test_secrets_dir_beats_the_default(deployment: Deployment) -> None:
    deployment.set("secrets dir", SESSION_MAX_AGE="300")

    loaded = deployment.load(secret_key=VALID_SECRET)

    assert (loaded.config.max_age, loaded.sources["max_age"]) == (300, "secrets dir")


def test_default_applies_when_no_source_sets_a_value(deployment: Deployment) -> None:
    loaded = deployment.load(secret_key=VALID_SECRET)

    assert (loaded.config.max_age, loaded.sources["max_age"]) == (1209600, "default")


def test_load_reports_where_each_setting_came_from(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_SAME_SITE="strict")
    deployment.set("env file", SESSION_PATH="/app")
    deployment.set("secrets dir", SESSION_SECRET_KEY=VALID_SECRET)

    loaded = deployment.load(max_age=60)

    assert loaded.sources == {
        "secret_key": "secrets dir",
        "secret_key_fallbacks": "default",
        "session_cookie": "default",
        "max_age": "argument",
        "path": "env file",
        "same_site": "environment",
        "https_only": "default",
        "domain": "default",
        "partitioned": "default",
        "encrypt": "default",
        "accept_signed": "default",
        "refresh_after": "default",
        "store_url": "default",
        "store_prefix": "default",
        "user_key": "default",
        "anonymous_max_age": "default",
        "store_max_bytes": "default",
        "max_lifetime": "default",
        "track_devices": "default",
        "csrf": "default",
        "csrf_header": "default",
        "csrf_field": "default",
        "csrf_exempt": "default",
    }
    assert (loaded.config.max_age, loaded.config.path, loaded.config.same_site) == (
        60,
        "/app",
        "strict",
    )


def test_env_file_defaults_to_dot_env_in_the_working_directory() -> None:
    Path(".env").write_text(f"SESSION_SECRET_KEY={VALID_SECRET}\n", encoding="utf-8")

    assert SessionConfig.from_env().secret_key.get_secret_value() == VALID_SECRET


def test_missing_env_file_is_not_an_error(tmp_path: Path) -> None:
    config = SessionConfig.from_env(tmp_path / "missing.env", secret_key=VALID_SECRET)

    assert config.max_age == 1209600


def test_env_file_none_reads_no_file() -> None:
    Path(".env").write_text("SESSION_MAX_AGE=60\n", encoding="utf-8")

    config = SessionConfig.from_env(None, secret_key=VALID_SECRET)

    assert config.max_age == 1209600


def test_missing_secrets_dir_only_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="does not exist"):
        config = SessionConfig.from_env(
            None, secrets_dir=tmp_path / "missing", secret_key=VALID_SECRET
        )

    assert config.max_age == 1209600


@pytest.mark.parametrize("layer", ["environment", "env file"])
def test_unrelated_variables_are_ignored(deployment: Deployment, layer: Layer) -> None:
    deployment.set(layer, DATABASE_URL="postgres://db", MAX_AGE="abc", HTTPS_ONLY="maybe")

    assert deployment.load(secret_key=VALID_SECRET).config == make()


@pytest.mark.filterwarnings("ignore::cookie_session.SessionConfigWarning")  # SESSION_SAMESITE
@pytest.mark.parametrize("layer", LAYERS)
def test_unknown_session_variable_is_ignored(deployment: Deployment, layer: Layer) -> None:
    deployment.set(layer, SESSION_FOO="bar", SESSION_SAMESITE="bogus")

    assert deployment.load(secret_key=VALID_SECRET).config == make()


def test_unrelated_files_in_the_secrets_dir_are_ignored(deployment: Deployment) -> None:
    (deployment.secrets_dir / "tls.p12").write_bytes(b"\xff\xfe\x00 not text")
    (deployment.secrets_dir / "db_password").write_text("hunter2", encoding="utf-8")
    deployment.set("secrets dir", SESSION_SECRET_KEY=VALID_SECRET)

    assert deployment.load().config == make()


def test_secret_file_that_is_not_utf8_is_a_validation_error(deployment: Deployment) -> None:
    (deployment.secrets_dir / "SESSION_SECRET_KEY").write_bytes(b"\xffLEAKCHECK-binary")

    error = deployment.refuse()

    [problem] = error.errors()
    assert problem["msg"].startswith("SESSION_SECRET_KEY (from the secrets dir)")
    assert "not UTF-8" in problem["msg"]
    assert "LEAKCHECK" not in str(error) + repr(error)


def test_env_file_that_is_not_utf8_is_a_validation_error(deployment: Deployment) -> None:
    deployment.env_file.write_bytes(b"SESSION_SECRET_KEY=\xffLEAKCHECK-binary\n")

    error = deployment.refuse()

    [problem] = error.errors()
    assert problem["msg"] == f"env file {deployment.env_file} is not UTF-8 text"
    assert "LEAKCHECK" not in str(error) + repr(error)


@pytest.mark.parametrize("argument", ["_env_file", "_secrets_dir", "_cli_parse_args"])
def test_plain_construction_refuses_pydantic_settings_source_arguments(argument: str) -> None:
    arguments: dict[str, Any] = {"secret_key": VALID_SECRET, argument: "anything"}
    with pytest.raises(TypeError, match=argument):
        SessionConfig(**arguments)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("word", ["none", "NULL", "", "Null", "None"])
def test_max_age_none_word_means_no_max_age(
    deployment: Deployment, layer: Layer, word: str
) -> None:
    deployment.set(layer, SESSION_MAX_AGE=word)

    assert deployment.load(secret_key=VALID_SECRET).config.max_age is None


def test_empty_domain_variable_means_none(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_DOMAIN="")

    assert deployment.load(secret_key=VALID_SECRET).config.domain is None


def test_same_site_variable_accepts_any_case(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_SAME_SITE="Strict")

    assert deployment.load(secret_key=VALID_SECRET).config.same_site == "strict"


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("off", False),
    ],
)
def test_https_only_variable_accepts_the_usual_boolean_words(
    deployment: Deployment, word: str, value: bool
) -> None:
    deployment.set("environment", SESSION_HTTPS_ONLY=word)

    assert deployment.load(secret_key=VALID_SECRET).config.https_only is value


def test_https_only_maybe_is_rejected_naming_the_variable(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_HTTPS_ONLY="maybe")

    error = deployment.refuse(secret_key=VALID_SECRET)

    [problem] = error.errors()
    assert problem["loc"] == ("https_only",)
    assert problem["msg"].startswith("SESSION_HTTPS_ONLY")


@pytest.mark.parametrize(("text", "count"), [("[]", 0), ("", 0), (json.dumps([OLDER_SECRET]), 1)])
def test_fallbacks_variable_is_a_json_list(deployment: Deployment, text: str, count: int) -> None:
    deployment.set("environment", SESSION_SECRET_KEY_FALLBACKS=text)

    fallbacks = deployment.load(secret_key=VALID_SECRET).config.secret_key_fallbacks

    assert [key.get_secret_value() for key in fallbacks] == [OLDER_SECRET] * count


def test_fallbacks_variable_with_invalid_json_is_rejected_naming_the_variable(
    deployment: Deployment,
) -> None:
    deployment.set("environment", SESSION_SECRET_KEY_FALLBACKS=f"[{OLDER_SECRET}]")

    error = deployment.refuse(secret_key=VALID_SECRET)

    [problem] = error.errors()
    assert problem["loc"] == ("secret_key_fallbacks",)
    assert problem["msg"].startswith("SESSION_SECRET_KEY_FALLBACKS")
    assert "JSON list" in problem["msg"]


@pytest.mark.parametrize(
    ("layer", "origin"),
    [
        ("environment", "SESSION_MAX_AGE (from the environment)"),
        ("env file", "SESSION_MAX_AGE (from the env file)"),
        ("secrets dir", "SESSION_MAX_AGE (from the secrets dir)"),
    ],
)
def test_bad_variable_error_says_where_it_came_from(
    deployment: Deployment, layer: Layer, origin: str
) -> None:
    deployment.set(layer, SESSION_MAX_AGE="0")

    [problem] = deployment.refuse(secret_key=VALID_SECRET).errors()

    assert problem["msg"].startswith(f"{origin}: ")


def test_bad_override_error_names_the_argument(deployment: Deployment) -> None:
    [problem] = deployment.refuse(secret_key=VALID_SECRET, max_age=0).errors()

    assert problem["msg"].startswith("argument max_age: ")


def test_missing_secret_names_the_variable_to_set(deployment: Deployment) -> None:
    [problem] = deployment.refuse().errors()

    assert (problem["loc"], problem["type"]) == (("secret_key",), "missing")
    assert problem["msg"].startswith("SESSION_SECRET_KEY")


def test_every_bad_variable_is_reported_in_one_error(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_MAX_AGE="abc", SESSION_HTTPS_ONLY="maybe")
    deployment.set("env file", SESSION_PATH="app")

    error = deployment.refuse(secret_key=VALID_SECRET)

    assert sorted(item["msg"].split(" ")[0] for item in error.errors()) == [
        "SESSION_HTTPS_ONLY",
        "SESSION_MAX_AGE",
        "SESSION_PATH",
    ]


def test_broken_cookie_rule_from_the_environment_names_the_variables(
    deployment: Deployment,
) -> None:
    deployment.set("environment", SESSION_SAME_SITE="none")

    [problem] = deployment.refuse(secret_key=VALID_SECRET).errors()

    assert "SESSION_SAME_SITE" in problem["msg"]
    assert "SESSION_HTTPS_ONLY" in problem["msg"]


@pytest.mark.parametrize("layer", ["environment", "env file"])
def test_variable_names_match_in_any_case(deployment: Deployment, layer: Layer) -> None:
    deployment.set(layer, session_max_age="60", Session_Same_Site="strict")

    config = deployment.load(secret_key=VALID_SECRET).config

    assert (config.max_age, config.same_site) == (60, "strict")


@pytest.mark.parametrize("name", ["SESSION_SECRET_KEY", "session_secret_key", "Session_Secret_Key"])
def test_secrets_dir_file_names_match_in_any_case(deployment: Deployment, name: str) -> None:
    deployment.set("secrets dir", **{name: VALID_SECRET})

    assert deployment.load().config.secret_key.get_secret_value() == VALID_SECRET


def test_custom_prefix_reads_its_own_variables_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYAPP_SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv("MYAPP_COOKIE", "myapp_session")
    monkeypatch.setenv("SESSION_MAX_AGE", "60")

    loaded = SessionConfig.load(None, env_prefix="MYAPP_")

    assert (loaded.config.session_cookie, loaded.config.max_age) == ("myapp_session", 1209600)
    assert loaded.env_prefix == "MYAPP_"


def test_custom_prefix_errors_name_its_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYAPP_HTTPS_ONLY", "maybe")

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None, env_prefix="MYAPP_", secret_key=VALID_SECRET)

    [problem] = caught.value.errors()
    assert problem["msg"].startswith("MYAPP_HTTPS_ONLY")


def test_custom_prefix_names_the_missing_secrets_variable() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None, env_prefix="MYAPP_")

    [problem] = caught.value.errors()
    assert problem["msg"].startswith("MYAPP_SECRET_KEY (not set):")


def test_custom_prefix_names_the_secrets_dir_files(deployment: Deployment) -> None:
    deployment.set("secrets dir", MYAPP_SECRET_KEY=VALID_SECRET)

    config = SessionConfig.from_env(None, env_prefix="MYAPP_", secrets_dir=deployment.secrets_dir)

    assert config.secret_key.get_secret_value() == VALID_SECRET


def test_unknown_override_is_a_type_error() -> None:
    # mypy rejects this call too; the dict stands for code that mypy does not check.
    misspelt: dict[str, Any] = {"secret_key": VALID_SECRET, "samesite": "strict"}
    with pytest.raises(TypeError, match="samesite"):
        SessionConfig.from_env(None, **misspelt)


def test_env_example_sets_nothing_until_uncommented() -> None:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()

    assert all(line.startswith("#") for line in lines if line.strip())


def test_env_example_uncommented_gives_every_variable_its_default(tmp_path: Path) -> None:
    uncommented = tmp_path / "example.env"
    example = ENV_EXAMPLE.read_text(encoding="utf-8")
    uncommented.write_text(re.sub(r"(?m)^# (SESSION_)", r"\1", example), encoding="utf-8")

    loaded = SessionConfig.load(uncommented)

    assert set(loaded.sources.values()) == {"env file"}
    assert loaded.config.model_dump(exclude={"secret_key"}) == make().model_dump(
        exclude={"secret_key"}
    )


# --- Nested in an application's own settings ------------------------------------------------


def test_session_settings_nest_in_an_application_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DEBUG", "true")
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv("APP_SESSION__SECRET_KEY_FALLBACKS", json.dumps([OLDER_SECRET]))
    monkeypatch.setenv("APP_SESSION__MAX_AGE", "none")
    monkeypatch.setenv("APP_SESSION__SAME_SITE", "Strict")
    monkeypatch.setenv("APP_SESSION__DOMAIN", ".Example.com")

    settings = AppSettings()

    assert settings.debug is True
    assert settings.session.secret_key.get_secret_value() == VALID_SECRET
    assert [key.get_secret_value() for key in settings.session.secret_key_fallbacks] == [
        OLDER_SECRET
    ]
    assert (settings.session.max_age, settings.session.same_site, settings.session.domain) == (
        None,
        "strict",
        ".example.com",
    )


def test_nested_session_error_names_the_nested_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv("APP_SESSION__HTTPS_ONLY", "maybe")

    with pytest.raises(ValidationError) as caught:
        AppSettings()

    assert [item["loc"] for item in caught.value.errors()] == [("session", "https_only")]


def test_application_model_echoes_ordinary_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control for the nested secret checks below: this model does print inputs."""
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv("APP_SESSION__HTTPS_ONLY", "LEAKCHECK-not-a-boolean")

    with pytest.raises(ValidationError) as caught:
        AppSettings()

    assert "hide_input_in_errors" not in AppSettings.model_config
    assert LEAK in str(caught.value)


# --- No secret in any error, repr or str ----------------------------------------------------

# Every way a secret given in code can be refused.
REFUSED_SECRETS_IN_CODE = [
    pytest.param("secret_key", "LEAKCHECK-short", id="key too short"),
    pytest.param("secret_key", LEAK * 5, id="key too few different characters"),
    pytest.param("secret_key", LEAKY_VALID_SECRET.encode(), id="key as bytes"),
    pytest.param("secret_key", [LEAKY_VALID_SECRET], id="key as a list"),
    pytest.param("secret_key_fallbacks", ["LEAKCHECK-short"], id="fallback too short"),
    pytest.param("secret_key_fallbacks", [LEAK * 5], id="fallback too few characters"),
    pytest.param("secret_key_fallbacks", [OLDER_SECRET, "LEAKCHECK-short"], id="second fallback"),
    pytest.param("secret_key_fallbacks", [LEAKY_VALID_SECRET.encode()], id="fallback as bytes"),
    pytest.param("secret_key_fallbacks", [[LEAKY_VALID_SECRET]], id="fallback as a list"),
    pytest.param("secret_key_fallbacks", LEAKY_VALID_SECRET, id="fallbacks not JSON"),
    pytest.param("secret_key_fallbacks", f"[{LEAKY_VALID_SECRET}]", id="fallbacks invalid JSON"),
    pytest.param("secret_key_fallbacks", {"key": LEAKY_VALID_SECRET}, id="fallbacks as a dict"),
]

# Every way a secret from a variable can be refused (variable name without the prefix).
REFUSED_SECRETS_IN_VARIABLES = [
    pytest.param("SECRET_KEY", "LEAKCHECK-short", id="key too short"),
    pytest.param("SECRET_KEY", LEAK * 5, id="key too few different characters"),
    pytest.param("SECRET_KEY_FALLBACKS", '["LEAKCHECK-short"]', id="fallback too short"),
    pytest.param("SECRET_KEY_FALLBACKS", json.dumps([LEAK * 5]), id="fallback too few characters"),
    pytest.param(
        "SECRET_KEY_FALLBACKS", json.dumps([OLDER_SECRET, "LEAKCHECK-short"]), id="second fallback"
    ),
    pytest.param("SECRET_KEY_FALLBACKS", f"[{LEAKY_VALID_SECRET}]", id="invalid JSON"),
    pytest.param("SECRET_KEY_FALLBACKS", LEAKY_VALID_SECRET, id="not JSON"),
    pytest.param("SECRET_KEY_FALLBACKS", json.dumps(LEAKY_VALID_SECRET), id="a JSON string"),
    pytest.param("SECRET_KEY_FALLBACKS", json.dumps({"k": LEAKY_VALID_SECRET}), id="a JSON object"),
    pytest.param("SECRET_KEY_FALLBACKS", json.dumps([[LEAKY_VALID_SECRET]]), id="a nested list"),
]


def field_of(variable: str) -> str:
    return "secret_key" if variable == "SECRET_KEY" else "secret_key_fallbacks"


@pytest.mark.parametrize(("field", "value"), REFUSED_SECRETS_IN_CODE)
def test_refused_secret_in_code_is_never_shown(field: str, value: object) -> None:
    error = refuse(**{field: value})

    assert fields_named(error) == [field]
    assert_no_secret_in_error(error)


@pytest.mark.parametrize(("field", "value"), REFUSED_SECRETS_IN_CODE)
def test_refused_secret_override_is_never_shown(field: str, value: object) -> None:
    overrides: dict[str, Any] = {"secret_key": VALID_SECRET, field: value}

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None, **overrides)

    assert fields_named(caught.value) == [field]
    assert_no_secret_in_error(caught.value)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize(("variable", "value"), REFUSED_SECRETS_IN_VARIABLES)
def test_refused_secret_variable_is_never_shown(
    deployment: Deployment, layer: Layer, variable: str, value: str
) -> None:
    if variable != "SECRET_KEY":
        deployment.set(layer, SESSION_SECRET_KEY=VALID_SECRET)
    deployment.set(layer, **{f"SESSION_{variable}": value})

    error = deployment.refuse()

    assert fields_named(error) == [field_of(variable)]
    assert_no_secret_in_error(error)


@pytest.mark.parametrize(("variable", "value"), REFUSED_SECRETS_IN_VARIABLES)
def test_refused_nested_secret_variable_is_never_shown(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv(f"APP_SESSION__{variable}", value)

    with pytest.raises(ValidationError) as caught:
        AppSettings()

    assert [item["loc"][:2] for item in caught.value.errors()] == [("session", field_of(variable))]
    assert_no_secret_in_error(caught.value)


@pytest.mark.parametrize(("field", "value"), REFUSED_SECRETS_IN_CODE)
def test_refused_nested_secret_in_code_is_never_shown(field: str, value: object) -> None:
    settings: dict[str, Any] = {"session": {"secret_key": VALID_SECRET, field: value}}

    with pytest.raises(ValidationError) as caught:
        AppSettings(**settings)

    assert [item["loc"][:2] for item in caught.value.errors()] == [("session", field)]
    assert_no_secret_in_error(caught.value)


def test_misspelt_secret_keyword_is_never_shown() -> None:
    error = refuse(secretkey=LEAKY_VALID_SECRET)

    assert fields_named(error) == ["secretkey"]
    assert_no_secret_in_error(error)


def test_misspelt_nested_secret_variable_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv("APP_SESSION__SECRET", LEAKY_VALID_SECRET)

    with pytest.raises(ValidationError) as caught:
        AppSettings()

    assert [item["loc"] for item in caught.value.errors()] == [("session", "secret")]
    assert_no_secret_in_error(caught.value)


def test_secret_assigned_to_a_frozen_config_is_never_shown() -> None:
    config = make()

    with pytest.raises(ValidationError) as caught:
        config.secret_key = LEAKY_VALID_SECRET  # type: ignore[assignment,misc]  # must be refused

    assert_no_secret_in_error(caught.value)


def test_accepted_secrets_are_never_shown_by_the_config() -> None:
    config = SessionConfig(
        secret_key=SecretStr(LEAKY_VALID_SECRET),
        secret_key_fallbacks=(SecretStr(LEAKY_VALID_SECRET + "-older"),),
    )

    assert_no_secret_in_config(config)


@pytest.mark.parametrize("layer", LAYERS)
def test_accepted_secret_variables_are_never_shown_by_the_loaded_config(
    deployment: Deployment, layer: Layer
) -> None:
    deployment.set(
        layer,
        SESSION_SECRET_KEY=LEAKY_VALID_SECRET,
        SESSION_SECRET_KEY_FALLBACKS=json.dumps([LEAKY_VALID_SECRET + "-older"]),
    )

    loaded = deployment.load()

    assert loaded.config.secret_key.get_secret_value() == LEAKY_VALID_SECRET
    assert LEAK not in repr(loaded)
    assert_no_secret_in_config(loaded.config)


def test_accepted_nested_secrets_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", LEAKY_VALID_SECRET)
    monkeypatch.setenv("APP_SESSION__SECRET_KEY_FALLBACKS", json.dumps([LEAKY_VALID_SECRET]))

    assert_no_secret_in_config(AppSettings())


# --- Limits and public suffixes --------------------------------------------------------------


@pytest.mark.parametrize(
    "domain",
    ["localhost", "example.localhost", "example.co.uk", "user.github.io", LONGEST_DOMAIN],
)
def test_registrable_domains_and_localhost_are_accepted(domain: str) -> None:
    assert make(domain=domain).domain == domain


def test_path_of_1024_characters_is_accepted() -> None:
    path = "/" + "a" * 1023

    assert make(path=path).path == path


def test_surrogate_secret_error_does_not_show_it() -> None:
    assert_no_secret_in_error(refuse(secret_key=LEAK + "\udcff" + VALID_SECRET))


def test_surrogate_secret_from_the_environment_is_named_by_its_variable(
    deployment: Deployment,
) -> None:
    deployment.set("environment", SESSION_SECRET_KEY=LEAK + "\udcff" + VALID_SECRET)

    error = deployment.refuse()

    assert "SESSION_SECRET_KEY (from the environment)" in str(error)
    assert "lone surrogate" in str(error)
    assert_no_secret_in_error(error)


# --- Every pydantic path validates, and none shows a secret --------------------------------


def test_model_copy_with_an_update_validates() -> None:
    with pytest.raises(ValidationError) as caught:
        make().model_copy(update={"secret_key": LEAK + "-short"})

    assert fields_named(caught.value) == ["secret_key"]
    assert_no_secret_in_error(caught.value)


def test_model_copy_with_a_valid_update_keeps_the_secret_hidden() -> None:
    config = make().model_copy(update={"secret_key": LEAKY_VALID_SECRET, "max_age": 60})

    assert config.secret_key.get_secret_value() == LEAKY_VALID_SECRET
    assert config.max_age == 60
    assert_no_secret_in_config(config)


def test_model_copy_checks_the_cookie_rules() -> None:
    with pytest.raises(ValidationError) as caught:
        make().model_copy(update={"same_site": "none"})

    assert "https_only" in str(caught.value)


def test_model_copy_without_an_update_is_an_equal_config() -> None:
    config = make(max_age=60)

    assert config.model_copy() == config


def test_model_construct_validates() -> None:
    raw: dict[str, Any] = {"secret_key": LEAK + "-short"}  # untyped, as it reaches the API

    with pytest.raises(ValidationError) as caught:
        SessionConfig.model_construct(**raw)

    assert_no_secret_in_error(caught.value)


def test_model_construct_keeps_the_secret_hidden() -> None:
    raw: dict[str, Any] = {"secret_key": LEAKY_VALID_SECRET}

    assert_no_secret_in_config(SessionConfig.model_construct(**raw))


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(LEAKY_VALID_SECRET, id="a string"),
        pytest.param([LEAKY_VALID_SECRET], id="a list"),
        pytest.param(LEAKY_VALID_SECRET.encode(), id="bytes"),
    ],
)
def test_validating_a_non_mapping_does_not_show_it(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.model_validate(value)

    assert_no_secret_in_error(caught.value)


class _Settings:
    """An object carrying settings as attributes."""

    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


def test_validating_from_attributes_hides_the_secret() -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.model_validate(_Settings(secret_key=LEAK + "-short"), from_attributes=True)

    assert fields_named(caught.value) == ["secret_key"]
    assert_no_secret_in_error(caught.value)


def test_validating_from_attributes_reads_them() -> None:
    given = _Settings(secret_key=LEAKY_VALID_SECRET, max_age=60)

    config = SessionConfig.model_validate(given, from_attributes=True)

    assert (config.secret_key.get_secret_value(), config.max_age) == (LEAKY_VALID_SECRET, 60)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"secret_key": "' + LEAKY_VALID_SECRET + '"', id="unterminated object"),
        pytest.param('{"secret_key": ' + LEAKY_VALID_SECRET + "}", id="unquoted secret"),
        pytest.param('"' + LEAKY_VALID_SECRET + '"', id="a JSON string"),
        pytest.param('{"secret_key": "' + LEAK + '-short"}', id="a short secret"),
    ],
)
def test_validating_bad_json_does_not_show_it(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.model_validate_json(text)

    assert_no_secret_in_error(caught.value)


def test_validating_good_json_gives_the_config() -> None:
    config = SessionConfig.model_validate_json(json.dumps({"secret_key": VALID_SECRET}))

    assert config == make()


# --- One variable, two spellings -------------------------------------------------------------


@pytest.mark.parametrize("layer", ["environment", "env file"])
def test_one_variable_in_two_letter_cases_with_different_values_is_an_error(
    deployment: Deployment, layer: Layer
) -> None:
    deployment.set(layer, SESSION_SECRET_KEY=LEAKY_VALID_SECRET, session_secret_key=VALID_SECRET)

    error = deployment.refuse()

    assert fields_named(error) == ["secret_key"]
    assert "SESSION_SECRET_KEY and session_secret_key" in str(error)
    assert f"in the {layer}" in str(error)
    assert_no_secret_in_error(error)


def test_two_spellings_are_reported_with_every_other_problem(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_MAX_AGE="60", session_max_age="61")
    deployment.set("environment", SESSION_SAME_SITE="bogus")

    error = deployment.refuse(secret_key=VALID_SECRET)

    assert sorted(fields_named(error)) == ["max_age", "same_site"]


def test_custom_prefix_variable_in_two_letter_cases_with_different_values_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYAPP_MAX_AGE", "60")
    monkeypatch.setenv("myapp_max_age", "61")

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env(None, env_prefix="MYAPP_", secret_key=VALID_SECRET)

    assert fields_named(caught.value) == ["max_age"]
    assert "MYAPP_MAX_AGE and myapp_max_age" in str(caught.value)


def test_one_variable_in_two_letter_cases_with_the_same_value_is_accepted(
    deployment: Deployment,
) -> None:
    deployment.set("environment", SESSION_SECRET_KEY=VALID_SECRET, Session_Secret_Key=VALID_SECRET)

    assert deployment.load().config == make()


# --- Near misses of real variables -----------------------------------------------------------


def near_miss_warnings(deployment: Deployment, env_prefix: str = "SESSION_") -> list[str]:
    """The SessionConfigWarnings of loading ``deployment`` (with every setting as an argument,
    so that no variable's value matters)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SessionConfig.load(deployment.env_file, env_prefix=env_prefix, **make().model_dump())
    return [str(item.message) for item in caught if issubclass(item.category, SessionConfigWarning)]


@pytest.mark.parametrize(
    ("variable", "resembled"),
    [
        ("SESSION_HTTPSONLY", "SESSION_HTTPS_ONLY"),  # an underscore missing
        ("SESSION_SAMESITE", "SESSION_SAME_SITE"),
        ("SESSION_MAXAGE", "SESSION_MAX_AGE"),
        ("SESSION_SECRETKEY", "SESSION_SECRET_KEY"),
        ("SESSION_SAME__SITE", "SESSION_SAME_SITE"),  # an underscore too many
        ("SESSION_MAX_AGE_", "SESSION_MAX_AGE"),
        ("SESSION_MAX_AGES", "SESSION_MAX_AGE"),  # a letter too many
        ("SESSION_PARTITONED", "SESSION_PARTITIONED"),  # a letter missing
        ("SESSION_DOMIAN", "SESSION_DOMAIN"),  # two letters swapped
        ("SESSION_HTTPONLY", "SESSION_HTTPS_ONLY"),
        ("SESSION_SECRET_KEY_FALLBACK", "SESSION_SECRET_KEY_FALLBACKS"),  # the closest one
        ("SESSION_SECRET", "SESSION_SECRET_KEY"),  # leading words only
        ("SESSION_COOKIE_NAME", "SESSION_COOKIE"),  # one word more
        ("SESSION_SECRET_KEY_FILE", "SESSION_SECRET_KEY"),
        ("session_httpsonly", "SESSION_HTTPS_ONLY"),  # any letter case
        ("Session_Same_Stie", "SESSION_SAME_SITE"),
        # Flask's and Django's names for the same settings: the one they mean.
        ("SESSION_COOKIE_SECURE", "SESSION_HTTPS_ONLY"),
        ("SESSION_COOKIE_SAMESITE", "SESSION_SAME_SITE"),
        ("SESSION_COOKIE_DOMAIN", "SESSION_DOMAIN"),
        ("SESSION_COOKIE_PATH", "SESSION_PATH"),
        ("SESSION_COOKIE_AGE", "SESSION_MAX_AGE"),
        ("SESSION_COOKIE_PARTITIONED", "SESSION_PARTITIONED"),
        ("SESSION_KEY_PREFIX", "SESSION_STORE_PREFIX"),
        ("session_cookie_secure", "SESSION_HTTPS_ONLY"),
    ],
)
def test_near_miss_of_a_real_variable_warns_naming_both(
    deployment: Deployment, variable: str, resembled: str
) -> None:
    deployment.set("environment", **{variable: "true"})

    [message] = near_miss_warnings(deployment)

    assert message == (
        f"{variable} (in the environment) is not a setting and is ignored; "
        f"did you mean {resembled}?"
    )


def test_flask_s_httponly_switch_is_answered_not_matched(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_COOKIE_HTTPONLY="false")

    [message] = near_miss_warnings(deployment)

    assert message == (
        "SESSION_COOKIE_HTTPONLY (in the environment) is not a setting and is ignored; "
        "the session cookie is always HttpOnly"
    )


def test_another_framework_s_name_is_matched_under_a_custom_prefix_too(
    deployment: Deployment,
) -> None:
    deployment.set("environment", MYAPP_COOKIE_SECURE="true")

    assert near_miss_warnings(deployment, env_prefix="MYAPP_") == [
        "MYAPP_COOKIE_SECURE (in the environment) is not a setting and is ignored; "
        "did you mean MYAPP_HTTPS_ONLY?"
    ]


@pytest.mark.parametrize(
    "variable",
    [
        "SESSION_MANAGER",  # set by Linux desktops; two edits from SESSION_MAX_AGE
        "SESSION_ID",
        "SESSION_TYPE",
        "SESSION_KEY",
        "SESSION_PAHTS",  # two edits from SESSION_PATH, a short name
        "SESSION_PARTICIPATED",  # three edits from SESSION_PARTITIONED, a long name
        "SESSION_COOKIE_NAME_SUFFIX",  # two words more
        "SESSION_",
        "HTTPS_ONLY",  # without the prefix
        "MYAPP_HTTPSONLY",
    ],
)
def test_variable_that_resembles_no_real_one_gives_no_warning(
    deployment: Deployment, variable: str
) -> None:
    deployment.set("environment", **{variable: "true"})

    assert near_miss_warnings(deployment) == []


def test_two_edits_in_a_long_name_are_a_near_miss(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_PARTISHIONED="true")  # 11 letters, two edits

    assert near_miss_warnings(deployment) == [
        "SESSION_PARTISHIONED (in the environment) is not a setting and is ignored; "
        "did you mean SESSION_PARTITIONED?"
    ]


@pytest.mark.parametrize("layer", ["environment", "env file"])
@pytest.mark.parametrize("field", list(SessionConfig.model_fields))
def test_no_real_variable_warns_in_any_letter_case(
    deployment: Deployment, layer: Layer, field: str
) -> None:
    variable = SessionConfig.env_variable(field)
    deployment.set(layer, **{variable: "set", variable.lower(): "set"})

    assert near_miss_warnings(deployment) == []


def test_near_miss_in_the_env_file_says_so(deployment: Deployment) -> None:
    deployment.set("env file", SESSION_SAMESITE="strict")

    [message] = near_miss_warnings(deployment)

    assert message.startswith("SESSION_SAMESITE (in the env file) ")
    assert message.endswith("did you mean SESSION_SAME_SITE?")


def test_near_miss_is_a_session_config_warning_that_changes_nothing(
    deployment: Deployment,
) -> None:
    deployment.set("environment", SESSION_HTTPSONLY="true")

    with pytest.warns(SessionConfigWarning, match="SESSION_HTTPSONLY .* SESSION_HTTPS_ONLY"):
        config = deployment.load(secret_key=VALID_SECRET).config

    assert config.https_only is False


def test_session_config_warning_is_a_public_user_warning() -> None:
    assert issubclass(SessionConfigWarning, UserWarning)
    assert "SessionConfigWarning" in cookie_session.__all__


def test_near_miss_warning_never_shows_the_value(deployment: Deployment) -> None:
    deployment.set("environment", SESSION_SECRETKEY=LEAKY_VALID_SECRET)
    deployment.set("env file", SESSION_SECRETKEY=LEAKY_VALID_SECRET)

    messages = near_miss_warnings(deployment)

    assert len(messages) == 2
    assert all(LEAK not in message for message in messages)


def test_near_miss_warns_even_when_the_configuration_is_invalid(
    deployment: Deployment,
) -> None:
    deployment.set("environment", SESSION_SECRETKEY=VALID_SECRET)

    with pytest.warns(SessionConfigWarning, match="did you mean SESSION_SECRET_KEY"):
        error = deployment.refuse()

    assert fields_named(error) == ["secret_key"]


@pytest.mark.parametrize("how", ["from_env", "load"])
def test_near_miss_warning_points_at_the_caller(
    monkeypatch: pytest.MonkeyPatch, how: Literal["from_env", "load"]
) -> None:
    monkeypatch.setenv("SESSION_MAXAGE", "60")

    with pytest.warns(SessionConfigWarning) as caught:
        getattr(SessionConfig, how)(None, secret_key=VALID_SECRET)

    assert [item.filename for item in caught] == [__file__]


def test_custom_prefix_near_misses_are_its_own(deployment: Deployment) -> None:
    deployment.set("environment", MYAPP_HTTPSONLY="true", SESSION_HTTPSONLY="true")

    assert near_miss_warnings(deployment, env_prefix="MYAPP_") == [
        "MYAPP_HTTPSONLY (in the environment) is not a setting and is ignored; "
        "did you mean MYAPP_HTTPS_ONLY?"
    ]


def test_without_a_prefix_no_variable_is_a_near_miss(deployment: Deployment) -> None:
    # Every variable of the machine would be a candidate (USER, PATHS...).
    deployment.set("environment", HTTPSONLY="true", SAMESITE="lax")

    assert near_miss_warnings(deployment, env_prefix="") == []


@pytest.mark.parametrize("field", ["anonymous_max_age", "store_max_bytes"])
def test_store_only_setting_without_a_store_is_refused(field: str) -> None:
    error = refuse(**{field: 600})

    [problem] = error.errors()
    assert problem["type"] == "cookie_rule"
    assert f"{field} requires store_url" in problem["msg"]


def test_anonymous_max_age_longer_than_max_age_is_refused() -> None:
    error = refuse(store_url="redis://cache:6379", max_age=600, anonymous_max_age=601)

    [problem] = error.errors()
    assert problem["type"] == "cookie_rule"
    assert "anonymous_max_age must not exceed max_age" in problem["msg"]


def test_anonymous_max_age_over_400_days_is_refused_even_without_max_age() -> None:
    error = refuse(store_url="redis://cache:6379", max_age=None, anonymous_max_age=34560001)

    [problem] = error.errors()
    assert problem["loc"][0] == "anonymous_max_age"
    assert "less than or equal to 34560000" in problem["msg"]


def test_store_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", VALID_SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", "redis://cache:6379")
    monkeypatch.setenv("SESSION_ANONYMOUS_MAX_AGE", "900")
    monkeypatch.setenv("SESSION_STORE_MAX_BYTES", "65536")

    config = SessionConfig.from_env(env_file=None)

    assert (config.anonymous_max_age, config.store_max_bytes) == (900, 65536)


def test_a_missing_required_variable_says_where_the_env_file_was_looked_for(
    clean_env: None,
) -> None:
    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env()

    [problem] = caught.value.errors()
    assert problem["msg"] == (
        f"SESSION_SECRET_KEY (not set, and there is no env file at {Path.cwd()}/.env): "
        "Field required"
    )


def test_no_env_file_hint_when_the_env_file_exists(clean_env: None) -> None:
    Path(".env").write_text("SESSION_MAX_AGE=60\n", encoding="utf-8")

    with pytest.raises(ValidationError) as caught:
        SessionConfig.from_env()

    assert caught.value.errors()[0]["msg"] == "SESSION_SECRET_KEY (not set): Field required"
