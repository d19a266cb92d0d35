"""The dev UI's agent graph against `adk web`'s: `build_graph_image` gives the same
Graphviz source for every workflow level, at the root or at a `node` path, and the same
404 for a path that names no node (as adkstream's JSON error, naming `node`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from adkstream.agents import AgentRegistry, load_agents_dir
from adkstream.api import create_app
from adkstream.settings import Settings
from tests.adk_rest.conftest import adk_server, adkstream_server
from tests.servers import serve_app

LEVELS = {
    "text": ["", "text"],
    "tool": ["", "tool"],
    "transfer": ["", "transfer", "transfer/helper"],
    "workflow": ["", "workflow", "workflow/first", "first"],
}


@pytest.mark.parametrize("app", sorted(LEVELS))
async def test_graphs_are_adk_webs(tmp_path: Path, app: str) -> None:
    async with (
        asyncio.timeout(60),
        adk_server(tmp_path / "adk", web=True) as adk,
        adkstream_server(tmp_path / "ours", dev_ui=True) as ours,
    ):
        for node in [*LEVELS[app], "nowhere", f"{app}/nowhere"]:
            query = {"node": node, "dark_mode": "true"} if node else {}
            theirs = await adk.get(f"/dev/apps/{app}/build_graph_image", params=query)
            mine = await ours.get(f"/dev/apps/{app}/build_graph_image", params=query)
            assert mine.status_code == theirs.status_code, node
            if theirs.status_code == 200:
                assert mine.json() == theirs.json(), node
                assert all(graph["dotSrc"] for graph in mine.json().values())
            else:
                assert mine.json()["error"]["field"] == "node"


async def test_the_graph_carries_the_agents_readme(tmp_path: Path) -> None:
    """As `adk web`: the agent directory's README.md comes with `build_graph`."""
    agents = tmp_path / "agents"
    (agents / "helper").mkdir(parents=True)
    (agents / "helper" / "root_agent.yaml").write_text(
        "name: helper\nmodel: gemini-2.5-flash\ninstruction: Answer.\n"
    )
    (agents / "helper" / "README.md").write_text("# Helper\nAnswers briefly.\n")
    registry = AgentRegistry(load_agents_dir(agents))
    app = create_app(Settings(data_dir=tmp_path / "data", dev_ui=True), registry)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        graph = (await client.get("/dev/apps/helper/build_graph")).json()
        assert graph["readme"] == "# Helper\nAnswers briefly.\n"
        (agents / "helper" / "README.md").unlink()
        assert "readme" not in (await client.get("/dev/apps/helper/build_graph")).json()
