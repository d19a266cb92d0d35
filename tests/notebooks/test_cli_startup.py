"""The first hour of a new user: `adkstream serve` / `run` start-up, in real processes.

Settings from flags and variables (`--port`, ADKSTREAM_PORT, `make run PORT=`), bad
values and start-up errors as one line with exit code 2, the banner once the server
listens, help for every flag, `--version`, agents importable from the current directory,
JSON lines only on stderr (uvicorn's too), and an agent whose model has no credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from adkstream.cli import build_parser
from adkstream.settings import Settings
from tests.processes import free_port, serve_process

TIMEOUT_S = 60.0
REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("adkstream")
"""The console script (`python -m` would put the current directory on sys.path itself)."""


async def adkstream(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> tuple[int, str, str]:
    """`python -m adkstream ...` to its end: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adkstream",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    try:
        async with asyncio.timeout(TIMEOUT_S):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def assert_one_line_error(code: int, out: str, err: str, *names: str) -> None:
    """Exit code 2, no banner, and stderr one `adkstream: ...` line naming each of `names`."""
    assert code == 2, (out, err)
    assert "adkstream on http" not in out
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("adkstream: "), err
    for name in names:
        assert name in lines[0], err


@dataclass
class Served:
    """A `serve` started with its stdout read: the banner, then JSON lines on stderr."""

    process: asyncio.subprocess.Process
    banner: str
    stderr: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serve_reading_banner(
    command: list[str], *, env: Mapping[str, str], cwd: Path | None = None
) -> AsyncIterator[Served]:
    """Starts `command` (a `serve`) and yields once it printed its banner; stops it with
    SIGTERM (to its process group: `make` and its child) and reads stderr to the end."""
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        cwd=cwd,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    served = Served(process, banner="")
    reading = asyncio.create_task(_lines(process.stderr, served.stderr))
    try:
        async with asyncio.timeout(TIMEOUT_S):
            served.banner = (await process.stdout.readline()).decode()
        assert served.banner, "".join(served.stderr)
        yield served
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
        async with asyncio.timeout(TIMEOUT_S):
            await process.wait()
            await reading


async def _lines(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())


def assert_json_lines(lines: list[str]) -> list[dict[str, object]]:
    records = []
    for line in lines:
        assert line.startswith("{"), "".join(lines)
        records.append(json.loads(line))
    return records


# --- version and help ---------------------------------------------------------------


async def test_version() -> None:
    code, out, err = await adkstream("--version")
    assert code == 0, err
    assert out.strip().startswith("adkstream 0.")


def _flags(command: str) -> dict[str, str]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    sub = subparsers.choices[command]  # type: ignore[index]
    return {
        action.option_strings[-1] if action.option_strings else action.dest: action.help or ""
        for action in sub._actions
        if action.dest != "help"
    }


@pytest.mark.parametrize("command", ["serve", "web", "run"])
def test_every_flag_says_what_it_does(command: str) -> None:
    for flag, text in _flags(command).items():
        variable = f"ADKSTREAM_{flag.lstrip('-').replace('-', '_').upper()}"
        assert text.strip() and text.strip() != variable, flag
        assert len(text.split()) >= 3, (flag, text)


async def test_serve_help_derives_from_the_settings() -> None:
    code, out, err = await adkstream("serve", "--help")
    assert code == 0, err
    flat = "".join(out.split())  # argparse wraps lines, at spaces and hyphens
    for name in ("port", "host", "coalesce_ms", "log_level"):
        description = Settings.model_fields[name].description
        assert description, name
        assert "".join(description.split()) in flat, name
        assert f"ADKSTREAM_{name.upper()}" in flat
    code, out, err = await adkstream("run", "--help")
    assert code == 0, err
    assert "ADK agents directory" in out


