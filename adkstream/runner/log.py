"""The run event log: append numbers events, read after a seq, follow live.

Runs written by this process keep a hot copy of their events in memory: the writer's
`append` is synchronous (no I/O on the per-event path) and wakes this process's
subscribers at once. A durable backend (SQLite, Redis) gets the same events from a
background flusher that writes whatever has queued up in one batch, so a slow disk or
network adds no latency to the stream and one write covers many events under load.
Runs of other processes (another replica, or before a restart) are read from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from adkstream.events import (
    ErrorInfo,
    RunCancelled,
    RunCompleted,
    RunFailed,
    StreamEvent,
    Usage,
    is_terminal,
)
from adkstream.runner.coalesce import merge_adjacent_deltas

READ_BATCH = 500


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RunRecord(BaseModel):
    """A run's metadata, kept beside its events."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    session_id: str
    user_id: str
    agent: str
    status: RunStatus = RunStatus.RUNNING
    final_text: str | None = None
    usage: Usage | None = None
    error: ErrorInfo | None = None
    last_seq: int = 0
    created_at: float
    ended_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.status is not RunStatus.RUNNING

    def after_event(self, event: StreamEvent) -> RunRecord:
        """The record once `event` is in the log."""
        update: dict[str, object] = {"last_seq": event.seq}
        if isinstance(event, RunCompleted):
            update |= {
                "status": RunStatus.COMPLETED,
                "final_text": event.final_text,
                "usage": event.usage,
                "ended_at": event.ts,
            }
        elif isinstance(event, RunFailed):
            update |= {"status": RunStatus.FAILED, "error": event.error, "ended_at": event.ts}
        elif isinstance(event, RunCancelled):
            update |= {"status": RunStatus.CANCELLED, "ended_at": event.ts}
        return self.model_copy(update=update)


