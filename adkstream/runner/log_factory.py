"""Opens the run log the settings ask for: Redis Streams when a URL is set, else SQLite.

The backends are imported here only when chosen, so a process that runs on SQLite
never imports the Redis client (and the other way round).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from adkstream.runner.log import EventLog

SQLITE_FILE = "runs.db"


async def open_log(
    *, data_dir: Path, redis_url: str | None, redis_prefix: str = "adkstream"
) -> EventLog:
    """Opens the event log: `RedisLog` on `redis_url` if given, else `SqliteLog`.

    Args:
        data_dir: where the embedded default keeps `runs.db` (created if missing).
        redis_url: `redis://…` of the shared log of several replicas, or None.
        redis_prefix: the key prefix in Redis (deployments sharing one Redis differ).

    Returns:
        The opened log; the caller closes it (`await log.close()`).

    Raises:
        redis.exceptions.RedisError: Redis cannot be reached.
        OSError, sqlite3.Error: the SQLite file cannot be created or opened.
    """
    if redis_url:
        from adkstream.runner.redis_log import RedisLog

        return await RedisLog.open(redis_url, prefix=redis_prefix)
    from adkstream.runner.sqlite_log import SqliteLog

    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    return await SqliteLog.open(data_dir / SQLITE_FILE)
