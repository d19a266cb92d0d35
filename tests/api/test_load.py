"""The embedded default holds load: 200 concurrent streams, every one completes, on the
native API and on ADK's `/run_sse`.

ADK's own SQLite session store fails about a third of 100 concurrent streams with
"database is locked" (reported as HTTP 200 plus an error frame); the embedded default
must not.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from adkstream.events import RunFailed, StreamEvent, parse_event
from tests.adk_rest.wire import data_frames, is_error_frame
from tests.api.conftest import ServerFactory

CONCURRENT_RUNS = 200


async def test_load_embedded_default_completes_200_concurrent_runs(
    start_server: ServerFactory,
) -> None:
    async with start_server(offline_tokens_per_s=0, offline_reply_tokens=20) as api:
        limits = httpx.Limits(max_connections=CONCURRENT_RUNS, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(base_url=api.url, timeout=120, limits=limits) as client,
            asyncio.timeout(180),
        ):
            finals = await asyncio.gather(*(_stream_one(client, i) for i in range(CONCURRENT_RUNS)))
    outcomes = Counter(event.type for event in finals)
    errors = [e.error.code for e in finals if isinstance(e, RunFailed)]
    assert outcomes == {"run.completed": CONCURRENT_RUNS}, (outcomes, errors[:5])


async def _stream_one(client: httpx.AsyncClient, index: int) -> StreamEvent:
    last: StreamEvent | None = None
    async with client.stream(
        "POST",
        "/v1/runs",
        json={"message": f"load {index}"},
        headers={"Accept": "application/x-ndjson"},
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line:
                last = parse_event(line)
    assert last is not None
    return last


async def test_load_adk_run_sse_completes_200_concurrent_runs(start_server: ServerFactory) -> None:
    """As an ADK client does it: a session each, then `/run_sse` streaming, all at once."""
    async with start_server(offline_tokens_per_s=0, offline_reply_tokens=20) as api:
        limits = httpx.Limits(max_connections=CONCURRENT_RUNS, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(base_url=api.url, timeout=120, limits=limits) as client,
            asyncio.timeout(180),
        ):
            sessions = "/apps/assistant/users/u/sessions"
            ids = [
                (await client.post(sessions, json={})).json()["id"] for _ in range(CONCURRENT_RUNS)
            ]
            lasts = await asyncio.gather(*(_adk_stream_one(client, sid) for sid in ids))
    failed = [frame for frame in lasts if is_error_frame(frame)]
    assert failed == []
    assert all(frame.get("turnComplete") is True for frame in lasts), lasts[:3]


async def _adk_stream_one(client: httpx.AsyncClient, session_id: str) -> dict[str, object]:
    body = {
        "appName": "assistant",
        "userId": "u",
        "sessionId": session_id,
        "newMessage": {"role": "user", "parts": [{"text": "load"}]},
        "streaming": True,
    }
    response = await client.post("/run_sse", json=body)
    assert response.status_code == 200, response.text
    return data_frames(response.text)[-1]
