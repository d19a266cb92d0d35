"""Two servers on loopback hosting the same agents: ADK's own api server
(`get_fast_api_app`, in-memory services) and adkstream (its ADK REST API routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from google.adk.cli.utils.base_agent_loader import BaseAgentLoader
from google.adk.workflow import BaseNode

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.settings import Settings
from tests.adk_rest.agents import FACTORIES
from tests.servers import serve_app


class _Loader(BaseAgentLoader):
    """Gives ADK's api server the test agents (no agents directory to scan)."""

    def __init__(self, agents: dict[str, BaseNode]) -> None:
        self.agents = agents

    def load_agent(self, agent_name: str) -> BaseNode:
        return self.agents[agent_name]

    def list_agents(self) -> list[str]:
        return list(self.agents)


def _fresh_agents() -> dict[str, BaseNode]:
    return {name: build() for name, build in FACTORIES.items()}


@asynccontextmanager
async def adk_server(tmp_path: Path, *, web: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    """ADK's own api server (`adk api_server`), in memory, on loopback; with `web`, as
    `adk web` serves it (the dev UI and its developer routes)."""
    from google.adk.cli.fast_api import get_fast_api_app

    app = get_fast_api_app(
        agents_dir=str(tmp_path),
        agent_loader=_Loader(_fresh_agents()),
        session_service_uri="memory://",
        artifact_service_uri="memory://",
        memory_service_uri="memory://",
        use_local_storage=False,
        web=web,
    )
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@asynccontextmanager
async def adkstream_server(tmp_path: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """adkstream on its embedded default storage, hosting the same agents."""
    registry = AgentRegistry([HostedAgent.of(a, name=n) for n, a in _fresh_agents().items()])
    app = create_app(Settings(data_dir=tmp_path / "data", **settings), registry)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client
