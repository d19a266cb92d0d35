"""`adkstream run` on a run that waits: with `--url` and stdin not a terminal it prints the
requests and the curl command that answers them, and exits 0; in this process,
`InProcess.answer` continues the run (what the terminal's answers go through)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from google.adk.models.google_llm import Gemini

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.events import RunCompleted, RunStarted, RunWaiting
from adkstream.runner.local import InProcess
from adkstream.settings import Settings
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS, build_bank
from tests.servers import serve_app

__all__ = ["fake_gemini"]

TIMEOUT_S = 60


@pytest_asyncio.fixture
async def bank_model(fake_gemini: FakeGemini) -> AsyncIterator[Gemini]:
    """ADK's Gemini on the fake server, whose first reply asks to transfer 5."""
    TOOL_RUNS.clear()
    fake_gemini.script(ToolCallReply("transfer", {"amount": 5}))
    model = Gemini(model="gemini-2.5-flash", base_url=fake_gemini.url)
    try:
        yield model
    finally:
        await model.api_client.aio.aclose()


async def run_cli(*args: str) -> tuple[int, str, str]:
    """`adkstream run ...` in a subprocess whose stdin is not a terminal."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adkstream.cli",
        "run",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_pauses_cli_run_url_not_a_terminal_prints_how_to_answer(
    tmp_path: Path, bank_model: Gemini
) -> None:
    agents = AgentRegistry([HostedAgent.of(build_bank(bank_model))])
    app = create_app(Settings(data_dir=tmp_path / "data"), agents)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url:
        code, out, err = await run_cli("--url", url, "send 5")
        [command] = [line for line in out.splitlines() if line.startswith("  curl ")]
        words = shlex.split(command)
        body = json.loads(words[words.index("-d") + 1])
        async with httpx.AsyncClient(timeout=30) as client:
            answered = await client.post(
                words[4], json=body, headers={"Accept": "application/json"}
            )

    assert code == 0, err
    assert "? confirmation: transfer(amount=5)" in out
    assert "waits for 1 answer(s):" in out
    assert "adk_request_confirmation" not in out
    assert answered.status_code == 200, answered.text  # the printed command works as is
    assert answered.json()["status"] == "completed"
    assert TOOL_RUNS["transfer"] == 1


async def test_pauses_in_process_answer_continues_the_run(bank_model: Gemini) -> None:
    local = InProcess(AgentRegistry([HostedAgent.of(build_bank(bank_model))]))
    try:
        async with asyncio.timeout(TIMEOUT_S):
            run = await local.start("send 5")
            first = [event async for event in local.events(run.run_id)]
            waiting = first[-1]
            assert isinstance(waiting, RunWaiting), [e.type for e in first]
            [request] = waiting.pending
            after = await local.answer(run.run_id, {request.request_id: {"confirmed": True}})
            continued = [event async for event in local.events(after.run_id)]
    finally:
        await local.aclose()

    assert isinstance(continued[0], RunStarted) and continued[0].resumes == run.run_id
    assert isinstance(continued[-1], RunCompleted)
    assert TOOL_RUNS["transfer"] == 1
