"""Scale-out run storage in PostgreSQL: replicas share runs with nothing but a database.

Tables, under a prefix (default `adkstream`; deployments sharing a database differ by
it): `{prefix}_runs` (one row a run: its record as JSON, status, owner, a pending
cancel), `{prefix}_events` (one row an event, keyed by run and seq), `{prefix}_answers`
(answer claims), `{prefix}_leases` (the live processes) and `{prefix}_reserved` (run ids
reserved by starts that are about to create them).

Design decisions:
- A new run's row is written with its first batch, as on SQLite: a start costs no
  transaction of its own. A flush is one transaction: the rows of new runs, the records
  of every run of the batch (only while `running`: a finished run is final, and a run
  another replica ended as interrupted stays ended), then the events of the runs whose
  record was taken (`ON CONFLICT DO NOTHING`: a retried batch is harmless).
- LISTEN/NOTIFY wakes the followers of other processes' runs: each flush notifies the
  ids of its runs on `{prefix}_events`, delivered on commit. A follower registers its
  wait before it looks at the run once more, so a notification between its read and its
  wait is never lost. Cancel requests travel on `{prefix}_cancel`, and are kept on the
  running run's row as well: a process whose listening connection was down reads them
  back once it is up again.
- Each process holds a lease (`lease_s`), renewed every `lease_s / 3` with the
  database's clock (replicas' clocks may differ). The running runs whose owner's lease
  has lapsed are ended with `run.failed` `interrupted`: at startup, and every `lease_s`
  by a sweep, which judges others' leases only once this process's own has held for a
  whole `lease_s` (after an outage, every live process has had the time to renew).
- A database does not lose committed rows, so unlike Redis nothing is written back: a
  run whose row is gone while this process writes it ends `storage_lost`.
- Connection errors become `ConnectionError` (`_translated`), which followers and
  `failures.classify` take for storage being out of reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from adkstream.events import StreamEvent, parse_event
from adkstream.runner import failures
from adkstream.runner.run_record import RunRecord, interruption
from adkstream.runner.storage import Batches, LogHooks, StorageOptions
from adkstream.tasks import cancel_and_wait

if TYPE_CHECKING:
    from adkstream.runner.retention import Retention

logger = logging.getLogger("adkstream.storage")

T = TypeVar("T")

RESERVATION_S = 60
"""How long a run id reserved for a run about to start stays taken without its row."""
PRUNE_RUNS = 500
"""Runs deleted per pruning transaction."""
_SCHEMA_LOCK = 0x616B73  # one advisory lock serialises schema creation across replicas

_CONNECTION_ERRORS = (
    OSError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
)


def _schema(p: str) -> str:
    return f"""
CREATE TABLE IF NOT EXISTS {p}_runs (
    run_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    ended_at DOUBLE PRECISION,
    owner TEXT NOT NULL,
    record TEXT NOT NULL,
    cancel TEXT
);
CREATE INDEX IF NOT EXISTS {p}_runs_by_session ON {p}_runs (session_id, created_at);
CREATE INDEX IF NOT EXISTS {p}_runs_running ON {p}_runs (status) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS {p}_runs_by_end ON {p}_runs (ended_at) WHERE ended_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS {p}_events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS {p}_answers (
    run_id TEXT PRIMARY KEY,
    answered_by TEXT NOT NULL,
    answered_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}_leases (
    owner TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}_reserved (
    run_id TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
"""


class _Sql:
    """The statements, for one table prefix."""

    def __init__(self, p: str) -> None:
        self.insert_new_runs = f"""
INSERT INTO {p}_runs (run_id, session_id, status, created_at, owner, record)
SELECT run_id, session_id, 'running', created_at, $1, record
FROM unnest($2::text[], $3::text[], $4::float8[], $5::text[])
    AS u(run_id, session_id, created_at, record)
ON CONFLICT (run_id) DO NOTHING
"""
        self.update_records = f"""
UPDATE {p}_runs AS r
SET record = u.record, status = u.status, ended_at = u.ended_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[])
    AS u(run_id, record, status, ended_at)
WHERE r.run_id = u.run_id AND r.status = 'running'
RETURNING r.run_id
"""
        self.insert_events = f"""
