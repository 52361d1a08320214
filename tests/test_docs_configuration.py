"""docs/configuration.md stays true: its table of settings is SessionConfig's fields, each row with
the field's type, default and environment variable, each setting has a section of its own, the
error messages it quotes are the ones the code gives, and what its "Type checking" section says
mypy does with and without pydantic's plugin is what mypy does."""

from __future__ import annotations

import json
import os
import re
import sys
import types
import typing
from pathlib import Path

import pytest
from mypy import api as mypy_api
from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from conftest import SECRET
from cookie_session import SessionConfig

CONFIGURATION_PAGE = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
TABLE_HEADING = "## Settings"
CODE_SPAN = re.compile(r"`([^`]+)`")


def type_text(annotation: object) -> str:
    """A field's type as the table writes it: ``int | None``, ``"lax" | "strict" | "none"``."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_text(arguments[0])
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(type_text(argument) for argument in arguments)
    if origin is typing.Literal:
        return " | ".join(json.dumps(argument) for argument in arguments)
    if origin is tuple and arguments[-1] is Ellipsis:
        return f"tuple[{type_text(arguments[0])}, ...]"
    if annotation is type(None):
        return "None"
    assert isinstance(annotation, type), annotation
    return annotation.__name__


def default_text(default: object) -> str:
    """A default as the table writes it: ``required``, ``"session"``, ``1209600``, ``None``."""
    if default is PydanticUndefined:
        return "required"
    if isinstance(default, str):
        return json.dumps(default)
    return repr(default)


def expected_rows() -> dict[str, tuple[str, str, str]]:
    """For each field of SessionConfig, in order: its type, default and variable."""
    return {
        name: (
            type_text(field.annotation),
            default_text(field.default),
            SessionConfig.env_variable(name),
        )
        for name, field in SessionConfig.model_fields.items()
    }


def documented_rows(page: str) -> dict[str, tuple[str, str, str]]:
    """The table under TABLE_HEADING: for each setting, the first code span (or the text) of
    its type, default and variable cells. What follows a default's code span ("(14 days)") is a
    reader's aid, not checked."""
    section = page.split(f"\n{TABLE_HEADING}\n", 1)[1].split("\n#", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    rows: dict[str, tuple[str, str, str]] = {}
    for line in lines:
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        name, type_cell, default_cell, variable_cell = (cell.replace("\\|", "|") for cell in cells)
        rows[first_code(name)] = (
            first_code(type_cell),
            first_code(default_cell),
            first_code(variable_cell),
        )
    return rows


def fenced_blocks(text: str, info: str) -> list[str]:
    """The text of ``text``'s fenced code blocks whose info string is ``info`` ("" for none)."""
    return [
        block
        for found_info, block in re.findall(
            r"^```(\w*)\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL
        )
        if found_info == info
    ]


def first_code(cell: str) -> str:
    """The cell's first code span, or the whole cell when it has none (``required``)."""
    match = CODE_SPAN.search(cell)
    return match[1] if match else cell


def table_problems(page: str) -> list[str]:
    """Each way the page's table differs from SessionConfig, one line each."""
    expected, documented = expected_rows(), documented_rows(page)
    problems = [f"{name}: no row" for name in expected if name not in documented]
    problems += [f"{name}: not a setting" for name in documented if name not in expected]
    for name in expected.keys() & documented.keys():
        for column, want, got in zip(
            ("type", "default", "variable"), expected[name], documented[name], strict=True
        ):
            if want != got:
                problems.append(f"{name}: {column} is {want}, the table says {got}")
    if not problems and list(documented) != list(expected):
        problems.append("the rows are not in SessionConfig's order (the order `check` prints)")
    return problems


def test_the_settings_table_is_every_field_of_session_config() -> None:
    assert table_problems(CONFIGURATION_PAGE.read_text(encoding="utf-8")) == []


def test_every_setting_has_a_section() -> None:
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    headings = " ".join(re.findall(r"^### (.+)$", page, flags=re.MULTILINE))

    assert [name for name in SessionConfig.model_fields if f"`{name}`" not in headings] == []


@pytest.mark.parametrize(
    ("original", "changed", "problem"),
    [
        pytest.param(
            "| `encrypt` | `bool` | `False` | `SESSION_ENCRYPT` |\n",
            "",
            "encrypt: no row",
            id="a missing row",
        ),
        pytest.param(
            "| `max_age` | `int \\| None` |",
            "| `max_age` | `int` |",
            "max_age: type is int | None, the table says int",
            id="a wrong type",
        ),
        pytest.param(
            '| `same_site` | `"lax" \\| "strict" \\| "none"` | `"lax"` |',
            '| `same_site` | `"lax" \\| "strict" \\| "none"` | `"strict"` |',
            'same_site: default is "lax", the table says "strict"',
            id="a wrong default",
        ),
        pytest.param(
            "`SESSION_COOKIE` |",
            "`SESSION_SESSION_COOKIE` |",
            "session_cookie: variable is SESSION_COOKIE, the table says SESSION_SESSION_COOKIE",
            id="a wrong variable",
        ),
        pytest.param(
            "| `path` |",
            "| `cookie_path` |",
            "cookie_path: not a setting",
            id="a row that is not a setting",
        ),
    ],
)
def test_a_row_that_is_wrong_is_caught(original: str, changed: str, problem: str) -> None:
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    assert original in page

    assert problem in table_problems(page.replace(original, changed, 1))


def test_rows_out_of_order_are_caught() -> None:
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    path_row = '| `path` | `str` | `"/"` | `SESSION_PATH` |\n'
    assert path_row in page

    moved = page.replace(path_row, "", 1).replace("| `secret_key` |", path_row + "| `secret_key` |")

    assert table_problems(moved) == [
        "the rows are not in SessionConfig's order (the order `check` prints)"
    ]


def test_types_are_written_as_the_table_writes_them() -> None:
    fields = SessionConfig.model_fields

    assert type_text(fields["max_age"].annotation) == "int | None"
    assert type_text(fields["same_site"].annotation) == '"lax" | "strict" | "none"'
    assert type_text(fields["secret_key_fallbacks"].annotation) == "tuple[SecretStr, ...]"


# -- "Type checking": what mypy says of the page's example, with and without the plugin --------

TYPE_CHECKING_HEADING = "## Type checking"


def type_checking_blocks() -> tuple[str, str]:
    """The section's Python example and the mypy error it quotes for a misspelt setting."""
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    section = page.split(f"\n{TYPE_CHECKING_HEADING}\n", 1)[1].split("\n## ", 1)[0]
    [example], [error] = (fenced_blocks(section, info) for info in ("python", ""))
    return example, error.strip()


def mypy_errors(source: str, directory: Path, *options: str) -> list[str]:
    """mypy's error lines for ``source``, with ``options`` and nothing from this repository's
    configuration, each without the file name and line."""
    (directory / "example.py").write_text(source, encoding="utf-8")
    cache = str(directory / ".mypy_cache")
    report, errors, _ = mypy_api.run(
        [*options, "--cache-dir", cache, str(directory / "example.py")]
    )
    assert "error" not in errors.replace("No [mypy] section", ""), errors
    return [line.split(": ", 1)[1] for line in report.splitlines() if ": error: " in line]


@pytest.fixture
def outside_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory where mypy finds no configuration of this repository's."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


PLUGIN_CONFIGURATION = "[mypy]\nstrict = True\nplugins = pydantic.mypy\n"


@pytest.mark.parametrize("plugin", [False, True], ids=["no configuration", "pydantic plugin"])
def test_the_example_type_checks_and_a_misspelt_setting_does_not(
    outside_the_repository: Path, plugin: bool
) -> None:
    example, error = type_checking_blocks()
    if plugin:
        (outside_the_repository / "mypy.ini").write_text(PLUGIN_CONFIGURATION, encoding="utf-8")
        options: tuple[str, ...] = ("--config-file", "mypy.ini")
    else:
        options = ("--strict", "--config-file", os.devnull)
    misspelt = example.replace("max_age=3600", 'max_age=3600, samesite="lax"')

    assert mypy_errors(example, outside_the_repository, *options) == []
    assert mypy_errors(misspelt, outside_the_repository, *options) == [error]


def test_every_page_that_builds_a_config_in_code_links_to_type_checking() -> None:
    pages = [
        *CONFIGURATION_PAGE.parent.glob("*.md"),
        CONFIGURATION_PAGE.parent.parent / "README.md",
    ]
    building = [
        page
        for page in pages
        if re.search(r"\bSessionConfig\((?!\))", page.read_text(encoding="utf-8"))
    ]
    link = re.compile(r"\]\((?:configuration\.md|docs/configuration\.md)?#type-checking\)")

    assert CONFIGURATION_PAGE in building  # the search finds what it looks for
    assert [
        page.name for page in building if not link.search(page.read_text(encoding="utf-8"))
    ] == []


# -- the messages the page quotes, "copied from the running code" -----------------------------

MISSING_SECRET = None
"""Stands for a configuration built without any secret."""
WRONG_SETTINGS: list[dict[str, object] | None] = [
    MISSING_SECRET,
    {"secret_key": "short-secret"},
    {"secret_key": "a" * 40},
    {"secret_key": 5},
    {"secret_key_fallbacks": ["short"]},
    {"secret_key_fallbacks": "[not json"},
    {"session_cookie": "a b"},
    {"max_age": 0},
    {"max_age": 10**9},
    {"max_age": "an hour"},
    {"max_age": 1.5},
    {"max_age": True},
    {"path": "app"},
    {"path": "/" + "a" * 1100},
    {"same_site": "bogus"},
    {"https_only": "maybe"},
    {"domain": "https://example.com"},
    {"domain": "127.0.0.1"},
    {"domain": "com"},
    {"domain": "co.uk"},
    {"accept_signed": False},
    {"refresh_after": 0},
    {"refresh_after": 10**8},
    {"store_url": "http://cache"},
    {"store_url": "redis://cache:99999"},
    {"store_url": "redis://cache/sessions"},
    {"user_key": "user"},
    {"store_url": "redis://cache/0", "max_age": 3600, "anonymous_max_age": 7200},
    {"store_max_bytes": 5},
    {"store_url": "redis://cache/0", "encrypt": True},
    {"same_site": "none"},
    {"partitioned": True},
    {"session_cookie": "__Secure-session"},
    {"session_cookie": "__Host-session", "path": "/app"},
    {"max_lifetime": 0},
    {"track_devices": True},
    {"track_devices": True, "store_url": "redis://cache/0"},
    {"csrf_header": "x csrf"},
    {"csrf_field": ""},
    {"csrf_exempt": ["hooks"]},
    {"csrf_exempt": "[not json"},
]
"""Wrong settings, each given with the secret above unless it sets the secret itself."""
WITHOUT_PACKAGE: dict[str, dict[str, object]] = {
    "cryptography.hazmat.primitives.ciphers.aead": {"encrypt": True},
    "redis.asyncio": {"store_url": "redis://cache/0"},
    "python_multipart": {"csrf": True},
}
"""Settings that need a package, each refused when the package is missing."""


def messages_of(settings: dict[str, object] | None) -> list[str]:
    arguments = {} if settings is None else {"secret_key": SECRET, **settings}
    try:
        SessionConfig.model_validate(arguments)
    except ValidationError as error:
        return [problem["msg"] for problem in error.errors()]
    raise AssertionError(f"accepted: {settings}")


def quoted_messages(page: str) -> list[str]:
    """The messages the Settings section quotes: its plain code blocks' lines (without a
    trailing "(reported at ...)" note), and the Message column of its table of rules."""
    section = page.split(f"\n{TABLE_HEADING}\n", 1)[1].split("\n## ", 1)[0]
    lines = [
        re.sub(r" {2,}\(reported at [^)]*\)$", "", line)
        for block in fenced_blocks(section, "")
        for line in block.splitlines()
    ]
    rules = section.split("| When | Requires | Message |", 1)[1].split("\n\n", 1)[0]
    lines += [first_code(row.split(" | ")[-1]) for row in rules.splitlines()[2:]]
    return lines


def test_every_message_the_page_quotes_is_one_the_code_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = [message for settings in WRONG_SETTINGS for message in messages_of(settings)]
    for module, settings in WITHOUT_PACKAGE.items():
        with monkeypatch.context() as without:
            without.setitem(sys.modules, module, None)  # its import fails, as when not installed
            given += messages_of(settings)
    quoted = quoted_messages(CONFIGURATION_PAGE.read_text(encoding="utf-8"))

    assert len(quoted) >= 30  # the blocks are found
    assert [message for message in quoted if message not in given] == []


def error_blocks(page: str, heading: str) -> list[str]:
    """The plain code blocks of the section under ``heading``: printed errors."""
    return fenced_blocks(page.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0], "")


