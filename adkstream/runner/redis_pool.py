"""Redis connection pools that wait for a free connection instead of failing.

redis-py's default pool raises "Too many connections" once 100 commands are in flight at
once; a burst of a few hundred new streams (rate limit, run slot and log writes for each)
reaches that (measured: 4,182 such errors during 500 concurrent streams). A blocking pool
makes the burst queue for a moment instead.

Every connection has a socket timeout: a command whose reply does not come in time raises
`redis.TimeoutError` (Redis hung or unreachable). A blocking command (`XREAD BLOCK`) must
therefore ask Redis to wait for less than that (`block_limit_s`) and be repeated: one
that blocked for the full timeout was cut by it (measured: a follower of another
replica's run was cut off after 5 s without events, with no terminal event).
"""

from __future__ import annotations

import redis.asyncio as redis

POOL_SIZE = 128
"""Connections per pool; followers of another replica's run hold one in XREAD BLOCK."""
POOL_WAIT_S = 30.0
SOCKET_TIMEOUT_S = 5.0
"""How long a command waits for its reply (a `socket_timeout` in the URL wins)."""
SOCKET_CONNECT_TIMEOUT_S = 3.0
"""How long a new connection may take (an unreachable Redis answers 503 after it)."""


def blocking_pool(url: str, *, size: int = POOL_SIZE) -> redis.BlockingConnectionPool:
    return redis.BlockingConnectionPool.from_url(
        url,
        max_connections=size,
        timeout=POOL_WAIT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_CONNECT_TIMEOUT_S,
    )


def redis_client(url: str, *, size: int = POOL_SIZE) -> redis.Redis:
    """A client on its own blocking pool; `aclose()` closes the pool with it."""
    return redis.Redis.from_pool(blocking_pool(url, size=size))


def block_limit_s(client: redis.Redis) -> float | None:
    """The longest a blocking command of `client` may ask Redis to wait: half the socket
    timeout, so that the reply always comes well before the timeout (None: no timeout)."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout", SOCKET_TIMEOUT_S)
    return None if timeout is None else float(timeout) / 2
