"""Event logs on each storage backend, opened the way tests need them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adkstream.runner.log import EventLog
from adkstream.runner.storage_postgres import PostgresStorage
from adkstream.runner.storage_redis import RedisStorage
from adkstream.runner.storage_sqlite import SqliteStorage


async def sqlite_log(path: Path) -> EventLog:
    """A log on the SQLite file at `path` (its directory must exist)."""
    return EventLog(await SqliteStorage.open(path))


async def redis_log(url: str, **options: Any) -> EventLog:
    """A log on Redis at `url`; `options` go to `RedisStorage.open`."""
    return EventLog(await RedisStorage.open(url, **options))


async def postgres_log(url: str, **options: Any) -> EventLog:
    """A log on PostgreSQL at `url`; `options` go to `PostgresStorage.open`."""
    return EventLog(await PostgresStorage.open(url, **options))
