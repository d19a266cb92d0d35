"""EventLog under storage faults: blocking reads shorter than the socket timeout, a dead
owner's run ended by its follower, Redis losing its data mid-run (runs written back and
ended `storage_lost`, every follower's stream ending with a terminal event), and an
owner whose run another replica ended being told to stop it.

Tests that stop or restart Redis run their own `redis-server` (tests/redis_server.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from adkstream.events import (
    ErrorInfo,
    MessageDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    StreamEvent,
)
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunRecord, RunStatus
from tests.redis_server import private_redis
from tests.runner.logs import redis_log

TIMEOUT_S = 30
LEASE_S = 1.0

Opener = Callable[..., Awaitable[EventLog]]


@pytest.fixture
async def open_log(redis_prefix: str) -> AsyncIterator[Opener]:
    """Opens EventLogs on one prefix (no background sweep); closes them afterwards."""
    opened: list[EventLog] = []

    async def open_replica(url: str, **options: float) -> EventLog:
        log = await redis_log(url, prefix=redis_prefix, sweep_s=None, **options)
        opened.append(log)
        return log

    yield open_replica
    for log in reversed(opened):
        await log.close()


def record(run_id: str) -> RunRecord:
    return RunRecord(run_id=run_id, session_id="s1", user_id="u1", agent="app", created_at=1.0)


def started(run_id: str) -> RunStarted:
    return RunStarted(run_id=run_id, ts=1.0, session_id="s1", user_id="u1", app="app", agent="a")


def delta(run_id: str, text: str) -> MessageDelta:
    return MessageDelta(run_id=run_id, ts=1.0, message_id="m1", author="a", text=text)


def with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


class Follower:
    """Follows a run in a task; `seen(seq)` waits until an event at or past `seq` came."""

    def __init__(self, log: EventLog, run_id: str) -> None:
        self.events: list[StreamEvent] = []
        self._progress = asyncio.Condition()
        self.task = asyncio.create_task(self._follow(log, run_id))

    async def _follow(self, log: EventLog, run_id: str) -> None:
        async for event in log.follow(run_id, poll_s=30.0):
            self.events.append(event)
            async with self._progress:
                self._progress.notify_all()

    async def seen(self, seq: int) -> None:
        async with self._progress:
            await self._progress.wait_for(lambda: any(e.seq >= seq for e in self.events))

    async def ended(self) -> list[StreamEvent]:
        await self.task
        return self.events


async def test_redis_log_follower_outlasts_the_socket_timeout(
    open_log: Opener, redis_url: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await open_log(redis_url)
        # A 1 s socket timeout: a follower that asked Redis to block for its poll_s
        # (30 s) had its XREAD cut by the timeout after 1 s.
        reader = await open_log(with_query(redis_url, "socket_timeout=1"))
        await owner.create_run(record("r1"))
        owner.append("r1", [started("r1")])
        await owner.flushed("r1")
        follower = Follower(reader, "r1")
        await follower.seen(1)
        await asyncio.sleep(2.5)  # the run is silent for longer than the socket timeout
        owner.append("r1", [RunCompleted(run_id="r1", ts=2.0)])
        events = await follower.ended()

    assert [(e.seq, e.type) for e in events] == [(1, "run.started"), (2, "run.completed")]


async def test_redis_log_follower_ends_a_run_whose_owner_died(
    open_log: Opener, redis_url: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await open_log(redis_url, lease_s=LEASE_S)
        reader = await open_log(redis_url, lease_s=LEASE_S)
        await owner.create_run(record("r1"))
        owner.append("r1", [started("r1")])
        await owner.flushed("r1")
        follower = Follower(reader, "r1")
        await follower.seen(1)
        await owner.close()  # its lease is gone with it; nobody sweeps
        died = time.monotonic()
        events = await follower.ended()
        took_s = time.monotonic() - died

    assert [(e.seq, e.type) for e in events] == [(1, "run.started"), (2, "run.failed")]
    last = events[-1]
    assert isinstance(last, RunFailed) and last.error.code == "interrupted"
    assert took_s < 5 * LEASE_S + 2.5  # the follower's own lease held, then one silent XREAD
    final = await reader.get_run("r1")
    assert final is not None and final.status is RunStatus.FAILED


async def test_redis_log_runs_redis_lost_are_written_back_and_end(open_log: Opener) -> None:
    async with private_redis() as server, asyncio.timeout(TIMEOUT_S):
        owner = await open_log(server.url, lease_s=LEASE_S)
        reader = await open_log(server.url, lease_s=LEASE_S)
        lost: list[tuple[str, str]] = []

        def end_lost(run_id: str, error: ErrorInfo) -> None:  # as a run's driver does
            lost.append((run_id, error.code))
            owner.append(run_id, [RunFailed(run_id=run_id, ts=3.0, error=error)])

        owner.on_run_lost(end_lost)
        for run_id in ("busy", "quiet"):
            await owner.create_run(record(run_id))
            owner.append(run_id, [started(run_id)])
            await owner.flushed(run_id)
        followers = [
            Follower(reader, "busy"),  # another replica's follower: reads Redis
            Follower(owner, "busy"),  # the owner's: reads its hot copy
            Follower(reader, "quiet"),
            Follower(owner, "quiet"),
        ]
        for follower in followers:
            await follower.seen(1)

        await server.stop()
        with pytest.raises(redis.ConnectionError):
            await reader.ping()
        owner.append("busy", [delta("busy", "said while Redis was down")])
        await server.start()  # empty: Redis lost every key
        ended = [await follower.ended() for follower in followers]

        restored = {run_id: await reader.get_run(run_id) for run_id in ("busy", "quiet")}
        logged = {run_id: await reader.read(run_id, after=0) for run_id in ("busy", "quiet")}

    for events in ended:
        last = events[-1]
        assert isinstance(last, RunFailed) and last.error.code == "storage_lost", events
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs))
    assert sorted(lost) == [("busy", "storage_lost"), ("quiet", "storage_lost")]
    # The owner wrote back all it held: every event, then the run's end.
    assert [e.type for e in logged["busy"]] == ["run.started", "message.delta", "run.failed"]
    assert [e.type for e in logged["quiet"]] == ["run.started", "run.failed"]
    for record_ in restored.values():
        assert record_ is not None and record_.status is RunStatus.FAILED
        assert record_.error is not None and record_.error.code == "storage_lost"


async def test_redis_log_follower_of_a_lost_run_without_owner_gets_a_terminal_event(
    open_log: Opener,
) -> None:
    async with private_redis() as server, asyncio.timeout(TIMEOUT_S):
        owner = await open_log(server.url, lease_s=LEASE_S)
        reader = await open_log(server.url, lease_s=LEASE_S)
        await owner.create_run(record("r1"))
        owner.append("r1", [started("r1"), delta("r1", "hello")])
        await owner.flushed("r1")
        await owner.release("r1")  # nobody holds a copy: what Redis loses is gone
        follower = Follower(reader, "r1")
        await follower.seen(2)
        client = redis.Redis.from_url(server.url)
        try:
            await client.flushall()
        finally:
            await client.aclose()
        events = await follower.ended()

    assert [(e.seq, e.type) for e in events] == [
        (1, "run.started"),
        (2, "message.delta"),
        (3, "run.failed"),
    ]
    last = events[-1]
    assert isinstance(last, RunFailed) and last.error.code == "storage_lost"


async def test_redis_log_owner_is_told_to_stop_a_run_another_replica_ended(
    open_log: Opener, redis_url: str, redis_prefix: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        owner = await open_log(redis_url)
        other = await open_log(redis_url)
        lost: list[tuple[str, str]] = []
        owner.on_run_lost(lambda run_id, error: lost.append((run_id, error.code)))
        await owner.create_run(record("r1"))
        owner.append("r1", [started("r1")])
        await owner.flushed("r1")
        client = redis.Redis.from_url(redis_url)
        try:  # the owner stalls past its lease
            await client.delete(f"{redis_prefix}:owner:{owner.storage.owner_id}")
        finally:
            await client.aclose()
        assert await other.recover_interrupted() == ["r1"]

        owner.append("r1", [delta("r1", "too late")])
        await owner.flushed("r1")

    assert lost == [("r1", "interrupted")]
