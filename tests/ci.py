"""Whether the tests run in CI, where a test that cannot run here fails instead of skipping.

CI services set ``CI`` to ``true`` (GitHub Actions, GitLab), ``1`` or ``True`` (others);
``.ci/run`` sets ``true``. Any of the usual spellings of yes counts, in any letter case.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

import pytest

TRUE_SPELLINGS = frozenset({"1", "true", "yes", "on"})


def in_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """True when ``CI`` in ``environ`` is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    return environ.get("CI", "").strip().lower() in TRUE_SPELLINGS


def unavailable(reason: str) -> NoReturn:
    """Skip a test that cannot run here; in CI, fail it: a skipped test proves nothing."""
    if in_ci():
        pytest.fail(f"{reason} (CI={os.environ['CI']}: this test must run)")
    pytest.skip(reason)
