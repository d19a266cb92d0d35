"""Limits: request rate (429 + Retry-After, then recovery), concurrent runs per user (429,
slot freed however the run ends), max run time, and both limits across two replicas
sharing Redis."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from adkstream.api import create_app
from adkstream.events import RunFailed, parse_event
from adkstream.settings import Settings
from tests.api.conftest import Api, ServerFactory
from tests.servers import serve_app

SLOW = {"offline_tokens_per_s": 20, "offline_reply_tokens": 400}


async def test_limits_rate_answers_429_then_recovers(start_server: ServerFactory) -> None:
    async with (
        start_server(rate_limit="3/second", rate_limit_local=True) as api,
        asyncio.timeout(30),
    ):
        statuses = [(await api.client.get("/v1/agents")).status_code for _ in range(3)]
        refused = await api.client.get("/v1/agents")
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 2
        # The limit is a window in time: once it has passed, requests go through again.
        await asyncio.sleep(retry_after)
        assert (await api.client.get("/v1/agents")).status_code == 200
        assert (await api.client.get("/healthz")).status_code == 200  # never limited


async def test_limits_the_local_user_is_not_rate_limited_by_default(
    start_server: ServerFactory,
) -> None:
    async with start_server(rate_limit="2/minute") as api, asyncio.timeout(30):
        statuses = {(await api.client.get("/v1/agents")).status_code for _ in range(6)}
    assert statuses == {200}


async def _background(api: Api, message: str = "long") -> httpx.Response:
    return await api.client.post("/v1/runs", json={"message": message, "background": True})


async def _wait_ended(api: Api, run_id: str) -> None:
    run = api.host.runs.active.get(run_id)
    if run is not None:
        await run.done.wait()
        await api.host.log.flushed(run_id)


async def test_limits_concurrent_runs_per_user(start_server: ServerFactory) -> None:
    async with start_server(max_runs_per_user=1, **SLOW) as api, asyncio.timeout(60):
        first = await _background(api)
        assert first.status_code == 202
        refused = await _background(api)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_runs"
        assert int(refused.headers["retry-after"]) >= 1
        # Cancelled: the slot is free again.
        run_id = first.json()["run_id"]
        assert (await api.client.post(f"/v1/runs/{run_id}/cancel")).status_code == 202
        await _wait_ended(api, run_id)
        second = await _background(api)
        assert second.status_code == 202
        # The client that watches it leaves: cancelled, slot free.
        await api.client.post(f"/v1/runs/{second.json()['run_id']}/cancel")
        await _wait_ended(api, second.json()["run_id"])
        async with api.client.stream("POST", "/v1/runs", json={"message": "x"}) as response:
            third = response.headers["x-run-id"]
            async for line in response.aiter_lines():
                if line.startswith("event: message.delta"):
                    break
        await _wait_ended(api, third)
        assert (await api.client.get(f"/v1/runs/{third}")).json()["status"] == "cancelled"
        assert (await _background(api)).status_code == 202


async def test_limits_a_completed_run_frees_its_slot(start_server: ServerFactory) -> None:
    async with start_server(max_runs_per_user=1) as api, asyncio.timeout(30):
        results = [
            await api.client.post(
                "/v1/runs", json={"message": "quick"}, headers={"Accept": "application/json"}
            )
            for _ in range(3)
        ]
    assert [r.json()["status"] for r in results] == ["completed"] * 3


async def test_limits_max_run_time_fails_the_run(start_server: ServerFactory) -> None:
    async with start_server(max_run_s=0.3, **SLOW) as api, asyncio.timeout(30):
        response = await api.client.post(
            "/v1/runs", json={"message": "x"}, headers={"Accept": "application/x-ndjson"}
        )
    final = parse_event(response.text.strip().splitlines()[-1])
    assert isinstance(final, RunFailed)
    assert final.error.code == "timeout"


async def test_limits_message_length(start_server: ServerFactory) -> None:
    async with start_server(max_message_chars=10) as api, asyncio.timeout(30):
        response = await api.client.post("/v1/runs", json={"message": "x" * 11})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "message"


async def test_limits_hold_across_two_replicas_sharing_redis(
    tmp_path: Path, redis_url: str
) -> None:
    common: dict[str, Any] = {
        "redis_url": redis_url,
        "redis_prefix": f"adkstream-test-{uuid.uuid4().hex[:8]}",
        "rate_limit": "4/minute",
        "rate_limit_local": True,
        "max_runs_per_user": 1,
        **SLOW,
    }
    app_a = create_app(Settings(data_dir=tmp_path / "a", **common))
    app_b = create_app(Settings(data_dir=tmp_path / "b", **common))
    async with (
        asyncio.timeout(60),
        serve_app(app_a) as url_a,
        serve_app(app_b) as url_b,
        httpx.AsyncClient(base_url=url_a, timeout=30) as on_a,
        httpx.AsyncClient(base_url=url_b, timeout=30) as on_b,
    ):
        started = await on_a.post("/v1/runs", json={"message": "x", "background": True})
        busy = await on_b.post("/v1/runs", json={"message": "y", "background": True})
        third = await on_b.get("/v1/agents")
        fourth = await on_a.get("/v1/agents")
        fifth = await on_b.get("/v1/agents")
        await on_b.post(f"/v1/runs/{started.json()['run_id']}/cancel")
    assert started.status_code == 202
    assert busy.status_code == 429
    assert busy.json()["error"]["code"] == "too_many_runs"
    assert [third.status_code, fourth.status_code] == [200, 200]
    assert fifth.status_code == 429
    assert fifth.json()["error"]["code"] == "rate_limited"
