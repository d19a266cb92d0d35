"""Two `adkstream serve` replicas sharing PostgreSQL (sessions) and a run log: in Redis, or
in PostgreSQL as well (nothing but a database).

A run started on replica A is dropped and rejoined on replica B, which serves the rest of
it with the same seq ids; a cancel sent to B stops a run that A drives.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from adkstream.events import MessageDelta, RunCancelled, RunCompleted, StreamEvent, parse_event
from tests.processes import two_replicas


@pytest.fixture(params=["redis", "postgres"])
def shared_log(request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings of the run log both replicas share."""
    if request.param == "redis":
        return {
            "ADKSTREAM_REDIS_URL": request.getfixturevalue("redis_url"),
            "ADKSTREAM_REDIS_PREFIX": f"adkstream-test-{uuid.uuid4().hex[:8]}",
        }
    return {
        "ADKSTREAM_LOG_URL": request.getfixturevalue("postgres_url"),
        "ADKSTREAM_REDIS_PREFIX": request.getfixturevalue("postgres_prefix"),
    }


async def test_replicas_rejoin_and_cancel_on_another_replica(
    tmp_path: Path, postgres_url: str, shared_log: dict[str, str]
) -> None:
    env = {
        "ADKSTREAM_DATABASE_URL": postgres_url,
        **shared_log,
        "ADKSTREAM_OFFLINE_TOKENS_PER_S": "50",
        "ADKSTREAM_OFFLINE_REPLY_TOKENS": "60",
    }
    async with (
        asyncio.timeout(120),
        two_replicas(tmp_path, env=env, client_timeout_s=30) as replicas,
    ):
        on_a, on_b = replicas.on_a, replicas.on_b
        before: list[StreamEvent] = []
        body = {"message": "across replicas", "on_disconnect": "continue"}
        async with on_a.stream(
            "POST", "/v1/runs", json=body, headers={"Accept": "application/x-ndjson"}
        ) as response:
            run_id = response.headers["x-run-id"]
            async for line in response.aiter_lines():
                if line:
                    before.append(parse_event(line))
                if sum(isinstance(e, MessageDelta) for e in before) >= 3:
                    break
        last_seen = before[-1].seq
        after = await _events(on_b, run_id, last_seen)
        status_a = (await on_a.get(f"/v1/runs/{run_id}")).json()
        status_b = (await on_b.get(f"/v1/runs/{run_id}")).json()

        accepted = await on_a.post("/v1/runs", json={"message": "stop me", "background": True})
        second = accepted.json()["run_id"]
        cancel = await on_b.post(f"/v1/runs/{second}/cancel")
        cancelled = await _events(on_b, second, 0)

    assert after[0].seq > last_seen
    final = after[-1]
    assert isinstance(final, RunCompleted)
    assert final.seq == status_a["last_seq"] == status_b["last_seq"]
    text = "".join(e.text for e in [*before, *after] if isinstance(e, MessageDelta))
    assert text == final.final_text
    assert status_b["status"] == "completed"
    assert cancel.status_code == 202
    assert isinstance(cancelled[-1], RunCancelled)


async def _events(client: httpx.AsyncClient, run_id: str, after: int) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    async with client.stream(
        "GET",
        f"/v1/runs/{run_id}/events",
        headers={"Accept": "application/x-ndjson", "Last-Event-ID": str(after)},
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                events.append(parse_event(line))
    return events
