"""A run log file of the first layout (events keyed by run) opens, moved to the current one."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from adkstream.events import StreamEvent
from adkstream.runner.run_record import RunStatus
from tests.runner.logs import sqlite_log
from tests.runner.test_log_backends import TIMEOUT_S, completed, delta, record, seqs, started

# What the first releases created: the events table keyed by (run_id, seq), no rowid.
FIRST_LAYOUT = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX runs_by_session ON runs (session_id, created_at);
CREATE INDEX runs_running ON runs (status) WHERE status = 'running';
CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""


def numbered(events: list[StreamEvent]) -> list[StreamEvent]:
    return [event.model_copy(update={"seq": seq}) for seq, event in enumerate(events, 1)]


def write_first_layout(path: Path) -> None:
    """A finished run r1 (three events) and a run r2 left running (two), as stored then."""
    db = sqlite3.connect(path)
    db.executescript(FIRST_LAYOUT)
    runs = {
        "r1": (RunStatus.COMPLETED, numbered([started("r1"), delta("Hel"), completed("r1")])),
        "r2": (RunStatus.RUNNING, numbered([started("r2"), delta("lo", run_id="r2")])),
    }
    for run_id, (status, events) in runs.items():
        stored = record(run_id).model_copy(update={"status": status})
        db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?)",
            (run_id, "s1", status.value, 1.0, stored.model_dump_json()),
        )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            [(run_id, e.seq, e.type, e.model_dump_json()) for e in events],
        )
    db.commit()
    db.close()


def layout_of_events(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        [(sql,)] = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchall()
        return str(sql)
    finally:
        db.close()


async def test_a_first_layout_file_keeps_its_runs_and_events(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    write_first_layout(path)
    async with asyncio.timeout(TIMEOUT_S):
        log = await sqlite_log(path)
        try:
            assert "WITHOUT ROWID" not in layout_of_events(path)
            assert seqs(await log.read("r1", after=0)) == [1, 2, 3]
            assert [e.type for e in await log.read("r2", after=1)] == ["message.delta"]
            finished = await log.get_run("r1")
            assert finished is not None and finished.last_seq == 3
            # The run left running is ended after its last moved event.
            assert await log.recover_interrupted() == ["r2"]
            assert seqs(await log.read("r2", after=0)) == [1, 2, 3]
        finally:
            await log.close()


async def test_a_moved_file_takes_new_runs_and_reopens_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    write_first_layout(path)
    async with asyncio.timeout(TIMEOUT_S):
        log = await sqlite_log(path)
        await log.create_run(record("r3"))
        log.append("r3", [started("r3"), delta("Hi", run_id="r3"), completed("r3")])
        await log.close()  # close flushes what is pending

        reopened = await sqlite_log(path)
        try:
            assert seqs(await reopened.read("r3", after=0)) == [1, 2, 3]
            assert seqs(await reopened.read("r1", after=0)) == [1, 2, 3]
            runs = await reopened.list_runs("s1")
            assert [run.run_id for run in runs] == ["r1", "r2", "r3"]
        finally:
            await reopened.close()
