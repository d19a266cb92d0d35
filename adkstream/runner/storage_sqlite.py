"""The embedded run storage: one SQLite file that outlives a restart.

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
  it follows a live run by polling (`poll_stored`).
- Retention (`prune`, see `retention.py`): a run past it goes with its events and its
  answer claim, a few thousand events per transaction, found through `runs.ended_at`
  (indexed; NULL while running) and `answers.answered_at`. Freed pages are reused by
  new events, so the file stays about the size of the runs kept; the WAL beside it is
  kept bounded by the checkpointer (`WalCheckpointer`), whose truncating checkpoints
  take the writer's turn (every write transaction here takes it too).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar

from adkstream.events import StreamEvent, parse_event
from adkstream.runner.retention import Retention
from adkstream.runner.run_record import RunRecord, interruption
from adkstream.runner.sqlite_inline import InlineConnection, WalCheckpointer
from adkstream.runner.storage import (
    Batches,
    LogHooks,
    StorageOptions,
    poll_stored,
    sqlite_path,
)

logger = logging.getLogger("adkstream.storage")

T = TypeVar("T")

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
    record TEXT NOT NULL,
    ended_at REAL
);
CREATE INDEX IF NOT EXISTS runs_by_session ON runs (session_id, created_at);
CREATE INDEX IF NOT EXISTS runs_running ON runs (status) WHERE status = 'running';
{_EVENTS_TABLE};
{_EVENTS_INDEX};
CREATE TABLE IF NOT EXISTS answers (
    run_id TEXT PRIMARY KEY,
    answered_by TEXT NOT NULL,
    answered_at REAL
);
"""
# Columns files written before retention lack: (table, column, how to fill it in).
_ADDED_COLUMNS = (
    (
        "runs",
        "ended_at REAL",
        "UPDATE runs SET ended_at = json_extract(record, '$.ended_at') WHERE status != 'running'",
    ),
    ("answers", "answered_at REAL", None),
)
_ENDED_INDEX = (
    "CREATE INDEX IF NOT EXISTS runs_by_end ON runs (ended_at) WHERE ended_at IS NOT NULL"
)
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
INSERT INTO runs (run_id, session_id, status, created_at, record, ended_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id) DO UPDATE
SET status = excluded.status, record = excluded.record, ended_at = excluded.ended_at
WHERE runs.status = 'running'
"""
# A new run's row, before its first events (`create_run` writes nothing by itself): it
# takes a `_new_run_row`; `running`, with no `ended_at`, until `_UPSERT_RUN` ends the run.
_INSERT_NEW_RUN = """
INSERT OR IGNORE INTO runs (run_id, session_id, status, created_at, record)
VALUES (?, ?, 'running', ?, ?)
"""
# A running run's stored record keeps the `last_seq` it was created with: the events
# say how far it has got.
_LOAD_RUN = """
SELECT record, (SELECT MAX(seq) FROM events WHERE events.run_id = runs.run_id) FROM runs
"""
_CLAIM = "INSERT OR IGNORE INTO answers (run_id, answered_by, answered_at) VALUES (?, ?, ?)"
_CLAIMED = "SELECT answered_by FROM answers WHERE run_id = ?"
_BUSY_TIMEOUT_MS = 5000

# The runs past their retention (`Retention.expired`, in SQL), with how many events each
# has; `runs_by_end` finds them. A NULL :waited_before keeps unanswered waiting runs.
_EXPIRED = """
SELECT run_id, json_extract(record, '$.last_seq') FROM runs
WHERE ended_at < :ended_before AND (
    status != 'waiting'
    OR EXISTS (
        SELECT 1 FROM answers
        WHERE answers.run_id = runs.run_id AND COALESCE(answers.answered_at, 0) < :ended_before
    )
    OR (
        ended_at < :waited_before
        AND NOT EXISTS (SELECT 1 FROM answers WHERE answers.run_id = runs.run_id)
    )
)
LIMIT :limit
"""
PRUNE_RUNS = 200
"""Runs looked at per pruning transaction."""
PRUNE_EVENTS = 5000
"""About the most events one pruning transaction deletes (at least one run's): the
statements run inline in the event loop, and deleting an event takes a few µs."""


async def _create_or_migrate(writer: InlineConnection) -> None:
    """Creates the tables, first moving the events of an old file to the current layout."""
    if await writer.execute_fetchall(_FIRST_LAYOUT):
        logger.info("moving the run log's events to the current layout (once)")
        await writer.transaction(_move_to_current_layout)
    await writer.executescript(_SCHEMA)
    for table, column, fill in _ADDED_COLUMNS:
        names = {row[1] for row in await writer.execute_fetchall(f"PRAGMA table_info({table})")}
        if column.split()[0] not in names:
            logger.info("adding %s.%s to the run log (once)", table, column.split()[0])
            await writer.transaction(
                functools.partial(_add_column, table=table, column=column, fill=fill)
            )
    await writer.execute(_ENDED_INDEX)


def _add_column(db: sqlite3.Connection, *, table: str, column: str, fill: str | None) -> None:
    db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
    if fill is not None:
        db.execute(fill)


def _move_to_current_layout(db: sqlite3.Connection) -> None:
    for statement in _MOVE_TO_CURRENT_LAYOUT:
        db.execute(statement)


def _run_row(record: RunRecord) -> tuple[str, str, str, float, str, float | None]:
    return (
        record.run_id,
        record.session_id,
        record.status.value,
        record.created_at,
        record.model_dump_json(),
        record.ended_at if record.finished else None,
    )


def _new_run_row(record: RunRecord) -> tuple[str, str, float, str]:
    return record.run_id, record.session_id, record.created_at, record.model_dump_json()


def _with_last_seq(row: tuple[str, int | None]) -> RunRecord:
    raw, last_seq = row
    record = RunRecord.model_validate_json(raw)
    return record if last_seq is None else record.at_seq(last_seq)


def _event_row(event: StreamEvent) -> tuple[str, int, str, str]:
    return (event.run_id, event.seq, event.type, event.model_dump_json())


async def open_storage(url: str, options: StorageOptions) -> SqliteStorage:
    """`sqlite:///relative/runs.db` or `sqlite:////absolute/runs.db`; the directory is
    created if missing."""
    path = sqlite_path(url)
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    return await SqliteStorage.open(path)


class SqliteStorage:
    """Runs in one SQLite file; open it with `await SqliteStorage.open(path)`."""

    def __init__(
        self, writer: InlineConnection, reader: InlineConnection, checkpointer: WalCheckpointer
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._checkpointer = checkpointer
        self._rowless: set[str] = set()  # runs created here whose row is not written yet
        self._hooks: LogHooks | None = None

    def attach(self, hooks: LogHooks) -> None:
        self._hooks = hooks

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `work` in one write transaction, in turn with the checkpointer's truncation."""
        async with self._checkpointer.writer_turn:
            return await self._writer.transaction(work)

    @classmethod
    async def open(cls, path: Path) -> SqliteStorage:
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
        try:
            await self._checkpointer.stop()
        finally:
            await self._reader.close()
            await self._writer.close()

    async def reserve(self, run_id: str) -> bool:
        return True  # one process owns the file

    async def create(self, record: RunRecord) -> None:
        """Nothing written yet: the row goes with the run's first events.

        `run.started` follows at once, and the flusher writes the row and the event in
        the batch it is building anyway (one transaction per batch, not one more per new
        run).
        """
        self._rowless.add(record.run_id)

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        rows = await self._reader.execute_fetchall(
            _LOAD_RUN + " WHERE session_id = ? ORDER BY created_at", (session_id,)
        )
        return list(map(_with_last_seq, rows))

    async def interrupt_left(self, held: Collection[str]) -> list[str]:
        """Ends every run left `running` that this process does not hold."""
        rows = await self._reader.execute_fetchall(
            "SELECT record FROM runs WHERE status = 'running'"
        )
        left = [RunRecord.model_validate_json(raw) for (raw,) in rows]
        left = [record for record in left if record.run_id not in held]
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

        await self._write(end_all)
        return [record.run_id for record in left]

    async def store(self, batches: Batches) -> None:
        # A record is written when its run is new or has ended: in between only its
        # `last_seq` changes, and readers take that from the events (`_LOAD_RUN`).
        new_runs = [_new_run_row(record) for record, _ in batches if record.run_id in self._rowless]
        ended = [_run_row(record) for record, _ in batches if record.finished]
        events = [_event_row(event) for _, batch in batches for event in batch]

        def write(db: sqlite3.Connection) -> None:
            db.executemany(_INSERT_NEW_RUN, new_runs)
            db.executemany(_INSERT_EVENT, events)
            db.executemany(_UPSERT_RUN, ended)

        await self._write(write)
        self._rowless.difference_update(row[0] for row in new_runs)

    async def load_run(self, run_id: str) -> RunRecord | None:
        rows = await self._reader.execute_fetchall(_LOAD_RUN + " WHERE run_id = ?", (run_id,))
        return _with_last_seq(rows[0]) if rows else None

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        # Only another process's run (`adkstream replay` reading a server's file): poll.
        await poll_stored(self.load_run, run_id, after=after, timeout=timeout)

    async def claim(self, run_id: str, by: str) -> str:
        def claim(db: sqlite3.Connection) -> str:
            db.execute(_CLAIM, (run_id, by, time.time()))
            row = db.execute(_CLAIMED, (run_id,)).fetchone()
            return str(row[0])

        return await self._write(claim)

    async def claimed(self, run_id: str) -> str | None:
        rows = await self._reader.execute_fetchall(_CLAIMED, (run_id,))
        return str(rows[0][0]) if rows else None

    async def request_cancel(self, run_id: str, reason: str) -> None:
        if self._hooks is not None:  # one process owns the file
            self._hooks.deliver_cancel(run_id, reason)

    async def ping(self) -> None:
        return None

    async def load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        rows = await self._reader.execute_fetchall(
            "SELECT json FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after, limit),
        )
        return [parse_event(raw) for (raw,) in rows]

    async def prune(self, retention: Retention, *, now: float, held: Collection[str]) -> int:
        ended_before = retention.ended_before(now)
        if ended_before is None:
            return 0
        params = {
            "ended_before": ended_before,
            "waited_before": retention.waited_before(now),
            "limit": PRUNE_RUNS,
        }
        pruned = 0
        while True:
            deleted, more = await self._write(lambda db: _prune_batch(db, params, held))
            pruned += deleted
            if not (deleted and more):
                return pruned
            await asyncio.sleep(0)  # a batch at a time: the loop's streams go on in between


def _prune_batch(
    db: sqlite3.Connection, params: dict[str, float | None], held: Collection[str]
) -> tuple[int, bool]:
    """Deletes one batch of expired runs; returns how many, and whether more may be left."""
    rows = db.execute(_EXPIRED, params).fetchall()
    doomed: list[tuple[str]] = []
    events = 0
    more = len(rows) == PRUNE_RUNS
    for run_id, last_seq in rows:
        if events >= PRUNE_EVENTS:
            more = True
            break
        if run_id not in held:  # still this process's: it goes once released
            doomed.append((run_id,))
            events += last_seq or 0
    db.executemany("DELETE FROM events WHERE run_id = ?", doomed)
    db.executemany("DELETE FROM answers WHERE run_id = ?", doomed)
    db.executemany("DELETE FROM runs WHERE run_id = ?", doomed)
    return len(doomed), more
