"""`Idempotency-Key` on `POST /v1/runs`: a retried request joins the run the first one
started (its 202, its stream from the start, its result), also when both come at once
and, on Redis, to two replicas; the key with another body is a 422."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from adkstream.events import RunCompleted, parse_event
from tests.api.conftest import Api, ServerFactory

NDJSON = {"Accept": "application/x-ndjson"}


@pytest_asyncio.fixture(params=["sqlite", "redis-replicas"])
async def servers(
    request: pytest.FixtureRequest, start_server: ServerFactory, tmp_path: Path
) -> AsyncIterator[list[Api]]:
    """One server on the embedded default, or two sharing Redis and PostgreSQL."""
    settings: dict[str, Any] = {"offline_tokens_per_s": 200, "offline_reply_tokens": 20}
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            yield [await stack.enter_async_context(start_server(**settings))]
            return
        settings |= {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": f"adkstream-test-{uuid.uuid4().hex[:8]}",
            "database_url": request.getfixturevalue("postgres_url"),
        }
        yield [
            await stack.enter_async_context(start_server(**settings, data_dir=tmp_path / n))
            for n in ("a", "b")
        ]


def _keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def test_idempotency_a_retried_background_post_joins_the_run(servers: list[Api]) -> None:
    body = {"message": "hello", "background": True}
    async with asyncio.timeout(30):
        first = await servers[0].client.post("/v1/runs", json=body, headers=_keyed("k-1"))
        again = await servers[-1].client.post("/v1/runs", json=body, headers=_keyed("k-1"))
        other = await servers[0].client.post("/v1/runs", json=body, headers=_keyed("k-2"))
        session_id = first.json()["session_id"]
        runs = (await servers[-1].client.get(f"/v1/sessions/{session_id}/runs")).json()["runs"]

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert other.json()["run_id"] != first.json()["run_id"]
    assert [r["run_id"] for r in runs] == [first.json()["run_id"]]


async def test_idempotency_a_retried_stream_replays_the_same_run(servers: list[Api]) -> None:
    body = {"message": "hello"}
    async with asyncio.timeout(30):
        first = await _events(servers[0], body, "k-stream")
        again = await _events(servers[-1], body, "k-stream")

    assert isinstance(first[-1], RunCompleted)
    assert again == first  # every event, from the start, with its seq


async def test_idempotency_two_posts_at_once_start_one_run(servers: list[Api]) -> None:
    body = {"message": "hello", "background": True}
    async with asyncio.timeout(30):
        answers = await asyncio.gather(
            *(
                server.client.post("/v1/runs", json=body, headers=_keyed("k-race"))
                for server in servers * 3
            )
        )
        run_ids = {answer.json()["run_id"] for answer in answers}
        [run_id] = run_ids
        result = await servers[0].client.get(f"/v1/runs/{run_id}/events", headers=NDJSON)

    assert {answer.status_code for answer in answers} == {202}
    assert len(run_ids) == 1
    events = [parse_event(line) for line in result.text.splitlines() if line]
    assert isinstance(events[-1], RunCompleted)
    assert sum(e.type == "run.started" for e in events) == 1


async def test_idempotency_the_key_with_another_body_is_refused(api: Api) -> None:
    async with asyncio.timeout(30):
        first = await api.client.post(
            "/v1/runs", json={"message": "hello", "background": True}, headers=_keyed("k-3")
        )
        other = await api.client.post(
            "/v1/runs", json={"message": "goodbye", "background": True}, headers=_keyed("k-3")
        )

    assert first.status_code == 202
    assert other.status_code == 422
    error = other.json()["error"]
    assert (error["code"], error["field"]) == ("idempotency_key_reused", "Idempotency-Key")


@pytest.mark.parametrize("key", ["", "x" * 256, "héllo"], ids=["empty", "too-long", "not-ascii"])
async def test_idempotency_a_malformed_key_is_a_400(api: Api, key: str) -> None:
    answer = await api.client.post(
        "/v1/runs",
        json={"message": "hello"},
        headers={"Idempotency-Key": key.encode()},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "Idempotency-Key"


async def _events(server: Api, body: dict[str, Any], key: str) -> list[Any]:
    headers = NDJSON | _keyed(key)
    async with server.client.stream("POST", "/v1/runs", json=body, headers=headers) as answer:
        assert answer.status_code == 200, await answer.aread()
        return [parse_event(line) async for line in answer.aiter_lines() if line]
