"""ADK session services: the embedded SQLite default and PostgreSQL for several replicas.

ADK's own `SqliteSessionService` opens a new connection (and a new thread) per
operation, in rollback-journal mode with SQLite's 5 s busy timeout: under 200 concurrent
runs some fail with "database is locked" (measured: tests/api/test_load.py's load on it).
The embedded default here is the same service on one shared connection in WAL mode, its
operations taking turns (an asyncio lock), and its statements run inline in the event
loop's thread (`sqlite_inline.py`: no trip around a loop that is busy with hundreds of
streams per statement), which measured 0 errors for 200 and 500 concurrent runs; its
checkpoints run on a thread (`WalCheckpointer`, whose truncating checkpoints take the
same turn). It overrides ADK's private `_get_db_connection` (`adk_private.py`; a test
pins it). For session retention it indexes `sessions.update_time` and finds idle sessions
with one query (`idle_sessions`); ADK's `delete_session` deletes them. For runs that load
only a session's latest events (`history_events`) it indexes events by session and time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from google.adk.sessions import sqlite_session_service as adk_sqlite
from google.adk.sessions.base_session_service import BaseSessionService

from adkstream.runner.sqlite_inline import InlineConnection, WalCheckpointer

# Not ADK's: what `idle_sessions` looks sessions up by (sessions are updated as runs
# append events, so this costs an index update per ADK event).
_BY_UPDATE_TIME = (
    "CREATE INDEX IF NOT EXISTS adkstream_sessions_by_update_time ON sessions (update_time)"
)
# Not ADK's either: a run loads a session's latest events (`history_events`, ADK's
# `num_recent_events`) with `ORDER BY timestamp DESC, rowid DESC LIMIT n`. Without this
# index SQLite reads and sorts every event of the session (a temporary B-tree) to find
# them; with it, it walks the index backwards and reads n rows (rowid is in every index).
_EVENTS_BY_SESSION_TIME = (
    "CREATE INDEX IF NOT EXISTS adkstream_events_by_session_time "
    "ON events (app_name, user_id, session_id, timestamp)"
)
_IDLE_SESSIONS = """
SELECT app_name, user_id, id FROM sessions WHERE update_time < ?
ORDER BY update_time LIMIT ? OFFSET ?
"""


class EmbeddedSqliteSessionService(adk_sqlite.SqliteSessionService):
    """ADK's SQLite session service on one WAL connection whose operations take turns."""

    def __init__(self, db_path: str) -> None:
        super().__init__(db_path)
        self._shared: InlineConnection | None = None
        self._turn = asyncio.Lock()
        self._checkpointer: WalCheckpointer | None = None

    @asynccontextmanager
    async def _get_db_connection(self) -> AsyncIterator[InlineConnection]:  # type: ignore[override]
        async with self._turn:
            if self._shared is None:
                self._shared = await self._open()
            try:
                yield self._shared
            except BaseException:
                await self._shared.rollback()
                raise

    async def _open(self) -> InlineConnection:
        conn = InlineConnection(self._db_connect_path, uri=self._db_connect_uri)
        try:
            conn.row_factory = sqlite3.Row
            await conn.use_wal(busy_timeout_ms=30_000)
            await conn.execute(adk_sqlite.PRAGMA_FOREIGN_KEYS)
            await conn.executescript(adk_sqlite.CREATE_SCHEMA_SQL)
            await conn.execute(_BY_UPDATE_TIME)
            await conn.execute(_EVENTS_BY_SESSION_TIME)
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        self._checkpointer = WalCheckpointer(
            self._db_connect_path, uri=self._db_connect_uri, writer_turn=self._turn
        )
        self._checkpointer.start()
        return conn

    async def idle_sessions(
        self, *, before: float, limit: int, offset: int = 0
    ) -> list[tuple[str, str, str]]:
        """(app_name, user_id, session_id) of sessions last updated before `before`, the
        longest idle first, `limit` of them after the first `offset`."""
        async with self._get_db_connection() as conn:
            rows = await conn.execute_fetchall(_IDLE_SESSIONS, (before, limit, offset))
        return [(str(app), str(user), str(session)) for app, user, session in rows]

    async def ping(self) -> None:
        """A trivial query, in turn with the service's operations (readiness)."""
        async with self._get_db_connection() as conn:
            await conn.execute_fetchall("SELECT 1")

    async def close(self) -> None:
        async with self._turn:
            if self._checkpointer is not None:
                await self._checkpointer.stop()
                self._checkpointer = None
            if self._shared is not None:
                await self._shared.close()
                self._shared = None


def open_session_service(*, data_dir: Path, database_url: str | None) -> BaseSessionService:
    """PostgreSQL (or any async SQLAlchemy URL) when given, else SQLite under `data_dir`."""
    if database_url:
        from google.adk.sessions.database_session_service import DatabaseSessionService

        # SQLAlchemy's default pool (5 + 10 overflow, 30 s wait) turns a burst of a few
        # hundred runs into "QueuePool limit reached" errors (measured: 5 of 500 runs);
        # each run holds a connection only for a statement or two, so a larger pool and
        # a longer wait absorb the burst. 40 per replica stays within PostgreSQL's
        # default of 100 connections for two replicas.
        return DatabaseSessionService(
            db_url=database_url, pool_size=20, max_overflow=20, pool_timeout=120
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return EmbeddedSqliteSessionService(str(data_dir / "sessions.db"))


async def ping_session_service(service: BaseSessionService) -> bool:
    """Runs a trivial query on the session store (readiness).

    Returns:
        False if the service has no database this knows how to ask (a service of your
        own); True once the query answered.

    Raises:
        Whatever the database driver raises when it cannot answer.
    """
    if isinstance(service, EmbeddedSqliteSessionService):
        await service.ping()
        return True
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncEngine

    engine = getattr(service, "db_engine", None)  # ADK's DatabaseSessionService
    if not isinstance(engine, AsyncEngine):
        return False
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True


async def close_session_service(service: BaseSessionService) -> None:
    close = getattr(service, "close", None)
    if close is not None:
        await close()
