"""An aiosqlite-shaped connection that runs SQLite in the event loop's own thread.

aiosqlite runs each statement on a thread of its own and hands the result back through
the event loop: every statement costs a trip around the loop. Under load (hundreds of
runs streaming) one trip is many milliseconds, and a session operation holding the one
writer connection for a dozen statements holds it for all of those trips: the runs queue
behind each other, and time to first token grows with the number of runs. On a local
WAL database with `synchronous=NORMAL` a statement takes microseconds (no fsync on
commit), so running it inline is cheaper than the trip, and an operation never yields
the loop while it holds the connection.

Only what ADK's `SqliteSessionService` uses is here: `execute` (awaited, or used as an
async context manager), `execute_fetchall`, `executescript`, `commit`, `rollback`,
`close`, `row_factory`, and cursors with `fetchone`, `fetchall` and `async for`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Generator, Iterable
from types import TracebackType
from typing import Any, Literal, Self


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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
