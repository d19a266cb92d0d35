"""The base EventLog's background flusher, against a scripted storage: batching,
`flushed` while a batch is being written, and retrying a batch that failed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from adkstream.events import MessageDelta, RunCompleted, RunStarted, StreamEvent
from adkstream.runner.log import EventLog, RunRecord, RunStatus

TIMEOUT_S = 10


class ScriptedLog(EventLog):
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

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        return [r for r in self.records.values() if r.session_id == session_id]

    async def _store_run(self, record: RunRecord) -> None:
        self.records[record.run_id] = record

    async def _store_events(
        self, batches: Sequence[tuple[RunRecord, Sequence[StreamEvent]]]
    ) -> None:
        self.attempts += 1
        self.writing.set()
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        for record, events in batches:
            self.events.extend(events)
            self.records[record.run_id] = record

    async def _load_run(self, run_id: str) -> RunRecord | None:
        return self.records.get(run_id)

    async def _load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        return [e for e in self.events if e.run_id == run_id and e.seq > after][:limit]

    async def _claim(self, run_id: str, by: str) -> str:
        raise NotImplementedError  # no test of the flusher answers a run

    async def _claimed(self, run_id: str) -> str | None:
        return None


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(run_id=run_id, session_id="s1", user_id="u1", agent="app", created_at=1.0)


def started(run_id: str = "r1") -> RunStarted:
    return RunStarted(run_id=run_id, ts=1.0, session_id="s1", user_id="u1", app="app", agent="a")


def delta(text: str, run_id: str = "r1") -> MessageDelta:
    return MessageDelta(run_id=run_id, ts=2.0, author="a", message_id="m1", text=text)


async def test_log_flusher_writes_what_queued_up_in_one_batch() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = ScriptedLog()
        await log.create_run(record("r1"))
        await log.create_run(record("r2"))
        log.append("r1", [started("r1")])
        log.append("r2", [started("r2")])
        log.append("r1", [delta("a", "r1"), RunCompleted(run_id="r1", ts=3.0)])
        await log.flushed("r1")
        await log.flushed("r2")

        assert log.attempts == 1
        assert [(e.run_id, e.seq) for e in log.events] == [
            ("r1", 1),
            ("r1", 2),
            ("r1", 3),
            ("r2", 1),
        ]
        assert (log.records["r1"].status, log.records["r1"].last_seq) == (RunStatus.COMPLETED, 3)
        assert (log.records["r2"].status, log.records["r2"].last_seq) == (RunStatus.RUNNING, 1)
        await log.close()


async def test_log_flushed_waits_for_the_batch_being_written() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = ScriptedLog()
        await log.create_run(record())
        log.gate.clear()
        log.append("r1", [started()])
        await log.writing.wait()  # the flusher holds the batch: nothing is left queued

        flushed = asyncio.create_task(log.flushed("r1"))
        await asyncio.sleep(0)  # one turn: a `flushed` that did not wait would be done now
        assert not flushed.done()
        assert await log.read("r1", after=0) == []  # readers see stored events only

        log.gate.set()
        await flushed
        assert [e.seq for e in await log.read("r1", after=0)] == [1]
        await log.close()


async def test_log_flusher_retries_a_failed_batch_in_order() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = ScriptedLog()
        await log.create_run(record())
        log.gate.clear()
        log.failures = 1
        log.append("r1", [started(), delta("a")])
        await log.writing.wait()
        log.append("r1", [delta("b")])  # queued while the failing write is in flight
        log.gate.set()

        await log.flushed("r1")

        assert log.attempts >= 2
        assert [e.seq for e in log.events] == [1, 2, 3]
        assert log.records["r1"].last_seq == 3
        await log.close()


async def test_log_close_stores_pending_events() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = ScriptedLog()
        await log.create_run(record())
        log.append("r1", [started(), delta("a")])
        await log.close()
        assert [e.seq for e in log.events] == [1, 2]
