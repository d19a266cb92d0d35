"""Storage faults on served replicas (`adkstream serve`) sharing Redis and PostgreSQL.

- A follower on replica B of a run on replica A that is silent for 20 s gets every event
  and the terminal one (blocking reads shorter than the Redis client's socket timeout).
- A SIGKILLed owner's run is ended within a few seconds: its follower and a rejoin on
  the other replica get `run.failed` `interrupted`.
- Redis restarted without its data mid-run: every stream of every run in flight, on
  the owner's replica and on the other one, ends with `run.failed` `storage_lost`.
- Redis down: 503 `storage_unavailable` with Retry-After on the routes that need it,
  the others served, `/readyz` failing while `/healthz` stays 200, and everything back
  once Redis is, without a restart.

Tests that stop or restart Redis run their own `redis-server` (tests/redis_server.py).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from adkstream.events import (
    RunCancelled,
    RunCompleted,
    RunFailed,
    StreamEvent,
    ToolResult,
    parse_event,
)
from tests.processes import serve_process, two_replicas
from tests.redis_server import private_redis

AGENT = ("tests.api.slow_agent:root_agent",)
NDJSON = {"Accept": "application/x-ndjson"}
JSON = {"Accept": "application/json"}


def _env(redis_url: str, postgres_url: str, prefix: str, **more: str) -> dict[str, str]:
    return {
        "ADKSTREAM_DATABASE_URL": postgres_url,
        "ADKSTREAM_REDIS_URL": redis_url,
        "ADKSTREAM_REDIS_PREFIX": prefix,
        **more,
    }


class Stream:
    """A run's NDJSON stream read in a task; `seen(kind)` waits for an event of a type."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.events: list[StreamEvent] = []
        self.run_id: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._progress = asyncio.Condition()
        self.task = asyncio.create_task(self._read(client, method, path, json, headers or {}))

    async def _read(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        json: Any,
        headers: Mapping[str, str],
    ) -> None:
        async with client.stream(method, path, json=json, headers=NDJSON | dict(headers)) as reply:
            assert reply.status_code == 200, await reply.aread()
            self.run_id.set_result(reply.headers["x-run-id"])
            async for line in reply.aiter_lines():
                if line:
                    self.events.append(parse_event(line))
                    async with self._progress:
                        self._progress.notify_all()

    async def seen(self, kind: str) -> StreamEvent:
        async with self._progress:
            await self._progress.wait_for(lambda: any(e.type == kind for e in self.events))
        return next(e for e in self.events if e.type == kind)

    async def ended(self) -> list[StreamEvent]:
        await self.task
        return self.events


def follow(client: httpx.AsyncClient, run_id: str, after: int = 0) -> Stream:
    return Stream(client, "GET", f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(after)})


async def test_storage_follower_on_another_replica_outlasts_a_20s_silence(
    tmp_path: Path, redis_url: str, redis_prefix: str, postgres_url: str
) -> None:
    env = _env(redis_url, postgres_url, redis_prefix, SLOW_TOOL_S="20")
    async with (
        asyncio.timeout(120),
        two_replicas(tmp_path, env=env, args=AGENT, client_timeout_s=60) as replicas,
    ):
        on_a, on_b = replicas.on_a, replicas.on_b
        accepted = await on_a.post("/v1/runs", json={"message": "please pause", "background": True})
        run_id = accepted.json()["run_id"]
        follower = follow(on_b, run_id)
        await follower.seen("tool.call")
        silent_from = time.monotonic()
        await follower.seen("tool.result")
        silent_s = time.monotonic() - silent_from
        events = await follower.ended()

    assert silent_s > 15  # the run was silent while the tool waited
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.result for e in events if isinstance(e, ToolResult)] == [{"paused_s": 20.0}]
    assert isinstance(events[-1], RunCompleted)


async def test_storage_sigkilled_owners_run_ends_within_seconds_on_another_replica(
    tmp_path: Path, redis_url: str, redis_prefix: str, postgres_url: str
) -> None:
    env = _env(redis_url, postgres_url, redis_prefix, SLOW_TOOL_S="600")
    async with (
        asyncio.timeout(120),
        two_replicas(tmp_path, env=env, args=AGENT, client_timeout_s=60) as replicas,
    ):
        on_a, on_b = replicas.on_a, replicas.on_b
        accepted = await on_a.post("/v1/runs", json={"message": "please pause", "background": True})
        run_id = accepted.json()["run_id"]
        follower = follow(on_b, run_id)
        call = await follower.seen("tool.call")
        await replicas.a.stop(signal.SIGKILL)
        killed = time.monotonic()
        rejoin = follow(on_b, run_id, after=call.seq)  # a client reconnecting meanwhile
        events = await follower.ended()
        took_s = time.monotonic() - killed
        rejoined = await rejoin.ended()
        status = (await on_b.get(f"/v1/runs/{run_id}")).json()

    last = events[-1]
    assert isinstance(last, RunFailed) and last.error.code == "interrupted"
    assert took_s < 12  # the 5 s lease lapses, then a follower's silent read finds it
    assert rejoined[-1] == last
    assert status["status"] == "failed" and status["error"]["code"] == "interrupted"


