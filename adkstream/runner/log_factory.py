"""Opens the run log the settings ask for: Redis Streams when a URL is set, else SQLite.

The backends are imported here only when chosen, so a process that runs on SQLite
never imports the Redis client (and the other way round).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from adkstream.runner.log import EventLog
from adkstream.runner.retention import Retention

SQLITE_FILE = "runs.db"


async def open_log(
    *,
    data_dir: Path,
    redis_url: str | None,
    redis_prefix: str = "adkstream",
    redis_lease_s: float = 5.0,
    retention: Retention | None = None,
) -> EventLog:
    """Opens the event log: `RedisLog` on `redis_url` if given, else `SqliteLog`.

    Args:
        data_dir: where the embedded default keeps `runs.db` (created if missing).
        redis_url: `redis://…` of the shared log of several replicas, or None.
        redis_prefix: the key prefix in Redis (deployments sharing one Redis differ).
        redis_lease_s: how long a process's lease in Redis lasts: a process that died
            has its runs ended this long after its last refresh (and a few seconds more).
        retention: how long runs are kept (default: `Retention()`). Redis expires them
            by itself; the SQLite log is pruned by the host's `Pruner`.

    Returns:
        The opened log; the caller closes it (`await log.close()`).

    Raises:
        redis.exceptions.RedisError: Redis cannot be reached.
        OSError, sqlite3.Error: the SQLite file cannot be created or opened.
    """
    if redis_url:
        from adkstream.runner.redis_log import RedisLog

        retention = retention or Retention()
        return await RedisLog.open(
            redis_url,
            prefix=redis_prefix,
            ttl_s=retention.runs_s,
            waiting_ttl_s=retention.waiting_s,
            lease_s=redis_lease_s,
            sweep_s=redis_lease_s,
        )
    from adkstream.runner.sqlite_log import SqliteLog

    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    return await SqliteLog.open(data_dir / SQLITE_FILE)
