"""Concurrent runs per user (`ADKSTREAM_MAX_RUNS_PER_USER`): a slot per running run.

In memory for one process; in Redis (a sorted set per user, scored by expiry) when the
log is in Redis, so the limit holds across replicas. A slot is freed when its run ends,
however it ends; a replica that dies without freeing its slots loses them after
`ttl_s` (the longest a run may last, plus a margin).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from adkstream.runner.redis_pool import redis_client


class RunSlots(ABC):
    """`acquire` a slot before a run starts, `release` it when the run ends."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    @abstractmethod
    async def acquire(self, user: str, run_id: str) -> bool:
        """Takes a slot for `run_id`; False when `user` already has `limit` runs."""

    @abstractmethod
    async def release(self, user: str, run_id: str) -> None: ...

    async def close(self) -> None:
        return None


class MemorySlots(RunSlots):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._runs: dict[str, set[str]] = {}

    async def acquire(self, user: str, run_id: str) -> bool:
        runs = self._runs.setdefault(user, set())
        if len(runs) >= self.limit:
            return False
        runs.add(run_id)
        return True

    async def release(self, user: str, run_id: str) -> None:
        runs = self._runs.get(user)
        if runs is not None:
            runs.discard(run_id)
            if not runs:
                del self._runs[user]


# Drop expired slots, then take one if there is room: atomic in Redis.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisSlots(RunSlots):
    def __init__(self, url: str, limit: int, *, prefix: str, ttl_s: float) -> None:
        super().__init__(limit)
        self._redis = redis_client(url)
        self._prefix = prefix
        self._ttl_s = ttl_s
        self._acquire = self._redis.register_script(_ACQUIRE)

    def _key(self, user: str) -> str:
        return f"{self._prefix}:slots:{user}"

    async def acquire(self, user: str, run_id: str) -> bool:
        now = time.time()
        taken = await self._acquire(
            keys=[self._key(user)],
            args=[now, now + self._ttl_s, self.limit, run_id, int(self._ttl_s * 1000)],
        )
        return bool(taken)

    async def release(self, user: str, run_id: str) -> None:
        await self._redis.zrem(self._key(user), run_id)

    async def close(self) -> None:
        await self._redis.aclose()
