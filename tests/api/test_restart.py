"""A server that stops mid-run (SIGTERM or SIGKILL) and starts again on the same storage:
the embedded files, or PostgreSQL alone (sessions and run log).

A client that rejoins afterwards gets the log up to the stop, then `run.failed` with code
`interrupted`, and nothing hangs. On PostgreSQL a killed server's runs end once its lease
(1 s here) has lapsed.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from adkstream.events import MessageDelta, RunFailed, StreamEvent, parse_event
from tests.processes import serve_process

SLOW = {"ADKSTREAM_OFFLINE_TOKENS_PER_S": "20", "ADKSTREAM_OFFLINE_REPLY_TOKENS": "2000"}


@pytest.fixture(params=["embedded", "postgres"])
def storage_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "embedded":
        return {}
    url = request.getfixturevalue("postgres_url")
    return {
        "ADKSTREAM_DATABASE_URL": url,
        "ADKSTREAM_LOG_URL": url,
        "ADKSTREAM_REDIS_PREFIX": request.getfixturevalue("postgres_prefix"),
        "ADKSTREAM_REDIS_LEASE_S": "1",
    }


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_restart_rejoin_sees_interrupted(
    tmp_path: Path, sig: signal.Signals, storage_env: dict[str, str]
) -> None:
    env = {**SLOW, **storage_env}
    async with asyncio.timeout(120):
        async with serve_process(tmp_path, env=env) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                accepted = await client.post(
                    "/v1/runs", json={"message": "a long answer", "background": True}
                )
                run_id = accepted.json()["run_id"]
                before = await _read_until(client, run_id, deltas=3)
            code = await server.stop(sig)
        if sig == signal.SIGTERM:
            # uvicorn re-raises the signal it handled once it has shut down cleanly.
            assert code in (0, -signal.SIGTERM), "".join(server.output)
            assert any("Application shutdown complete" in line for line in server.output)
        async with serve_process(tmp_path, env=env) as again:
            async with httpx.AsyncClient(base_url=again.url, timeout=30) as client:
                events = await _read_all(client, run_id)
                status = (await client.get(f"/v1/runs/{run_id}")).json()
            await again.stop()
    assert status["status"] == "failed"
    assert status["error"]["code"] == "interrupted"
    seqs = [e.seq for e in events]
    assert seqs == sorted(set(seqs))
    # A replay merges adjacent deltas of a backlog, so compare text, not frame counts.
    assert _delta_text(events).startswith(_delta_text(before))
    assert before[-1].seq in seqs or any(s > before[-1].seq for s in seqs)
    assert [type(e) for e in events].count(RunFailed) == 1
    final = events[-1]
    assert isinstance(final, RunFailed)
    assert final.error.code == "interrupted"
    assert final.seq == status["last_seq"]


def _delta_text(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, MessageDelta))


async def _read_until(client: httpx.AsyncClient, run_id: str, *, deltas: int) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    async with client.stream(
        "GET", f"/v1/runs/{run_id}/events", headers={"Accept": "application/x-ndjson"}
    ) as response:
        async for line in response.aiter_lines():
            if line:
                events.append(parse_event(line))
            if sum(e.type == "message.delta" for e in events) >= deltas:
                break
    return events


async def _read_all(client: httpx.AsyncClient, run_id: str) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    async with client.stream(
        "GET", f"/v1/runs/{run_id}/events", headers={"Accept": "application/x-ndjson"}
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                events.append(parse_event(line))
    return events