# --- bad values: one line naming the flag or the variable, exit 2 ---------------------


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (("--port", "99999"), {}, ("--port", "99999")),
        (("--port", "0"), {}, ("--port",)),
        (("--log-level", "LOUD"), {}, ("--log-level", "LOUD")),
        ((), {"ADKSTREAM_PORT": "99999"}, ("ADKSTREAM_PORT",)),
        ((), {"ADKSTREAM_LOG_LEVEL": "loud"}, ("ADKSTREAM_LOG_LEVEL",)),
        ((), {"ADKSTREAM_COALESCE_MS": "abc"}, ("ADKSTREAM_COALESCE_MS", "abc")),
        (("--coalesce-ms", "abc"), {}, ("--coalesce-ms",)),
        # the flag wins over the variable: its value is the one judged
        (("--port", "70000"), {"ADKSTREAM_PORT": "abc"}, ("--port", "70000")),
    ],
)
async def test_a_bad_value_is_one_line_naming_its_source(
    args: tuple[str, ...], env: dict[str, str], names: tuple[str, ...], tmp_path: Path
) -> None:
    code, out, err = await adkstream(
        "serve", *args, env={"ADKSTREAM_DATA_DIR": str(tmp_path), **env}
    )
    assert_one_line_error(code, out, err, *names)
    if "--" not in " ".join(names):
        assert "--" not in err.split(":")[1]  # the variable, not a flag the user never gave


# --- start-up errors: one line naming the setting, exit 2, no banner --------------------


