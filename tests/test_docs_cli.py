"""docs/cli.md stays true: every console example on the page is run, and its output compared.

Each ```` ```console ```` block is preceded by an HTML comment that sets the scene it was taken
in (``<!-- cli-example ... -->``, one instruction a line, see :class:`Scene`). The block's
commands (the lines starting ``$ ``) run in order in one ``bash``, in an empty directory, with
no ``SESSION_*`` variable but those the scene sets, and ``cookie-session`` the one installed
next to this Python. What each prints (stdout and stderr, as a terminal shows them) must be the
lines the page shows under it.

Only what must differ between two runs is normalised: times and ages, the secrets
``generate-secret`` prints, process IDs, audit lines' references, the length of a store URL,
redis-py's words for a refused connection. The cookies the page shows are made afresh (their
signing time and signature differ, their data does not), the session IDs of a store are random,
and the ports are free ones: each is put back as the page has it before the comparison.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from cookie_session import SealedCodec, SessionCodec, SessionConfig, SessionMiddleware, get_session
from redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
CLI_PAGE = ROOT / "docs" / "cli.md"
BIN = Path(sys.executable).parent
EXAMPLE = re.compile(
    r"^<!-- cli-example\n(?P<scene>.*?)^-->\n```console\n(?P<block>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
CONSOLE_BLOCK = re.compile(r"^```console$", re.MULTILINE)
MARKER = "\x1e@@cli-example@@\n"
"""Printed before each command's output, to tell them apart (\x1e is the record separator)."""
SIGNED_COOKIE = re.compile(r"(?P<payload>eyJ[A-Za-z0-9+/]*=*)(?P<tail>\.[\w-]+\.[\w-]+)")
SERVER_TIMEOUT = 30.0


# -- the page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    text: str
    expected: str
    """What the page shows under it, each line ending with a newline."""


@dataclass(frozen=True)
class Example:
    line: int
    scene: str
    commands: tuple[Command, ...]

    def __str__(self) -> str:
        return f"docs/cli.md:{self.line}"


def examples(page: str) -> list[Example]:
    """Every console block of the page that a cli-example comment introduces."""
    found = []
    for match in EXAMPLE.finditer(page):
        line = page.count("\n", 0, match.start()) + 1
        commands: list[Command] = []
        for text in match["block"].splitlines(keepends=True):
            if text.startswith("$ "):
                commands.append(Command(text[2:].rstrip("\n"), ""))
            else:
                assert commands, f"docs/cli.md:{line}: output before any command"
                commands[-1] = Command(commands[-1].text, commands[-1].expected + text)
        found.append(Example(line, match["scene"], tuple(commands)))
    return found


# -- the scene -------------------------------------------------------------------------------


@dataclass
class Scene:
    """What a cli-example comment sets up. One instruction a line:

    ``env: NAME=VALUE``
        a variable, for every command (``<secret>`` is a new random 43-character key);
    ``file PATH: LINE``
        a line of a file in the working directory;
    ``port N: redis`` / ``port N: closed`` / ``port N: free``
        where the page shows port N, a private redis-server answers / nothing listens / a free
        port is used;
    ``store session: JSON``
        a session saved through SessionMiddleware in that Redis, with the scene's settings;
    ``cookie VALUE: signed N seconds ago``
        the page's signed cookie VALUE stands for one with the same data signed with the
        scene's ``SESSION_SECRET_KEY`` N seconds before the commands run (its timestamp and
        signature are replaced wherever they appear, so an altered copy stays altered);
    ``cookie VALUE: encrypted N seconds ago holding JSON``
        VALUE stands for that session, encrypted with the scene's key;
    ``cookie VALUE: store session K signed N seconds ago``
        VALUE stands for the cookie of the K-th store session, signed N seconds ago; its
        session ID is shown as the page's;
    ``arguments: ARGS``
        added to the (single) command, as the page's words leave them implicit;
    ``stop at: TEXT``
        the command is a server: it is stopped once its output shows TEXT.
    """

    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    ports: dict[str, str] = field(default_factory=dict)
    store_sessions: list[str] = field(default_factory=list)
    cookies: list[tuple[str, str]] = field(default_factory=list)
    arguments: str = ""
    stop_at: str | None = None


def parse_scene(text: str) -> Scene:
    scene = Scene()
    for line in text.strip().splitlines():
        instruction, _, value = line.partition(": ")
        if instruction == "env":
            name, _, variable_value = value.partition("=")
            scene.env[name] = variable_value
        elif instruction.startswith("file "):
            scene.files.setdefault(instruction.removeprefix("file "), []).append(value)
        elif instruction.startswith("port "):
            assert value in ("redis", "closed", "free"), line
            scene.ports[instruction.removeprefix("port ")] = value
        elif instruction == "store session":
            scene.store_sessions.append(value)
        elif instruction.startswith("cookie "):
            scene.cookies.append((instruction.removeprefix("cookie "), value))
        elif instruction == "arguments":
            scene.arguments = value
        elif instruction == "stop at":
            scene.stop_at = value
        else:
            raise AssertionError(f"unknown cli-example instruction: {line!r}")
    return scene


