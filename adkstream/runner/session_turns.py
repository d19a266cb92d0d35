"""One run at a time per session: the session's turn, held by the run that has it.

Two runs appending to one ADK session at once make ADK's session store refuse the
second's events (`StaleSessionError`, google/adk-python #1049, #1733) and interleave the
history. So a run takes its session's turn before ADK starts and gives it back when it
ends, however it ends. In memory for one process; in Redis when the log is in Redis, so
that the turn holds across replicas.

A turn whose run has ended but was never given back (its process died) is stale: the
next run takes it over (`take_over`), compare-and-set on the holder, once the run log
says that run ended. Redis keys also expire after `ttl_s` (the longest a run may last,
plus a margin), for a holder nobody ever asks about.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from adkstream.runner.redis_pool import redis_client


class SessionTurns(ABC):
    """`take` a session's turn before a run starts, `release` it when the run ends."""

    @abstractmethod
    async def take(self, session_id: str, run_id: str) -> str | None:
        """Gives the turn to `run_id` if nobody has it: None, else the run that has it."""

    @abstractmethod
    async def take_over(self, session_id: str, *, stale: str, run_id: str) -> str | None:
        """Gives the turn to `run_id` if `stale` (an ended run) or nobody has it: None,
        else the run that has it now."""

    @abstractmethod
    async def release(self, session_id: str, run_id: str) -> None:
        """Gives the turn back, if `run_id` has it."""

    async def close(self) -> None:
        return None


class MemoryTurns(SessionTurns):
    def __init__(self) -> None:
        self._holders: dict[str, str] = {}

    async def take(self, session_id: str, run_id: str) -> str | None:
        holder = self._holders.setdefault(session_id, run_id)
        return None if holder == run_id else holder

    async def take_over(self, session_id: str, *, stale: str, run_id: str) -> str | None:
        holder = self._holders.get(session_id)
        if holder is None or holder == stale:
            self._holders[session_id] = run_id
            return None
        return None if holder == run_id else holder

    async def release(self, session_id: str, run_id: str) -> None:
        if self._holders.get(session_id) == run_id:
            del self._holders[session_id]


# KEYS[1] the turn; ARGV: run id, stale holder ('' for none), ttl ms. Atomic in Redis.
_TAKE_OVER = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[2] or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return false
end
return holder
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisTurns(SessionTurns):
    def __init__(self, url: str, *, prefix: str, ttl_s: float) -> None:
        self._redis = redis_client(url)
        self._prefix = prefix
        self._ttl_ms = int(ttl_s * 1000)
        self._take_over = self._redis.register_script(_TAKE_OVER)
        self._release = self._redis.register_script(_RELEASE)

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}:turn:{session_id}"

    async def take(self, session_id: str, run_id: str) -> str | None:
        return await self.take_over(session_id, stale="", run_id=run_id)

    async def take_over(self, session_id: str, *, stale: str, run_id: str) -> str | None:
        holder = await self._take_over(
            keys=[self._key(session_id)], args=[run_id, stale, self._ttl_ms]
        )
        return _text(holder)

    async def release(self, session_id: str, run_id: str) -> None:
        await self._release(keys=[self._key(session_id)], args=[run_id])

    async def close(self) -> None:
        await self._redis.aclose()


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
