"""Per-user request rate (`ADKSTREAM_RATE_LIMIT`, the `limits` syntax such as `60/minute`).

Moving windows in memory, or in Redis when `ADKSTREAM_REDIS_URL` is set so that the limit
holds across replicas.
"""

from __future__ import annotations

import math
import time

import redis.asyncio as redis
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from adkstream.errors import ConfigurationError
from adkstream.runner.redis_pool import blocking_pool


class RequestRate:
    """Checks and counts one request per call; says how long to wait when over."""

    def __init__(
        self, spec: str, *, redis_url: str | None = None, prefix: str = "adkstream"
    ) -> None:
        try:
            self.item: RateLimitItem = parse(spec)
        except ValueError as exc:
            raise ConfigurationError(f"ADKSTREAM_RATE_LIMIT {spec!r}: {exc}") from exc
        self._redis_url = redis_url
        self._prefix = prefix
        self._limiter: MovingWindowRateLimiter | None = None
        self._pool: redis.BlockingConnectionPool | None = None

    def _storage(self) -> Storage:
        if self._redis_url is None:
            return MemoryStorage()
        # Our own pool, so that `close` can close its connections.
        self._pool = blocking_pool(self._redis_url)
        return RedisStorage(
            "async+" + self._redis_url,
            implementation="redispy",
            key_prefix=f"{self._prefix}:ratelimit",
            connection_pool=self._pool,  # type: ignore[arg-type]
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        self._limiter = None

    async def hit(self, user: str) -> float | None:
        """Counts a request of `user`; None if allowed, else the seconds to wait."""
        if self._limiter is None:
            self._limiter = MovingWindowRateLimiter(self._storage())
        if await self._limiter.hit(self.item, user):
            return None
        stats = await self._limiter.get_window_stats(self.item, user)
        return max(1.0, math.ceil(stats.reset_time - time.time()))
