"""The dev UI's agent graph against `adk web`'s: `build_graph_image` gives the same
Graphviz source for every workflow level, at the root or at a `node` path, and the same
404 for a path that names no node (as adkstream's JSON error, naming `node`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.adk_rest.conftest import adk_server, adkstream_server

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
