"""Retention (runner/retention.py): which runs a log prunes, and when, on memory and SQLite.

Time is what `prune` is told it is (`now`): the runs here end at fixed timestamps (their
terminal event's `ts`), so no test waits for a clock. Redis expires runs by itself:
tests/runner/test_retention_redis.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Collection
from pathlib import Path

import pytest

from adkstream.events import RunCancelled, RunCompleted, RunFailed, StreamEvent
from adkstream.runner import failures, storage_sqlite
from adkstream.runner.log import EventLog
from adkstream.runner.pruner import Pruner
from adkstream.runner.retention import Retention
from adkstream.runner.run_record import RunStatus
from adkstream.runner.storage_memory import MemoryStorage
from tests.runner.logs import postgres_log, sqlite_log
from tests.runner.test_log_backends import TIMEOUT_S, _paused, delta, record, started

RETENTION = Retention(runs_s=100.0)


def ended(run_id: str, status: RunStatus, at: float) -> list[StreamEvent]:
    """A run's events: started, a delta, and the terminal event of `status` at `at`."""
    terminal: StreamEvent
    if status is RunStatus.COMPLETED:
        terminal = RunCompleted(run_id=run_id, ts=at, final_text="Hi")
    elif status is RunStatus.FAILED:
        terminal = RunFailed(run_id=run_id, ts=at, error=failures.INTERNAL)
    elif status is RunStatus.CANCELLED:
        terminal = RunCancelled(run_id=run_id, ts=at, reason="cancelled by request")
    else:
        *rest, waiting = _paused(run_id)
        return [*rest, waiting.model_copy(update={"ts": at})]
    return [started(run_id), delta("Hi", run_id=run_id), terminal]


async def write(
    log: EventLog, run_id: str, events: list[StreamEvent], *, release: bool = True
) -> None:
    await log.create_run(record(run_id))
    log.append(run_id, events)
    await log.flushed(run_id)
    if release:
        await log.release(run_id)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """(kind, URL, table prefix) of the log's storage (sync: async fixtures resolve here)."""
    if request.param != "postgres":
        return request.param, "", ""
    url = request.getfixturevalue("postgres_url")
    return request.param, url, request.getfixturevalue("postgres_prefix")


@pytest.fixture
async def log(backend: tuple[str, str, str], tmp_path: Path) -> AsyncIterator[EventLog]:
    kind, url, prefix = backend
    opened: EventLog
    if kind == "memory":
        opened = EventLog.in_memory()
    elif kind == "sqlite":
        opened = await sqlite_log(tmp_path / "runs.db")
    else:
        opened = await postgres_log(url, prefix=prefix)
    yield opened
    await opened.close()


def test_retention_expires_each_status_as_the_policy_says() -> None:
    keep = Retention(runs_s=100.0, pause_expiry_s=500.0)
    done = record().model_copy(update={"status": RunStatus.COMPLETED, "ended_at": 1000.0})
    waiting = done.model_copy(update={"status": RunStatus.WAITING})
    running = record()

    assert not keep.expired(done, answered_at=None, now=1100.0)
    assert keep.expired(done, answered_at=None, now=1100.1)
    assert not keep.expired(running, answered_at=None, now=1e12)
    assert not keep.expired(waiting, answered_at=None, now=1499.0)  # max(100, 500) after
    assert keep.expired(waiting, answered_at=None, now=1500.1)
    assert not keep.expired(waiting, answered_at=2000.0, now=2099.0)  # retention after answer
    assert keep.expired(waiting, answered_at=2000.0, now=2100.1)
    no_pause_expiry = Retention(runs_s=100.0)
    assert not no_pause_expiry.expired(waiting, answered_at=None, now=1e12)
    assert not Retention(runs_s=None).expired(done, answered_at=None, now=1e12)


def test_retention_settings_and_sweep_interval() -> None:
    from adkstream.settings import Settings

    default = Retention.from_settings(Settings())
    assert (default.runs_s, default.sessions_s, default.waiting_s) == (7 * 86400.0, None, None)
    assert default.sweep_s == 300.0  # a tenth of a week, at most five minutes
    forever = Retention.from_settings(Settings(run_retention_s=0, pause_expiry_s=60))
    assert (forever.runs_s, forever.waiting_s, forever.sweep_s) == (None, None, None)
    short = Retention.from_settings(Settings(run_retention_s=60, session_retention_s=3))
    assert (short.sweep_s, short.sessions_s) == (1.0, 3.0)  # never more often than 1 s
    assert Retention(runs_s=60.0, pause_expiry_s=120.0).waiting_s == 120.0


async def test_prune_deletes_the_finished_runs_past_retention(log: EventLog) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await write(log, "old-done", ended("old-done", RunStatus.COMPLETED, 1000.0))
        await write(log, "old-failed", ended("old-failed", RunStatus.FAILED, 1001.0))
        await write(log, "old-cancelled", ended("old-cancelled", RunStatus.CANCELLED, 1002.0))
        await write(log, "recent", ended("recent", RunStatus.COMPLETED, 1950.0))
        await write(log, "running", [started("running")], release=False)

        pruned = await log.prune(RETENTION, now=2000.0)
        again = await log.prune(RETENTION, now=2000.0)

        assert (pruned, again) == (3, 0)
        for gone in ("old-done", "old-failed", "old-cancelled"):
            assert await log.get_run(gone) is None
            assert await log.read(gone, after=0) == []
        kept = await log.list_runs("s1")
        assert [r.run_id for r in kept] == ["recent", "running"]
        assert len(await log.read("recent", after=0)) == 3


