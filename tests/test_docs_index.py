"""docs/index.md stays whole: it links every page of docs/, and it and docs/cli.md name every
command of ``cookie-session``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
INDEX = DOCS / "index.md"


def commands() -> list[str]:
    """The commands ``cookie-session --help`` lists."""
    help_text = subprocess.run(
        [sys.executable, "-m", "cookie_session", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = re.findall(r"^ {4}([a-z][a-z-]*)", help_text, flags=re.MULTILINE)
    assert "check" in listed  # the listing is found
    return listed


def test_the_index_links_every_page() -> None:
    index = INDEX.read_text(encoding="utf-8")
    pages = sorted(page.name for page in DOCS.glob("*.md") if page != INDEX)

    assert [page for page in pages if f"]({page})" not in index] == []


@pytest.mark.parametrize("page", ["index.md", "cli.md"])
def test_the_page_names_every_command(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")

    assert [
        command
        for command in commands()
        if f"`{command}" not in text and f"cookie-session {command}" not in text
    ] == []
