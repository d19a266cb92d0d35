"""Checkpoints leave the event loop: the inline connections never run one themselves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adkstream.runner.session_backends import EmbeddedSqliteSessionService
from adkstream.runner.sqlite_inline import WalCheckpointer
from adkstream.runner.sqlite_log import SqliteLog


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
    log = await SqliteLog.open(tmp_path / "runs.db")
    sessions = EmbeddedSqliteSessionService(str(tmp_path / "sessions.db"))
    try:
        await sessions.create_session(app_name="a", user_id="u")
        async with sessions._get_db_connection() as conn:
            [(session_pages,)] = await conn.execute_fetchall("PRAGMA wal_autocheckpoint")
        [(log_pages,)] = log._writer._conn.execute("PRAGMA wal_autocheckpoint").fetchall()  # type: ignore[union-attr]
        assert (session_pages, log_pages) == (0, 0)
    finally:
        await sessions.close()
        await log.close()