@dataclass
class Substitutions:
    """What the page shows -> what this run uses, in commands and variables; reversed in the
    output."""

    pairs: list[tuple[str, str]] = field(default_factory=list)

    def add(self, shown: str, real: str) -> None:
        self.pairs.append((shown, real))

    def into_run(self, text: str) -> str:
        for shown, real in self.pairs:
            text = whole(shown).sub(lambda _: real, text)  # noqa: B023 (used at once)
        return text

    def into_page(self, text: str) -> str:
        for shown, real in self.pairs:
            text = whole(real).sub(lambda _: shown, text)  # noqa: B023 (used at once)
        return text


def whole(text: str) -> re.Pattern[str]:
    """``text`` where it is not part of a longer word (``6391`` not in ``63910``)."""
    before = r"(?<![\w-])" if re.match(r"[\w-]", text) else ""
    after = r"(?![\w-])" if re.match(r"[\w-]", text[-1]) else ""
    return re.compile(before + re.escape(text) + after)


def payload_text(payload: str) -> str:
    return base64.b64decode(payload).decode("utf-8")


def signed_at(seconds_ago: str) -> int:
    return int(time.time()) - int(seconds_ago)


def store_cookies(config: SessionConfig, sessions: list[str]) -> list[str]:
    """The cookie of each session, saved through SessionMiddleware as an application would."""

    async def save(request: Request) -> Response:
        get_session(request).update(await request.json())
        return Response()

    app = SessionMiddleware(Starlette(routes=[Route("/", save, methods=["POST"])]), config=config)
    cookies = []
    for session in sessions:
        with TestClient(app) as client:
            client.post("/", content=session)
            cookies.append(client.cookies[config.session_cookie])
    return cookies


def set_up(
    scene: Scene, directory: Path, request: pytest.FixtureRequest
) -> tuple[dict[str, str], Substitutions]:
    """The scene made real in ``directory``: the commands' environment, and the substitutions."""
    substitutions = Substitutions()
    env = {name: new_key() if value == "<secret>" else value for name, value in scene.env.items()}
    for path, lines in scene.files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        content = [new_key() if line == "<secret>" else line for line in lines]
        target.write_text("".join(f"{line}\n" for line in content), encoding="utf-8")
    for shown_port, kind in scene.ports.items():
        if kind == "redis":
            server: RedisServer = request.getfixturevalue("redis_server")
            server.flush()
            substitutions.add(shown_port, str(server.port))
        else:
            substitutions.add(shown_port, str(free_port()))
    env = {name: substitutions.into_run(value) for name, value in env.items()}
    key = env.get("SESSION_SECRET_KEY", "")
    stored: list[str] = []
    if scene.store_sessions:
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        stored = store_cookies(SessionConfig.from_env(env_file=None), scene.store_sessions)
    for shown, description in scene.cookies:
        add_cookie(shown, description, key, stored, substitutions)
    return env, substitutions


def add_cookie(
    shown: str, description: str, key: str, stored: list[str], substitutions: Substitutions
) -> None:
    if match := re.fullmatch(r"signed (\d+) seconds? ago", description):
        page_cookie = SIGNED_COOKIE.fullmatch(shown)
        assert page_cookie is not None, f"not a signed cookie: {shown}"
        at = signed_at(match[1])
        real = SessionCodec([key], max_age=None, clock=lambda: at).sign(
            payload_text(page_cookie["payload"])
        )
        substitutions.add(page_cookie["tail"], real[len(page_cookie["payload"]) :])
    elif match := re.fullmatch(r"encrypted (\d+) seconds? ago holding (.+)", description):
        at = signed_at(match[1])
        sealed = SealedCodec([key], max_age=None, clock=lambda: at)
        substitutions.add(shown, sealed.encode(json.loads(match[2])))
    elif match := re.fullmatch(r"store session (\d+) signed (\d+) seconds? ago", description):
        page_cookie = SIGNED_COOKIE.fullmatch(shown)
        assert page_cookie is not None, f"not a signed cookie: {shown}"
        codec = SessionCodec([key], max_age=None)
        stored_data = codec.verify(stored[int(match[1]) - 1]).data
        at = signed_at(match[2])
        real = SessionCodec([key], max_age=None, clock=lambda: at).encode(stored_data)
        substitutions.add(shown, real)
        page_data = json.loads(payload_text(page_cookie["payload"]))
        for name, page_value in page_data.items():
            substitutions.add(page_value, stored_data[name])
    else:
        raise AssertionError(f"unknown cookie description: {description!r}")


def new_key() -> str:
    return secrets.token_urlsafe(32)


# -- running ---------------------------------------------------------------------------------


