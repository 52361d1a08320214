"""Starlette's own session tests, run against this middleware.

Starlette's ``tests/middleware/test_session.py`` is Starlette's code, so it is not copied into
this repository: the source distribution of the installed Starlette is fetched with pip (once;
it is kept in pytest's cache directory), the test module and the files it needs are extracted
into a temporary directory, and pytest runs them there in a subprocess, under Starlette's own
pytest settings, with ``tests/starlette_swap.py`` putting this package's ``SessionMiddleware``
and ``Session`` where the module imports Starlette's.

Three differences are documented, and handled here rather than worked around in the middleware;
docs/migrating.md ("Starlette's own tests") explains each: Starlette's tests use a 7-character
secret (the swap lengthens it), check cookie attributes in lower case (the checks below are made
case-insensitive), and use a ``max_age`` below 1 (those tests are deselected). Everything else
must pass.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from ci import unavailable

TESTS_DIR = Path(__file__).resolve().parent
MIGRATING_DOC = TESTS_DIR.parent / "docs" / "migrating.md"
STARLETTE_VERSION = importlib.metadata.version("starlette")
DOWNLOAD_TIMEOUT = 180.0
RUN_TIMEOUT = 120.0

TEST_MODULE = "tests/middleware/test_session.py"
EXTRACTED = (
    "pyproject.toml",  # Starlette's pytest settings: warnings are errors, strict markers
    "tests/__init__.py",
    "tests/conftest.py",  # the test_client_factory fixture
    "tests/types.py",
    "tests/middleware/__init__.py",
    TEST_MODULE,
)

DESELECTED: dict[str, str] = {
    "test_session_expires": (
        "makes an expired cookie with max_age=-1; a max_age below 1 is a validation error here "
        "(test_cookie_older_than_max_age_gives_an_empty_session tests expiry)"
    ),
    "test_session_zero_max_age": (
        "expects max_age=0 to send 'Max-Age=0'; a max_age below 1 is a validation error here"
    ),
}
"""Starlette's tests that cannot run here, with the reason."""

CASE_INSENSITIVE: dict[str, tuple[str, str]] = {
    "test_partitioned_session": (
        'attributes = response.headers["set-cookie"].split("; ")',
        'attributes = response.headers["set-cookie"].lower().split("; ")',
    ),
    "test_session_cookie_subpath": (
        're.search(r"; path=(\\S+);", cookie)',
        're.search(r"; path=(\\S+);", cookie, re.IGNORECASE)',
    ),
    "test_domain_cookie": (
        '"domain=.example.com" in set_cookie',
        '"domain=.example.com" in set_cookie.lower()',
    ),
}
"""Starlette's tests that look for ``partitioned``, ``path=`` or ``domain=`` in lower case, which
is how Starlette writes them; this middleware writes ``Partitioned``, ``Path=`` and ``Domain=``
(attribute names are case-insensitive, RFC 6265 section 5.2). Test name -> (Starlette's check,
the same check ignoring case), replaced inside that test only."""


def download_sdist(cache_dir: Path) -> Path:
    """The installed Starlette's source distribution, fetched with pip unless already cached."""
    sdist = cache_dir / f"starlette-{STARLETTE_VERSION}.tar.gz"
    if sdist.exists():
        return sdist
    # A private download directory, then an atomic rename: concurrent runs never see half a file.
    with tempfile.TemporaryDirectory(dir=cache_dir) as download_dir:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
                *("--no-binary", ":all:", "--dest", download_dir),
                f"starlette=={STARLETTE_VERSION}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT,
        )
        (downloaded,) = Path(download_dir).glob("starlette-*.tar.gz")
        return downloaded.replace(sdist)


def functions_by_name(source: str) -> dict[str, str]:
    """Each top-level test function of a module, by name, as its source text."""
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def with_case_insensitive_checks(source: str) -> str:
    """Starlette's test module with the checks of :data:`CASE_INSENSITIVE` ignoring case."""
    functions = functions_by_name(source)
    for name, (check, replacement) in CASE_INSENSITIVE.items():
        function = functions.get(name, "")
        if check not in function:
            pytest.fail(
                f"Starlette {STARLETTE_VERSION}'s {name} no longer contains {check!r}: "
                "look at the test again and update CASE_INSENSITIVE and docs/migrating.md"
            )
        source = source.replace(function, function.replace(check, replacement))
    return source


def extract_tests(sdist: Path, destination: Path) -> None:
    """Write Starlette's session tests, and what they need, under ``destination``."""
    with tarfile.open(sdist) as archive:
        for name in EXTRACTED:
            member = archive.extractfile(f"starlette-{STARLETTE_VERSION}/{name}")
            assert member is not None, f"{name} is not a file in {sdist.name}"
            text = member.read().decode("utf-8")
            if name == TEST_MODULE:
                missing = set(DESELECTED) - set(functions_by_name(text))
                assert not missing, f"deselected tests Starlette no longer has: {sorted(missing)}"
                text = with_case_insensitive_checks(text)
            path = destination / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def starlette_tests(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding Starlette's session tests, adapted as this module describes."""
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    cache_dir = (
        cache.mkdir("starlette-sdist")
        if cache is not None
        else tmp_path_factory.mktemp("starlette-sdist")
    )
    try:
        sdist = download_sdist(cache_dir)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        message = f"cannot download Starlette {STARLETTE_VERSION}'s source with pip: {error}"
        if isinstance(error, subprocess.CalledProcessError):
            message += f"\n{error.stderr}"
        unavailable(message)
    destination = tmp_path_factory.mktemp("starlette")
    extract_tests(sdist, destination)
    return destination


def test_starlettes_session_tests_pass_against_this_middleware(
    starlette_tests: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.xml"
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(TESTS_DIR), *filter(None, [environment.get("PYTHONPATH")])]
    )
    # Only the plugins Starlette's tests need (anyio's gives test_client_factory its backend),
    # not every plugin installed here: quicker, and nothing of ours but the swap gets in.
    environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "anyio.pytest_plugin"),
            *("-p", "starlette_swap", "-p", "no:cacheprovider"),
            *(f"--junitxml={report}", TEST_MODULE),
            *(f"--deselect={TEST_MODULE}::{name}" for name in DESELECTED),
        ],
        cwd=starlette_tests,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    suite = ElementTree.parse(report).getroot().find("testsuite")  # noqa: S314  (pytest's own report)
    assert suite is not None, result.stdout
    cases = suite.findall("testcase")
    skipped = [case.attrib["name"] for case in cases if case.find("skipped") is not None]
    assert not skipped, f"Starlette's tests must run, not skip: {skipped}\n{result.stdout}"
    ran = {case.attrib["name"].partition("[")[0] for case in cases}
    source = (starlette_tests / TEST_MODULE).read_text(encoding="utf-8")
    assert ran == set(functions_by_name(source)) - set(DESELECTED), result.stdout


def test_migrating_doc_explains_each_deselected_or_adapted_test() -> None:
    text = MIGRATING_DOC.read_text(encoding="utf-8")
    section = text.partition("### Starlette's own tests")[2].partition("\n#")[0]

    for name in [*DESELECTED, *CASE_INSENSITIVE]:
        assert f"`{name}`" in section, f"docs/migrating.md does not explain {name}"