INSERT INTO {p}_events (run_id, seq, json)
SELECT * FROM unnest($1::text[], $2::int[], $3::text[])
ON CONFLICT DO NOTHING
"""
        self.notify = "SELECT pg_notify($1, run_id) FROM unnest($2::text[]) AS u(run_id)"
        self.existing = f"SELECT run_id FROM {p}_runs WHERE run_id = ANY($1::text[])"
        self.load_run = f"SELECT record FROM {p}_runs WHERE run_id = $1"
        self.load_events = f"""
SELECT json FROM {p}_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""
        self.list_runs = f"""
SELECT record FROM {p}_runs WHERE session_id = $1 ORDER BY created_at
"""
        self.left = f"""
SELECT record FROM {p}_runs AS r
WHERE status = 'running' AND run_id <> ALL($2::text[]) AND (
    owner = $1 OR NOT EXISTS (
        SELECT 1 FROM {p}_leases AS l WHERE l.owner = r.owner AND l.expires_at > now()
    )
)
"""
        self.end_run = f"""
UPDATE {p}_runs SET record = $2, status = $3, ended_at = $4
WHERE run_id = $1 AND status = 'running'
"""
        # A no-op update returns the row a concurrent claim committed (DO NOTHING would
        # return nothing, and a second SELECT would read the statement's older snapshot).
        self.claim = f"""
INSERT INTO {p}_answers (run_id, answered_by, answered_at) VALUES ($1, $2, $3)
ON CONFLICT (run_id) DO UPDATE SET answered_by = {p}_answers.answered_by
RETURNING answered_by
"""
        self.claimed = f"SELECT answered_by FROM {p}_answers WHERE run_id = $1"
        self.reserve = f"""
INSERT INTO {p}_reserved (run_id, expires_at)
VALUES ($1, now() + make_interval(secs => $2))
ON CONFLICT (run_id) DO UPDATE SET expires_at = excluded.expires_at
WHERE {p}_reserved.expires_at < now()
RETURNING run_id
"""
        self.forget_reservations = f"DELETE FROM {p}_reserved WHERE expires_at < now()"
        self.cancel = f"""
WITH kept AS (
    UPDATE {p}_runs SET cancel = $2 WHERE run_id = $1 AND status = 'running'
)
SELECT pg_notify($3, $4)
"""
        self.pending_cancels = f"""
SELECT run_id, cancel FROM {p}_runs
WHERE run_id = ANY($1::text[]) AND status = 'running' AND cancel IS NOT NULL
"""
        self.renew_lease = f"""
INSERT INTO {p}_leases (owner, expires_at) VALUES ($1, now() + make_interval(secs => $2))
ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at
"""
        self.drop_lease = f"DELETE FROM {p}_leases WHERE owner = $1"
        self.forget_leases = f"DELETE FROM {p}_leases WHERE expires_at < now() - interval '1 hour'"
        self.expired = f"""
SELECT run_id FROM {p}_runs AS r
WHERE ended_at < $1 AND run_id <> ALL($3::text[]) AND (
    status <> 'waiting'
    OR EXISTS (SELECT 1 FROM {p}_answers AS a WHERE a.run_id = r.run_id AND a.answered_at < $1)
    OR (
        $2::float8 IS NOT NULL AND ended_at < $2
        AND NOT EXISTS (SELECT 1 FROM {p}_answers AS a WHERE a.run_id = r.run_id)
    )
)
LIMIT $4
"""
        self.delete_runs = (
            f"DELETE FROM {p}_events WHERE run_id = ANY($1::text[])",
            f"DELETE FROM {p}_answers WHERE run_id = ANY($1::text[])",
            f"DELETE FROM {p}_runs WHERE run_id = ANY($1::text[])",
        )


