"""The run event log: append numbers events, read after a seq, follow live.

One class over every backend: storage is a `RunStorage` (storage.py), one module per
backend (memory, SQLite, Redis, PostgreSQL), and this log holds what is the same on all.

Runs written by this process keep a hot copy of their events in memory: the writer's
`append` is synchronous (no I/O on the run's path). Storage gets the events from a
background flusher that writes whatever has queued up in one batch, so one write covers
many events under load; a failed write is retried (backends make the retry idempotent)
instead of being dropped. Subscribers see an event once it is
stored, and then from memory: a crash (SIGKILL) can never take back an event a client
has seen, or give its seq to another event after the restart.
Runs of other processes (another replica, or before a restart) are read from storage.

The log also carries what crosses processes besides events: ending the runs a dead
process left `running` (`recover_interrupted`), cancel requests for a run that
another replica drives (`request_cancel` / `on_cancel_request`), and telling a run's
driver that it may no longer write the run (`on_run_lost`).

Storage faults never end a follower's stream without a terminal event: while storage is
unreachable a follower retries (for up to FOLLOW_OUTAGE_S), and a run that storage lost
(its record or events vanished: Redis flushed, or restarted without persistence) ends
the stream with `run.failed` `storage_lost`. Such a stand-in terminal event is the
follower's, not the log's: its seq is the next one after what the follower had read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING

from adkstream.events import TERMINAL_TYPES, ErrorInfo, RunFailed, StreamEvent, is_terminal
from adkstream.runner import failures
from adkstream.runner.coalesce import merge_adjacent_deltas
from adkstream.runner.run_record import RunRecord
from adkstream.runner.storage import HeldRun, RunStorage
from adkstream.tasks import cancel_and_wait

if TYPE_CHECKING:
    from adkstream.runner.retention import Retention

logger = logging.getLogger("adkstream.log")

READ_BATCH = 500
MERGE_BACKLOG_OVER = 64
"""A reader with more events than this waiting for it is behind: its deltas are merged."""
CLOSE_FLUSH_S = 10.0
"""How long `close` waits for pending events to reach storage."""
RETRY_MAX_S = 5.0
"""The longest pause between two attempts to store a batch that failed."""
FOLLOW_OUTAGE_S = 60.0
"""How long a follower of another process's run retries while storage is unreachable;
then its stream ends with `run.failed` `storage_unavailable` (the run may go on)."""

CancelCallback = Callable[[str, str], None]
"""Called with (run_id, reason) when someone asks for a run to be cancelled."""
LostCallback = Callable[[str, ErrorInfo], None]
"""Called with (run_id, error) when this process may no longer write a run it drives."""


class _Progress(Enum):
    """Where a run stands for a follower that has read everything storage has."""

    LIVE = "live"
    ENDED = "ended"
    LOST = "lost"


class HotRun:
    """A run written by this process: its events and how far storage has them."""

    __slots__ = (
        "_record",
        "changed",
        "events",
        "first_seq",
        "last_seq",
        "run_id",
        "stored",
        "stored_seq",
        "unflushed",
    )

    def __init__(self, record: RunRecord) -> None:
        self.run_id = record.run_id
        self._record = record
        self.first_seq = self.last_seq = self.stored_seq = record.last_seq
        self.events: list[StreamEvent] = []
        self.unflushed: list[StreamEvent] = []
        self.changed = asyncio.Event()
        self.stored = asyncio.Event()

    @property
    def record(self) -> RunRecord:
        # last_seq is folded in on demand: `append` copies the record only at the end.
        record = self._record = self._record.at_seq(self.last_seq)
        return record

    @property
    def finished(self) -> bool:
        return self._record.finished

    def add(self, numbered: list[StreamEvent]) -> None:
        self.events.extend(numbered)
        self.last_seq = numbered[-1].seq
        for event in numbered:
            if event.type in TERMINAL_TYPES:
                self._record = self._record.after_event(event)

    def mark_stored(self, seq: int) -> None:
        """Storage has the events up to `seq`: readers may see them now."""
        self.stored_seq = seq
        stored, self.stored = self.stored, asyncio.Event()
        stored.set()
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class EventLog:
    """Per-run numbered event log with run metadata, over `storage`; see the module
    docstring. The log owns the storage: `close` closes it."""

    def __init__(self, storage: RunStorage) -> None:
        self.storage = storage
        self._hot: dict[str, HotRun] = {}
        self._reserved: set[str] = set()
        self._dirty: dict[str, HotRun] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._cancel_callbacks: list[CancelCallback] = []
        self._lost_callbacks: list[LostCallback] = []
        storage.attach(self)

    @classmethod
    def in_memory(cls) -> EventLog:
        """A log that keeps everything in this process: notebooks, tests, demos."""
        from adkstream.runner.storage_memory import MemoryStorage

        return cls(MemoryStorage())

    # --- writer side (the process that drives the run) ---

    async def reserve_run(self, run_id: str) -> bool:
        """Reserves `run_id` for a run about to be created: False if a run has it (stored,
        in this process, or reserved by another start). For run ids a client's key makes
        (`Idempotency-Key`): of the starts of one id, exactly one wins, across processes
        sharing the storage. `unreserve` once the run is created (or not)."""
        if run_id in self._hot or run_id in self._reserved:
            return False
        self._reserved.add(run_id)
        try:
            stored = await self.storage.load_run(run_id)
            free = stored is None and await self.storage.reserve(run_id)
        except BaseException:
            self._reserved.discard(run_id)
            raise
        if not free:
            self._reserved.discard(run_id)
        return free

    def unreserve(self, run_id: str) -> None:
        self._reserved.discard(run_id)

    async def create_run(self, record: RunRecord) -> None:
        """Registers a new run (status running, no events yet)."""
        # Hot before stored: a concurrent `recover_interrupted` in this process must
        # never take a run it is creating for one a dead process left.
        self._hot[record.run_id] = HotRun(record)
        try:
            await self.storage.create(record)
        except BaseException:
            del self._hot[record.run_id]
            raise

    def append(self, run_id: str, events: Sequence[StreamEvent]) -> list[StreamEvent]:
        """Numbers `events` (seq continues the run's) and adds them; returns them numbered."""
        hot = self._hot[run_id]
        seq = hot.last_seq
        numbered: list[StreamEvent] = []
        for event in events:
            seq += 1
            numbered.append(event.model_copy(update={"seq": seq}))
        if numbered:
            hot.add(numbered)
            self._schedule_store(hot, numbered)
        return numbered

    async def flushed(self, run_id: str) -> None:
        """Waits until every event appended to `run_id` so far is in durable storage."""
        hot = self._hot.get(run_id)
        if hot is None:
            return
        target = hot.last_seq
        while hot.stored_seq < target:
            await hot.stored.wait()

    async def release(self, run_id: str) -> None:
        """Drops the hot copy of a finished run once it is stored."""
        await self.flushed(run_id)
        hot = self._hot.pop(run_id, None)
        if hot is not None:
            # Wakes this process's followers, which go on reading from storage.
            changed, hot.changed = hot.changed, asyncio.Event()
            changed.set()

    # --- reader side (any process) ---

    async def get_run(self, run_id: str) -> RunRecord | None:
        hot = self._hot.get(run_id)
        if hot is not None:
            return hot.record
        return await self.storage.load_run(run_id)

    async def read(self, run_id: str, *, after: int, limit: int = READ_BATCH) -> list[StreamEvent]:
        """Events with seq > `after`, at most `limit`, in order."""
        hot = self._hot.get(run_id)
        if hot is not None:
            # Readers see stored events only: a crash can then never take back an event
            # a client saw, nor give its seq to another event.
            start = max(after - hot.first_seq, 0)
            end = min(start + limit, hot.stored_seq - hot.first_seq)
            return hot.events[start:end]
        return await self.storage.load_events(run_id, after=after, limit=limit)

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        """Returns when the run may have an event after `after`.

        A run of this process wakes its waiters whenever a batch of it is stored and
        when it is released, so waiting on it takes no timer (a follower waits once per
        frame). For a run of another process, storage is asked (`RunStorage.wait`).
        """
        hot = self._hot.get(run_id)
        if hot is not None:
            if hot.stored_seq <= after:
                await hot.changed.wait()
            return
        await self.storage.wait(run_id, after=after, timeout=timeout)

    async def follow(
        self,
        run_id: str,
        *,
        after: int = 0,
        merge_over: int | None = MERGE_BACKLOG_OVER,
        poll_s: float = 5.0,
    ) -> AsyncIterator[StreamEvent]:
        """Replays the events after `after`, then follows the run until its terminal event.

        A reader that has fallen behind (a backlog of more than `merge_over` events;
        None: never merge) gets adjacent deltas of one message as one event
        carrying the last merged seq, and catches up in fewer, larger frames; a reader
        that keeps up sees every event with its own seq. Either way a reader holds one
        batch in memory at most.
        """
        batches = self.follow_batches(run_id, after=after, merge_over=merge_over, poll_s=poll_s)
        async for batch in batches:
            for event in batch:
                yield event

    async def follow_batches(
        self,
        run_id: str,
        *,
        after: int = 0,
        merge_over: int | None = MERGE_BACKLOG_OVER,
        poll_s: float = 5.0,
    ) -> AsyncIterator[list[StreamEvent]]:
        """`follow`, as the batches storage hands over: one write per batch for a stream.

        The last batch always ends with a terminal event, unless the run does not exist
        (nor ever did, as far as this follower saw): see the module docstring for the
        stand-in terminal events of storage faults.
        """
        cursor = after
        known = after > 0  # the run existed: vanishing from storage now is a loss
        outage_since: float | None = None
        backoff = 0.0
        while True:
            try:
                batch = await self.read(run_id, after=cursor)
                progress = _Progress.LIVE
                if not batch:
                    progress = await self._progress(run_id, after=cursor, known=known)
                    if progress is _Progress.LIVE:
                        known = True
                        await self.wait(run_id, after=cursor, timeout=poll_s)
            except failures.STORAGE_ERRORS:
                now = time.monotonic()
                if outage_since is None:
                    outage_since = now
                    logger.warning("following run %s: storage unreachable; retrying", run_id)
                if now - outage_since >= FOLLOW_OUTAGE_S:
                    logger.error("following run %s: storage unreachable; gave up", run_id)
                    yield [self._stand_in(run_id, cursor, failures.STORAGE)]
                    return
                backoff = min(max(backoff * 2, 0.1), RETRY_MAX_S)
                await asyncio.sleep(backoff)
                continue
            outage_since, backoff = None, 0.0
            if batch:
                known = True
                behind = merge_over is not None and len(batch) > merge_over
                yield merge_adjacent_deltas(batch) if behind else batch
                cursor = batch[-1].seq
                if is_terminal(batch[-1]):
                    return
            elif progress is _Progress.ENDED:
                return
            elif progress is _Progress.LOST:
                logger.error("run %s: storage lost it after seq %d", run_id, cursor)
                yield [self._stand_in(run_id, cursor, failures.STORAGE_LOST)]
                return

    async def _progress(self, run_id: str, *, after: int, known: bool) -> _Progress:
        """Whether the run, with no event after `after` to read, has ended, goes on, or
        was lost by storage (`known`: the run existed, so a missing record is a loss)."""
        hot = self._hot.get(run_id)
        if hot is not None:  # no copy of the record: followers ask after every batch
            ended = hot.finished and hot.last_seq <= after
            return _Progress.ENDED if ended else _Progress.LIVE
        record = await self.storage.load_run(run_id)
        if record is None:
            return _Progress.LOST if known else _Progress.ENDED
        if record.last_seq <= after:
            return _Progress.ENDED if record.finished else _Progress.LIVE
        # A record is stored with (or after) the events it counts: if they cannot be
        # read now, storage lost them.
        if await self.storage.load_events(run_id, after=after, limit=1):
            return _Progress.LIVE
        return _Progress.LOST

    @staticmethod
    def _stand_in(run_id: str, after: int, error: ErrorInfo) -> RunFailed:
        """The terminal event a follower sends in the log's stead (see the module docstring)."""
        return RunFailed(run_id=run_id, seq=after + 1, ts=time.time(), error=error)

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        """The runs of a session, oldest first."""
        found = {record.run_id: record for record in await self.storage.list_runs(session_id)}
        for run_id, hot in self._hot.items():  # live here: newer than any stored copy
            if hot.record.session_id == session_id:
                found[run_id] = hot.record
        return sorted(found.values(), key=lambda record: record.created_at)

    async def recover_interrupted(self) -> list[str]:
        """Ends the runs a dead process left `running` with `run.failed` (`interrupted`).

        Call it at startup. Which runs count as left depends on the backend (SQLite:
        every running run not driven by this process; Redis and PostgreSQL: those whose
        owner's lease has lapsed; memory: none).

        Returns:
            The ids of the runs it ended.
        """
        return await self.storage.interrupt_left(set(self._hot))

    # --- answers to a waiting run (any replica may take them) ---

    async def claim_answer(self, run_id: str, *, by: str) -> str:
        """Takes the answers of waiting run `run_id` for run `by` (its continuation).

        Exactly one claim of a run wins, across processes sharing the storage.

        Returns:
            The id of the run that holds the claim: `by` if this call won.
        """
        return await self.storage.claim(run_id, by)

    async def answered_by(self, run_id: str) -> str | None:
        """The run that continues waiting run `run_id`, if it was answered."""
        return await self.storage.claimed(run_id)

    # --- cancel requests (the run may be driven by another process) ---

    def on_cancel_request(self, callback: CancelCallback) -> None:
        """Registers `callback(run_id, reason)` for every cancel request of any run.

        A callback gets requests for runs other processes drive too: it ignores those.
        What it raises is logged and does not stop the next callback or request.
        """
        self._cancel_callbacks.append(callback)

    async def request_cancel(self, run_id: str, reason: str) -> None:
        """Asks whichever process drives `run_id` to cancel it."""
        await self.storage.request_cancel(run_id, reason)

    # --- runs this process drives but may no longer write ---

    def on_run_lost(self, callback: LostCallback) -> None:
        """Registers `callback(run_id, error)` for the runs of this process it may no
        longer write: storage lost them (`storage_lost`: a durable backend writes back
        what this process holds of them) or another process ended them (`interrupted`:
        this process's lease lapsed). The driver stops such a run: its terminal event is
        `run.failed` with `error`. What a callback raises is logged.
        """
        self._lost_callbacks.append(callback)

    # --- what storage may ask (`LogHooks`) ---

    def held(self, run_id: str) -> HeldRun | None:
        return self._hot.get(run_id)

    def held_runs(self) -> list[HeldRun]:
        return list(self._hot.values())

    def deliver_cancel(self, run_id: str, reason: str) -> None:
        for callback in self._cancel_callbacks:
            try:
                callback(run_id, reason)
            except Exception:
                logger.exception("cancel callback failed for run %s", run_id)

    def deliver_lost(self, run_id: str, error: ErrorInfo) -> None:
        for callback in self._lost_callbacks:
            try:
                callback(run_id, error)
            except Exception:
                logger.exception("run-lost callback failed for run %s", run_id)

    async def ping(self) -> None:
        """Raises if storage cannot be reached (readiness)."""
        await self.storage.ping()

    # --- retention ---

    async def prune(self, retention: Retention, *, now: float) -> int:
        """Deletes the runs past `retention` at `now` (their events and answer claims too).

        A run this process still holds (not yet released) is never pruned. A backend
        whose storage expires runs by itself (Redis) sets their lifetimes as it writes
        them and prunes nothing here.

        Returns:
            How many runs it deleted.
        """
        return await self.storage.prune(retention, now=now, held=set(self._hot))

    async def close(self) -> None:
        """Flushes what is pending (for up to CLOSE_FLUSH_S), stops the writer and closes
        the storage."""
        # Every hot run, not only the queued ones: the flusher may hold a batch in flight.
        pending = list(self._hot)
        try:
            async with asyncio.timeout(CLOSE_FLUSH_S):
                for run_id in pending:
                    await self.flushed(run_id)
        except TimeoutError:
            logger.error("event log closed with events not stored (runs %s)", pending)
        finally:
            if self._flusher is not None:
                await cancel_and_wait(self._flusher)
                self._flusher = None
            await self.storage.close()

    # --- the flusher ---

    def _schedule_store(self, hot: HotRun, numbered: list[StreamEvent]) -> None:
        """Queues a run's new events for the flusher, starting it if it is not running."""
        hot.unflushed.extend(numbered)
        self._dirty[hot.run_id] = hot
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush(), name="adkstream-log-flusher"
            )

    async def _flush(self) -> None:
        """Stores what has queued up, one batch at a time, until nothing is left: an idle
        log has no task running."""
        backoff = 0.0
        while taken := self._take_dirty():
            try:
                await self.storage.store([(record, events) for _, record, events in taken])
            except Exception:
                backoff = min(max(backoff * 2, 0.1), RETRY_MAX_S)
                logger.exception(
                    "storing the events of %d runs failed; retrying in %.1fs", len(taken), backoff
                )
                for hot, _, events in taken:
                    hot.unflushed[:0] = events
                    self._dirty[hot.run_id] = hot
                await asyncio.sleep(backoff)
                continue
            backoff = 0.0
            for hot, _, events in taken:
                hot.mark_stored(events[-1].seq)

    def _take_dirty(self) -> list[tuple[HotRun, RunRecord, list[StreamEvent]]]:
        """Each queued run with its record and the events it has queued, taken off it."""
        dirty, self._dirty = self._dirty, {}
        taken: list[tuple[HotRun, RunRecord, list[StreamEvent]]] = []
        for hot in dirty.values():
            if hot.unflushed:
                taken.append((hot, hot.record, hot.unflushed))
                hot.unflushed = []
        return taken
