"""Per-user request rate (`ADKSTREAM_RATE_LIMIT`, the `limits` syntax such as `60/minute`).

Moving windows (at most N requests in any period) in memory, or in Redis when
`ADKSTREAM_REDIS_URL` is set so that the limit holds across replicas.

The in-memory window is our own (`MovingWindows`), not `limits`' MemoryStorage: that one
takes a per-key lock around a thread hop in its expiry task and inserts at the front
of a list on every hit, so under load one user's requests queued behind each other for
seconds (measured: 200 concurrent requests waited up to 2.4 s in the limiter).

While Redis is out of reach the limit holds per process instead of across replicas:
the in-memory window stands in (for REDIS_RETRY_S after each failure, then Redis is
asked again). Neither closed (every request refused: a Redis outage would take down
routes that do not need Redis, such as the agent list) nor open (no limit at all).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable

import redis.asyncio as redis
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

from adkstream.errors import ConfigurationError
from adkstream.runner.redis_pool import blocking_pool

logger = logging.getLogger("adkstream.api")

REDIS_RETRY_S = 5.0
"""After Redis failed a hit, how long the in-memory window stands in before Redis is
asked again (an unreachable Redis would otherwise cost every request a connect timeout)."""


class MovingWindows:
    """At most `amount` hits per key in any `period_s`; a hit over it says how long to wait.

    Each key keeps the times of its hits within the last period (at most `amount`);
    keys idle for a period are dropped once a period.
    """

    def __init__(
        self, amount: int, period_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.amount = amount
        self.period_s = period_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._next_sweep = clock() + period_s

    def hit(self, key: str) -> float | None:
        """Counts a hit of `key`; None if allowed, else the seconds until one would be."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        horizon = now - self.period_s
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.amount:
            return hits[0] - horizon
        hits.append(now)
        return None

    def _sweep(self, now: float) -> None:
        horizon = now - self.period_s
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]
        self._next_sweep = now + self.period_s


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
        self._memory = MovingWindows(self.item.amount, self.item.get_expiry())
        self._redis_down_until: float | None = None

    def _redis_storage(self, url: str) -> Storage:
        # Our own pool, so that `close` can close its connections.
        self._pool = blocking_pool(url)
        return RedisStorage(
            "async+" + url,
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
        if self._redis_url is None or self._redis_down():
            wait_s = self._memory.hit(user)
        else:
            try:
                wait_s = await self._redis_hit(self._redis_url, user)
            except (RedisError, StorageError, OSError):
                if self._redis_down_until is None:
                    logger.warning("rate limit: Redis unreachable; limiting per process")
                self._redis_down_until = time.monotonic() + REDIS_RETRY_S
                wait_s = self._memory.hit(user)
        return None if wait_s is None else max(1.0, math.ceil(wait_s))

    def _redis_down(self) -> bool:
        """Whether the in-memory window stands in for Redis now (see the module docstring)."""
        until = self._redis_down_until
        if until is None:
            return False
        if time.monotonic() < until:
            return True
        self._redis_down_until = None
        return False

    async def _redis_hit(self, url: str, user: str) -> float | None:
        if self._limiter is None:
            self._limiter = MovingWindowRateLimiter(self._redis_storage(url))
        if await self._limiter.hit(self.item, user):
            return None
        stats = await self._limiter.get_window_stats(self.item, user)
        return stats.reset_time - time.time()