@dataclass
class _HotRun:
    record: RunRecord
    events: list[StreamEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    unflushed: list[StreamEvent] = field(default_factory=list)
    stored: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class EventLog(ABC):
    """Per-run numbered event log with run metadata; see the module docstring."""

    def __init__(self) -> None:
        self._hot: dict[str, _HotRun] = {}
        self._dirty: dict[str, _HotRun] = {}
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    # --- writer side (the process that drives the run) ---

    async def create_run(self, record: RunRecord) -> None:
        """Registers a new run (status running, no events yet)."""
        self._hot[record.run_id] = _HotRun(record)
        await self._store_run(record)

    def append(self, run_id: str, events: Sequence[StreamEvent]) -> list[StreamEvent]:
        """Numbers `events` (seq continues the run's) and adds them; returns them numbered."""
        hot = self._hot[run_id]
        seq = hot.record.last_seq
        numbered: list[StreamEvent] = []
        for event in events:
            seq += 1
            numbered.append(event.model_copy(update={"seq": seq}))
        if not numbered:
            return numbered
        hot.events.extend(numbered)
        record = hot.record
        for event in numbered:
            record = record.after_event(event)
        hot.record = record
        hot.unflushed.extend(numbered)
        hot.stored.clear()
        self._dirty[run_id] = hot
        self._wakeup.set()
        self._ensure_flusher()
        hot.notify()
        return numbered

    async def flushed(self, run_id: str) -> None:
        """Waits until every event appended to `run_id` so far is in durable storage."""
        hot = self._hot.get(run_id)
        if hot is not None and hot.unflushed:
            await hot.stored.wait()

    async def release(self, run_id: str) -> None:
        """Drops the hot copy of a finished run once it is stored."""
        await self.flushed(run_id)
        hot = self._hot.pop(run_id, None)
        if hot is not None:
            hot.notify()

    # --- reader side (any process) ---

    async def get_run(self, run_id: str) -> RunRecord | None:
        hot = self._hot.get(run_id)
        if hot is not None:
            return hot.record
        return await self._load_run(run_id)

    async def read(self, run_id: str, *, after: int, limit: int = READ_BATCH) -> list[StreamEvent]:
        """Events with seq > `after`, at most `limit`, in order."""
        hot = self._hot.get(run_id)
        if hot is not None:
            return hot.events[after : after + limit]
        return await self._load_events(run_id, after=after, limit=limit)

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:
        """Returns when the run may have an event after `after`, or after `timeout`."""
        hot = self._hot.get(run_id)
        if hot is not None:
            if hot.record.last_seq > after:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await hot.changed.wait()
            return
        await self._wait_stored(run_id, after=after, timeout=timeout)

    async def follow(
        self, run_id: str, *, after: int = 0, merge: bool = True, poll_s: float = 5.0
    ) -> AsyncIterator[StreamEvent]:
        """Replays the events after `after`, then follows the run until its terminal event.

        With `merge`, adjacent deltas of one message in a backlog come as one event
        carrying the last merged seq: a slow reader costs one batch of memory at most.
        """
        cursor = after
        while True:
            batch = await self.read(run_id, after=cursor)
            if batch:
                for event in merge_adjacent_deltas(batch) if merge else batch:
                    yield event
                cursor = batch[-1].seq
                if is_terminal(batch[-1]):
                    return
                continue
            record = await self.get_run(run_id)
            if record is None or (record.finished and record.last_seq <= cursor):
                return
            await self.wait(run_id, after=cursor, timeout=poll_s)

    @abstractmethod
    async def list_runs(self, session_id: str) -> list[RunRecord]:
        """The runs of a session, oldest first."""

    async def close(self) -> None:
        """Flushes what is pending and stops the background writer."""
        for run_id in list(self._dirty):
            await self.flushed(run_id)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None

    # --- storage, for durable backends ---

    @abstractmethod
    async def _store_run(self, record: RunRecord) -> None: ...

    @abstractmethod
    async def _store_events(
        self, batches: Sequence[tuple[RunRecord, Sequence[StreamEvent]]]
    ) -> None:
        """Writes each run's new events and its updated record, in one go if it can."""

    @abstractmethod
    async def _load_run(self, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    async def _load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]: ...

    async def _wait_stored(self, run_id: str, *, after: int, timeout: float) -> None:
        """Waits for another process's run; the default polls storage."""
        deadline = time.monotonic() + timeout
        interval = 0.05
        while time.monotonic() < deadline:
            record = await self._load_run(run_id)
            if record is None or record.finished or record.last_seq > after:
                return
            await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0)))
            interval = min(interval * 2, 0.5)

    def _ensure_flusher(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_forever(), name="adkstream-log-flusher"
            )

    async def _flush_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            dirty, self._dirty = self._dirty, {}
            batches = []
            for hot in dirty.values():
                events, hot.unflushed = hot.unflushed, []
                batches.append((hot, events))
            try:
                await self._store_events([(hot.record, events) for hot, events in batches])
            finally:
                for hot, _ in batches:
                    if not hot.unflushed:
                        hot.stored.set()


class MemoryLog(EventLog):
    """Keeps everything in this process: notebooks, tests, single-process demos."""

    def __init__(self) -> None:
        super().__init__()
        self._runs: dict[str, RunRecord] = {}
        self._events: dict[str, list[StreamEvent]] = {}

    def append(self, run_id: str, events: Sequence[StreamEvent]) -> list[StreamEvent]:
        numbered = super().append(run_id, events)
        # Memory is the storage: nothing to flush.
        hot = self._hot[run_id]
        self._events.setdefault(run_id, []).extend(hot.unflushed)
        self._runs[run_id] = hot.record
        hot.unflushed = []
        hot.stored.set()
        self._dirty.pop(run_id, None)
        return numbered

    def _ensure_flusher(self) -> None:
        return None

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        live = {run_id: hot.record for run_id, hot in self._hot.items()}
        records = {**self._runs, **live}
        return sorted(
            (r for r in records.values() if r.session_id == session_id),
            key=lambda r: r.created_at,
        )

    async def _store_run(self, record: RunRecord) -> None:
        self._runs[record.run_id] = record

    async def _store_events(
        self, batches: Sequence[tuple[RunRecord, Sequence[StreamEvent]]]
    ) -> None:
        return None

    async def _load_run(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)

    async def _load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        return self._events.get(run_id, [])[after : after + limit]
