"""The pause tests' server: the `bank` agent (tools that pause) on ADK's real Gemini class,
talking to the fake Gemini server; the tool counters start at zero."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from google.adk.models.google_llm import Gemini

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.settings import Settings
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini
from tests.pauses.pause_agent import TOOL_RUNS, build_bank
from tests.servers import serve_app

__all__ = ["fake_gemini"]


@pytest_asyncio.fixture
async def bank_url(tmp_path: Path, fake_gemini: FakeGemini) -> AsyncIterator[str]:
    """A server hosting `bank` on the embedded default storage; its URL."""
    TOOL_RUNS.clear()
    model = Gemini(model="gemini-2.5-flash", base_url=fake_gemini.url)
    agents = AgentRegistry([HostedAgent.of(build_bank(model))])
    try:
        async with serve_app(create_app(Settings(data_dir=tmp_path / "d"), agents)) as url:
            yield url
    finally:
        await model.api_client.aio.aclose()
