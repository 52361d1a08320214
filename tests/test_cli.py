"""The ``cookie-session`` command, run as a real process: exit codes, output, and no secret shown.

Every test runs in an empty working directory with no ``SESSION_*`` variable from the machine
(the ``clean_env`` fixture); the subprocesses inherit exactly that.
"""

from __future__ import annotations

import base64
import calendar
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from itsdangerous import TimestampSigner
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import OTHER_SECRET, REFERENCE_SECRET, SECRET
from cookie_session import (
    SealedCodec,
    SessionCodec,
    SessionConfig,
    SessionMiddleware,
    get_session,
)
from cookie_session._audit import Auditor
from cookie_session.cli import main
from redis_server import free_port
from redis_topologies import ClusterServers

pytestmark = pytest.mark.usefixtures("clean_env")

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"
INSTALLED_SCRIPT = Path(sys.executable).with_name("cookie-session")


@dataclass(frozen=True)
class Run:
    """A finished run of the command line."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, command: tuple[str, ...] = (sys.executable, "-m", "cookie_session")) -> Run:
    completed = subprocess.run(
        [*command, *args], capture_output=True, text=True, encoding="utf-8", timeout=60
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def assert_hidden(run: Run, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in run.output


def signed_cookie(data: dict[str, Any], secret: str = SECRET, *, seconds_ago: int = 0) -> str:
    signed_at = int(time.time()) - seconds_ago
    return SessionCodec([secret], max_age=None, clock=lambda: signed_at).encode(data)


def shown_age(output: str) -> int:
    """The age, in seconds, on decode's "age:" line."""
    match = re.search(r"^age: +(\d+) seconds", output, re.MULTILINE)
    assert match is not None, output
    return int(match.group(1))


