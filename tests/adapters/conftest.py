"""Shared pieces of the protocol adapter tests: a real server, the native answer to
compare with, a server whose model fails, and the Node scripts that read our streams
with the protocols' own client packages (`ai`, `@ag-ui/client`)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import errors as genai_errors
from google.genai import types

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.settings import Settings
from tests.api.conftest import Api, ServerFactory, api, start_server
from tests.conftest import REQUIRE_SERVICES
from tests.servers import serve_app

__all__ = ["Api", "ServerFactory", "api", "start_server"]

NODE_DIR = Path(__file__).parent / "node"
SECRET = "internal detail that must not reach a client"

NodeRunner = Callable[..., Coroutine[Any, Any, dict[str, Any]]]


async def native_run(api: Api, message: str, *, agent: str = "assistant") -> dict[str, Any]:
    """The native JSON answer (`POST /v1/runs`, Accept: application/json) in a new session."""
    response = await api.client.post(
        "/v1/runs",
        json={"message": message, "agent": agent},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["status"] == "completed"
    return result


class BrokenModel(BaseLlm):
    """Streams one word, then fails as a Gemini server error would."""

    model: str = "broken"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        part = types.Part(text="Partial")
        yield LlmResponse(content=types.Content(role="model", parts=[part]), partial=True)
        raise genai_errors.ServerError(500, {"error": {"message": SECRET, "status": "INTERNAL"}})


@pytest.fixture
async def broken_api(tmp_path: Path) -> AsyncIterator[Api]:
    """A server hosting one agent, `broken`, whose model fails after its first word."""
    agent = LlmAgent(name="broken", model=BrokenModel(), instruction="Answer.")
    app = create_app(Settings(data_dir=tmp_path / "data"), AgentRegistry([HostedAgent.of(agent)]))
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Api(url=url, client=client, app=app)


@pytest.fixture(scope="session")
def node_dir() -> Path:
    """tests/adapters/node with its npm packages installed (`npm ci` when missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "Node.js and npm are needed to read the streams with the protocols' JS clients"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason}; ADKSTREAM_REQUIRE_SERVICES=1 requires them")
        pytest.skip(reason)
    installed = all(
        (NODE_DIR / "node_modules" / name / "package.json").is_file()
        for name in ("ai", "@ag-ui/client")
    )
    if not installed:
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
    return NODE_DIR


@pytest.fixture
def run_node(node_dir: Path) -> NodeRunner:
    """`await run_node("read_vercel.mjs", *args)`: the script's JSON output."""

    async def run(script: str, *args: str) -> dict[str, Any]:
        env = os.environ | {"SUPPRESS_TRANSFORMATION_WARNINGS": "true"}
        process = await asyncio.create_subprocess_exec(
            "node",
            str(node_dir / script),
            *args,
            cwd=node_dir,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, err.decode()
        result: dict[str, Any] = json.loads(out)
        return result

    return run


@asynccontextmanager
async def slow_server(start: ServerFactory, **overrides: Any) -> AsyncIterator[Api]:
    """A server whose model streams a long answer slowly (for cancel and resume tests)."""
    async with start(
        **({"offline_tokens_per_s": 40, "offline_reply_tokens": 80} | overrides)
    ) as running:
        yield running