@pytest.mark.usefixtures("clean_env")
def test_the_errors_example_is_what_from_env_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    [shown] = error_blocks(CONFIGURATION_PAGE.read_text(encoding="utf-8"), "## Errors")
    monkeypatch.setenv("SESSION_MAX_AGE", "0")
    monkeypatch.setenv("SESSION_HTTPS_ONLY", "maybe")

    with pytest.raises(ValidationError) as refused:
        SessionConfig.from_env()

    # The page's example ran in /srv/app; this one runs in an empty temporary directory.
    assert str(refused.value).replace(str(Path.cwd()), "/srv/app") + "\n" == shown


@pytest.mark.usefixtures("clean_env")
def test_the_nested_settings_example_reports_the_fields_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = CONFIGURATION_PAGE.read_text(encoding="utf-8")
    heading = "## Inside an application's own settings"
    [shown] = error_blocks(page, heading)
    [example] = fenced_blocks(page.split(f"\n{heading}\n", 1)[1], "python")
    monkeypatch.setenv("APP_SESSION__SECRET_KEY", "short")

    code = compile(example, str(CONFIGURATION_PAGE), "exec", dont_inherit=True)

    with pytest.raises(ValidationError) as refused:
        # The page's own code; settings = Settings() raises before `app` is needed.
        exec(code, {"__name__": "nested_settings_example"})  # noqa: S102

    assert str(refused.value) + "\n" == shown
