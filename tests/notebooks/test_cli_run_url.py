"""`adkstream run --url`: a prompt streamed from a real server through the client."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from adkstream import cli
from tests.notebooks.conftest import TIMEOUT_S, AppFactory
from tests.servers import serve_app


async def run_cli(*args: str, **env: str) -> tuple[int, str, str]:
    """`python -m adkstream.cli run ...` in a subprocess: its exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adkstream.cli",
        "run",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    try:
        out, err = await process.communicate()
    finally:
        if process.returncode is None:  # cancelled (the test's timeout): leave nothing behind
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_run_url_prints_the_servers_stream(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        code, out, err = await run_cli("--url", url, "--agent", "pipeline", "hello cli")
    assert code == 0, err
    assert "[writer] You said: hello cli." in out
    assert out.index("[writer]") < out.index("[editor]")
    assert "(done: " in out


async def test_run_url_folds_tool_calls(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        code, out, err = await run_cli("--url", url, "what time? use get_current_time")
    assert code == 0, err
    assert "-> get_current_time(timezone='UTC')" in out
    assert "<- get_current_time: " in out


async def test_run_url_with_api_key(make_app: AppFactory) -> None:
    app = make_app(api_keys="secret=alice")
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url:
        code, out, err = await run_cli("--url", url, "--api-key", "secret", "hi")
        refused, _, message = await run_cli("--url", url, "hi")
    assert code == 0, err
    assert "[assistant] You said: hi." in out
    assert refused == 2 and message.startswith("adkstream: ")


async def test_run_url_unknown_agent_is_an_error(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        code, _, err = await run_cli("--url", url, "--agent", "nobody", "hi")
    assert code == 2
    assert "adkstream: " in err and "nobody" in err


async def test_run_without_url_runs_in_process() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        code, out, err = await run_cli(
            "--agent", "fanout", "two takes", ADKSTREAM_OFFLINE_TOKENS_PER_S="0"
        )
    assert code == 0, err
    assert "[optimist] You said: two takes." in out and "[skeptic] You said: two takes." in out
    assert "(done: " in out


def test_run_url_refuses_local_agents(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--url", "http://127.0.0.1:9", "--agent-ref", "x:y", "hi"])
    assert code == 2
    assert "--url runs the server's agents" in capsys.readouterr().err