def _dsn(url: str) -> str:
    """asyncpg's DSN: `postgresql+asyncpg://` (SQLAlchemy's spelling) becomes `postgresql://`."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


def _prefix(prefix: str) -> str:
    if not prefix.replace("_", "").isalnum():
        raise ValueError(f"table prefix {prefix!r}: letters, digits and _ only")
    return prefix.lower()


async def open_storage(url: str, options: StorageOptions) -> PostgresStorage:
    """`postgresql://user@host:5432/db` (or `postgres://`, `postgresql+asyncpg://`)."""
    return await PostgresStorage.open(url, prefix=options.prefix, lease_s=options.lease_s)


class PostgresStorage:
    """Runs in PostgreSQL; open it with `await PostgresStorage.open(url)`."""

    def __init__(self, pool: asyncpg.Pool, *, prefix: str, lease_s: float) -> None:
        self._pool = pool
        self.prefix = prefix
        self.owner_id = uuid.uuid4().hex
        self._sql = _Sql(prefix)
        self._lease_s = lease_s
        self._events_channel = f"{prefix}_events"
        self._cancel_channel = f"{prefix}_cancel"
        self._hooks: LogHooks | None = None
        self._rowless: dict[str, RunRecord] = {}
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._lease_held_since: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    @classmethod
    async def open(
        cls, url: str, *, prefix: str = "adkstream", lease_s: float = 5.0
    ) -> PostgresStorage:
        """Connects, creates the tables if needed, takes this process's lease and starts
        listening for notifications.

        Raises:
            OSError, asyncpg.PostgresError: the database cannot be reached or used.
        """
        pool = await asyncpg.create_pool(_dsn(url), min_size=1, max_size=10)
        storage = cls(pool, prefix=_prefix(prefix), lease_s=lease_s)
        try:
            await storage._start(_dsn(url))
        except BaseException:
            await storage.close()
            raise
        return storage

    async def _start(self, dsn: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
            await conn.execute(_schema(self.prefix))
        await self._renew_lease()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(dsn), name="adkstream-pg-listen"),
            loop.create_task(self._keep_lease(), name="adkstream-pg-lease"),
        ]
        async with asyncio.timeout(10):
            await self._listening.wait()

    def attach(self, hooks: LogHooks) -> None:
        self._hooks = hooks

    async def close(self) -> None:
        """Stops listening, gives up the lease and closes the pool."""
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        with contextlib.suppress(*_CONNECTION_ERRORS, asyncpg.PostgresError):
            await self._pool.execute(self._sql.drop_lease, self.owner_id)
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def _translated(self) -> AsyncIterator[None]:
        """Connection errors as `ConnectionError`: storage out of reach (module docstring)."""
        try:
            yield
        except _CONNECTION_ERRORS as exc:
            if isinstance(exc, ConnectionError):
                raise
            raise ConnectionError(f"PostgreSQL: {exc}") from exc

    async def _run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work` on a pooled connection, in one transaction."""
        async with self._translated(), self._pool.acquire() as conn, conn.transaction():
            return await work(conn)

    # --- runs and events ---

    async def reserve(self, run_id: str) -> bool:
        async with self._translated():
            row = await self._pool.fetchval(self._sql.reserve, run_id, float(RESERVATION_S))
        return row is not None

    async def create(self, record: RunRecord) -> None:
        self._rowless[record.run_id] = record  # written with the run's first batch

    async def store(self, batches: Batches) -> None:
        new = [
            self._rowless[record.run_id] for record, _ in batches if record.run_id in self._rowless
        ]
        taken = await self._run(lambda conn: self._write(conn, new, batches))
        for record in new:
            self._rowless.pop(record.run_id, None)
        refused = [record.run_id for record, _ in batches if record.run_id not in taken]
        if refused:
            await self._on_refused(refused)

    async def _write(
        self, conn: asyncpg.Connection, new: list[RunRecord], batches: Batches
    ) -> set[str]:
        """One flush (see the module docstring); returns the runs whose record was taken."""
        if new:
            await conn.execute(
                self._sql.insert_new_runs,
                self.owner_id,
                [r.run_id for r in new],
                [r.session_id for r in new],
                [r.created_at for r in new],
                [r.model_dump_json() for r in new],
            )
        records = [record for record, _ in batches]
        rows = await conn.fetch(
            self._sql.update_records,
            [r.run_id for r in records],
            [r.model_dump_json() for r in records],
            [r.status.value for r in records],
            [r.ended_at if r.finished else None for r in records],
        )
        taken = {row[0] for row in rows}
        events = [e for record, batch in batches if record.run_id in taken for e in batch]
        await conn.execute(
            self._sql.insert_events,
            [e.run_id for e in events],
            [e.seq for e in events],
            [e.model_dump_json() for e in events],
        )
        await conn.execute(self._sql.notify, self._events_channel, sorted(taken))
        return taken

    async def _on_refused(self, run_ids: list[str]) -> None:
        """Runs whose record was refused (not running here): lost, or ended elsewhere."""
        async with self._translated():
            rows = await self._pool.fetch(self._sql.existing, run_ids)
        existing = {row[0] for row in rows}
        for run_id in run_ids:
            hot = self._hooks.held(run_id) if self._hooks is not None else None
            if hot is None or self._hooks is None:
                continue
            if run_id not in existing:
                logger.error("run %s: its row is gone from PostgreSQL; it ends", run_id)
                self._hooks.deliver_lost(run_id, failures.STORAGE_LOST)
            elif not hot.finished:
                logger.error("run %s was ended as interrupted elsewhere; it stops here", run_id)
                self._hooks.deliver_lost(run_id, failures.INTERRUPTED)

    async def load_run(self, run_id: str) -> RunRecord | None:
        async with self._translated():
            raw = await self._pool.fetchval(self._sql.load_run, run_id)
        return None if raw is None else RunRecord.model_validate_json(raw)

    async def load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        async with self._translated():
            rows = await self._pool.fetch(self._sql.load_events, run_id, after, limit)
        return [parse_event(row[0]) for row in rows]

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        async with self._translated():
            rows = await self._pool.fetch(self._sql.list_runs, session_id)
        return [RunRecord.model_validate_json(row[0]) for row in rows]

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        woken = asyncio.Event()
        waiters = self._waiters.setdefault(run_id, set())
        waiters.add(woken)
        try:
            record = await self.load_run(run_id)  # after registering: no wake-up is lost
            if record is None or record.finished or record.last_seq > after:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await woken.wait()
        finally:
            waiters.discard(woken)
            if not waiters:
                self._waiters.pop(run_id, None)

    # --- answers ---

    async def claim(self, run_id: str, by: str) -> str:
        async with self._translated():
            holder = await self._pool.fetchval(self._sql.claim, run_id, by, time.time())
        return str(holder)

    async def claimed(self, run_id: str) -> str | None:
        async with self._translated():
            holder = await self._pool.fetchval(self._sql.claimed, run_id)
        return None if holder is None else str(holder)

    # --- cancel requests and notifications ---

    async def request_cancel(self, run_id: str, reason: str) -> None:
        payload = json.dumps({"run_id": run_id, "reason": reason})
        async with self._translated():
            await self._pool.execute(
                self._sql.cancel, run_id, reason, self._cancel_channel, payload
            )

    async def _listen(self, dsn: str) -> None:
        """Keeps one connection listening; after a reconnect, wakes every waiter and
        delivers the cancel requests kept on this process's runs."""
        backoff = 0.0
        while True:
            try:
                conn: asyncpg.Connection = await asyncpg.connect(dsn)
            except (*_CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                backoff = min(max(backoff * 2, 0.2), 5.0)
                logger.warning("PostgreSQL listener: cannot connect (%s); retrying", exc)
                await asyncio.sleep(backoff)
                continue
            try:
                await self._listen_on(conn)
                backoff = 0.0
            except (*_CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
                logger.warning("PostgreSQL listener lost (%s); reconnecting", exc)
            finally:
                self._listening.clear()
                with contextlib.suppress(*_CONNECTION_ERRORS):
                    await conn.close(timeout=1)

    async def _listen_on(self, conn: asyncpg.Connection) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(self._events_channel, self._on_events)
        await conn.add_listener(self._cancel_channel, self._on_cancel)
        self._listening.set()
        self._wake_all()  # anything stored while the listener was down
        await self._catch_up_cancels()
        await lost.wait()

    def _on_events(self, _conn: object, _pid: int, _channel: str, run_id: str) -> None:
        for woken in self._waiters.get(run_id, ()):
            woken.set()

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for woken in waiters:
                woken.set()

    def _on_cancel(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            request = json.loads(payload)
            run_id, reason = str(request["run_id"]), str(request["reason"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed cancel request on %s", self._cancel_channel)
            return
        if self._hooks is not None:
            self._hooks.deliver_cancel(run_id, reason)

    async def _catch_up_cancels(self) -> None:
        if self._hooks is None:
            return
        held = [hot.run_id for hot in self._hooks.held_runs() if not hot.finished]
        if not held:
            return
        async with self._translated():
            rows = await self._pool.fetch(self._sql.pending_cancels, held)
        for run_id, reason in rows:
            self._hooks.deliver_cancel(run_id, reason)

    # --- leases and the runs of dead processes ---

    async def _renew_lease(self) -> None:
        async with self._translated():
            await self._pool.execute(self._sql.renew_lease, self.owner_id, self._lease_s)
        if self._lease_held_since is None:
            self._lease_held_since = time.monotonic()

    async def _keep_lease(self) -> None:
        """Renews the lease every `lease_s / 3`; every `lease_s`, sweeps dead processes'
        runs (once the lease has held for a whole `lease_s`)."""
        last_sweep = time.monotonic()
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._renew_lease()
            except ConnectionError:
                self._lease_held_since = None
                logger.warning("renewing the run log's lease failed", exc_info=True)
                continue
            if time.monotonic() - last_sweep >= self._lease_s and self._judges_leases():
                last_sweep = time.monotonic()
                await self._sweep()

    def _judges_leases(self) -> bool:
        since = self._lease_held_since
        return since is not None and time.monotonic() - since >= self._lease_s

    async def _sweep(self) -> None:
        held = [hot.run_id for hot in self._hooks.held_runs()] if self._hooks else []
        try:
            ended = await self.interrupt_left(held)
            async with self._translated():
                await self._pool.execute(self._sql.forget_reservations)
                await self._pool.execute(self._sql.forget_leases)
        except Exception:
            logger.exception("ending the runs of dead processes failed")
            return
        if ended:
            logger.warning("ended %d runs of dead processes: %s", len(ended), ended)

    async def interrupt_left(self, held: Collection[str]) -> list[str]:
        """Ends the running runs whose owner's lease is gone, and this process's own
        runs that it does not hold."""
        async with self._translated():
            rows = await self._pool.fetch(self._sql.left, self.owner_id, list(held))
        ended = []
        for row in rows:
            run_id = await self._interrupt(RunRecord.model_validate_json(row[0]))
            if run_id is not None:
                ended.append(run_id)
        return ended

    async def _interrupt(self, record: RunRecord) -> str | None:
        """Appends `run.failed` (interrupted) unless the run moved on meanwhile."""
        event, ended = interruption(record, last_seq=record.last_seq)

        async def end(conn: asyncpg.Connection) -> str | None:
            status = await conn.execute(
                self._sql.end_run,
                record.run_id,
                ended.model_dump_json(),
                ended.status.value,
                ended.ended_at,
            )
            if status != "UPDATE 1":
                return None
            await conn.execute(
                self._sql.insert_events, [event.run_id], [event.seq], [event.model_dump_json()]
            )
            await conn.execute(self._sql.notify, self._events_channel, [record.run_id])
            return record.run_id

        return await self._run(end)

    # --- retention ---

    async def prune(self, retention: Retention, *, now: float, held: Collection[str]) -> int:
        ended_before = retention.ended_before(now)
        if ended_before is None:
            return 0
        waited_before = retention.waited_before(now)
        pruned = 0
        while True:

            async def batch(conn: asyncpg.Connection) -> list[Any]:
                rows = await conn.fetch(
                    self._sql.expired, ended_before, waited_before, list(held), PRUNE_RUNS
                )
                doomed = [row[0] for row in rows]
                for statement in self._sql.delete_runs:
                    await conn.execute(statement, doomed)
                return doomed

            doomed = await self._run(batch)
            pruned += len(doomed)
            if len(doomed) < PRUNE_RUNS:
                return pruned

    async def ping(self) -> None:
        async with self._translated():
            await self._pool.fetchval("SELECT 1")
