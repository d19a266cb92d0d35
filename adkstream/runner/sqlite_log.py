"""The embedded run log: one SQLite file that outlives a restart.

Design decisions:
- WAL with `synchronous=NORMAL`: a commit survives a crash of the process (not
  necessarily a power cut), and readers never block the writer. Checkpoints (and
  their fsyncs) run on a thread (`WalCheckpointer`), never in the loop.
- One writer connection, used inline in the event loop's thread (see `open`); each
  flush of the background flusher is one transaction (every run's new events, then the
  records of runs that began or ended), so a record never runs ahead of its events. In
  between, a record's only change is its `last_seq`, which readers take from the
  events. Readers see an event only once it is stored, so the write must never wait
  for the busy loop. A second, read-only connection, also inline, serves replays and
  the end of every stream (a follower reads from the file once the run's hot copy is
  released).
- A finished run is final: a late write never turns its record back to running nor
  adds events after its terminal one (if two servers share a data dir, the second's
  recovery ends the first's runs and the first's later writes are dropped). Events
  already stored are skipped (`INSERT OR IGNORE`), so the flusher may retry a batch.
- One process owns the file: `recover_interrupted` ends every running run this process
  does not drive. Another process may open the same file to read (`adkstream replay`);
  it follows a live run by polling (the base class's `_wait_stored`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from adkstream.events import StreamEvent, parse_event
from adkstream.runner.log import EventLog, RunRecord, _HotRun, interruption
from adkstream.runner.sqlite_inline import InlineConnection, WalCheckpointer

logger = logging.getLogger("adkstream.storage")

# Events are stored in the order they are written (a rowid table: a flush appends to its
# last pages) and found by run through a small index. Keyed by (run_id, seq) itself, as
# files were first written, a flush of events from hundreds of runs rewrote one table
# page per run: 500 streams wrote 20 to 40 times their events' size to the WAL, and an
# event cost the loop 11 µs instead of 4 (batches of 500 runs' events).
_EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    json TEXT NOT NULL
)
"""
_EVENTS_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq)"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id, created_at);
CREATE INDEX IF NOT EXISTS runs_running ON runs (status) WHERE status = 'running';
{_EVENTS_TABLE};
{_EVENTS_INDEX};
CREATE TABLE IF NOT EXISTS answers (
    run_id TEXT PRIMARY KEY,
    answered_by TEXT NOT NULL
);
"""
# A file of the first layout: `open` moves its events into the current one, once.
_FIRST_LAYOUT = """
SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events' AND sql LIKE '%WITHOUT ROWID%'
"""
_MOVE_TO_CURRENT_LAYOUT = (
    "ALTER TABLE events RENAME TO events_first_layout",
    _EVENTS_TABLE,
    "INSERT INTO events (run_id, seq, type, json)"
    " SELECT run_id, seq, type, json FROM events_first_layout ORDER BY run_id, seq",
    "DROP TABLE events_first_layout",
    _EVENTS_INDEX,
)

# Skips events already stored (a retried batch) and events of a run that is no longer
# running (another process ended it as interrupted): a finished run's events are final.
_INSERT_EVENT = """
INSERT OR IGNORE INTO events (run_id, seq, type, json)
SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM runs WHERE run_id = ?1 AND status = 'running')
"""
_UPSERT_RUN = """
INSERT INTO runs (run_id, session_id, status, created_at, record) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, record = excluded.record
WHERE runs.status = 'running'
"""
# A new run's row, before its first events (`create_run` writes nothing by itself). It
# takes a `_run_row` like `_UPSERT_RUN` (the status, ?3, is always `running` here).
_INSERT_NEW_RUN = """
INSERT OR IGNORE INTO runs (run_id, session_id, status, created_at, record)
VALUES (?1, ?2, 'running', ?4, ?5)
"""
# A running run's stored record keeps the `last_seq` it was created with: the events
# say how far it has got.
_LOAD_RUN = """
SELECT record, (SELECT MAX(seq) FROM events WHERE events.run_id = runs.run_id) FROM runs
"""
_CLAIM = "INSERT OR IGNORE INTO answers (run_id, answered_by) VALUES (?, ?)"
_CLAIMED = "SELECT answered_by FROM answers WHERE run_id = ?"
_BUSY_TIMEOUT_MS = 5000


async def _create_or_migrate(writer: InlineConnection) -> None:
    """Creates the tables, first moving the events of an old file to the current layout."""
    if await writer.execute_fetchall(_FIRST_LAYOUT):
        logger.info("moving the run log's events to the current layout (once)")
        await writer.transaction(_move_to_current_layout)
    await writer.executescript(_SCHEMA)


def _move_to_current_layout(db: sqlite3.Connection) -> None:
    for statement in _MOVE_TO_CURRENT_LAYOUT:
        db.execute(statement)


def _run_row(record: RunRecord) -> tuple[str, str, str, float, str]:
    return (
        record.run_id,
        record.session_id,
        record.status.value,
        record.created_at,
        record.model_dump_json(),
    )


def _with_last_seq(row: tuple[str, int | None]) -> RunRecord:
    raw, last_seq = row
    record = RunRecord.model_validate_json(raw)
    return record if last_seq is None else record.at_seq(last_seq)


def _event_row(event: StreamEvent) -> tuple[str, int, str, str]:
    return (event.run_id, event.seq, event.type, event.model_dump_json())


class SqliteLog(EventLog):
    """The run log in one SQLite file; open it with `await SqliteLog.open(path)`."""

    def __init__(
        self, writer: InlineConnection, reader: InlineConnection, checkpointer: WalCheckpointer
    ) -> None:
        super().__init__()
        self._writer = writer
        self._reader = reader
        self._checkpointer = checkpointer
        self._rowless: set[str] = set()  # runs created here whose row is not written yet

    @classmethod
    async def open(cls, path: Path) -> SqliteLog:
        """Opens (creating if needed) the log file at `path`; its directory must exist.

        Raises:
            sqlite3.Error: the file cannot be opened or is not a database.
        """
        # Used in the event loop's thread, not on a thread of its own: there, every row of
        # an `executemany` takes the GIL back from a busy loop thread (one switch interval,
        # 5 ms, each), and under load a batch of a few thousand events took seconds while
        # readers waited for it. Inline, a batch takes microseconds per row.
        writer = InlineConnection(str(path), isolation_level=None)
        try:
            await writer.use_wal(busy_timeout_ms=_BUSY_TIMEOUT_MS)
            await _create_or_migrate(writer)
            reader = InlineConnection(str(path), isolation_level=None)
        except BaseException:
            await writer.close()
            raise
        try:
            await reader.execute("PRAGMA query_only = ON")
            await reader.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        checkpointer = WalCheckpointer(str(path))
        checkpointer.start()
        return cls(writer, reader, checkpointer)

    async def close(self) -> None:
        """Flushes pending events, then closes both connections."""
        try:
            await super().close()
        finally:
            await self._checkpointer.stop()
            await self._reader.close()
            await self._writer.close()

    async def create_run(self, record: RunRecord) -> None:
        """Registers a new run; its row is written with its first events.

        No transaction of its own: `run.started` follows at once, and the flusher writes
        the row and the event in the batch it is building anyway (one transaction per
        batch, not one more per new run).
        """
        self._hot[record.run_id] = _HotRun(record)
        self._rowless.add(record.run_id)

    async def release(self, run_id: str) -> None:
        await super().release(run_id)
        self._rowless.discard(run_id)

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        rows = await self._reader.execute_fetchall(
            _LOAD_RUN + " WHERE session_id = ? ORDER BY created_at", (session_id,)
        )
        found = {record.run_id: record for record in map(_with_last_seq, rows)}
        for run_id, hot in self._hot.items():  # live here: newer than any stored copy
            if hot.record.session_id == session_id:
                found[run_id] = hot.record
        return sorted(found.values(), key=lambda record: record.created_at)

    async def recover_interrupted(self) -> list[str]:
        """Ends every run left `running` that this process does not drive."""
        rows = await self._reader.execute_fetchall(
            "SELECT record FROM runs WHERE status = 'running'"
        )
        left = [RunRecord.model_validate_json(raw) for (raw,) in rows]
        left = [record for record in left if record.run_id not in self._hot]
        if not left:
            return []

        def end_all(db: sqlite3.Connection) -> None:
            for record in left:
                row = db.execute(
                    "SELECT MAX(seq) FROM events WHERE run_id = ?", (record.run_id,)
                ).fetchone()
                last_seq = row[0] if row is not None and row[0] is not None else 0
                event, ended = interruption(record, last_seq=last_seq)
                db.execute(_INSERT_EVENT, _event_row(event))
                db.execute(_UPSERT_RUN, _run_row(ended))

        await self._writer.transaction(end_all)
        return [record.run_id for record in left]

    async def _store_run(self, record: RunRecord) -> None:
        row = _run_row(record)
        await self._writer.transaction(lambda db: db.execute(_UPSERT_RUN, row))

    async def _store_events(
        self, batches: Sequence[tuple[RunRecord, Sequence[StreamEvent]]]
    ) -> None:
        # A record is written when its run is new or has ended: in between only its
        # `last_seq` changes, and readers take that from the events (`_LOAD_RUN`).
        new_runs = [_run_row(record) for record, _ in batches if record.run_id in self._rowless]
        ended = [_run_row(record) for record, _ in batches if record.finished]
        events = [_event_row(event) for _, batch in batches for event in batch]

        def write(db: sqlite3.Connection) -> None:
            db.executemany(_INSERT_NEW_RUN, new_runs)
            db.executemany(_INSERT_EVENT, events)
            db.executemany(_UPSERT_RUN, ended)

        await self._writer.transaction(write)
        self._rowless.difference_update(row[0] for row in new_runs)

    async def _load_run(self, run_id: str) -> RunRecord | None:
        rows = await self._reader.execute_fetchall(_LOAD_RUN + " WHERE run_id = ?", (run_id,))
        return _with_last_seq(rows[0]) if rows else None

    async def _claim(self, run_id: str, by: str) -> str:
        def claim(db: sqlite3.Connection) -> str:
            db.execute(
                "INSERT OR IGNORE INTO answers (run_id, answered_by) VALUES (?, ?)", (run_id, by)
            )
            row = db.execute(
                "SELECT answered_by FROM answers WHERE run_id = ?", (run_id,)
            ).fetchone()
            return str(row[0])

        return await self._writer.transaction(claim)

    async def _claimed(self, run_id: str) -> str | None:
        rows = await self._reader.execute_fetchall(_CLAIMED, (run_id,))
        return str(rows[0][0]) if rows else None

    async def _load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        rows = await self._reader.execute_fetchall(
            "SELECT json FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after, limit),
        )
        return [parse_event(raw) for (raw,) in rows]