@pytest.fixture
def secret_in_env(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    return SECRET


# -- check -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("secret_in_env")
def test_check_shows_each_setting_with_its_variable_and_source() -> None:
    Path(".env").write_text("SESSION_COOKIE=app_session\n", encoding="utf-8")

    result = run_cli("check")

    assert result.returncode == 0, result.output
    rows = {
        cells[0]: cells
        for cells in (re.split(r" {2,}", line) for line in result.stdout.splitlines())
    }
    assert rows["session_cookie"] == ["session_cookie", "SESSION_COOKIE", "app_session", "env file"]
    assert rows["secret_key"] == [
        "secret_key",
        "SESSION_SECRET_KEY",
        f"<hidden, {len(SECRET)} characters>",
        "environment",
    ]
    assert rows["path"] == ["path", "SESSION_PATH", "/", "default"]
    assert set(rows) >= set(SessionConfig.model_fields)
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_check_shows_settings_in_seconds_with_what_a_person_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_REFRESH_AFTER", "90")

    result = run_cli("check")
    as_json = run_cli("check", "--json")

    assert result.returncode == 0, result.output
    rows = {
        cells[0]: cells
        for cells in (re.split(r" {2,}", line) for line in result.stdout.splitlines())
    }
    assert rows["max_age"][2] == "1209600 seconds (14 days)"
    assert rows["refresh_after"][2] == "90 seconds (1 minute, 30 seconds)"
    assert json.loads(as_json.stdout)["settings"]["max_age"]["value"] == 1209600


def test_check_shows_secrets_only_as_their_length(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_SECRET_KEY_FALLBACKS", json.dumps([OTHER_SECRET]))

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert f"<hidden, {len(SECRET)} characters>" in result.stdout
    assert f"<hidden, {len(OTHER_SECRET)} characters>" in result.stdout
    assert_hidden(result, SECRET, OTHER_SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_check_json_gives_value_variable_and_source_of_every_setting() -> None:
    result = run_cli("check", "--json")

    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["settings"]) == set(SessionConfig.model_fields)
    assert report["settings"]["secret_key"] == {
        "value": f"<hidden, {len(SECRET)} characters>",
        "variable": "SESSION_SECRET_KEY",
        "source": "environment",
    }
    assert report["settings"]["max_age"] == {
        "value": 1209600,
        "variable": "SESSION_MAX_AGE",
        "source": "default",
    }
    assert report["warnings"] == []
    assert_hidden(result, SECRET)


def test_check_reads_the_env_file_named_by_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "deploy.env"
    env_file.write_text(f"SESSION_SECRET_KEY={SECRET}\nSESSION_MAX_AGE=none\n", encoding="utf-8")

    result = run_cli("check", "--env-file", str(env_file), "--json")

    assert result.returncode == 0, result.output
    settings = json.loads(result.stdout)["settings"]
    assert settings["secret_key"]["source"] == "env file"
    assert settings["max_age"] == {
        "value": None,
        "variable": "SESSION_MAX_AGE",
        "source": "env file",
    }
    assert_hidden(result, SECRET)


def test_check_reads_secret_files_from_secrets_dir(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "run-secrets"
    secrets_dir.mkdir()
    (secrets_dir / "SESSION_SECRET_KEY").write_text(SECRET + "\n", encoding="utf-8")

    result = run_cli("check", "--secrets-dir", str(secrets_dir), "--json")

    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert report["secrets_dir"] == str(secrets_dir)
    assert report["settings"]["secret_key"]["source"] == "secrets dir"
    assert_hidden(result, SECRET)


@pytest.mark.parametrize(
    ("option", "message"),
    [("--env-file", "no such file: nowhere"), ("--secrets-dir", "no such directory: nowhere")],
)
def test_check_of_a_missing_env_file_or_secrets_dir_is_a_usage_error(
    option: str, message: str
) -> None:
    result = run_cli("check", option, "nowhere")

    assert result.returncode == 2
    assert message in result.stderr


def test_check_reports_one_line_per_problem_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    short_secret = "LEAKCHECK-too-short"
    monkeypatch.setenv("SESSION_SECRET_KEY", short_secret)
    monkeypatch.setenv("SESSION_MAX_AGE", "-3")
    Path(".env").write_text("SESSION_SAME_SITE=sometimes\n", encoding="utf-8")

    result = run_cli("check")

    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert len(problems) == 3, result.stderr
    assert all(line.startswith("error: SESSION_") for line in problems)
    assert any("SESSION_SECRET_KEY (from the environment)" in line for line in problems)
    assert any("SESSION_MAX_AGE (from the environment)" in line for line in problems)
    assert any("SESSION_SAME_SITE (from the env file)" in line for line in problems)
    assert result.stdout == ""
    assert_hidden(result, short_secret)


def test_check_names_the_variable_of_a_missing_secret() -> None:
    result = run_cli("check")

    assert result.returncode == 1
    assert result.stderr.startswith("error: SESSION_SECRET_KEY")


def test_check_json_lists_the_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_SAME_SITE", "none")

    result = run_cli("check", "--json")

    assert result.returncode == 1
    problems = json.loads(result.stdout)["configuration_errors"]
    assert len(problems) == 1
    assert "SESSION_SAME_SITE" in problems[0]
    assert "SESSION_HTTPS_ONLY" in problems[0]
    assert_hidden(result, SECRET)


def _env_example_secret() -> str:
    match = re.search(r"SESSION_SECRET_KEY=(\S+)", ENV_EXAMPLE.read_text(encoding="utf-8"))
    assert match is not None, ".env.example shows no SESSION_SECRET_KEY"
    return match.group(1)


@pytest.mark.parametrize(
    "published",
    [
        REFERENCE_SECRET,
        "super-secret-key-change-this-in-production",
        "please-CHANGE-ME-before-deploying-0123456789",
        "django-insecure-0123456789abcdefghijklmnop",
        pytest.param(_env_example_secret(), id="env-example"),
    ],
)
def test_check_warns_about_a_published_example_secret(
    monkeypatch: pytest.MonkeyPatch, published: str
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", published)

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert "warning: SESSION_SECRET_KEY is a well-known example value" in result.stderr
    assert result.stderr.count("example") == 1  # said once, not also as a loading warning
    assert_hidden(result, published)


def test_check_strict_fails_on_a_published_example_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", REFERENCE_SECRET)

    result = run_cli("check", "--strict")

    assert result.returncode == 1
    assert "error: a published example secret is configured" in result.stderr
    assert "the session configuration is valid" not in result.stdout
    assert_hidden(result, REFERENCE_SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_check_warns_about_a_published_fallback_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY_FALLBACKS", json.dumps([OTHER_SECRET, REFERENCE_SECRET]))

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert "warning: SESSION_SECRET_KEY_FALLBACKS entry 2 is a well-known" in result.stderr
    assert "entry 1" not in result.stderr
    assert_hidden(result, SECRET, OTHER_SECRET, REFERENCE_SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_check_warns_when_a_domain_is_set_without_https_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_DOMAIN", ".example.com")

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert "warning: SESSION_DOMAIN is '.example.com' but SESSION_HTTPS_ONLY is false" in (
        result.stderr
    )
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_check_of_a_domain_with_https_only_warns_about_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_DOMAIN", ".example.com")
    monkeypatch.setenv("SESSION_HTTPS_ONLY", "true")

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert result.stderr == ""
    assert_hidden(result, SECRET)


# -- generate-secret -------------------------------------------------------------------------


def test_generated_secret_passes_validation() -> None:
    result = run_cli("generate-secret")

    assert result.returncode == 0, result.output
    secret = result.stdout.strip()
    assert SessionConfig(secret_key=SecretStr(secret)).secret_key.get_secret_value() == secret
    assert result.stdout == secret + "\n"


def test_generated_secrets_differ() -> None:
    first, second = run_cli("generate-secret"), run_cli("generate-secret")

    assert first.stdout != second.stdout


@pytest.mark.parametrize(("n_bytes", "length"), [(24, 32), (48, 64)])
def test_generate_secret_bytes_sets_the_randomness(n_bytes: int, length: int) -> None:
    result = run_cli("generate-secret", "--bytes", str(n_bytes))

    assert result.returncode == 0, result.output
    assert len(result.stdout.strip()) == length


@pytest.mark.parametrize("n_bytes", ["23", "0", "-5", "many"])
def test_generate_secret_refuses_bytes_that_cannot_make_a_valid_secret(n_bytes: str) -> None:
    result = run_cli("generate-secret", "--bytes", n_bytes)

    assert result.returncode == 2
    assert "argument --bytes" in result.stderr
    assert result.stdout == ""


def test_installed_script_generates_a_secret() -> None:
    result = run_cli("generate-secret", command=(str(INSTALLED_SCRIPT),))

    assert result.returncode == 0, result.output
    SessionConfig(secret_key=SecretStr(result.stdout.strip()))


# -- decode ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("secret_in_env")
def test_decode_shows_key_signing_time_age_and_data_of_a_valid_cookie() -> None:
    cookie = signed_cookie({"user": "é", "n": 1}, seconds_ago=600)

    result = run_cli("decode", cookie, "--json")

    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    signed_at = datetime.fromisoformat(report.pop("signed_at"))
    assert signed_at.utcoffset() == timedelta(0)
    assert time.time() - signed_at.timestamp() >= 600
    assert report.pop("age_seconds") >= 600
    assert report == {
        "status": "valid",
        "format": "signed",
        "key": "current",
        "max_age": 1209600,
        "data": {"user": "é", "n": 1},
    }
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
@pytest.mark.parametrize("form", ["session={}", '"{}"', 'session="{}"'], ids=str)
def test_decode_accepts_the_value_as_a_cookie_header_shows_it(form: str) -> None:
    cookie = signed_cookie({"user": "ada"}, seconds_ago=1)

    result = run_cli("decode", form.format(cookie), "--json")

    assert result.returncode == 0, result.output
    assert json.loads(result.stdout)["data"] == {"user": "ada"}


@pytest.mark.usefixtures("secret_in_env")
def test_decode_prints_a_valid_cookie_for_a_reader() -> None:
    cookie = signed_cookie({"cart": ["apple"]}, seconds_ago=3600)

    result = run_cli("decode", cookie)

    assert result.returncode == 0, result.output
    assert "status:     valid" in result.stdout
    assert "signed by:  the current key (SESSION_SECRET_KEY)" in result.stdout
    assert shown_age(result.stdout) >= 3600
    assert re.search(r"^age: +36\d\d seconds \(1 hour(, \d+ seconds?)?\)$", result.stdout, re.M)
    assert re.search(
        r"^expires: +in 13 days, 2[23] hours; max_age is 1209600 seconds \(14 days\)$",
        result.stdout,
        re.M,
    )
    assert '"cart": [\n    "apple"\n  ]' in result.stdout
    assert_hidden(result, SECRET)


def test_decode_shows_the_signing_time_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SPEC's fixed vector, signed at 1767225600 (2026-01-01T00:00:00Z).
    monkeypatch.setenv("SESSION_SECRET_KEY", "correct-horse-battery-staple-0123456789")
    monkeypatch.setenv("SESSION_MAX_AGE", "none")
    cookie = "eyJ1c2VyIjogIlx1MDBlOSIsICJuIjogMX0=.aVW5AA.shGaG0KrYImpMUUtSN16Fw4JlX8"

    result = run_cli("decode", cookie)

    assert result.returncode == 0, result.output
    assert "signed at:  2026-01-01T00:00:00+00:00" in result.stdout
    assert "expires:    never" in result.stdout


def test_decode_names_the_fallback_key_that_verified_the_cookie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_SECRET_KEY_FALLBACKS", json.dumps([OTHER_SECRET]))
    cookie = signed_cookie({"n": 1}, OTHER_SECRET)

    result = run_cli("decode", cookie)

    assert result.returncode == 0, result.output
    assert "signed by:  fallback #1 of SESSION_SECRET_KEY_FALLBACKS" in result.stdout
    assert_hidden(result, SECRET, OTHER_SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_of_an_expired_cookie_prints_its_data_and_age_says_expired_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_MAX_AGE", "60")
    cookie = signed_cookie({"user": "ada"}, seconds_ago=3600)

    result = run_cli("decode", cookie)

    assert result.returncode == 1
    assert "status:     expired" in result.stdout
    assert re.search(
        r"^expires: +EXPIRED .+ ago; max_age is 60 seconds \(1 minute\)$", result.stdout, re.M
    )
    assert shown_age(result.stdout) >= 3600
    assert '"user": "ada"' in result.stdout
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_json_of_an_expired_cookie_names_the_key_and_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_MAX_AGE", "60")
    cookie = signed_cookie({"user": "ada"}, seconds_ago=3600)

    result = run_cli("decode", cookie, "--json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "expired"
    assert report["key"] == "current"
    assert report["age_seconds"] >= 3600
    assert "max_age is 60" in report["reason"]
    assert report["data"] == {"user": "ada"}
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_rejects_a_cookie_signed_with_an_unknown_key() -> None:
    result = run_cli("decode", signed_cookie({"admin": True}, OTHER_SECRET))

    assert result.returncode == 1
    assert result.stdout == (
        "rejected: signature does not match any key (CookieSignatureInvalid)\n"
    )
    assert "admin" not in result.output
    assert_hidden(result, SECRET, OTHER_SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_rejects_a_tampered_cookie() -> None:
    _, timestamp, signature = signed_cookie({"admin": False}).split(".")
    forged = SessionCodec.serialise({"admin": True}).encode()
    tampered = ".".join([base64.b64encode(forged).decode(), timestamp, signature])

    result = run_cli("decode", tampered, "--json")

    assert result.returncode == 1
    assert json.loads(result.stdout)["rejection"] == "CookieSignatureInvalid"
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"%%%not-base64%%%", "base64"),
        (b"bm90IGpzb24=", "not JSON"),  # base64 of "not json"
        (b"WzEsIDJd", "not an object"),  # base64 of "[1, 2]"
    ],
)
def test_decode_says_why_a_signed_but_malformed_cookie_is_rejected(
    payload: bytes, reason: str
) -> None:
    cookie = TimestampSigner(SECRET).sign(payload).decode()

    result = run_cli("decode", cookie, "--json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "rejected"
    assert report["rejection"] == "CookieMalformed"
    assert reason in report["reason"]
    assert_hidden(result, SECRET)


def test_decode_with_an_invalid_configuration_reports_the_problem() -> None:
    result = run_cli("decode", signed_cookie({"n": 1}))

    assert result.returncode == 1
    assert result.stderr.startswith("error: SESSION_SECRET_KEY")
    assert result.stdout == ""


# -- usage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [(), ("check", "--verbose"), ("decode",), ("frobnicate",), ("demo", "--port", "70000")],
    ids=["no-command", "unknown-option", "missing-cookie", "unknown-command", "bad-port"],
)
def test_usage_errors_exit_2_with_a_short_message(args: tuple[str, ...]) -> None:
    result = run_cli(*args)

    assert result.returncode == 2
    assert result.stderr.startswith("usage: cookie-session")
    assert re.fullmatch(r"cookie-session[\w -]*: error: .+", result.stderr.splitlines()[-1])
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_main_returns_the_exit_status_instead_of_exiting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["generate-secret", "--bytes", "1"]) == 2
    assert main(["generate-secret"]) == 0
    assert capsys.readouterr().out.strip()


# -- check: near misses of real variables ----------------------------------------------------

HTTPSONLY_WARNING = (
    "warning: SESSION_HTTPSONLY (in the environment) is not a setting and is ignored; "
    "did you mean SESSION_HTTPS_ONLY?"
)


@pytest.mark.usefixtures("secret_in_env")
def test_check_lists_a_near_miss_and_still_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_HTTPSONLY", "true")

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert result.stderr.splitlines() == [HTTPSONLY_WARNING]
    assert result.stdout.endswith("the session configuration is valid\n")


@pytest.mark.usefixtures("secret_in_env")
def test_check_lists_a_near_miss_in_the_env_file() -> None:
    Path(".env").write_text("SESSION_SAMESITE=strict\n", encoding="utf-8")

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert (
        "warning: SESSION_SAMESITE (in the env file) is not a setting and is ignored; "
        "did you mean SESSION_SAME_SITE?"
    ) in result.stderr.splitlines()


@pytest.mark.usefixtures("secret_in_env")
def test_check_strict_exits_1_on_a_near_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_HTTPSONLY", "true")

    result = run_cli("check", "--strict")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        HTTPSONLY_WARNING,
        "error: 1 variable looks misspelt and sets nothing (--strict)",
    ]
    assert "the session configuration is valid" not in result.stdout


@pytest.mark.usefixtures("secret_in_env")
def test_check_strict_json_exits_1_and_lists_the_near_miss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_HTTPSONLY", "true")

    result = run_cli("check", "--strict", "--json")

    assert result.returncode == 1
    assert json.loads(result.stdout)["warnings"] == [HTTPSONLY_WARNING.removeprefix("warning: ")]


@pytest.mark.usefixtures("secret_in_env")
def test_check_strict_passes_with_session_manager_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_MANAGER", "local/host:@/tmp/.ICE-unix/1234")  # Linux desktops

    result = run_cli("check", "--strict")

    assert result.returncode == 0, result.output
    assert result.stderr == ""


def test_check_never_prints_the_value_of_a_near_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRETKEY", SECRET)

    result = run_cli("check")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: SESSION_SECRET_KEY (not set, and there is no env file at {Path.cwd()}/.env): "
        "Field required",
        "warning: SESSION_SECRETKEY (in the environment) is not a setting and is ignored; "
        "did you mean SESSION_SECRET_KEY?",
    ]
    assert_hidden(result, SECRET)


def test_check_json_of_an_invalid_configuration_lists_the_near_miss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRETKEY", SECRET)

    result = run_cli("check", "--json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["configuration_errors"] == [
        f"SESSION_SECRET_KEY (not set, and there is no env file at {Path.cwd()}/.env): "
        "Field required"
    ]
    assert [warning.split(" ")[0] for warning in report["warnings"]] == ["SESSION_SECRETKEY"]
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_lists_a_near_miss_like_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_HTTPSONLY", "true")

    result = run_cli("decode", signed_cookie({"n": 1}))

    assert result.returncode == 0, result.output
    assert result.stderr.splitlines() == [HTTPSONLY_WARNING]


# -- decode of encrypted cookies -------------------------------------------------------------


def sealed_cookie(
    data: dict[str, Any],
    secret: str = SECRET,
    *,
    seconds_ago: int = 0,
    cookie_name: str = "session",
) -> str:
    signed_at = int(time.time()) - seconds_ago
    codec = SealedCodec([secret], max_age=None, cookie_name=cookie_name, clock=lambda: signed_at)
    return codec.encode(data)


@pytest.mark.usefixtures("secret_in_env")
@pytest.mark.parametrize("encrypt", ["true", "false"])
def test_decode_opens_an_encrypted_cookie_whatever_encrypt_says(
    encrypt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_ENCRYPT", encrypt)
    cookie = sealed_cookie({"email": "ada@example.org"}, seconds_ago=600)

    result = run_cli("decode", cookie, "--json")

    assert result.returncode == 0, result.output
    report = json.loads(result.stdout)
    assert (report["status"], report["format"], report["key"]) == ("valid", "encrypted", "current")
    assert report["data"] == {"email": "ada@example.org"}
    assert report["age_seconds"] >= 600
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_with_encrypt_set_still_opens_a_signed_cookie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_ENCRYPT", "true")

    result = run_cli("decode", signed_cookie({"n": 1}))

    assert result.returncode == 0, result.output
    assert "format:     signed" in result.stdout


def test_decode_names_the_fallback_key_that_opened_an_encrypted_cookie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_SECRET_KEY_FALLBACKS", json.dumps([OTHER_SECRET]))

    result = run_cli("decode", sealed_cookie({"n": 1}, OTHER_SECRET))

    assert result.returncode == 0, result.output
    assert "format:     encrypted" in result.stdout
    assert "opened by:  fallback #1 of SESSION_SECRET_KEY_FALLBACKS" in result.stdout
    assert "sealed at:  " in result.stdout
    assert "signed" not in result.stdout  # an encrypted cookie is sealed, not signed
    assert_hidden(result, SECRET, OTHER_SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_of_an_expired_encrypted_cookie_shows_its_data_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_MAX_AGE", "60")

    result = run_cli("decode", sealed_cookie({"user": "ada"}, seconds_ago=3600), "--json")

    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert (report["status"], report["format"]) == ("expired", "encrypted")
    assert report["data"] == {"user": "ada"}


@pytest.mark.usefixtures("secret_in_env")
def test_decode_rejects_an_encrypted_cookie_of_an_unknown_key_without_showing_it() -> None:
    result = run_cli("decode", sealed_cookie({"admin": True}, OTHER_SECRET))

    assert result.returncode == 1
    assert result.stdout == (
        "rejected: encrypted cookie does not open with any key (CookieDecryptionFailed)\n"
    )
    assert "admin" not in result.output


@pytest.mark.usefixtures("secret_in_env")
def test_decode_opens_an_encrypted_cookie_for_the_configured_cookie_name_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cookie = sealed_cookie({"n": 1}, cookie_name="app_session")

    refused = run_cli("decode", cookie)
    monkeypatch.setenv("SESSION_COOKIE", "app_session")
    opened = run_cli("decode", f"app_session={cookie}")

    assert refused.returncode == 1
    assert "CookieDecryptionFailed" in refused.stdout
    assert opened.returncode == 0, opened.output


# -- the Redis store: check and revoke -------------------------------------------------------

STORE_PASSWORD = "LEAKCHECK-store-password-3e8f1a"


def store_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("SESSION_SECRET_KEY", SECRET)
    monkeypatch.setenv("SESSION_STORE_URL", url)
    monkeypatch.setenv("SESSION_USER_KEY", "user")


def unreachable_store_url() -> str:
    """A URL with a password in two places, on a port where nothing listens."""
    port = free_port()
    return f"redis://:{STORE_PASSWORD}@127.0.0.1:{port}/0?password={STORE_PASSWORD}"


def test_check_says_the_store_answers(monkeypatch: pytest.MonkeyPatch, store_url: str) -> None:
    store_env(monkeypatch, store_url)

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert f"store: {store_url} answers" in result.stdout.splitlines()
    assert result.stdout.endswith("the session configuration is valid\n")


def test_check_json_says_the_store_answers(monkeypatch: pytest.MonkeyPatch, store_url: str) -> None:
    store_env(monkeypatch, store_url)

    result = run_cli("check", "--json")

    assert result.returncode == 0, result.output
    assert json.loads(result.stdout)["store"] == {"url": store_url, "answers": True, "error": None}


STORE_WITHOUT_USER_KEY_WARNING = (
    "SESSION_STORE_URL is set but SESSION_USER_KEY is not: a login never moves the session to a "
    "new ID by itself, so the application must call session.regenerate() when a user logs in, "
    "or session fixation is possible"
)


def test_check_warns_about_a_store_without_user_key(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    monkeypatch.delenv("SESSION_USER_KEY")

    result = run_cli("check")
    as_json = run_cli("check", "--json")

    assert result.returncode == 0, result.output
    assert result.stderr.splitlines() == [f"warning: {STORE_WITHOUT_USER_KEY_WARNING}"]
    assert result.stdout.endswith("the session configuration is valid\n")
    assert json.loads(as_json.stdout)["warnings"] == [STORE_WITHOUT_USER_KEY_WARNING]


def test_check_strict_does_not_fail_on_a_store_without_user_key(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    # --strict fails on misspelt variables only, as for every other warning of check.
    store_env(monkeypatch, store_url)
    monkeypatch.delenv("SESSION_USER_KEY")

    result = run_cli("check", "--strict")

    assert result.returncode == 0, result.output
    assert STORE_WITHOUT_USER_KEY_WARNING in result.stderr


def test_check_of_a_store_with_user_key_warns_about_nothing(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)

    result = run_cli("check")

    assert result.returncode == 0, result.output
    assert result.stderr == ""


def test_check_without_a_store_reports_none(secret_in_env: str) -> None:
    result = run_cli("check", "--json")

    assert json.loads(result.stdout)["store"] is None


def test_check_exits_1_when_the_store_does_not_answer_and_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_env(monkeypatch, unreachable_store_url())

    result = run_cli("check")
    as_json = run_cli("check", "--json")

    assert result.returncode == 1
    assert "does not answer: ConnectionError" in result.stderr
    assert result.stderr.count("ConnectionError") == 1  # said once, not logged again
    assert "redis://***@127.0.0.1:" in result.stderr
    assert "the session configuration is valid" not in result.output
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["store"]["answers"] is False
    assert_hidden(result, STORE_PASSWORD, SECRET)
    assert_hidden(as_json, STORE_PASSWORD, SECRET)


def test_check_of_an_invalid_store_url_never_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    store_env(monkeypatch, f"http://:{STORE_PASSWORD}@cache:6379/0")

    result = run_cli("check")

    assert result.returncode == 1
    assert "SESSION_STORE_URL (from the environment): must start with redis://" in result.stderr
    assert_hidden(result, STORE_PASSWORD)


def test_revoke_signs_a_user_out_everywhere(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    app = SessionMiddleware(
        Starlette(routes=[Route("/login", _login), Route("/whoami", _whoami)]),
        config=SessionConfig.from_env(env_file=None),
    )
    with TestClient(app) as laptop, TestClient(app) as phone, TestClient(app) as other:
        laptop.get("/login", params={"user": "alice"})
        phone.get("/login", params={"user": "alice"})
        other.get("/login", params={"user": "bob"})

        result = run_cli("revoke", "--user", "alice")
        again = run_cli("revoke", "--user", "alice")

        assert result.returncode == 0, result.output
        assert result.stdout == "revoked 2 sessions of user 'alice'\n"
        assert audit_lines(result) == ["session revoked: user='alice' by=revoke_user"] * 2
        assert again.stdout == "revoked 0 sessions of user 'alice'\n"
        assert audit_lines(again) == []
        assert laptop.get("/whoami").json() == {"user": None}
        assert phone.get("/whoami").json() == {"user": None}
        assert other.get("/whoami").json() == {"user": "bob"}


def audit_lines(result: Run) -> list[str]:
    """The audit lines a command wrote on stderr, their reference left out (the ID's keyed
    hash: random as the ID)."""
    prefix = "cookie_session.audit: "
    return [
        re.sub(r" ref=[0-9a-f]{16}", "", line[len(prefix) :])
        for line in result.stderr.splitlines()
        if line.startswith(prefix)
    ]


def test_revoke_without_a_store_says_what_to_set(secret_in_env: str) -> None:
    result = run_cli("revoke", "--user", "alice")

    assert result.returncode == 1
    assert "set SESSION_STORE_URL and SESSION_USER_KEY" in result.stderr


def test_revoke_with_the_store_down_fails_without_showing_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_env(monkeypatch, unreachable_store_url())

    result = run_cli("revoke", "--user", "alice")

    assert result.returncode == 1
    assert "revoke failed: ConnectionError" in result.stderr
    assert result.stderr.count("ConnectionError") == 1  # said once, not logged again
    assert_hidden(result, STORE_PASSWORD, SECRET)


def test_revoke_needs_a_user_or_a_session() -> None:
    result = run_cli("revoke")

    assert result.returncode == 2
    assert "--user" in result.stderr
    assert "--session" in result.stderr


def test_revoke_takes_a_user_or_a_session_not_both() -> None:
    result = run_cli("revoke", "--user", "alice", "--session", "x" * 43)

    assert result.returncode == 2
    assert "not allowed with" in result.stderr


# -- sessions --user and revoke --session ----------------------------------------------------


def _whoami_id(request: Request) -> JSONResponse:
    session = get_session(request)
    return JSONResponse({"user": session.get("user"), "session_id": session.session_id})


def device_app() -> SessionMiddleware:
    """The store app of the environment's configuration."""
    return SessionMiddleware(
        Starlette(routes=[Route("/login", _login), Route("/whoami", _whoami_id)]),
        config=SessionConfig.from_env(env_file=None),
    )


def test_sessions_lists_each_device_of_a_user(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    monkeypatch.setenv("SESSION_TRACK_DEVICES", "true")
    app = device_app()
    with (
        TestClient(app, client=("203.0.113.7", 1)) as laptop,
        TestClient(app, client=("198.51.100.9", 2)) as phone,
    ):
        laptop.get("/login", params={"user": "alice"}, headers={"user-agent": "Laptop/1.0"})
        phone.get("/login", params={"user": "alice"}, headers={"user-agent": "Phone/\x1b[2J"})
        laptop_id = laptop.get("/whoami").json()["session_id"]
        phone_id = phone.get("/whoami").json()["session_id"]

    result = run_cli("sessions", "--user", "alice")
    as_json = run_cli("sessions", "--user", "alice", "--json")

    assert result.returncode == 0, result.output
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["ID", "STARTED", "LAST", "SEEN", "ADDRESS", "EXPIRES", "USER-AGENT"]
    assert len(lines) == 2
    by_id = {line.split()[0]: line for line in lines}
    assert set(by_id) == {laptop_id[:8], phone_id[:8]}
    assert "203.0.113.7" in by_id[laptop_id[:8]]
    assert by_id[laptop_id[:8]].endswith("Laptop/1.0")
    assert by_id[phone_id[:8]].endswith("Phone/\\u001b[2J")  # the terminal's escape, escaped
    assert "\x1b" not in result.stdout
    assert laptop_id not in result.stdout  # only the first characters of an ID
    listed = json.loads(as_json.stdout)["sessions"]
    assert {entry["session_id"] for entry in listed} == {laptop_id, phone_id}
    assert {entry["ip"] for entry in listed} == {"203.0.113.7", "198.51.100.9"}
    assert all(entry["started_at"].endswith("+00:00") for entry in listed)


def test_sessions_without_track_devices_lists_ids_and_expiry_only(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    with TestClient(device_app(), client=("203.0.113.7", 1)) as laptop:
        laptop.get("/login", params={"user": "alice"})
        laptop_id = laptop.get("/whoami").json()["session_id"]

    result = run_cli("sessions", "--user", "alice")

    assert result.returncode == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith(laptop_id[:8])]
    assert line.split()[1:4] == ["-", "-", "-"]
    expires = time.strptime(" ".join(line.split()[4:6]), "%Y-%m-%d %H:%M:%S")
    in_14_days = time.time() + 14 * 24 * 3600
    assert abs(calendar.timegm(expires) - in_14_days) < 60
    assert "203.0.113.7" not in result.stdout
    assert "SESSION_TRACK_DEVICES=true" in result.stdout


def test_sessions_of_a_user_with_none(monkeypatch: pytest.MonkeyPatch, store_url: str) -> None:
    store_env(monkeypatch, store_url)

    result = run_cli("sessions", "--user", "nobody")

    assert result.returncode == 0
    assert result.stdout == "no sessions of user 'nobody'\n"


def test_sessions_without_user_key_says_what_to_set(secret_in_env: str) -> None:
    result = run_cli("sessions", "--user", "alice")

    assert result.returncode == 1
    assert "set SESSION_STORE_URL and SESSION_USER_KEY" in result.stderr


def test_revoke_one_session_ends_it_and_no_other(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    app = device_app()
    with TestClient(app) as laptop, TestClient(app) as phone:
        laptop.get("/login", params={"user": "alice"})
        phone.get("/login", params={"user": "alice"})
        phone_id = phone.get("/whoami").json()["session_id"]

        result = run_cli("revoke", f"--session={phone_id}")
        again = run_cli("revoke", f"--session={phone_id}")

        assert result.returncode == 0, result.output
        assert result.stdout == f"revoked session {phone_id[:8]}...\n"
        assert audit_lines(result) == ["session revoked: user='alice'"]
        assert Auditor(SECRET).reference(phone_id) in result.stderr  # the server's reference
        assert phone_id not in result.stderr
        assert phone.get("/whoami").json()["user"] is None
        assert laptop.get("/whoami").json()["user"] == "alice"
    assert again.returncode == 1
    assert again.stderr == f"error: no session {phone_id[:8]}... in Redis (expired or revoked)\n"


def test_revoke_one_session_needs_only_a_store(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    monkeypatch.delenv("SESSION_USER_KEY")
    with TestClient(device_app()) as client:
        client.get("/login", params={"user": "alice"})
        session_id = client.get("/whoami").json()["session_id"]

        # "=": a random ID starts with "-" one time in 64, and argparse then takes it for an
        # option (docs/cli.md says to write it so)
        result = run_cli("revoke", f"--session={session_id}")

        assert result.returncode == 0, result.output
        assert client.get("/whoami").json()["user"] is None


# -- decode of a store cookie: the session as Redis holds it ---------------------------------


def store_cookie_of_a_login(user: str) -> str:
    """The cookie of a session that signed in as ``user`` and holds a cart, in the store."""
    app = SessionMiddleware(
        Starlette(routes=[Route("/login", _login), Route("/whoami", _whoami)]),
        config=SessionConfig.from_env(env_file=None),
    )
    with TestClient(app) as browser:
        browser.get("/login", params={"user": user, "cart": "tea"})
        cookie = browser.cookies.get("session")
    assert cookie is not None
    return cookie


def test_decode_of_a_store_cookie_shows_the_session_redis_holds(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    cookie = store_cookie_of_a_login("alice")

    result = run_cli("decode", cookie)
    as_json = run_cli("decode", cookie, "--json")

    assert result.returncode == 0, result.output
    stored = f"stored in Redis ({store_url}):\n"
    assert stored in result.stdout
    assert json.loads(result.stdout.partition(stored)[2]) == {"user": "alice", "cart": ["tea"]}
    assert as_json.returncode == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert list(report["data"]) == ["sid"]
    assert report["store"] == {
        "url": store_url,
        "answers": True,
        "error": None,
        "found": True,
        "data": {"user": "alice", "cart": ["tea"]},
    }
    assert_hidden(result, SECRET)


def test_decode_of_a_store_cookie_says_when_redis_no_longer_knows_the_session(
    monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    store_env(monkeypatch, store_url)
    cookie = store_cookie_of_a_login("alice")
    assert run_cli("revoke", "--user", "alice").returncode == 0

    result = run_cli("decode", cookie)
    as_json = run_cli("decode", cookie, "--json")

    assert result.returncode == 1
    assert "status:     valid\n" in result.stdout
    assert result.stdout.endswith(
        f"Redis ({store_url}) no longer knows this session (expired or revoked): the "
        "middleware gives it an empty session\n"
    )
    assert "alice" not in result.stdout
    assert as_json.returncode == 1
    store = json.loads(as_json.stdout)["store"]
    assert (store["answers"], store["found"], store["data"]) == (True, False, None)


def test_decode_with_the_store_down_says_so_and_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_env(monkeypatch, unreachable_store_url())
    cookie = signed_cookie({"sid": "A" * 43})

    result = run_cli("decode", cookie)
    as_json = run_cli("decode", cookie, "--json")

    assert result.returncode == 1
    assert "status:     valid\n" in result.stdout
    assert result.stderr.startswith("error: the session store redis://")
    assert "does not answer: ConnectionError" in result.stderr
    assert result.stderr.count("ConnectionError") == 1  # said once, not logged again
    assert "stored in Redis" not in result.stdout
    assert as_json.returncode == 1
    store = json.loads(as_json.stdout)["store"]
    assert (store["answers"], store["found"], store["data"]) == (False, None, None)
    assert store["error"].startswith("ConnectionError")
    assert_hidden(result, STORE_PASSWORD, SECRET)
    assert_hidden(as_json, STORE_PASSWORD, SECRET)


def test_decode_with_a_store_refuses_a_cookie_that_carries_no_session_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No Redis call is needed (nor made: nothing listens on this store's port).
    store_env(monkeypatch, unreachable_store_url())

    result = run_cli("decode", signed_cookie({"user": "alice"}))

    assert result.returncode == 1
    assert result.stdout.startswith(
        "status:     refused (a signed cookie that carries no session ID: with "
        "SESSION_STORE_URL set, the middleware refuses it)\n"
    )
    assert result.stderr == ""


async def _login(request: Request) -> JSONResponse:
    session = get_session(request)
    session["user"] = request.query_params["user"]
    if "cart" in request.query_params:
        session["cart"] = [request.query_params["cart"]]
    return JSONResponse({})


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": get_session(request).get("user")})


@pytest.mark.usefixtures("secret_in_env")
def test_decode_shows_a_signed_cookie_but_says_it_is_refused_when_accept_signed_is_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_ENCRYPT", "true")
    monkeypatch.setenv("SESSION_ACCEPT_SIGNED", "false")
    cookie = signed_cookie({"user": "ada"})

    result = run_cli("decode", cookie)
    as_json = run_cli("decode", cookie, "--json")

    assert result.returncode == 1
    assert result.stdout.startswith(
        "status:     refused (a signed cookie, and SESSION_ACCEPT_SIGNED is false: the "
        "middleware accepts only encrypted cookies)\nformat:     signed\n"
    )
    assert '"user": "ada"' in result.stdout
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert (report["status"], report["format"], report["data"]) == (
        "refused",
        "signed",
        {"user": "ada"},
    )
    assert "SESSION_ACCEPT_SIGNED is false" in report["reason"]
    assert_hidden(result, SECRET)


@pytest.mark.usefixtures("secret_in_env")
def test_decode_opens_an_encrypted_cookie_as_valid_when_accept_signed_is_false(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSION_ENCRYPT", "true")
    monkeypatch.setenv("SESSION_ACCEPT_SIGNED", "false")

    result = run_cli("decode", sealed_cookie({"user": "ada"}))

    assert result.returncode == 0, result.output
    assert "status:     valid\nformat:     encrypted\n" in result.stdout


# -- decode: nothing in a session reaches the terminal unescaped -----------------------------

UNPRINTABLE = {
    "C0 control (ESC)": ("\x1b", "\\u001b"),
    "C0 control (BEL)": ("\x07", "\\u0007"),
    "C1 control (CSI)": ("\x9b", "\\u009b"),
    "C1 control (NEL)": ("\x85", "\\u0085"),
    "bidi override (RLO)": ("\u202e", "\\u202e"),
    "bidi embedding (LRE)": ("\u202a", "\\u202a"),
    "bidi isolate (RLI)": ("\u2067", "\\u2067"),
    "bidi isolate end (PDI)": ("\u2069", "\\u2069"),
    "bidi mark (RLM)": ("\u200f", "\\u200f"),
    "bidi mark (ALM)": ("\u061c", "\\u061c"),
    "line separator": ("\u2028", "\\u2028"),
    "soft hyphen": ("\xad", "\\u00ad"),
    "byte-order mark": ("\ufeff", "\\ufeff"),
    "lone surrogate": ("\ud800", "\\ud800"),
    "tag character beyond the BMP": ("\U000e0001", "\\udb40\\udc01"),
}


@pytest.mark.usefixtures("secret_in_env")
@pytest.mark.parametrize(("character", "escape"), UNPRINTABLE.values(), ids=list(UNPRINTABLE))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_decode_escapes_unprintable_characters_of_keys_and_values(
    character: str, escape: str, as_json: bool
) -> None:
    data = {f"key{character}": f"value{character}", "readable": "é ü 漢字 🍪"}

    result = run_cli("decode", signed_cookie(data), *(["--json"] if as_json else []))

    assert result.returncode == 0, result.output
    assert character not in result.stdout
    assert '"readable": "é ü 漢字 🍪"' in result.stdout  # printable text is kept as it is
    assert f'"key{escape}": "value{escape}"' in result.stdout
    shown = (
        json.loads(result.stdout)["data"]
        if as_json
        else json.loads(result.stdout.partition("data:\n")[2])
    )
    assert shown == data


def test_check_tells_a_cluster_node_from_a_server_and_a_cluster_url_answers(
    monkeypatch: pytest.MonkeyPatch, redis_cluster: ClusterServers
) -> None:
    store_env(monkeypatch, redis_cluster.nodes[0].url)
    node = run_cli("check")
    store_env(monkeypatch, redis_cluster.url)
    cluster = run_cli("check")

    assert node.returncode == 1
    assert "a node of a Redis Cluster: use a redis+cluster:// URL" in node.stderr
    assert cluster.returncode == 0, cluster.output
    assert f"store: {redis_cluster.url} answers" in cluster.stdout.splitlines()


@pytest.mark.parametrize("kind", ["cluster", "sentinel"])
def test_check_of_an_unreachable_cluster_or_sentinel_never_shows_a_password(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    port = free_port()
    url = {
        "cluster": f"redis+cluster://:{STORE_PASSWORD}@127.0.0.1:{port},127.0.0.1:{port + 1}",
        "sentinel": f"redis+sentinel://:{STORE_PASSWORD}@127.0.0.1:{port}/mymaster"
        f"?sentinel_password={STORE_PASSWORD}",
    }[kind]
    store_env(monkeypatch, url)

    result = run_cli("check")

    assert result.returncode == 1
    assert "does not answer" in result.stderr
    assert f"redis+{kind}://***@127.0.0.1:" in result.stderr
    assert_hidden(result, STORE_PASSWORD, SECRET)