async def test_storage_redis_losing_its_data_ends_every_stream_with_a_terminal_event(
    tmp_path: Path, postgres_url: str
) -> None:
    prefix = f"adkstream-test-{uuid.uuid4().hex[:8]}"
    async with private_redis() as server, asyncio.timeout(90):
        env = _env(
            server.url,
            postgres_url,
            prefix,
            SLOW_TOOL_S="600",
            SLOW_TOKENS_PER_S="4",
            SLOW_REPLY_TOKENS="1000",
        )
        async with two_replicas(tmp_path, env=env, args=AGENT, client_timeout_s=60) as replicas:
            on_a, on_b = replicas.on_a, replicas.on_b
            streams: list[Stream] = []
            owners: dict[str, httpx.AsyncClient] = {}
            for owner, other in ((on_a, on_b), (on_b, on_a)):
                # A run silent in its tool, and one streaming text, on each replica: each
                # streamed by its owner (POST) and followed on the other replica.
                for message, first in (("please pause", "tool.call"), ("hello", "message.delta")):
                    body = {"message": message, "on_disconnect": "continue"}
                    posted = Stream(owner, "POST", "/v1/runs", json=body)
                    await posted.seen(first)
                    run_id = await posted.run_id
                    owners[run_id] = owner
                    followed = follow(other, run_id)
                    await followed.seen(first)
                    streams += [posted, followed]

            await server.restart()  # back empty: Redis lost every key
            ended = [await stream.ended() for stream in streams]

            records = {
                run_id: (await client.get(f"/v1/runs/{run_id}")).json()
                for run_id, client in owners.items()
            }
            after = Stream(on_a, "POST", "/v1/runs", json={"message": "hello again"})
            await after.seen("message.delta")
            cancel = await on_b.post(f"/v1/runs/{await after.run_id}/cancel")
            after_events = await after.ended()

    for events in ended:
        last = events[-1]
        assert isinstance(last, RunFailed), [e.type for e in events]
        assert last.error.code == "storage_lost"
    for record in records.values():  # each owner wrote its lost runs back, ended
        assert record["status"] == "failed" and record["error"]["code"] == "storage_lost"
    # Redis works again without a restart: a new run, cancelled from the other replica.
    assert cancel.status_code == 202
    assert isinstance(after_events[-1], RunCancelled)


async def test_storage_redis_down_answers_503_and_recovers_without_a_restart(
    tmp_path: Path, postgres_url: str
) -> None:
    prefix = f"adkstream-test-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": "Bearer key-1"}
    async with private_redis() as server, asyncio.timeout(120):
        env = _env(
            server.url,
            postgres_url,
            prefix,
            ADKSTREAM_API_KEYS="key-1=alice",
            SLOW_TOOL_S="600",
            SLOW_TOKENS_PER_S="0",
        )
        async with (
            serve_process(tmp_path / "a", env=env, args=AGENT) as replica,
            httpx.AsyncClient(base_url=replica.url, timeout=30, headers=auth) as client,
        ):
            session_id = (await client.post("/v1/sessions", json={})).json()["id"]
            hi = {"message": "hi", "session_id": session_id}
            done = await client.post("/v1/runs", json=hi, headers=JSON)
            assert done.json()["status"] == "completed"
            run_id = done.json()["run_id"]
            assert (await client.get("/readyz")).status_code == 200

            await server.stop()
            healthz = await client.get("/healthz")
            readyz = await client.get("/readyz")
            served = {path: await client.get(path) for path in ("/v1/agents", "/v1/sessions")}
            refused = {
                (method, path): await client.request(method, path, json=body)
                for method, path, body in [
                    ("POST", "/v1/runs", {"message": "x", "session_id": session_id}),
                    ("GET", f"/v1/runs/{run_id}", None),
                    ("GET", f"/v1/runs/{run_id}/events", None),
                    ("POST", f"/v1/runs/{run_id}/cancel", None),
                    ("POST", f"/v1/runs/{run_id}/answers", {"answers": []}),
                    ("GET", f"/v1/sessions/{session_id}", None),
                    ("GET", f"/v1/sessions/{session_id}/runs", None),
                    ("POST", "/v1/chat/completions", _chat("x")),
                    ("POST", "/v1/agui/slow", _agui("x")),
                    ("POST", "/v1/vercel/slow", _vercel("x")),
                    ("GET", f"/v1/vercel/slow/{session_id}/stream", None),
                ]
            }

            await server.start()  # empty, as after a restart without persistence
            ready_again = await client.get("/readyz")
            again = await client.post("/v1/runs", json=hi, headers=JSON)
            stopping = Stream(client, "POST", "/v1/runs", json={"message": "please pause"})
            await stopping.seen("tool.call")
            cancel = await client.post(f"/v1/runs/{await stopping.run_id}/cancel")
            stopped = await stopping.ended()

    assert healthz.status_code == 200
    assert readyz.status_code == 503
    assert readyz.headers["retry-after"]
    assert readyz.json()["checks"] == {"run_log": "unreachable", "sessions": "ok"}
    assert readyz.json()["error"]["code"] == "storage_unavailable"
    assert {path: r.status_code for path, r in served.items()} == dict.fromkeys(served, 200)
    for route, response in refused.items():
        assert response.status_code == 503, (route, response.text)
        assert response.json()["error"]["code"] == "storage_unavailable", route
        assert int(response.headers["retry-after"]) >= 1, route
    assert ready_again.status_code == 200
    assert again.json()["status"] == "completed"
    assert cancel.status_code == 202
    assert isinstance(stopped[-1], RunCancelled)


def _chat(text: str) -> dict[str, Any]:
    return {"model": "slow", "messages": [{"role": "user", "content": text}]}


def _agui(text: str) -> dict[str, Any]:
    message = {"id": "user-1", "role": "user", "content": text}
    return {"threadId": f"t-{uuid.uuid4().hex}", "runId": "r", "state": {}, "messages": [message]}


def _vercel(text: str) -> dict[str, Any]:
    message = {"id": "user-1", "role": "user", "parts": [{"type": "text", "text": text}]}
    return {"id": f"c-{uuid.uuid4().hex}", "messages": [message], "trigger": "submit-message"}
