"""`GET /metrics`: Prometheus text whose counters move as the runs did."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api, ServerFactory
from tests.api.sse_reading import post_sse


async def _scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_metrics_counters_move_with_runs(api: Api) -> None:
    async with asyncio.timeout(30):
        before = await _scrape(api)
        response, frames = await post_sse(api.client, {"message": "count me"})
        run_id = response.headers["x-run-id"]
        rejoin = await api.client.get(f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": "1"})
        refused = await api.client.post("/v1/runs", json={"message": "x", "agent": "nobody"})
        after = await _scrape(api)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert rejoin.status_code == 200
    assert refused.status_code == 404
    assert moved("adkstream_runs_started_total", agent="assistant") == 1
    assert moved("adkstream_runs_ended_total", agent="assistant", status="completed") == 1
    assert moved("adkstream_events_sent_total", format="sse") >= len(frames)
    assert moved("adkstream_bytes_sent_total", format="sse") > 0
    assert moved("adkstream_rejoins_total") == 1
    assert moved("adkstream_deltas_in_total") >= moved("adkstream_deltas_out_total") > 0
    assert moved("adkstream_time_to_first_delta_seconds_count") == 1
    assert after[("adkstream_runs_active", ())] == 0


_PROTOCOL_REQUESTS = [
    pytest.param(
        "sse", "/v1/runs", {"message": "count me"}, {"Accept": "text/event-stream"}, id="sse"
    ),
    pytest.param(
        "ndjson",
        "/v1/runs",
        {"message": "count me"},
        {"Accept": "application/x-ndjson"},
        id="ndjson",
    ),
    pytest.param(
        "agui",
        "/v1/agui/assistant",
        {
            "threadId": "thread-1",
            "runId": "client-run-1",
            "state": {},
            "messages": [{"id": "user-1", "role": "user", "content": "count me"}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        },
        {},
        id="agui",
    ),
    pytest.param(
        "vercel",
        "/v1/vercel/assistant",
        {
            "id": "chat-1",
            "messages": [
                {"id": "user-1", "role": "user", "parts": [{"type": "text", "text": "count me"}]}
            ],
        },
        {},
        id="vercel",
    ),
    pytest.param(
        "openai",
        "/v1/chat/completions",
        {
            "model": "assistant",
            "messages": [{"role": "user", "content": "count me"}],
            "stream": True,
        },
        {},
        id="openai",
    ),
    pytest.param(
        "adk_sse",
        "/run_sse",
        {
            "appName": "assistant",
            "userId": "local",
            "sessionId": "adk-metrics",
            "newMessage": {"role": "user", "parts": [{"text": "count me"}]},
            "streaming": True,
        },
        {},
        id="adk_sse",
    ),
]


@pytest.mark.parametrize(("fmt", "path", "body", "headers"), _PROTOCOL_REQUESTS)
async def test_metrics_count_every_stream_format(
    start_server: ServerFactory,
    fmt: str,
    path: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    """Every format streams through one path: its events and every byte of its body
    (heartbeats included) are counted under its own `format` label."""
    # Tokens 50 ms apart and a 10 ms heartbeat: the SSE-based streams carry pings.
    settings = {"offline_tokens_per_s": 20, "offline_reply_tokens": 6, "heartbeat_s": 0.01}
    async with start_server(**settings) as api, asyncio.timeout(30):
        if fmt == "adk_sse":  # ADK's routes need the session first
            created = await api.client.post(
                "/apps/assistant/users/local/sessions", json={"sessionId": body["sessionId"]}
            )
            assert created.status_code == 200, created.text
        before = await _scrape(api)
        async with api.client.stream("POST", path, json=body, headers=headers) as response:
            received = await response.aread()
        run = (await api.client.get(f"/v1/runs/{response.headers['x-run-id']}")).json()
        after = await _scrape(api)

    def moved(name: str) -> float:
        key = (name, (("format", fmt),))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert run["status"] == "completed"
    assert moved("adkstream_events_sent_total") == run["last_seq"]
    assert moved("adkstream_bytes_sent_total") == len(received)
    assert (b": ping\n\n" in received) is (fmt != "ndjson")
    assert after[("adkstream_streams_active", ())] == 0