async def test_prune_keeps_a_waiting_run_while_it_can_be_answered(log: EventLog) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await write(log, "w", ended("w", RunStatus.WAITING, 1000.0))

        # No pause expiry (the default): answerable for ever, so kept for ever.
        assert await log.prune(RETENTION, now=1e12) == 0
        expiring = Retention(runs_s=100.0, pause_expiry_s=500.0)
        assert await log.prune(expiring, now=1499.0) == 0
        assert await log.get_run("w") is not None
        assert await log.prune(expiring, now=1501.0) == 1
        assert await log.get_run("w") is None


async def test_prune_counts_an_answered_run_from_its_answer(log: EventLog) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await write(log, "w", ended("w", RunStatus.WAITING, 1000.0))
        before = time.time()
        assert await log.claim_answer("w", by="next") == "next"
        after = time.time()

        assert await log.prune(RETENTION, now=before + 99.0) == 0
        assert await log.answered_by("w") == "next"  # a second answer still meets the claim
        assert await log.prune(RETENTION, now=after + 101.0) == 1
        assert await log.get_run("w") is None
        assert await log.answered_by("w") is None


async def test_prune_leaves_a_run_this_process_still_holds(log: EventLog) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await write(log, "r1", ended("r1", RunStatus.COMPLETED, 1000.0), release=False)
        assert await log.prune(RETENTION, now=2000.0) == 0
        await log.release("r1")
        assert await log.prune(RETENTION, now=2000.0) == 1


async def test_prune_keeps_everything_with_retention_off(log: EventLog) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        await write(log, "r1", ended("r1", RunStatus.COMPLETED, 1000.0))
        assert await log.prune(Retention(runs_s=None), now=1e12) == 0
        assert await log.get_run("r1") is not None


def table_counts(path: Path, run_id: str) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        return {
            table: db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            for table in ("runs", "events", "answers")
        }
    finally:
        db.close()


async def test_sqlite_prune_empties_every_table_of_a_run(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    log = await sqlite_log(path)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await write(log, "w", ended("w", RunStatus.WAITING, 1000.0))
            await log.claim_answer("w", by="next")
            assert table_counts(path, "w") == {"runs": 1, "events": 3, "answers": 1}
            await log.prune(RETENTION, now=time.time() + 101.0)
    finally:
        await log.close()
    assert table_counts(path, "w") == {"runs": 0, "events": 0, "answers": 0}


async def test_sqlite_prune_goes_a_bounded_batch_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_sqlite, "PRUNE_RUNS", 10)
    monkeypatch.setattr(storage_sqlite, "PRUNE_EVENTS", 25)  # 8 runs of 3 events, then 1 more
    batches: list[int] = []
    original = storage_sqlite._prune_batch

    def counted(
        db: sqlite3.Connection, params: dict[str, float | None], held: Collection[str]
    ) -> tuple[int, bool]:
        deleted, more = original(db, params, held)
        batches.append(deleted)
        return deleted, more

    monkeypatch.setattr(storage_sqlite, "_prune_batch", counted)
    log = await sqlite_log(tmp_path / "runs.db")
    try:
        async with asyncio.timeout(TIMEOUT_S):
            for n in range(50):
                await write(log, f"r{n}", ended(f"r{n}", RunStatus.COMPLETED, 1000.0 + n))
            pruned = await log.prune(RETENTION, now=2000.0)
            assert pruned == 50
            assert await log.list_runs("s1") == []
    finally:
        await log.close()
    assert max(batches) == 9 and sum(batches) == 50


# The run log as files were written before retention: no runs.ended_at, no
# answers.answered_at.
BEFORE_RETENTION = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, json TEXT NOT NULL
);
CREATE UNIQUE INDEX events_by_run ON events (run_id, seq);
CREATE TABLE answers (run_id TEXT PRIMARY KEY, answered_by TEXT NOT NULL);
"""


async def test_sqlite_file_from_before_retention_opens_and_prunes(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    db = sqlite3.connect(path)
    db.executescript(BEFORE_RETENTION)
    for run_id, status, at in [
        ("old", RunStatus.COMPLETED, 1000.0),
        ("new", RunStatus.COMPLETED, 1950.0),
        ("w", RunStatus.WAITING, 1000.0),
    ]:
        events = [
            e.model_copy(update={"seq": seq}) for seq, e in enumerate(ended(run_id, status, at), 1)
        ]
        stored = record(run_id)
        for event in events:
            stored = stored.after_event(event)
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
            (run_id, "s1", stored.status.value, 1.0, stored.model_dump_json()),
        )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            [(run_id, e.seq, e.type, e.model_dump_json()) for e in events],
        )
    db.execute("INSERT INTO answers VALUES ('w', 'next')")  # answered before the upgrade
    db.commit()
    db.close()

    log = await sqlite_log(path)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            pruned = await log.prune(RETENTION, now=2000.0)
            kept = [r.run_id for r in await log.list_runs("s1")]
    finally:
        await log.close()
    assert (pruned, kept) == (2, ["new"])  # an old answer counts as answered long ago


async def test_pruner_sweeps_at_once_then_on_its_timer() -> None:
    swept = asyncio.Event()

    class Watched(EventLog):
        async def prune(self, retention: Retention, *, now: float) -> int:
            swept.set()
            return 0

    pruner = Pruner(Retention(runs_s=3600.0), Watched(MemoryStorage()))
    pruner.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await swept.wait()  # the first sweep does not wait for the period
    finally:
        await pruner.stop()
    idle = Pruner(Retention(runs_s=None), EventLog.in_memory())
    idle.start()  # everything kept for ever: no timer at all
    assert idle._task is None
