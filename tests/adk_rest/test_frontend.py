"""An ADK-style front end on adkstream's `/run_sse`: it reads `data:` lines with a
streaming fetch (httpx here), appends each `partial` text and stops at `turnComplete`;
a dropped connection resumes with Last-Event-ID and gets the rest, nothing lost or
doubled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from google.adk.agents import LlmAgent

from adkstream.agents.offline import OfflineModel
from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.settings import Settings
from tests.servers import serve_app

WORDS = 40


@dataclass
class Reader:
    """What an ADK front end keeps of a `/run_sse` answer."""

    text: str = ""
    final: str | None = None
    ids: list[int] = field(default_factory=list)

    def take(self, frame_id: int | None, event: dict[str, Any]) -> bool:
        """Takes one event; True once the turn is complete."""
        if frame_id is not None:
            self.ids.append(frame_id)
        parts = (event.get("content") or {}).get("parts") or []
        text = "".join(part.get("text", "") for part in parts)
        if event.get("partial"):
            self.text += text
        elif text:
            self.final = text
        return bool(event.get("turnComplete"))


async def frames(response: httpx.Response) -> AsyncIterator[tuple[int | None, dict[str, Any]]]:
    """(id, event) of each SSE frame with data, as the frames arrive."""
    frame_id: int | None = None
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            frame_id = int(line.removeprefix("id:").strip())
        elif line.startswith("data:"):
            yield frame_id, json.loads(line.removeprefix("data:"))
        elif line == "":
            frame_id = None


@asynccontextmanager
async def _talker(tmp_path: Path, *, tokens_per_s: float) -> AsyncIterator[httpx.AsyncClient]:
    """adkstream hosting `talker`, an offline model of `WORDS` words at `tokens_per_s`."""
    model = OfflineModel(tokens_per_s=tokens_per_s, reply_tokens=WORDS)
    agents = AgentRegistry([HostedAgent.of(LlmAgent(name="talker", model=model))])
    app = create_app(Settings(data_dir=tmp_path / "data"), agents)
    async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def test_adk_frontend_resumes_after_a_dropped_connection(tmp_path: Path) -> None:
    reader = Reader()
    async with asyncio.timeout(30), _talker(tmp_path, tokens_per_s=200) as client:
        created = await client.post("/apps/talker/users/me/sessions", json={})
        body = {
            "app_name": "talker",  # snake_case, as ADK's model also takes it
            "user_id": "me",
            "session_id": created.json()["id"],
            "new_message": {"role": "user", "parts": [{"text": "tell me"}]},
            "streaming": True,
        }
        async with client.stream("POST", "/run_sse", json=body) as response:
            assert response.status_code == 200
            run_id = response.headers["x-run-id"]
            async for frame_id, event in frames(response):
                assert not reader.take(frame_id, event)
                if len(reader.ids) == 5:
                    break  # the connection drops mid-answer
        headers = {"Last-Event-ID": str(reader.ids[-1])}
        async with client.stream("GET", f"/run_sse/{run_id}", headers=headers) as response:
            assert response.status_code == 200
            done = False
            async for frame_id, event in frames(response):
                done = reader.take(frame_id, event)
                if done:
                    break
        assert done
        finished = await client.get(f"/run_sse/{run_id}", headers={"Last-Event-ID": "99999"})
    assert reader.final is not None and len(reader.final.split()) == WORDS
    assert reader.text == reader.final  # nothing lost, nothing doubled
    assert reader.ids == sorted(set(reader.ids))
    assert finished.status_code == 204  # an ended run with nothing after: stop reconnecting


async def test_adk_run_sse_cancel_ends_the_stream_with_a_cancelled_frame(tmp_path: Path) -> None:
    async with asyncio.timeout(30), _talker(tmp_path, tokens_per_s=20) as client:
        created = await client.post("/apps/talker/users/me/sessions", json={})
        body = {
            "appName": "talker",
            "userId": "me",
            "sessionId": created.json()["id"],
            "newMessage": {"role": "user", "parts": [{"text": "tell me"}]},
            "streaming": True,
        }
        seen: list[dict[str, Any]] = []
        async with client.stream("POST", "/run_sse", json=body) as response:
            run_id = response.headers["x-run-id"]
            async for _, event in frames(response):
                seen.append(event)
                if len(seen) == 1:
                    cancel = await client.post(f"/run_sse/{run_id}/cancel")
                    assert cancel.status_code == 202
        again = await client.post(f"/run_sse/{run_id}/cancel")
    assert seen[-1]["errorCode"] == "CANCELLED"
    assert not any(event.get("turnComplete") for event in seen)
    assert again.status_code == 409
