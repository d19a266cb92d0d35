"""Retention over HTTP, on the embedded default: a run past its retention is gone (404),
the others stay, and so do their sessions' lists; idle sessions go with session retention.

The server's pruner sweeps on its own timer; here each sweep is one call of its step,
at a chosen time, so nothing waits for a clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.conftest import Api, ServerFactory

RETENTION_S = 60.0


async def finished_run(api: Api, session_id: str | None = None) -> dict[str, Any]:
    """A run to its end (JSON answer); its record as `GET /v1/runs/{id}` shows it."""
    body: dict[str, Any] = {"message": "hello"}
    if session_id is not None:
        body["session_id"] = session_id
    response = await api.client.post("/v1/runs", json=body, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    run = await api.client.get(f"/v1/runs/{response.json()['run_id']}")
    record: dict[str, Any] = run.json()
    assert record["status"] == "completed"
    return record


async def test_pruned_runs_are_gone_and_the_others_stay(start_server: ServerFactory) -> None:
    async with asyncio.timeout(30), start_server(run_retention_s=RETENTION_S) as api:
        older = await finished_run(api)
        newer = await finished_run(api, older["session_id"])
        assert newer["ended_at"] > older["ended_at"]

        # Nothing is past its retention yet.
        kept = await api.host.pruner.prune_once(now=newer["ended_at"] + RETENTION_S / 2)
        assert kept.runs == 0
        assert (await api.client.get(f"/v1/runs/{older['run_id']}")).status_code == 200

        # Past the older run's retention, not the newer one's.
        between = (older["ended_at"] + newer["ended_at"]) / 2 + RETENTION_S
        pruned = await api.host.pruner.prune_once(now=between)

        assert (pruned.runs, pruned.sessions) == (1, 0)  # session retention is off
        gone = await api.client.get(f"/v1/runs/{older['run_id']}")
        assert gone.status_code == 404
        assert gone.json()["error"]["code"] == "run_not_found"
        events = await api.client.get(f"/v1/runs/{older['run_id']}/events")
        assert events.status_code == 404
        still = await api.client.get(f"/v1/runs/{newer['run_id']}")
        assert still.status_code == 200 and still.json() == newer
        listed = await api.client.get(f"/v1/sessions/{older['session_id']}/runs")
        assert [run["run_id"] for run in listed.json()["runs"]] == [newer["run_id"]]


async def test_idle_sessions_go_with_session_retention(start_server: ServerFactory) -> None:
    async with (
        asyncio.timeout(30),
        start_server(run_retention_s=RETENTION_S, session_retention_s=RETENTION_S) as api,
    ):
        run = await finished_run(api)
        session = await api.client.get(f"/v1/sessions/{run['session_id']}")
        updated = session.json()["updated_at"]

        assert (await api.host.pruner.prune_once(now=updated + RETENTION_S - 1)).sessions == 0
        pruned = await api.host.pruner.prune_once(now=updated + RETENTION_S + 1)

        assert (pruned.runs, pruned.sessions) == (1, 1)
        assert (await api.client.get(f"/v1/sessions/{run['session_id']}")).status_code == 404
        assert (await api.client.get(f"/v1/runs/{run['run_id']}")).status_code == 404
