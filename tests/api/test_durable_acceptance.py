"""Durable acceptance: a run's 202 goes out only once its record is stored, so a crash right
after it loses no run a client was told about.

A served process (`adkstream serve`, the embedded default) takes background runs and is
SIGKILLed right after their 202s, cycle after cycle on one data dir; after the last
restart every acknowledged run is there, ended, with its terminal event last.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from adkstream.events import is_terminal, parse_event
from tests.processes import serve_process

CYCLES = 20
RUNS_PER_CYCLE = 3
# A slow offline model: the runs are still going when the process dies.
ENV = {"ADKSTREAM_OFFLINE_TOKENS_PER_S": "20"}


async def test_runs_acknowledged_right_before_a_sigkill_are_never_lost(tmp_path: Path) -> None:
    acknowledged: list[str] = []
    async with asyncio.timeout(240):
        for _ in range(CYCLES):
            async with serve_process(tmp_path, env=ENV) as server:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    for _ in range(RUNS_PER_CYCLE):
                        body = {"message": "tell me a story", "background": True}
                        answer = await client.post("/v1/runs", json=body)
                        assert answer.status_code == 202, answer.text
                        acknowledged.append(answer.json()["run_id"])
                await server.stop(signal.SIGKILL)
        async with (
            serve_process(tmp_path, env=ENV) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):
            statuses = {}
            last_events = {}
            for run_id in acknowledged:
                view = await client.get(f"/v1/runs/{run_id}")
                statuses[run_id] = (view.status_code, view.json().get("status"))
                replay = await client.get(
                    f"/v1/runs/{run_id}/events", headers={"Accept": "application/x-ndjson"}
                )
                lines = [line for line in replay.text.splitlines() if line]
                found = replay.status_code == 200 and lines
                last_events[run_id] = parse_event(lines[-1]) if found else None

    assert len(acknowledged) == CYCLES * RUNS_PER_CYCLE
    assert {code for code, _ in statuses.values()} == {200}, statuses
    assert "running" not in {status for _, status in statuses.values()}
    assert all(e is not None and is_terminal(e) for e in last_events.values()), last_events
