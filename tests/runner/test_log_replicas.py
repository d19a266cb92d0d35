"""EventLog across replicas (several EventLog instances on one Redis key prefix or one
PostgreSQL table prefix): cancel requests, owner leases, and following a run that another
replica drives or recovers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest
import redis.asyncio as redis

from adkstream.events import RunFailed, RunStarted, StreamEvent
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunRecord, RunStatus
from tests.runner.logs import postgres_log, redis_log

TIMEOUT_S = 10


@dataclass
class Shared:
    """Replicas on one shared storage, and what a test does to that storage behind them."""

    kind: str
    url: str
    prefix: str
    opened: list[EventLog] = field(default_factory=list)

    async def __call__(self) -> EventLog:
        """A new replica (no background sweep: tests recover when they mean to)."""
        if self.kind == "redis":
            log = await redis_log(self.url, prefix=self.prefix, sweep_s=None)
        else:  # lease_s: long enough that no sweep runs during a test
            log = await postgres_log(self.url, prefix=self.prefix, lease_s=60.0)
        self.opened.append(log)
        return log

    async def drop_lease(self, log: EventLog) -> None:
        """The replica stalls past its lease: its lease is gone, the replica is not."""
        owner_id = log.storage.owner_id  # type: ignore[attr-defined]
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            try:
                await client.delete(f"{self.prefix}:owner:{owner_id}")
            finally:
                await client.aclose()
            return
        conn = await asyncpg.connect(self.url.replace("+asyncpg", ""))
        try:
            await conn.execute(f"DELETE FROM {self.prefix}_leases WHERE owner = $1", owner_id)
        finally:
            await conn.close()

    async def send_garbage_cancel(self) -> None:
        if self.kind == "redis":
            client = redis.Redis.from_url(self.url)
            try:
                await client.publish(f"{self.prefix}:cancel", b"not json")
            finally:
                await client.aclose()
            return
        conn = await asyncpg.connect(self.url.replace("+asyncpg", ""))
        try:
            await conn.execute("SELECT pg_notify($1, 'not json')", f"{self.prefix}_cancel")
        finally:
            await conn.close()


@pytest.fixture(params=["redis", "postgres"])
def shared(request: pytest.FixtureRequest) -> Shared:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        return Shared("redis", url, request.getfixturevalue("redis_prefix"))
    url = request.getfixturevalue("postgres_url")
    return Shared("postgres", url, request.getfixturevalue("postgres_prefix"))


@pytest.fixture
async def replicas(shared: Shared) -> AsyncIterator[Shared]:
    yield shared
    for log in reversed(shared.opened):
        await log.close()


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id=run_id, session_id="s1", user_id="u1", agent="app", created_at=1.0)


def started(run_id: str = "r1") -> RunStarted:
    return RunStarted(run_id=run_id, ts=1.0, session_id="s1", user_id="u1", app="app", agent="a")


async def test_replica_log_request_cancel_reaches_every_replica(replicas: Shared) -> None:
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


async def test_replica_log_ignores_a_malformed_cancel_request(replicas: Shared) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await replicas()
        got: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        log.on_cancel_request(lambda run_id, reason: got.put_nowait((run_id, reason)))
        await replicas.send_garbage_cancel()
        await log.request_cancel("r1", "why")
        assert await got.get() == ("r1", "why")


async def test_replica_log_recover_interrupted_spares_a_live_replicas_runs(
    replicas: Shared,
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


async def test_replica_log_follower_ends_when_a_dead_owners_run_is_recovered(
    replicas: Shared,
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
        await task  # woken by XREAD or NOTIFY, well before poll_s

        assert [e.seq for e in got] == [1, 2]
        assert isinstance(got[-1], RunFailed)
        assert got[-1].error.code == "interrupted"


async def test_replica_log_owner_cannot_write_after_its_run_was_recovered(
    replicas: Shared,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await replicas()
        other = await replicas()
        await owner.create_run(record())
        owner.append("r1", [started()])
        await owner.flushed("r1")
        await replicas.drop_lease(owner)
        assert await other.recover_interrupted() == ["r1"]

        owner.append("r1", [RunStarted.model_validate(started().model_dump() | {"agent": "b"})])
        await owner.flushed("r1")  # dropped, not retried for ever

        events = await other.read("r1", after=0)
        assert [(e.seq, e.type) for e in events] == [(1, "run.started"), (2, "run.failed")]
        final = await other.get_run("r1")
        assert final is not None
        assert final.status is RunStatus.FAILED
