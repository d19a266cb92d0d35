"""An aiosqlite-shaped connection that runs SQLite in the event loop's own thread.

aiosqlite runs each statement on a thread of its own and hands the result back through
the event loop: every statement costs a trip around the loop. Under load (hundreds of
runs streaming) one trip is many milliseconds, and a session operation holding the one
writer connection for a dozen statements holds it for all of those trips: the runs queue
behind each other, and time to first token grows with the number of runs. On a local
WAL database with `synchronous=NORMAL` a statement takes microseconds (no fsync on
commit), so running it inline is cheaper than the trip, and an operation never yields
the loop while it holds the connection.

What ADK's `SqliteSessionService` uses is here: `execute` (awaited, or used as an
async context manager), `execute_fetchall`, `executescript`, `commit`, `rollback`,
`close`, `row_factory`, and cursors with `fetchone`, `fetchall` and `async for`; and for
adkstream's own files, `use_wal` and `transaction`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterable
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from adkstream.tasks import cancel_and_wait

logger = logging.getLogger("adkstream.storage")

T = TypeVar("T")

WAL_LIMIT_BYTES = 4 << 20
"""The most WAL a file keeps between checkpoints, about (see `WalCheckpointer`)."""
TRUNCATE_BUSY_MS = 250
"""How long a truncating checkpoint waits for another connection's readers (the writer
waits for it meanwhile); a checkpoint that could not truncate tries again next time."""


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    async def close(self) -> None:
        self._cursor.close()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid


class _Execution:
    """What `execute` returns: awaitable, or an async context manager, like aiosqlite's."""

    def __init__(self, cursor: InlineCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._done().__await__()

    async def _done(self) -> InlineCursor:
        return self._cursor

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._cursor.close()


class InlineConnection:
    """sqlite3 behind aiosqlite's coroutine API, executed without leaving the loop."""

    def __init__(
        self,
        path: str,
        *,
        uri: bool = False,
        isolation_level: Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None = "DEFERRED",
    ) -> None:
        # The connection never leaves the loop's thread.
        self._conn = sqlite3.connect(path, uri=uri, isolation_level=isolation_level)

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._conn.row_factory = factory

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Execution:
        return _Execution(InlineCursor(self._conn.execute(sql, tuple(parameters))))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        rows: list[Any] = self._conn.execute(sql, tuple(parameters)).fetchall()
        return rows

    async def executescript(self, script: str) -> None:
        self._conn.executescript(script)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    async def use_wal(self, *, busy_timeout_ms: int) -> None:
        """WAL with `synchronous=NORMAL` and no automatic checkpoints: run a
        `WalCheckpointer` on the file (see there). When the WAL starts over, the first
        commit cuts the file down to WAL_LIMIT_BYTES (`journal_size_limit`)."""
        await self.execute("PRAGMA journal_mode = WAL")
        await self.execute("PRAGMA synchronous = NORMAL")
        await self.execute("PRAGMA wal_autocheckpoint = 0")
        await self.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")
        await self.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")

    async def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `work` inside `BEGIN IMMEDIATE` … `COMMIT` (for `isolation_level=None`)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return result

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class WalCheckpointer:
    """Checkpoints a WAL database from a worker thread, so that no fsync blocks the loop,
    and keeps the WAL bounded.

    A connection that commits also runs SQLite's automatic checkpoints, which copy the
    WAL into the database and, with `synchronous=NORMAL`, fsync both: inline in the
    event loop that stalled every stream of the process (measured: single commits of
    40-50 ms every few seconds at idle, where a commit takes 0.3 ms). The inline
    connections therefore set `PRAGMA wal_autocheckpoint = 0`, and this
    runs a PASSIVE checkpoint (it never blocks readers or the writer) every
    `interval_s` on a connection of its own, in a thread.

    A PASSIVE checkpoint alone never bounds the WAL under steady load: SQLite starts the
    WAL over only when a write begins with every frame copied, and with commits every few
    milliseconds one always lands while a checkpoint runs (measured: 550 MB of WAL after
    6,381 runs, beside a database of a few MB). So once the WAL holds more than
    `limit_bytes`, a TRUNCATE checkpoint follows the PASSIVE one: it copies the few frames
    committed since and empties the WAL file. It holds SQLite's write lock meanwhile, so
    it first takes `writer_turn`, the asyncio lock every write transaction of the file
    takes too: a write waits its turn without holding up the loop (measured: 21 ms
    median, 35 ms at most, at 240 runs/s on two cores), where a busy-wait on SQLite's
    lock would stall it. The WAL stays under about `limit_bytes` plus what is written in
    one `interval_s`.
    """

    def __init__(
        self,
        path: str,
        *,
        uri: bool = False,
        interval_s: float = 1.0,
        writer_turn: asyncio.Lock | None = None,
        limit_bytes: int | None = None,
    ) -> None:
        self._path = path
        self._uri = uri
        self.interval_s = interval_s
        self.writer_turn = writer_turn or asyncio.Lock()
        """Every write transaction of the file holds it (see the class docstring)."""
        self.limit_bytes = WAL_LIMIT_BYTES if limit_bytes is None else limit_bytes
        self.truncations = 0
        """How many TRUNCATE checkpoints emptied the WAL (for tests and benchmarks)."""
        self._conn: sqlite3.Connection | None = None
        self._frame_bytes = 0
        self._task: asyncio.Task[None] | None = None
        # A checkpoint whose awaiting task was cancelled still runs in its thread: the
        # connection is closed only when it is done (closing it under a running
        # statement crashed the interpreter: a segmentation fault in a test run).
        self._using = threading.Lock()
        self._closed = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="adkstream-wal-checkpointer"
            )

    async def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, WAL frames, frames checkpointed)."""
        return await asyncio.to_thread(self._checkpoint, "PASSIVE")

    async def truncate(self) -> tuple[int, int, int]:
        """One TRUNCATE checkpoint in the writer's turn: (busy, WAL frames, frames
        checkpointed); busy 0 means the WAL file is empty now."""
        async with self.writer_turn:
            work = asyncio.ensure_future(asyncio.to_thread(self._checkpoint, "TRUNCATE"))
            try:
                return await asyncio.shield(work)
            finally:
                # Cancelled: the thread still holds SQLite's write lock; so does the turn.
                if not work.done():
                    await asyncio.wait([work])

    async def step(self) -> None:
        """What runs every `interval_s`: a PASSIVE checkpoint, then a TRUNCATE one if the
        WAL holds more than `limit_bytes`."""
        _, frames, _ = await self.checkpoint()
        if frames * self._frame_bytes > self.limit_bytes:
            busy, _, _ = await self.truncate()
            if not busy:
                self.truncations += 1

    def _checkpoint(self, mode: str) -> tuple[int, int, int]:
        with self._using:
            if self._closed:
                return 0, 0, 0
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._path, uri=self._uri, isolation_level=None, check_same_thread=False
                )
                self._conn.execute(f"PRAGMA busy_timeout = {TRUNCATE_BUSY_MS}")
                (page_size,) = self._conn.execute("PRAGMA page_size").fetchone()
                self._frame_bytes = page_size + 24  # a WAL frame: its page and a header
            row = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            busy, frames, done = row
            return busy, frames, done

    def _close(self) -> None:
        with self._using:
            self._closed = True
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)  # a period, not a wait for anything
            try:
                await self.step()
            except sqlite3.Error:
                logger.exception("checkpointing %s failed; trying again", self._path)

    async def stop(self) -> None:
        """Stops checkpointing and closes its connection (the last close checkpoints)."""
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await asyncio.to_thread(self._close)
