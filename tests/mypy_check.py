"""Running mypy from tests: on a file that must pass, or on a snippet that must be rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parent.parent
REJECTED = ROOT / "tests" / "typing_rejected"
"""Snippets mypy must reject, each with its one mistake on a line marked ``# mistake``."""


def mypy_errors(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """mypy's error lines (not notes) about ``path`` itself, with the project's mypy.ini."""
    monkeypatch.chdir(ROOT)  # mypy.ini's paths, and mypy's report, are relative to the repository
    relative = path.relative_to(ROOT).as_posix()
    report, errors, _ = mypy_api.run(["--config-file", "mypy.ini", relative])
    assert not errors, errors
    # Errors in imported modules (src/) are the main run's business, not this file's.
    return [
        line
        for line in report.splitlines()
        if line.startswith(f"{relative}:") and ": error: " in line
    ]


def assert_rejected_at_mistake(
    snippet: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mypy reports ``expected`` for ``snippet``, on its ``# mistake`` line, and nothing else."""
    path = REJECTED / snippet
    mistake_line = next(
        number
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.endswith("# mistake")
    )
    assert mypy_errors(path, monkeypatch) == [
        f"{path.relative_to(ROOT).as_posix()}:{mistake_line}: {expected}"
    ]
