"""Liveness and readiness: `/healthz` never asks storage, `/readyz` asks each store and
names the ones that do not answer (503); both are public. The request rate falls back to
a per-process count while Redis is out of reach.

Redis outages on served replicas: tests/api/test_storage_faults.py.
"""

from __future__ import annotations

import asyncio

from adkstream.api.ratelimit import RequestRate
from tests.api.conftest import Api, ServerFactory
from tests.processes import free_port

# Nothing listens on port 1: the session store cannot connect.
UNREACHABLE_DB = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"


async def test_readyz_is_ready_on_the_embedded_default(api: Api) -> None:
    async with asyncio.timeout(30):
        response = await api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"run_log": "ok", "sessions": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_names_the_store_that_does_not_answer(start_server: ServerFactory) -> None:
    async with start_server(database_url=UNREACHABLE_DB) as api, asyncio.timeout(30):
        readyz = await api.client.get("/readyz")
        healthz = await api.client.get("/healthz")
        sessions = await api.client.get("/v1/sessions")
        agents = await api.client.get("/v1/agents")
    assert readyz.status_code == 503
    assert readyz.headers["retry-after"] == "5"
    body = readyz.json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"run_log": "ok", "sessions": "unreachable"}
    assert body["error"]["code"] == "storage_unavailable"
    assert "sessions" in body["error"]["message"]
    assert "Connect call failed" not in readyz.text  # what failed, never how
    assert healthz.status_code == 200  # liveness: the process is fine
    assert sessions.status_code == 503
    assert sessions.json()["error"]["code"] == "storage_unavailable"
    assert agents.status_code == 200


async def test_readyz_is_public(start_server: ServerFactory) -> None:
    async with start_server(api_keys="key-alice=alice") as api, asyncio.timeout(30):
        readyz = await api.client.get("/readyz")
        agents = await api.client.get("/v1/agents")
    assert readyz.status_code == 200
    assert agents.status_code == 401


async def test_rate_limit_counts_per_process_while_redis_is_unreachable() -> None:
    rate = RequestRate("2/minute", redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        async with asyncio.timeout(30):
            hits = [await rate.hit("alice") for _ in range(3)]
            other = await rate.hit("bob")
    finally:
        await rate.close()
    assert hits[:2] == [None, None]
    assert hits[2] is not None and hits[2] >= 1
    assert other is None
