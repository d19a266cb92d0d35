"""RedisLog across replicas (several RedisLog instances on one prefix): cancel requests,
owner leases, and following a run that another replica drives or recovers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from adkstream.events import RunFailed, RunStarted, StreamEvent
from adkstream.runner.log import RunRecord, RunStatus
from adkstream.runner.redis_log import RedisLog

TIMEOUT_S = 10

Opener = Callable[[], Awaitable[RedisLog]]


@pytest.fixture
async def replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[Opener]:
    """Opens RedisLogs on one prefix (no background sweep); closes them afterwards."""
    opened: list[RedisLog] = []

    async def open_replica() -> RedisLog:
        log = await RedisLog.open(redis_url, prefix=redis_prefix, sweep_s=None)
        opened.append(log)
        return log

    yield open_replica
    for log in reversed(opened):
        await log.close()


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id=run_id, session_id="s1", user_id="u1", agent="app", created_at=1.0)


def started(run_id: str = "r1") -> RunStarted:
    return RunStarted(run_id=run_id, ts=1.0, session_id="s1", user_id="u1", app="app", agent="a")


async def test_redis_log_request_cancel_reaches_every_replica(replicas: Opener) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        a = await replicas()
        b = await replicas()
        at_a: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        at_b: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        def not_mine(run_id: str, reason: str) -> None:
            raise LookupError(run_id)  # a callback that raises must not stop the others

        b.on_cancel_request(not_mine)
        b.on_cancel_request(lambda run_id, reason: at_b.put_nowait((run_id, reason)))
        a.on_cancel_request(lambda run_id, reason: at_a.put_nowait((run_id, reason)))

        await a.request_cancel("r1", "cancelled by request")
        assert await at_b.get() == ("r1", "cancelled by request")
        assert await at_a.get() == ("r1", "cancelled by request")
        await b.request_cancel("r2", "again")  # the subscriber outlived the failing callback
        assert await at_b.get() == ("r2", "again")
        assert await at_a.get() == ("r2", "again")


async def test_redis_log_ignores_a_malformed_cancel_request(
    replicas: Opener, redis_url: str, redis_prefix: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await replicas()
        got: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        log.on_cancel_request(lambda run_id, reason: got.put_nowait((run_id, reason)))
        client = redis.Redis.from_url(redis_url)
        try:
            await client.publish(f"{redis_prefix}:cancel", b"not json")
        finally:
            await client.aclose()
        await log.request_cancel("r1", "why")
        assert await got.get() == ("r1", "why")


async def test_redis_log_recover_interrupted_spares_a_live_replicas_runs(
    replicas: Opener,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await replicas()
        other = await replicas()
        await owner.create_run(record())
        owner.append("r1", [started()])
        await owner.flushed("r1")
        assert await other.recover_interrupted() == []
        still = await other.get_run("r1")
        assert still is not None
        assert still.status is RunStatus.RUNNING


async def test_redis_log_follower_ends_when_a_dead_owners_run_is_recovered(
    replicas: Opener,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await replicas()
        follower = await replicas()
        await owner.create_run(record())
        owner.append("r1", [started()])
        await owner.flushed("r1")
        got: list[StreamEvent] = []
        following = asyncio.Event()

        async def follow() -> None:
            async for event in follower.follow("r1", poll_s=30.0):
                got.append(event)
                following.set()

        task = asyncio.create_task(follow())
        await following.wait()
        await owner.close()  # the owner's lease is gone with it
        assert await follower.recover_interrupted() == ["r1"]
        await task  # woken by XREAD, well before poll_s

        assert [e.seq for e in got] == [1, 2]
        assert isinstance(got[-1], RunFailed)
        assert got[-1].error.code == "interrupted"


async def test_redis_log_owner_cannot_write_after_its_run_was_recovered(
    replicas: Opener, redis_url: str, redis_prefix: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await replicas()
        other = await replicas()
        await owner.create_run(record())
        owner.append("r1", [started()])
        await owner.flushed("r1")
        client = redis.Redis.from_url(redis_url)
        try:  # the owner stalls past its lease
            await client.delete(f"{redis_prefix}:owner:{owner.owner_id}")
        finally:
            await client.aclose()
        assert await other.recover_interrupted() == ["r1"]

        owner.append("r1", [RunStarted.model_validate(started().model_dump() | {"agent": "b"})])
        await owner.flushed("r1")  # dropped, not retried for ever

        events = await other.read("r1", after=0)
        assert [(e.seq, e.type) for e in events] == [(1, "run.started"), (2, "run.failed")]
        final = await other.get_run("r1")
        assert final is not None
        assert final.status is RunStatus.FAILED
