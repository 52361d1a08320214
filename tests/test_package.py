"""What the distribution ships, beyond the code."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest


def test_package_ships_py_typed_for_type_checkers() -> None:
    assert files("cookie_session").joinpath("py.typed").is_file()


REPOSITORY = Path(__file__).resolve().parent.parent
MODULES = sorted(path.stem for path in (REPOSITORY / "src" / "cookie_session").glob("*.py"))
# The optional integrations need their extra (Quart, FastAPI and uvicorn, prometheus-client),
# which the test extra installs; everything else needs only the runtime dependencies.


@pytest.mark.parametrize("module", [m for m in MODULES if m != "__main__"])
def test_each_module_imports_on_its_own(module: str) -> None:
    # A fresh interpreter per module: an import circle shows up as an ImportError (a partly
    # initialised module) when the circle's second module is the one imported first.
    result = subprocess.run(
        [sys.executable, "-c", f"import cookie_session.{module}"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_no_module_imports_another_that_imports_it_back() -> None:
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "imports")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" -> ") for line in result.stdout.splitlines())
    assert "middleware" not in lines["_store_flow"]  # the circles this project once had
    assert "sealed" not in lines["codec"]


def test_import_circle_script_names_a_circle(tmp_path: Path) -> None:
    package = tmp_path / "src" / "cookie_session"
    package.mkdir(parents=True)
    (package / "a.py").write_text("from cookie_session import b\n")
    (package / "b.py").write_text("def f() -> None:\n    from cookie_session.a import x\n")
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "imports"
    script.write_text((REPOSITORY / "scripts" / "imports").read_text())

    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 1
    assert "import circle:" in result.stderr
    assert "a" in result.stderr
    assert "b" in result.stderr
