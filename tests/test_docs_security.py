"""docs/security.md stays true: every test its table of guarantees cites exists, and what the page
says that no other test holds (the salt sessions share with other itsdangerous tokens, the Public
Suffix List loaded only for a domain) is checked here."""

from __future__ import annotations

import ast
import base64
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import itsdangerous
import pytest

from conftest import SECRET
from cookie_session import CookieRejected, SessionCodec

ROOT = Path(__file__).resolve().parent.parent
SECURITY_PAGE = ROOT / "docs" / "security.md"
TABLE_HEADING = "## Guarantees and the tests that hold them"
CITATION = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[([^\]`]+)\])?`")
"""A cited test as pytest names it: ``tests/file.py::test_name``, or with ``[id]`` one case of a
parametrized test."""


def table_rows(page: str) -> list[str]:
    """The rows of the table under TABLE_HEADING, without its header and rule."""
    section = page.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")][2:]


@cache
def collected_tests_and_case_ids(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    """The test functions pytest collects from ``path`` (named ``test...``, at module level or in
    a class), and the ids given to its ``pytest.param`` cases."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    definitions = [*tree.body]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            definitions.extend(node.body)
    tests = {
        node.name
        for node in definitions
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }
    case_ids = {
        node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and node.arg == "id"
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }
    return frozenset(tests), frozenset(case_ids)


def missing_citations(text: str) -> list[str]:
    """Each test cited in ``text`` that does not exist: no such file, test or case id."""
    missing = []
    for citation in CITATION.finditer(text):
        file, test, case_id = citation.groups()
        path = ROOT / file
        if not path.is_file():
            missing.append(citation[0])
            continue
        tests, case_ids = collected_tests_and_case_ids(path)
        if test not in tests or (case_id is not None and case_id not in case_ids):
            missing.append(citation[0])
    return missing


def test_every_guarantee_in_the_table_cites_a_test() -> None:
    rows = table_rows(SECURITY_PAGE.read_text(encoding="utf-8"))

    assert len(rows) >= 20  # the table is found, and whole
    assert [row for row in rows if not CITATION.search(row)] == []


def test_every_test_the_table_cites_exists() -> None:
    rows = table_rows(SECURITY_PAGE.read_text(encoding="utf-8"))

    assert missing_citations("\n".join(rows)) == []


@pytest.mark.parametrize(
    "citation",
    [
        pytest.param("`tests/test_no_such_file.py::test_default_attributes`", id="no such file"),
        pytest.param("`tests/test_middleware.py::test_no_such_test`", id="no such test"),
        pytest.param("`tests/test_middleware.py::show`", id="not a test"),
        pytest.param("`tests/test_config.py::test_defaults[no such case]`", id="no such case"),
    ],
)
def test_a_citation_of_a_test_that_does_not_exist_is_caught(citation: str) -> None:
    assert missing_citations(f"| a guarantee | {citation} |") == [citation]


def test_a_citation_of_a_parametrized_case_that_exists_passes() -> None:
    citation = "`tests/test_config.py::test_bad_value_is_rejected_naming_its_field[single label]`"

    assert missing_citations(citation) == []


# -- "The secret signs sessions and nothing else" --------------------------------------------

CHOSEN_TEXT = base64.b64encode(json.dumps({"role": "admin"}).encode()).decode()


def test_a_timestamp_signer_token_over_chosen_text_is_a_session_cookie() -> None:
    token = itsdangerous.TimestampSigner(SECRET).sign(CHOSEN_TEXT).decode()

    assert CHOSEN_TEXT == "eyJyb2xlIjogImFkbWluIn0="  # the page's example
    assert SessionCodec([SECRET], max_age=3600).verify(token).data == {"role": "admin"}


def test_a_token_with_a_salt_of_its_own_is_not_a_session_cookie() -> None:
    token = itsdangerous.TimestampSigner(SECRET, salt="reset").sign(CHOSEN_TEXT).decode()

    with pytest.raises(CookieRejected):
        SessionCodec([SECRET], max_age=3600).verify(token)


# -- "Settings for production": the Public Suffix List ----------------------------------------

LOADS_THE_LIST = f"""
import sys
from cookie_session import SessionConfig, SessionMiddleware

SessionMiddleware(lambda scope, receive, send: None, secret_key={SECRET!r})
print("publicsuffixlist" in sys.modules)
SessionConfig(secret_key={SECRET!r}, domain="example.com")
print("publicsuffixlist" in sys.modules)
"""


def test_the_public_suffix_list_is_loaded_only_when_a_domain_is_set() -> None:
    # A fresh interpreter: this one may have loaded the list for other tests.
    loaded = subprocess.run(
        [sys.executable, "-c", LOADS_THE_LIST], capture_output=True, text=True, check=True
    ).stdout.split()

    assert loaded == ["False", "True"]