async def test_unwritable_data_dir(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    data_dir = tmp_path / "a-file" / "data"  # below a file: no user can create it
    code, out, err = await adkstream(
        "serve", "--port", str(free_port()), env={"ADKSTREAM_DATA_DIR": str(data_dir)}
    )
    assert_one_line_error(code, out, err, "ADKSTREAM_DATA_DIR", str(data_dir))


async def test_unreachable_redis(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    code, out, err = await adkstream(
        "serve",
        "--port",
        str(free_port()),
        env={"ADKSTREAM_DATA_DIR": str(tmp_path), "ADKSTREAM_REDIS_URL": url},
    )
    assert_one_line_error(code, out, err, "ADKSTREAM_REDIS_URL", url)


async def test_database_url_that_is_none(tmp_path: Path) -> None:
    code, out, err = await adkstream(
        "serve",
        "--port",
        str(free_port()),
        env={"ADKSTREAM_DATA_DIR": str(tmp_path), "ADKSTREAM_DATABASE_URL": "nonsense"},
    )
    assert_one_line_error(code, out, err, "ADKSTREAM_DATABASE_URL", "nonsense")
    assert "PostgreSQL" not in out


async def test_second_server_on_the_same_data_dir(tmp_path: Path) -> None:
    async with serve_process(tmp_path):
        code, out, err = await adkstream(
            "serve", "--port", str(free_port()), env={"ADKSTREAM_DATA_DIR": str(tmp_path)}
        )
    assert_one_line_error(code, out, err, "another adkstream server uses", str(tmp_path))


async def test_port_in_use_is_one_line_of_ours(tmp_path: Path) -> None:
    async with serve_process(tmp_path / "a") as first:
        port = first.url.rsplit(":", 1)[1]
        code, out, err = await adkstream(
            "serve", "--port", port, env={"ADKSTREAM_DATA_DIR": str(tmp_path / "b")}
        )
    assert code == 2, err
    assert "adkstream on http" not in out
    *logged, last = err.strip().splitlines()
    assert_json_lines(logged)  # uvicorn's own line about the address, as JSON
    assert last.startswith("adkstream: cannot listen on") and "ADKSTREAM_PORT" in last


# --- port and host from the variables, the flags and make --------------------------------


async def test_port_and_host_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "ADKSTREAM_DATA_DIR": str(tmp_path),
        "ADKSTREAM_PORT": str(port),
        "ADKSTREAM_HOST": "127.0.0.1",
    }
    command = [sys.executable, "-m", "adkstream", "serve"]
    async with serve_reading_banner(command, env=env) as served:
        assert served.banner.startswith(f"adkstream on http://127.0.0.1:{port} ")
        # printed once the socket listens: a request at once is answered
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            agents = (await client.get("/v1/agents")).json()
        assert agents
    records = assert_json_lines(served.stderr)  # uvicorn's lines included
    uvicorn_lines = [r["msg"] for r in records if r["logger"] == "uvicorn.error"]
    assert any("Uvicorn running on" in str(msg) for msg in uvicorn_lines)
    assert any("Finished server process" in str(msg) for msg in uvicorn_lines)


async def test_the_flag_wins_over_the_variable(tmp_path: Path) -> None:
    port = free_port()
    env = {"ADKSTREAM_DATA_DIR": str(tmp_path), "ADKSTREAM_PORT": str(free_port())}
    command = [sys.executable, "-m", "adkstream", "serve", "--port", str(port)]
    async with serve_reading_banner(command, env=env) as served:
        assert served.banner.startswith(f"adkstream on http://127.0.0.1:{port} ")


async def test_make_run_takes_port_and_host(tmp_path: Path) -> None:
    port = free_port()
    bin_dir = Path(sys.executable).parent
    command = [
        "make",
        "--no-print-directory",
        "-s",
        "-C",
        str(REPO),
        "-o",
        ".venv/.installed",  # no install: this interpreter's scripts (BIN) serve
        "run",
        f"PORT={port}",
        "HOST=127.0.0.1",
        f"BIN={bin_dir}",
    ]
    env = {"ADKSTREAM_DATA_DIR": str(tmp_path), "PORT": "1"}  # the environment's PORT: not it
    async with serve_reading_banner(command, env=env) as served:
        assert f"adkstream on http://127.0.0.1:{port} " in served.banner
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/v1/agents")).status_code == 200


async def test_banner_with_redis_says_where_things_are(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    env = {
        "ADKSTREAM_DATA_DIR": str(tmp_path),
        "ADKSTREAM_REDIS_URL": redis_url,
        "ADKSTREAM_REDIS_PREFIX": redis_prefix,
    }
    command = [sys.executable, "-m", "adkstream", "serve", "--port", str(free_port())]
    async with serve_reading_banner(command, env=env) as served:
        storage = served.banner.split("storage: ", 1)[1].strip()
    assert storage == f"sessions SQLite in {tmp_path}/, log Redis at {redis_url}"


# --- agents from the current directory ---------------------------------------------------

AGENT_MODULE = """
from google.adk.agents import LlmAgent

from adkstream.agents.offline import OfflineModel

root_agent = LlmAgent(name="mine", model=OfflineModel(tokens_per_s=0, reply_tokens=5))
"""


async def test_serve_imports_agents_from_the_current_directory(tmp_path: Path) -> None:
    package = tmp_path / "my_project"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "agents.py").write_text(AGENT_MODULE)
    port = free_port()
    command = [str(SCRIPT), "serve", "my_project.agents:root_agent", "--port", str(port)]
    env = {"ADKSTREAM_DATA_DIR": str(tmp_path / "data")}
    async with serve_reading_banner(command, env=env, cwd=tmp_path) as served:
        assert "agents: mine " in served.banner
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            listed = (await client.get("/v1/agents")).json()["agents"]
    names = [agent["name"] for agent in listed]
    assert names == ["mine"]


async def test_web_serves_an_agents_directory_with_adk_dev_ui(tmp_path: Path) -> None:
    """`adkstream web AGENTS_DIR`, as `adk web AGENTS_DIR`: `/` opens ADK's dev UI."""
    agent = tmp_path / "agents" / "mine"
    agent.mkdir(parents=True)
    (agent / "__init__.py").write_text("from . import agent\n")
    (agent / "agent.py").write_text(AGENT_MODULE)
    port = free_port()
    command = [str(SCRIPT), "web", str(tmp_path / "agents"), "--port", str(port)]
    env = {"ADKSTREAM_DATA_DIR": str(tmp_path / "data")}
    async with serve_reading_banner(command, env=env) as served:
        url = f"http://127.0.0.1:{port}"
        assert served.banner.startswith(f"adkstream on {url}/dev-ui/ (chat page: {url}/chat)")
        async with httpx.AsyncClient(base_url=url) as client:
            root = await client.get("/")
            page = await client.get("/dev-ui/")
            apps = (await client.get("/list-apps?relative_path=./")).json()
    assert (root.status_code, root.headers["location"]) == (307, f"{url}/dev-ui/")
    assert page.status_code == 200 and "<app-root" in page.text
    assert apps == ["mine"]


async def test_web_without_a_directory_is_a_usage_error() -> None:
    code, out, err = await adkstream("web")
    assert code == 2 and "AGENTS_DIR" in err


# --- `adkstream run` ---------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["", "   \n"])
async def test_run_refuses_an_empty_prompt(prompt: str) -> None:
    code, out, err = await adkstream("run", prompt)
    assert_one_line_error(code, out, err, "prompt is empty")


async def test_run_url_names_the_url_it_could_not_reach() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = await adkstream("run", "--url", url, "hi")
    assert code != 0
    assert_one_line_error(code, out, err, f"could not reach {url}: ")
