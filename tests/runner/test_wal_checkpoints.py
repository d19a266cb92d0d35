"""Checkpoints leave the event loop (the inline connections never run one themselves), and
the WAL stays bounded: past its limit a checkpoint truncates it, in the writer's turn."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from adkstream.runner.log import EventLog
from adkstream.runner.session_backends import EmbeddedSqliteSessionService
from adkstream.runner.sqlite_inline import WalCheckpointer
from tests.runner.logs import sqlite_log
from tests.runner.test_log_backends import TIMEOUT_S, completed, delta, record, started


async def test_checkpointer_moves_the_wal_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE t (x TEXT)")
    writer.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,) for _ in range(200)])
    checkpointer = WalCheckpointer(str(path))
    try:
        busy, frames, done = await checkpointer.checkpoint()
        assert (busy, done) == (0, frames) and frames > 0
        # Nothing new since: the next one has nothing to copy.
        writer.execute("INSERT INTO t VALUES ('y')")
        _, frames_after, done_after = await checkpointer.checkpoint()
        assert done_after == frames_after
    finally:
        await checkpointer.stop()
        writer.close()


async def test_embedded_stores_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    log = await sqlite_log(tmp_path / "runs.db")
    sessions = EmbeddedSqliteSessionService(str(tmp_path / "sessions.db"))
    try:
        await sessions.create_session(app_name="a", user_id="u")
        async with sessions._get_db_connection() as conn:
            [(session_pages,)] = await conn.execute_fetchall("PRAGMA wal_autocheckpoint")
        [(log_pages,)] = log.storage._writer._conn.execute("PRAGMA wal_autocheckpoint").fetchall()  # type: ignore[union-attr]
        assert (session_pages, log_pages) == (0, 0)
    finally:
        await sessions.close()
        await log.close()


async def write_runs(log: EventLog, count: int, *, first: int = 0, deltas: int = 20) -> None:
    """`count` finished runs (`r{first}`, …) of `deltas` deltas each, stored."""
    for n in range(first, first + count):
        run_id = f"r{n}"
        await log.create_run(record(run_id))
        log.append(
            run_id, [started(run_id), *(delta("word ", run_id=run_id) for _ in range(deltas))]
        )
        log.append(run_id, [completed(run_id)])
        await log.release(run_id)


async def test_checkpointer_truncates_a_wal_past_its_limit(tmp_path: Path) -> None:
    log = await sqlite_log(tmp_path / "runs.db")
    checkpointer = log.storage._checkpointer
    checkpointer.limit_bytes = 64 * 1024
    wal = tmp_path / "runs.db-wal"
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await write_runs(log, 100)
            assert wal.stat().st_size > checkpointer.limit_bytes
            await checkpointer.step()
            assert wal.stat().st_size == 0  # emptied, not only copied
            assert checkpointer.truncations >= 1
            truncations = checkpointer.truncations

            await write_runs(log, 1, first=100)  # a few pages: under the limit, PASSIVE only
            await checkpointer.step()
            assert 0 < wal.stat().st_size <= checkpointer.limit_bytes
            assert checkpointer.truncations == truncations
    finally:
        await log.close()


async def test_truncation_takes_the_writers_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []
    checkpoint = WalCheckpointer._checkpoint

    def recording(self: WalCheckpointer, mode: str) -> tuple[int, int, int]:
        seen.append((mode, self.writer_turn.locked()))
        return checkpoint(self, mode)

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", recording)
    log = await sqlite_log(tmp_path / "runs.db")
    sessions = EmbeddedSqliteSessionService(str(tmp_path / "sessions.db"))
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await write_runs(log, 1)
            await log.storage._checkpointer.truncate()
            assert ("TRUNCATE", True) in seen  # SQLite's write lock only inside the turn

            # Every write of the log takes the same turn: it waits while the turn is held.
            async with log.storage._checkpointer.writer_turn:
                claim = asyncio.create_task(log.claim_answer("r0", by="next"))
                for _ in range(20):
                    await asyncio.sleep(0)  # the claim gets every chance to run: it waits
                assert not claim.done()
            assert await claim == "next"

            await sessions.create_session(app_name="a", user_id="u")
            assert sessions._checkpointer is not None
            assert sessions._checkpointer.writer_turn is sessions._turn
    finally:
        await sessions.close()
        await log.close()