def base_environment(directory: Path, scene_env: dict[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith("SESSION_") and name not in ("COLUMNS", "LINES")
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleaved as a terminal shows them
    env["HOME"] = str(directory)
    return {**env, **scene_env}


def run_commands(commands: list[str], directory: Path, env: dict[str, str]) -> list[str]:
    """Run the commands in one bash, in order; what each printed."""
    script = ["exec 2>&1"]
    for command in commands:
        # The marker, then the command; `echo $?` still sees the previous command's status.
        script.append("__status=$?; printf '\\036@@cli-example@@\\n'; (exit $__status)")
        script.append(command)
    completed = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    outputs = completed.stdout.split(MARKER)
    assert len(outputs) == len(commands) + 1, completed.stdout
    return outputs[1:]


def run_server(command: str, stop_at: str, directory: Path, env: dict[str, str]) -> str:
    """Start the command, read its output up to the line that shows ``stop_at``, then stop it
    (Ctrl+C, to the process group it leads)."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec 2>&1\nexec {command}"],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,
    )
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + SERVER_TIMEOUT
    try:
        while stop_at not in output and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output += line
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=SERVER_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
    return output


# -- comparing -------------------------------------------------------------------------------

NORMALISED = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"), "<time>"),
    (re.compile(r"(age: +)\d+ seconds?"), r"\1<n> seconds"),
    (re.compile(r'("age_seconds": )\d+'), r"\1<n>"),
    (re.compile(r"\b(EXPIRED|signed) \d+ seconds? ago"), r"\1 <n> seconds ago"),
    (re.compile(r"^[A-Za-z0-9_-]{40,}$", re.MULTILINE), "<a new secret>"),
    (re.compile(r"(Started server process )\[\d+\]"), r"\1[<pid>]"),
    (re.compile(r"\bref=[0-9a-f]{16}\b"), "ref=<reference>"),  # a keyed hash of a random ID
    # redis-py's words for a refused connection change between its versions.
    (re.compile(r"(Error \d+ connecting to [^ ]+:\d+\.) .*$", re.MULTILINE), r"\1 <why>"),
    # The length check shows for a store URL: its port is a free one, not the page's.
    (re.compile(r"(SESSION_STORE_URL +<hidden, )\d+"), r"\1<n>"),
]


def normalised(text: str) -> str:
    for pattern, replacement in NORMALISED:
        text = pattern.sub(replacement, text)
    return text


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected``, where a line ``...`` stands for any lines."""
    pattern = "".join(
        r"(?:.*\n)*?" if line.strip() == "..." else re.escape(line)
        for line in expected.splitlines(keepends=True)
    )
    return re.fullmatch(pattern, actual) is not None


def transcript(commands: list[str], outputs: list[str]) -> str:
    return "".join(
        f"$ {command}\n{output}" for command, output in zip(commands, outputs, strict=True)
    )


# -- the tests -------------------------------------------------------------------------------

PAGE = CLI_PAGE.read_text(encoding="utf-8")
EXAMPLES = examples(PAGE)


def test_every_console_block_of_the_page_is_an_example() -> None:
    assert len(CONSOLE_BLOCK.findall(PAGE)) == len(EXAMPLES)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_the_output_the_page_shows_is_the_commands_output(
    example: Example, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    scene = parse_scene(example.scene)
    scene_env, substitutions = set_up(scene, tmp_path, request)
    env = base_environment(tmp_path, scene_env)
    commands = [substitutions.into_run(command.text) for command in example.commands]
    if scene.arguments:
        [command] = commands
        commands = [f"{command} {substitutions.into_run(scene.arguments)}"]
    if scene.stop_at is not None:
        [command] = commands
        outputs = [run_server(command, scene.stop_at, tmp_path, env)]
    else:
        outputs = run_commands(commands, tmp_path, env)
    shown = [command.text for command in example.commands]
    # The commands run in a temporary directory; the page shows it as /srv/app.
    printed = substitutions.into_page(transcript(shown, outputs)).replace(str(tmp_path), "/srv/app")
    expected = normalised(transcript(shown, [command.expected for command in example.commands]))

    assert matches(expected, normalised(printed)), f"{example} shows:\n{expected}\nbut:\n{printed}"


def test_a_changed_line_of_output_is_caught() -> None:
    assert not matches("status:     valid\n", "status:     expired\n")
    assert not matches("status:     valid\n", "status:     valid\nformat:     signed\n")


def test_dots_stand_for_lines_left_out() -> None:
    assert matches("{\n  ...\n}\n", "{\n  1,\n  2\n}\n")
    assert not matches("{\n  ...\n}\n", "{\n  1,\n  2\n]\n")


def test_normalising_leaves_the_data_alone() -> None:
    assert normalised('age:        5 seconds\n  "counter": 2,\n') == (
        'age:        <n> seconds\n  "counter": 2,\n'
    )
