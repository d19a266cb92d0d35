"""Run storage in this process's memory: notebooks, tests, single-process demos.

Nothing outlives the process, so no run is ever left by a dead one, and cancel requests
go straight to this process's log.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from adkstream.events import StreamEvent
from adkstream.runner.run_record import RunRecord
from adkstream.runner.storage import Batches, LogHooks, StorageOptions, poll_stored

if TYPE_CHECKING:
    from adkstream.runner.retention import Retention


async def open_storage(url: str, options: StorageOptions) -> MemoryStorage:
    """`memory://`: the URL carries nothing."""
    return MemoryStorage()


class MemoryStorage:
    """Runs, events and answer claims in dicts."""

    def __init__(self) -> None:
        self._hooks: LogHooks | None = None
        self._runs: dict[str, RunRecord] = {}
        self._events: dict[str, list[StreamEvent]] = {}
        self._claims: dict[str, str] = {}
        self._answered_at: dict[str, float] = {}

    def attach(self, hooks: LogHooks) -> None:
        self._hooks = hooks

    async def reserve(self, run_id: str) -> bool:
        return True

    async def create(self, record: RunRecord) -> None:
        self._runs[record.run_id] = record
        self._events[record.run_id] = []

    async def store(self, batches: Batches) -> None:
        for record, events in batches:
            stored = self._events.setdefault(record.run_id, [])
            top = stored[-1].seq if stored else 0
            stored.extend(event for event in events if event.seq > top)
            self._runs[record.run_id] = record

    async def load_run(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)

    async def load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        return self._events.get(run_id, [])[after : after + limit]

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        return [record for record in self._runs.values() if record.session_id == session_id]

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        await poll_stored(self.load_run, run_id, after=after, timeout=timeout)

    async def interrupt_left(self, held: Collection[str]) -> list[str]:
        return []

    async def claim(self, run_id: str, by: str) -> str:
        holder = self._claims.setdefault(run_id, by)
        if holder == by:
            self._answered_at[run_id] = time.time()
        return holder

    async def claimed(self, run_id: str) -> str | None:
        return self._claims.get(run_id)

    async def request_cancel(self, run_id: str, reason: str) -> None:
        if self._hooks is not None:
            self._hooks.deliver_cancel(run_id, reason)

    async def prune(self, retention: Retention, *, now: float, held: Collection[str]) -> int:
        expired = [
            run_id
            for run_id, record in self._runs.items()
            if run_id not in held
            and retention.expired(record, answered_at=self._answered_at.get(run_id), now=now)
        ]
        for run_id in expired:
            del self._runs[run_id]
            self._events.pop(run_id, None)
            self._claims.pop(run_id, None)
            self._answered_at.pop(run_id, None)
        return len(expired)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
