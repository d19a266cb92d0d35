"""Resume, replay and cancel over HTTP, for each log backend (memory, SQLite, Redis,
PostgreSQL).

A client that drops after k events and rejoins with `Last-Event-ID: k` gets exactly what
it missed; a finished run replays, then ends (204 at its last id); a cancel from a second
client ends the run for every subscriber.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adkstream.api import create_app
from adkstream.events import MessageDelta, RunCancelled, RunCompleted, StreamEvent, parse_event
from adkstream.runner.log import EventLog
from adkstream.settings import Settings
from tests.api.conftest import ServerFactory
from tests.conftest import POSTGRES_URL, REDIS_URL, require_service
from tests.servers import serve_app_in_thread

BACKENDS = ["memory", "sqlite", "redis", "postgres"]


def _backend_settings(backend: str) -> dict[str, Any]:
    if backend == "redis":
        require_service("Redis", "127.0.0.1", 6379)
        return {"redis_url": REDIS_URL, "redis_prefix": f"adkstream-test-{uuid.uuid4().hex[:8]}"}
    if backend == "postgres":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        # One table prefix for these tests: their run ids never meet.
        return {"log_url": POSTGRES_URL, "redis_prefix": "adkstream_test_resume"}
    return {}


def _log_for(backend: str) -> EventLog | None:
    return EventLog.in_memory() if backend == "memory" else None


@pytest.fixture(scope="module", params=BACKENDS)
def resume_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend: str = request.param
    settings = Settings(
        data_dir=tmp_path_factory.mktemp(f"resume-{backend}"),
        offline_tokens_per_s=200,
        offline_reply_tokens=40,
        coalesce_ms=0,
        # Module-scoped: the suite's relaxed limits (a function-scoped env) are not set yet.
        rate_limit="100000/minute",
        max_runs_per_user=10000,
        **_backend_settings(backend),
    )
    with serve_app_in_thread(create_app(settings, log=_log_for(backend))) as url:
        yield url


def _read(
    client: httpx.Client, run_id: str, after: int, stop_after: int | None
) -> list[StreamEvent]:
    """Events after `after`; drops the connection after `stop_after` of them."""
    events: list[StreamEvent] = []
    with client.stream(
        "GET",
        f"/v1/runs/{run_id}/events",
        headers={"Accept": "application/x-ndjson", "Last-Event-ID": str(after)},
    ) as response:
        if response.status_code == 204:
            return events
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                events.append(parse_event(line))
            if stop_after is not None and len(events) >= stop_after:
                break
    return events


@given(drops=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=5))
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_resume_after_drops_sees_each_event_once(resume_server: str, drops: list[int]) -> None:
    with httpx.Client(base_url=resume_server, timeout=30) as client:
        accepted = client.post("/v1/runs", json={"message": "resume me", "background": True})
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]
        seen: list[StreamEvent] = []
        cursor = 0
        for reads in [*drops, None]:
            batch = _read(client, run_id, cursor, reads)
            assert all(e.seq > cursor for e in batch), "an event at or before the id came again"
            seen.extend(batch)
            if batch:
                cursor = batch[-1].seq
            if seen and isinstance(seen[-1], RunCompleted):
                break
        else:
            seen.extend(_read(client, run_id, cursor, None))
        whole = _read(client, run_id, 0, None)
    seqs = [e.seq for e in seen]
    assert seqs == sorted(set(seqs)), "a duplicate or out-of-order event"
    final = seen[-1]
    assert isinstance(final, RunCompleted)
    assert "".join(e.text for e in seen if isinstance(e, MessageDelta)) == final.final_text
    # Merged deltas leave gaps in seq; every other event is there, with its own seq.
    assert [e for e in seen if not isinstance(e, MessageDelta)] == [
        e for e in whole if not isinstance(e, MessageDelta)
    ]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_resume_finished_run_replays_then_204(
    start_server: ServerFactory, backend: str
) -> None:
    async with (
        start_server(log=_log_for(backend), **_backend_settings(backend)) as api,
        asyncio.timeout(30),
    ):
        done = await api.client.post(
            "/v1/runs",
            json={"message": "finished", "coalesce_ms": 0},
            headers={"Accept": "application/json"},
        )
        run_id = done.json()["run_id"]
        last = (await api.client.get(f"/v1/runs/{run_id}")).json()["last_seq"]
        tail = await _read_async(api.client, run_id, 2)
        at_end = await api.client.get(
            f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(last)}
        )
    final = tail[-1]
    assert tail[0].seq > 2
    assert final.seq == last
    assert isinstance(final, RunCompleted)
    assert "".join(e.text for e in tail if isinstance(e, MessageDelta)) == final.final_text
    assert at_end.status_code == 204


@pytest.mark.parametrize("backend", BACKENDS)
async def test_resume_cancel_from_a_second_client_ends_every_subscriber(
    start_server: ServerFactory, backend: str
) -> None:
    slow = {"offline_tokens_per_s": 20, "offline_reply_tokens": 400}
    async with (
        start_server(log=_log_for(backend), **slow, **_backend_settings(backend)) as api,
        asyncio.timeout(30),
    ):
        accepted = await api.client.post("/v1/runs", json={"message": "x", "background": True})
        run_id, session_id = accepted.json()["run_id"], accepted.json()["session_id"]
        first_delta = [asyncio.Event(), asyncio.Event()]
        watchers = [
            asyncio.create_task(_read_async(api.client, run_id, 0, seen_delta=flag))
            for flag in first_delta
        ]
        await asyncio.gather(*(flag.wait() for flag in first_delta))
        loop = asyncio.get_running_loop()
        cancelled_at = loop.time()
        cancel = await api.client.post(f"/v1/runs/{run_id}/cancel")
        streams = await asyncio.gather(*watchers)
        ended_within = loop.time() - cancelled_at
        await api.host.log.flushed(run_id)
        session = await api.host.session_service.get_session(
            app_name="assistant", user_id="local", session_id=session_id
        )
    assert cancel.status_code == 202
    assert ended_within < 1.0
    for events in streams:
        assert isinstance(events[-1], RunCancelled)
    assert session is not None
    assert any(e.error_code == "INVOCATION_ABORTED" for e in session.events)


async def _read_async(
    client: httpx.AsyncClient, run_id: str, after: int, seen_delta: asyncio.Event | None = None
) -> list[StreamEvent]:
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
                if seen_delta is not None and isinstance(events[-1], MessageDelta):
                    seen_delta.set()
    return events
