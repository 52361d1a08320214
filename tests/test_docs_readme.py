"""README.md stays true: its two set-up commands exist, ``./scripts/demo`` installs the project
only when it must (the first time, or when pyproject.toml or python3 changed), so that a second
run starts at once, and the two forms its Use section shows fail as it says when a setting is bad
(served by uvicorn, as in production).

The demo script runs here in a copy of its corner of the repository, with a stand-in ``python3``
first on the PATH: the real one computes the stamp, but ``python3 -m venv`` makes a stand-in
``.venv`` whose ``python -m pip`` only records what it was asked and whose ``cookie-session``
only prints its arguments. Nothing is installed or downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REFERENCE_SECRET
from redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

STAND_IN_PYTHON3 = f"""#!/usr/bin/env bash
if [ "$1 $2" = "-m venv" ]; then
    echo "python3 -m venv $3" >>"$LOG"
    mkdir -p "$3/bin"
    cp "$STAND_IN_VENV_PYTHON" "$3/bin/python"
    exit 0
fi
exec {sys.executable} "$@"
"""
STAND_IN_VENV_PYTHON = """#!/usr/bin/env bash
echo "python $*" >>"$LOG"
if [ "$*" = "-m pip install --quiet -e .[demo]" ]; then
    printf '#!/usr/bin/env bash\\necho "cookie-session $*"\\n' >.venv/bin/cookie-session
    chmod +x .venv/bin/cookie-session
fi
"""
INSTALL = [
    "python3 -m venv .venv",
    "python -m pip install --quiet --upgrade pip",
    "python -m pip install --quiet -e .[demo]",
]


def executable(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """scripts/demo and pyproject.toml, where a clone has them; no .venv yet."""
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "demo", tmp_path / "scripts" / "demo")
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def run_demo(clone: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """What ``./scripts/demo --port 8001`` printed, and the installing steps it took."""
    tools = tmp_path_factory.mktemp("tools")
    executable(tools / "python3", STAND_IN_PYTHON3)
    log = tools / "log"
    log.touch()
    env = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "LOG": str(log),
        "STAND_IN_VENV_PYTHON": str(executable(tools / "venv-python", STAND_IN_VENV_PYTHON)),
    }
    completed = subprocess.run(
        [str(clone / "scripts" / "demo"), "--port", "8001"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stdout, log.read_text(encoding="utf-8").splitlines()


def test_the_set_up_commands_are_the_scripts() -> None:
    set_up = README.read_text(encoding="utf-8").split("## Set-up", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"^```sh\n(.*?)^```$", set_up, flags=re.MULTILINE | re.DOTALL)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]

    assert commands == ["./scripts/demo", "./scripts/test"]
    assert all(os.access(ROOT / command, os.X_OK) for command in commands)


def test_the_demo_installs_on_its_first_run_and_then_serves(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    output, steps = run_demo(clone, tmp_path_factory)

    assert steps == INSTALL
    assert output == "cookie-session demo --port 8001\n"


def test_the_demo_does_not_install_again_when_nothing_changed(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_demo(clone, tmp_path_factory)

    output, steps = run_demo(clone, tmp_path_factory)

    assert steps == []
    assert output == "cookie-session demo --port 8001\n"


def test_the_demo_installs_again_when_pyproject_changed(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_demo(clone, tmp_path_factory)
    with (clone / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write("# a dependency added\n")

    _, steps = run_demo(clone, tmp_path_factory)

    assert steps == INSTALL


def test_the_demo_installs_again_when_python3_changed(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_demo(clone, tmp_path_factory)
    stamp = clone / ".venv" / "demo-installed"
    stamp.write_text(stamp.read_text().replace("python 3.", "python 2."), encoding="utf-8")

    _, steps = run_demo(clone, tmp_path_factory)

    assert steps == INSTALL


def test_the_demo_installs_again_when_its_command_is_missing(
    clone: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run_demo(clone, tmp_path_factory)
    (clone / ".venv" / "bin" / "cookie-session").unlink()

    _, steps = run_demo(clone, tmp_path_factory)

    assert steps == INSTALL


# -- Use: a bad setting, in each of the two forms ---------------------------------------------

UVICORN_TIMEOUT = 30.0


def use_blocks() -> list[str]:
    """The Python blocks of the README's Use section: the lead form, then the reference call."""
    use = README.read_text(encoding="utf-8").split("## Use\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", use, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2
    assert "config=session_config" in blocks[0]
    assert "secret_key=" in blocks[1]
    return blocks


def uvicorn(app_source: str, directory: Path, *options: str) -> subprocess.Popen[str]:
    """``uvicorn readme_app:app`` serving ``app_source`` on a free port, as a deployment runs it."""
    (directory / "readme_app.py").write_text(app_source, encoding="utf-8")
    port = free_port()
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "readme_app:app", "--port", str(port), *options],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def ended(server: subprocess.Popen[str]) -> tuple[int, str]:
    """The exit status and output of a server that stops by itself."""
    output, _ = server.communicate(timeout=UVICORN_TIMEOUT)
    return server.returncode, output


def with_a_bad_secret(source: str) -> str:
    assert REFERENCE_SECRET in source
    return source.replace(REFERENCE_SECRET, "too-short")


@pytest.mark.usefixtures("clean_env")
def test_a_bad_setting_in_the_lead_form_stops_uvicorn_before_it_serves(tmp_path: Path) -> None:
    lead, _ = use_blocks()

    status, output = ended(uvicorn(with_a_bad_secret(lead), tmp_path))

    assert status != 0
    assert "must be at least 32 characters long, got 9" in output
    assert "Uvicorn running" not in output


@pytest.mark.usefixtures("clean_env")
def test_a_bad_setting_in_the_reference_call_stops_uvicorn_with_lifespan_on(
    tmp_path: Path,
) -> None:
    lead, reference = use_blocks()

    # uvicorn 0.15 (the lowest admitted) exits 0 here, recent ones 3: it stops either way.
    _, output = ended(uvicorn(lead + with_a_bad_secret(reference), tmp_path, "--lifespan", "on"))

    assert "must be at least 32 characters long, got 9" in output
    assert "Application startup failed" in output
    assert "Uvicorn running" not in output


@pytest.mark.usefixtures("clean_env")
def test_a_bad_setting_in_the_reference_call_under_lifespan_auto_serves_500s(
    tmp_path: Path,
) -> None:
    lead, reference = use_blocks()
    server = uvicorn(lead + with_a_bad_secret(reference), tmp_path)
    assert server.stdout is not None
    try:
        output = ""
        while "Uvicorn running" not in output:
            line = server.stdout.readline()
            assert line, output
            output += line
        port = re.search(r"http://127\.0\.0\.1:(\d+)", output)
        assert port is not None
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/counter", timeout=UVICORN_TIMEOUT)
    finally:
        server.terminate()
        server.communicate(timeout=UVICORN_TIMEOUT)

    assert "ASGI 'lifespan' protocol appears unsupported" in output
    assert refused.value.code == 500
