"""`GET /metrics`: Prometheus text whose counters move as the runs did."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api
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
