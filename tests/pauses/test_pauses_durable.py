"""A waiting run waits across restarts and replicas: nothing it needs lives only in memory.

Served processes (`adkstream serve`) host the `bank` agent on ADK's Gemini class, talking
to the test's fake Gemini server. A run pauses for a confirmation; the server is stopped
(SIGTERM, or SIGKILL) and started again on the same data dir, or a second replica sharing
PostgreSQL and Redis takes the answer: the run continues where it paused.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from adkstream.events import (
    RunCompleted,
    RunStarted,
    RunWaiting,
    StreamEvent,
    ToolResult,
    parse_event,
)
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.processes import serve_process, two_replicas

__all__ = ["fake_gemini"]

AGENT = ("tests.pauses.pause_agent:root_agent",)
NDJSON = {"Accept": "application/x-ndjson"}


async def _stream(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> list[StreamEvent]:
    async with client.stream("POST", path, json=body, headers=NDJSON) as response:
        assert response.status_code == 200, await response.aread()
        return [parse_event(line) async for line in response.aiter_lines() if line]


async def _pause(client: httpx.AsyncClient, gemini: FakeGemini) -> RunWaiting:
    gemini.script(ToolCallReply("transfer", {"amount": 7}))
    events = await _stream(client, "/v1/runs", {"message": "send 7"})
    waiting = events[-1]
    assert isinstance(waiting, RunWaiting), [e.type for e in events]
    return waiting


async def _answer(client: httpx.AsyncClient, waiting: RunWaiting) -> list[StreamEvent]:
    [request] = waiting.pending
    body = {"answers": [{"request_id": request.request_id, "confirmed": True}]}
    return await _stream(client, f"/v1/runs/{waiting.run_id}/answers", body)


def _continued(waiting: RunWaiting, events: list[StreamEvent]) -> None:
    started = events[0]
    assert isinstance(started, RunStarted) and started.resumes == waiting.run_id
    assert isinstance(events[-1], RunCompleted)
    assert [e.result for e in events if isinstance(e, ToolResult) and e.name == "transfer"] == [
        {"transferred": 7}
    ]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_pauses_a_waiting_run_is_answered_after_a_restart(
    tmp_path: Path, fake_gemini: FakeGemini, sig: int
) -> None:
    env = {"FAKE_GEMINI_URL": fake_gemini.url}
    async with asyncio.timeout(120):
        async with serve_process(tmp_path, env=env, args=AGENT) as first:
            async with httpx.AsyncClient(base_url=first.url, timeout=30) as client:
                waiting = await _pause(client, fake_gemini)
            await first.stop(sig)
        async with (
            serve_process(tmp_path, env=env, args=AGENT) as second,
            httpx.AsyncClient(base_url=second.url, timeout=30) as client,
        ):
            status = (await client.get(f"/v1/runs/{waiting.run_id}")).json()
            events = await _answer(client, waiting)

    assert status["status"] == "waiting"
    _continued(waiting, events)


async def test_pauses_paused_on_one_replica_answered_on_another(
    tmp_path: Path, fake_gemini: FakeGemini, redis_url: str, postgres_url: str
) -> None:
    env = {
        "FAKE_GEMINI_URL": fake_gemini.url,
        "ADKSTREAM_DATABASE_URL": postgres_url,
        "ADKSTREAM_REDIS_URL": redis_url,
        "ADKSTREAM_REDIS_PREFIX": f"adkstream-test-{uuid.uuid4().hex[:8]}",
    }
    async with (
        asyncio.timeout(120),
        two_replicas(tmp_path, env=env, args=AGENT, client_timeout_s=30) as replicas,
    ):
        on_a, on_b = replicas.on_a, replicas.on_b
        waiting = await _pause(on_a, fake_gemini)
        events = await _answer(on_b, waiting)
        again = await on_a.post(
            f"/v1/runs/{waiting.run_id}/answers",
            json={"answers": [{"request_id": waiting.pending[0].request_id, "confirmed": True}]},
        )

    _continued(waiting, events)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_answered")
