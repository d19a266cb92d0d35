"""The README's examples run as written, in order, against a server started as `make run`
starts it, and do what the text beside them says.

What runs: every fenced `console`, `sh` or `bash` block that contains `curl`, and every
`python` block. A block may be left out only by a visible marker just before its fence,
`<!-- readme-walk: skip (the reason) -->` (a real Gemini key, another deployment); any
other block that did not run fails the test.

The server: `.venv/bin/adkstream serve` on a free 127.0.0.1 port, its working directory
a temporary one (so the default embedded storage, `./.adkstream`, is there), with no
`ADKSTREAM_*` variables and no `GOOGLE_API_KEY` (the offline agents, at their default
pace). The one substitution: `http://localhost:8000`, `http://127.0.0.1:8000`,
`localhost:8000` and `127.0.0.1:8000` become the server's `127.0.0.1:<port>`.

Shell blocks: a `console` block's `$ ` lines are commands (with their continuation lines:
a trailing backslash or an open quote); the lines up to the next command are what the
README shows it printing. Every command of every block runs in order in ONE bash, so
that variables (`RUN=$(curl … | jq -r .run_id)`) carry from one example to the next.
Each must exit 0, and its output must show what the README shows (`check_shown`).

Python blocks run in order in one namespace (one Python session, as the README's client
section says), top-level `await` allowed (the notebook examples); each must not raise,
and what the README's comments say a block prints is checked (`PRINTED`).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import os
import re
import shlex
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SERVE = ROOT / ".venv" / "bin" / "adkstream"
SHELLS = {"console", "sh", "bash"}
SKIP = re.compile(r"<!--\s*readme-walk:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
MAKE_RUN = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")
BANNER = "adkstream on http://"
# JSON fields whose shown string values are checked verbatim (the others vary: ids, times).
CHECKED_FIELDS = ("status", "code", "message", "field", "type", "kind", "name", "agent")

# What the README's comments say the Python examples print (a fragment of the output).
PRINTED = (
    "409 session_busy",
    "completed run.cancelled",
    "404 run_not_found",
    "422 invalid_field message",
    "ConflictError 409 run_finished",
    "Received 3200 bytes of audio/pcm;rate=16000.",
)


@dataclass
class Block:
    line: int
    lang: str
    body: str
    skip: str | None

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.lang})"


@dataclass
class Command:
    block: Block
    text: str
    shown: list[str]


def readme_blocks(text: str) -> list[Block]:
    """The blocks the walk runs (or that a marker skips), in order."""
    found = []
    for match in FENCE.finditer(text):
        lang, body = match["lang"], match["body"]
        if not (lang == "python" or (lang in SHELLS and "curl" in body)):
            continue
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(line, lang, body, skip["reason"] if skip else None))
    return found


def _complete(command: str) -> bool:
    if command.endswith("\\"):
        return False
    try:
        shlex.split(command)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def commands_of(block: Block) -> list[Command]:
    """A console block's commands and the output shown under each; a script block is one
    command that shows nothing."""
    if block.lang != "console":
        return [Command(block, block.body, [])]
    commands: list[Command] = []
    lines = block.body.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.startswith("$ "):
            if not commands:
                raise AssertionError(f"{block.name}: output before any command: {line!r}")
            commands[-1].shown.append(line)
            continue
        text = line[2:]
        while not _complete(text):
            assert index < len(lines), f"{block.name}: unfinished command {text!r}"
            text += "\n" + lines[index]
            index += 1
        commands.append(Command(block, text, []))
    return commands


def check_shown(command: Command, output: str) -> list[str]:
    """What the README shows under a command that its output does not show.

    `event: X` lines must be among the output's lines; a JSON line (or an SSE `data:`
    line) must have its keys in the output, and its string values of CHECKED_FIELDS
    verbatim; `HTTP/1.1 NNN` must be the status; `id:` lines (numbers vary) and lines
    with `…` (elisions) are not checked; any other line must be in the output.
    """
    missing = []
    got = output.splitlines()
    for shown in command.shown:
        shown = shown.strip()
        json_text = shown.removeprefix("data: ")
        if not shown or shown.startswith("id: "):
            continue
        if json_text.startswith(("{", "[")):
            keys = re.findall(r'"(\w+)":', json_text)
            pairs = re.findall(rf'"({"|".join(CHECKED_FIELDS)})":"([^"…]*)"', json_text)
            wanted = [f'"{k}":' for k in keys] + [f'"{k}":"{v}"' for k, v in pairs]
            missing += [w for w in wanted if w not in output]
        elif "…" in shown:
            continue
        elif shown.startswith("HTTP/"):
            if not got or got[0].split()[:2] != shown.split()[:2]:
                missing.append(shown)
        elif shown not in got:
            missing.append(shown)
    return missing


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    output: list[str]


@contextlib.contextmanager
def make_run_server(cwd: Path) -> Any:
    """`adkstream serve` as `make run` starts it, on a free port; yields once it listens
    (its one banner line)."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ADKSTREAM_") and k != "GOOGLE_API_KEY"
    }
    process = subprocess.Popen(
        [str(SERVE), "serve", "--port", str(port)],
        cwd=cwd,
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    timer = threading.Timer(60, process.kill)  # a server that never listens fails the test
    timer.start()
    try:
        for line in process.stdout:
            output.append(line)
            if line.startswith(BANNER):
                break
        else:
            raise AssertionError("the server exited:\n" + "".join(output))
    finally:
        timer.cancel()
    drain = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    drain.start()
    try:
        yield Server(f"http://127.0.0.1:{port}", process, output)
    finally:
        process.terminate()
        process.wait(timeout=30)
        drain.join(timeout=30)
        process.stdout.close()


def run_shell(commands: list[Command], *, port_url: str, cwd: Path) -> list[tuple[int, str]]:
    """Runs the commands in one bash; (exit status, output) of each, in order."""
    host = port_url.removeprefix("http://")
    script = ["set +e"]
    for number, command in enumerate(commands):
        text = MAKE_RUN.sub(host, command.text)
        script += [f"echo '@@begin {number}'", text, f'echo "@@end {number} $?"']
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results: list[tuple[int, str]] = []
    chunks = re.split(r"^@@begin (\d+)\n", done.stdout, flags=re.MULTILINE)[1:]
    for tag, chunk in zip(chunks[::2], chunks[1::2], strict=True):
        body, end, exit_line = chunk.rpartition(f"@@end {tag} ")
        assert end, f"command {tag} did not finish:\n{chunk}\n{done.stderr}"
        assert int(tag) == len(results)
        results.append((int(exit_line.split()[0]), body))
    assert len(results) == len(commands), f"the shell stopped early:\n{done.stderr}"
    return results


def run_python(blocks: list[Block], *, url: str, cwd: Path) -> str:
    """Executes the blocks in order in one namespace; what they printed."""
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    printed = io.StringIO()
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    with contextlib.redirect_stdout(printed), contextlib.chdir(cwd):
        for block in blocks:
            source = MAKE_RUN.sub(url.removeprefix("http://"), block.body)
            code = compile(source, block.name, "exec", flags=flags)
            try:
                result = eval(code, namespace)  # exec, with top-level await allowed
                if inspect.iscoroutine(result):
                    asyncio.run(result)
            except Exception as error:
                raise AssertionError(
                    f"{block.name} raised; printed:\n{printed.getvalue()}"
                ) from error
    return printed.getvalue()


def test_readme_walk_selects_the_examples() -> None:
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert sum(b.lang == "console" for b in blocks) >= 8
    assert sum(b.lang == "python" for b in blocks) >= 10
    for block in blocks:
        if block.skip is None:
            assert "…" not in "".join(c.text for c in commands_of(block)), block.name
    text = "\n".join(b.body for b in blocks)
    for call in ("Client(", ".stream(", ".events(run_id, after=", ".cancel(", "if_busy="):
        assert call in text, call


def test_check_shown_catches_what_is_not_there() -> None:
    block = Block(1, "console", "", None)
    shown = ['{"run_id":"x…","status":"cancelled"}', "event: run.cancelled", "hello", "id: 3"]
    command = Command(block, "true", shown)
    assert (
        check_shown(command, '{"run_id":"r1","status":"cancelled"}\nevent: run.cancelled\nhello')
        == []
    )
    assert check_shown(command, '{"run_id":"r1","status":"completed"}\nevent: run.completed') == [
        '"status":"cancelled"',
        "event: run.cancelled",
        "hello",
    ]


def test_readme_walk(tmp_path: Path) -> None:
    assert shutil.which("jq"), "the README's curl examples use jq"
    assert SERVE.exists(), "make run's .venv/bin/adkstream"
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    to_run = [b for b in blocks if b.skip is None]
    commands = [c for b in to_run if b.lang in SHELLS for c in commands_of(b)]
    python = [b for b in to_run if b.lang == "python"]
    with make_run_server(tmp_path) as server:
        results = run_shell(commands, port_url=server.url, cwd=tmp_path)
        printed = run_python(python, url=server.url, cwd=tmp_path)
    ran = {c.block.line for c in commands} | {b.line for b in python}
    assert ran == {b.line for b in to_run}, "a block that did not run"
    failures = []
    for command, (status, output) in zip(commands, results, strict=True):
        if status != 0:
            failures.append(f"{command.block.name}: `{command.text}` exited {status}:\n{output}")
        elif missing := check_shown(command, output):
            failures.append(f"{command.block.name}: `{command.text}` lacks {missing}:\n{output}")
    assert failures == [], "\n\n".join(failures)
    for line in PRINTED:
        assert line in printed, f"{line!r} not printed:\n{printed}"


SERVER_CODE = re.compile(
    r'\bcode\s*:?\s*(?:str\s*)?=\s*"(\w+)"|error_body\(\s*"(\w+)"|^\s+\d{3}: "(\w+)",'
)
NOT_HTTP = {
    "error",  # the root of the error tree: never sent, a subclass is
    "run_failed",  # RunFailed: carried by a `run.failed` event, never an HTTP answer
    "configuration_error",  # stops `serve` at start-up
    "agent_load_error",  # stops `serve` at start-up
    "cancelled",  # an OpenAI finish reason, not an error
}


def test_readme_errors_table_lists_every_code_the_server_sends() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Errors") : text.index("## The events")]
    rows = [line for line in section.splitlines() if re.match(r"\| [45]\d\d \|", line)]
    table = {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[2])}
    failed = text[text.index("`run.failed` codes:") :].split("\n\n", 1)[0]
    run_failed = set(re.findall(r"`([a-z_]+)`", failed))
    sources = [
        *(ROOT / "adkstream" / "api").rglob("*.py"),
        *(ROOT / "adkstream" / "runner").rglob("*.py"),
    ]
    sent = {
        next(group for group in match.groups() if group)
        for path in [*sources, ROOT / "adkstream" / "errors.py"]
        for match in SERVER_CODE.finditer(path.read_text(encoding="utf-8"))
    }
    assert {"agent_mismatch", "invalid_answer", "session_busy"} <= sent
    assert sent - table - run_failed - NOT_HTTP == set()
