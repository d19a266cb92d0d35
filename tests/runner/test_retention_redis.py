"""Retention on Redis: a run's keys get their expiry as the run ends (and as it is
answered), from the retention settings; a session's run index is never cut short."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as redis

from adkstream.runner.log import EventLog
from adkstream.runner.log_factory import open_log
from adkstream.runner.retention import Retention
from adkstream.runner.run_record import RunStatus
from adkstream.settings import Settings
from tests.runner.logs import redis_log
from tests.runner.test_log_backends import TIMEOUT_S, record, started
from tests.runner.test_retention import ended

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


Opener = Callable[[Retention], Awaitable[EventLog]]


@pytest.fixture
async def open_redis_log(redis_url: str, redis_prefix: str) -> AsyncIterator[Opener]:
    """Opens the log as a server does (`open_log` with the settings' retention)."""
    opened: list[EventLog] = []

    async def open_with(retention: Retention) -> EventLog:
        log = await open_log(redis_url, prefix=redis_prefix, retention=retention)
        opened.append(log)
        return log

    yield open_with
    for log in opened:
        await log.close()


async def write(log: EventLog, run_id: str, status: RunStatus, *, session_id: str = "s1") -> None:
    await log.create_run(record(run_id, session_id=session_id))
    log.append(run_id, ended(run_id, status, 1000.0))
    await log.release(run_id)


def run_keys(prefix: str, run_id: str) -> tuple[str, str]:
    return f"{prefix}:run:{run_id}", f"{prefix}:run:{run_id}:events"


async def pttls(client: redis.Redis, *keys: str) -> list[int]:
    return [await client.pttl(key) for key in keys]


def about(ms: int) -> Callable[[int], bool]:
    """Within a few seconds below `ms` (the time the test took since the expiry was set)."""
    return lambda left: ms - 5000 < left <= ms


async def test_finished_runs_expire_after_the_configured_retention(
    open_redis_log: Opener, client: redis.Redis, redis_prefix: str
) -> None:
    retention = Retention.from_settings(Settings(run_retention_s=60))
    async with asyncio.timeout(TIMEOUT_S):
        log = await open_redis_log(retention)
        await write(log, "r1", RunStatus.COMPLETED)
        await write(log, "r2", RunStatus.FAILED)
        await log.create_run(record("r3"))
        log.append("r3", [started("r3")])
        await log.flushed("r3")

        for run_id in ("r1", "r2"):
            assert all(map(about(60_000), await pttls(client, *run_keys(redis_prefix, run_id))))
        assert await pttls(client, *run_keys(redis_prefix, "r3")) == [-1, -1]  # running
        [index] = await pttls(client, f"{redis_prefix}:session:s1:runs")
        assert about(60_000)(index)
        assert await log.prune(retention, now=1e12) == 0  # Redis expires them by itself


async def test_waiting_runs_are_kept_while_they_can_be_answered(
    open_redis_log: Opener, client: redis.Redis, redis_prefix: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        no_pause_expiry = await open_redis_log(
            Retention.from_settings(Settings(run_retention_s=60))
        )
        await write(no_pause_expiry, "forever", RunStatus.WAITING, session_id="s-forever")
        assert await pttls(client, *run_keys(redis_prefix, "forever")) == [-1, -1]
        [index] = await pttls(client, f"{redis_prefix}:session:s-forever:runs")
        assert index > 3000 * DAY_MS  # the index lists it as long as it is kept

        expiring = await open_redis_log(
            Retention.from_settings(Settings(run_retention_s=60, pause_expiry_s=600))
        )
        await write(expiring, "w", RunStatus.WAITING)
        assert all(map(about(600_000), await pttls(client, *run_keys(redis_prefix, "w"))))

        # Answered: kept for the retention after the answer.
        assert await no_pause_expiry.claim_answer("forever", by="next") == "next"
        assert all(map(about(60_000), await pttls(client, *run_keys(redis_prefix, "forever"))))
        assert await expiring.answered_by("forever") == "next"


async def test_a_sessions_index_lives_as_long_as_its_longest_kept_run(
    open_redis_log: Opener, client: redis.Redis, redis_prefix: str
) -> None:
    index = f"{redis_prefix}:session:s1:runs"
    async with asyncio.timeout(TIMEOUT_S):
        longer = await open_redis_log(Retention(runs_s=600.0))
        shorter = await open_redis_log(Retention(runs_s=60.0))
        await write(longer, "kept-long", RunStatus.COMPLETED)
        await write(shorter, "kept-short", RunStatus.COMPLETED)
        [left] = await pttls(client, index)
        assert about(600_000)(left)  # the later, shorter-kept run did not cut it short

        # An index that expired while a run went on gets the run back at its end.
        await shorter.create_run(record("late", session_id="s2"))
        shorter.append("late", [started("late")])
        await shorter.flushed("late")
        await client.delete(f"{redis_prefix}:session:s2:runs")
        shorter.append("late", ended("late", RunStatus.COMPLETED, 1000.0)[1:])
        await shorter.release("late")
        assert [r.run_id for r in await shorter.list_runs("s2")] == ["late"]
        assert about(60_000)((await pttls(client, f"{redis_prefix}:session:s2:runs"))[0])


async def test_no_expiry_with_retention_off(
    open_redis_log: Opener, client: redis.Redis, redis_prefix: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await open_redis_log(Retention.from_settings(Settings(run_retention_s=0)))
        await write(log, "r1", RunStatus.COMPLETED)
        assert await pttls(client, *run_keys(redis_prefix, "r1")) == [-1, -1]
        await write(log, "w", RunStatus.WAITING)
        await log.claim_answer("w", by="next")
        assert await pttls(client, *run_keys(redis_prefix, "w")) == [-1, -1]


async def test_redis_log_default_keeps_finished_runs_a_week(
    redis_url: str, redis_prefix: str, client: redis.Redis
) -> None:
    log = await redis_log(redis_url, prefix=redis_prefix, sweep_s=None)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await write(log, "r1", RunStatus.COMPLETED)
            assert all(map(about(7 * DAY_MS), await pttls(client, *run_keys(redis_prefix, "r1"))))
    finally:
        await log.close()
