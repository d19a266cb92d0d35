"""The EventLog's background flusher, against a scripted storage: batching,
`flushed` while a batch is being written, and retrying a batch that failed."""

from __future__ import annotations

import asyncio

from adkstream.events import MessageDelta, RunCompleted, RunStarted, StreamEvent
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunRecord, RunStatus
from adkstream.runner.storage import Batches
from adkstream.runner.storage_memory import MemoryStorage

TIMEOUT_S = 10


class ScriptedStorage(MemoryStorage):
    """Storage in lists; each write waits for `gate` and fails while `failures` > 0."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.writing = asyncio.Event()
        self.failures = 0
        self.attempts = 0
        self.events: list[StreamEvent] = []
        self.records: dict[str, RunRecord] = {}

    async def store(self, batches: Batches) -> None:
        self.attempts += 1
        self.writing.set()
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        for record, events in batches:
            self.events.extend(events)
            self.records[record.run_id] = record
        await super().store(batches)


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id=run_id, session_id="s1", user_id="u1", agent="app", created_at=1.0)


def started(run_id: str = "r1") -> RunStarted:
    return RunStarted(run_id=run_id, ts=1.0, session_id="s1", user_id="u1", app="app", agent="a")


def delta(text: str, run_id: str = "r1") -> MessageDelta:
    return MessageDelta(run_id=run_id, ts=2.0, author="a", message_id="m1", text=text)


async def test_log_flusher_writes_what_queued_up_in_one_batch() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        storage = ScriptedStorage()
        log = EventLog(storage)
        await log.create_run(record("r1"))
        await log.create_run(record("r2"))
        log.append("r1", [started("r1")])
        log.append("r2", [started("r2")])
        log.append("r1", [delta("a", "r1"), RunCompleted(run_id="r1", ts=3.0)])
        await log.flushed("r1")
        await log.flushed("r2")

        assert storage.attempts == 1
        assert [(e.run_id, e.seq) for e in storage.events] == [
            ("r1", 1),
            ("r1", 2),
            ("r1", 3),
            ("r2", 1),
        ]
        assert (storage.records["r1"].status, storage.records["r1"].last_seq) == (
            RunStatus.COMPLETED,
            3,
        )
        assert (storage.records["r2"].status, storage.records["r2"].last_seq) == (
            RunStatus.RUNNING,
            1,
        )
        await log.close()


async def test_log_flushed_waits_for_the_batch_being_written() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        storage = ScriptedStorage()
        log = EventLog(storage)
        await log.create_run(record())
        storage.gate.clear()
        log.append("r1", [started()])
        await storage.writing.wait()  # the flusher holds the batch: nothing is left queued

        flushed = asyncio.create_task(log.flushed("r1"))
        await asyncio.sleep(0)  # one turn: a `flushed` that did not wait would be done now
        assert not flushed.done()
        assert await log.read("r1", after=0) == []  # readers see stored events only

        storage.gate.set()
        await flushed
        assert [e.seq for e in await log.read("r1", after=0)] == [1]
        await log.close()


async def test_log_flusher_retries_a_failed_batch_in_order() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        storage = ScriptedStorage()
        log = EventLog(storage)
        await log.create_run(record())
        storage.gate.clear()
        storage.failures = 1
        log.append("r1", [started(), delta("a")])
        await storage.writing.wait()
        log.append("r1", [delta("b")])  # queued while the failing write is in flight
        storage.gate.set()

        await log.flushed("r1")

        assert storage.attempts >= 2
        assert [e.seq for e in storage.events] == [1, 2, 3]
        assert storage.records["r1"].last_seq == 3
        await log.close()


async def test_log_close_stores_pending_events() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        storage = ScriptedStorage()
        log = EventLog(storage)
        await log.create_run(record())
        log.append("r1", [started(), delta("a")])
        await log.close()
        assert [e.seq for e in storage.events] == [1, 2]
