"""Redis connection pools that wait for a free connection instead of failing.

redis-py's default pool raises "Too many connections" once 100 commands are in flight at
once; a burst of a few hundred new streams (rate limit, run slot and log writes for each)
reaches that (measured: 4,182 such errors during 500 concurrent streams). A blocking pool
makes the burst queue for a moment instead.
"""

from __future__ import annotations

import redis.asyncio as redis

POOL_SIZE = 128
"""Connections per pool; followers of another replica's run hold one in XREAD BLOCK."""
POOL_WAIT_S = 30.0


def blocking_pool(url: str, *, size: int = POOL_SIZE) -> redis.BlockingConnectionPool:
    return redis.BlockingConnectionPool.from_url(url, max_connections=size, timeout=POOL_WAIT_S)


def redis_client(url: str, *, size: int = POOL_SIZE) -> redis.Redis:
    """A client on its own blocking pool; `aclose()` closes the pool with it."""
    return redis.Redis.from_pool(blocking_pool(url, size=size))
