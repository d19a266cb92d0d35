"""The scale-out run log: Redis Streams, so any replica can replay and follow any run.

Keys, under a prefix (default `adkstream`):

    {prefix}:run:{run_id}            hash: record (RunRecord JSON), status, owner
    {prefix}:run:{run_id}:events     stream: one entry per event, id `<seq>-0`, field `event`
    {prefix}:session:{sid}:runs      sorted set: run ids by created_at (`list_runs`)
    {prefix}:running                 set: ids of running runs (what recovery scans)
    {prefix}:owner:{owner_id}        string with a TTL: the lease of a live process
    {prefix}:cancel                  pub/sub channel: cancel requests, to every replica

Design decisions:
- The seq is the stream entry id, so "events after N" is `XRANGE (N` and a replica
  that does not drive a run follows it live with `XREAD BLOCK` from `N-0`: no polling.
  A blocked XREAD holds a pooled connection while it waits (one per such follower).
- Each run's batch is written by one Lua script: it appends only the seqs above the
  stream's top (a retried batch is harmless) and only while the run is `running` (a
  run another replica ended as interrupted stays ended, even if its owner was only
  stalled and comes back). The batches of a flush go in one pipeline.
- Each process holds a lease, refreshed every `lease_s / 3`; its runs record it as
  owner. `recover_interrupted` (at startup, and every `sweep_s` in the background) ends
  the running runs whose owner's lease is gone.
- Finished runs expire after `ttl_s` (default 7 days).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import NoScriptError, RedisError

from adkstream.events import StreamEvent, parse_event
from adkstream.runner.log import EventLog, RunRecord, interruption
from adkstream.runner.redis_pool import redis_client

logger = logging.getLogger("adkstream.log")

DEFAULT_TTL_S = 7 * 24 * 3600

# KEYS: run hash, events stream, running set, session runs.
# ARGV: run_id, record JSON, status, expected top seq ('' for any), ttl_s,
#       then seq, event JSON pairs. Returns 1 if written, 0 if the run is not running
#       (or its top is not the expected one).
_APPEND_SCRIPT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
local top = 0
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then top = tonumber(string.match(last[1][1], '^%d+')) end
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= top then return 0 end
for i = 6, #ARGV, 2 do
  if tonumber(ARGV[i]) > top then
    redis.call('XADD', KEYS[2], ARGV[i] .. '-0', 'event', ARGV[i + 1])
  end
end
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'status', ARGV[3])
if ARGV[3] ~= 'running' then
  redis.call('SREM', KEYS[3], ARGV[1])
  local ttl = tonumber(ARGV[5])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('EXPIRE', KEYS[2], ttl)
    redis.call('EXPIRE', KEYS[4], ttl)
  end
end
return 1
"""


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class RedisLog(EventLog):
    """The run log in Redis Streams; open it with `await RedisLog.open(url)`.

    Args:
        client: a client with `decode_responses=False`.
        prefix: the key prefix; replicas sharing one prefix share runs.
        ttl_s: how long a finished run is kept (None: for ever).
        lease_s: how long this process's lease lasts without a refresh.
        sweep_s: how often to end runs of dead processes (None: only when asked).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "adkstream",
        ttl_s: int | None = DEFAULT_TTL_S,
        lease_s: float = 15.0,
        sweep_s: float | None = 30.0,
    ) -> None:
        super().__init__()
        self._redis = client
        self.prefix = prefix
        self.owner_id = uuid.uuid4().hex
        self._ttl_s = ttl_s or 0
        self._lease_s = lease_s
        self._sweep_s = sweep_s
        self._append_sha = ""
        self._leased = False
        self._pubsub = client.pubsub()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        prefix: str = "adkstream",
        ttl_s: int | None = DEFAULT_TTL_S,
        lease_s: float = 15.0,
        sweep_s: float | None = 30.0,
    ) -> RedisLog:
        """Connects, takes this process's lease and subscribes to cancel requests.

        Raises:
            redis.exceptions.RedisError: Redis cannot be reached.
        """
        client = redis_client(url)
        log = cls(client, prefix=prefix, ttl_s=ttl_s, lease_s=lease_s, sweep_s=sweep_s)
        try:
            await log._start()
        except BaseException:
            await log._disconnect()
            raise
        return log

    async def _start(self) -> None:
        self._append_sha = await self._redis.script_load(_APPEND_SCRIPT)
        await self._refresh_lease()
        await self._pubsub.subscribe(self._cancel_channel)
        # Wait for the confirmation: a request published after `open` returns reaches us.
        async with asyncio.timeout(10):
            while (await self._pubsub.get_message(timeout=1.0) or {}).get("type") != "subscribe":
                pass
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._keep_lease(), name="adkstream-log-lease"),
            loop.create_task(self._listen_for_cancels(), name="adkstream-log-cancels"),
        ]
        if self._sweep_s is not None:
            self._tasks.append(
                loop.create_task(self._sweep(self._sweep_s), name="adkstream-log-sweep")
            )

    async def close(self) -> None:
        """Flushes pending events, gives up the lease and closes the client."""
        try:
            await super().close()
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks = []
            with contextlib.suppress(RedisError, OSError):
                # Runs still running here are now left: other replicas may end them.
                await self._redis.delete(self._lease_key(self.owner_id))
            await self._disconnect()

    async def _disconnect(self) -> None:
        try:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # older redis-py: untyped
        finally:
            await self._redis.aclose()

    # --- keys ---

    def _run_key(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    def _events_key(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}:events"

    def _session_key(self, session_id: str) -> str:
        return f"{self.prefix}:session:{session_id}:runs"

    def _lease_key(self, owner_id: str) -> str:
        return f"{self.prefix}:owner:{owner_id}"

    @property
    def _running_key(self) -> str:
        return f"{self.prefix}:running"

    @property
    def _cancel_channel(self) -> str:
        return f"{self.prefix}:cancel"

    # --- runs and events ---

    async def list_runs(self, session_id: str) -> list[RunRecord]:
        session_key = self._session_key(session_id)
        run_ids = [_text(raw) for raw in await self._redis.zrange(session_key, 0, -1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hget(self._run_key(run_id), "record")
            raws = await pipe.execute()
        records = []
        gone = []
        for run_id, raw in zip(run_ids, raws, strict=True):
            hot = self._hot.get(run_id)
            if hot is not None:
                records.append(hot.record)
            elif raw is None:
                gone.append(run_id)  # expired
            else:
                records.append(RunRecord.model_validate_json(raw))
        if gone:
            await self._redis.zrem(session_key, *gone)
        return records

    async def _store_run(self, record: RunRecord) -> None:
        # One transaction: recovery never sees a run in the running set without its owner.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self._run_key(record.run_id),
                mapping={
                    "record": record.model_dump_json(),
                    "status": record.status.value,
                    "owner": self.owner_id,
                },
            )
            pipe.zadd(self._session_key(record.session_id), {record.run_id: record.created_at})
            pipe.sadd(self._running_key, record.run_id)
            await pipe.execute()

    async def _store_events(
        self, batches: Sequence[tuple[RunRecord, Sequence[StreamEvent]]]
    ) -> None:
        written = await self._append([(record, events, None) for record, events in batches])
        refused = [
            record.run_id for (record, _), ok in zip(batches, written, strict=True) if not ok
        ]
        if refused:
            # Another replica ended these runs while this process held them (its lease
            # lapsed): what they produced since is dropped, the `interrupted` end stands.
            logger.error("events of runs %s dropped: they were ended as interrupted", refused)

    async def _append(
        self, writes: Sequence[tuple[RunRecord, Sequence[StreamEvent], int | None]]
    ) -> list[bool]:
        """Runs the append script once per (record, events, expected top), in one pipeline."""
        for attempt in range(2):
            async with self._redis.pipeline(transaction=False) as pipe:
                for record, events, expect_top in writes:
                    args: list[str | int] = [
                        record.run_id,
                        record.model_dump_json(),
                        record.status.value,
                        "" if expect_top is None else expect_top,
                        self._ttl_s,
                    ]
                    for event in events:
                        args += (event.seq, event.model_dump_json())
                    keys = (
                        self._run_key(record.run_id),
                        self._events_key(record.run_id),
                        self._running_key,
                        self._session_key(record.session_id),
                    )
                    pipe.evalsha(self._append_sha, len(keys), *keys, *args)
                results: list[Any] = await pipe.execute(raise_on_error=False)
            if attempt == 0 and any(isinstance(r, NoScriptError) for r in results):
                # Redis restarted (or flushed its scripts); the script is idempotent.
                self._append_sha = await self._redis.script_load(_APPEND_SCRIPT)
                continue
            for result in results:
                if isinstance(result, Exception):
                    raise result
            break
        return [result == 1 for result in results]

    async def _load_run(self, run_id: str) -> RunRecord | None:
        raw = await self._redis.hget(self._run_key(run_id), "record")
        return None if raw is None else RunRecord.model_validate_json(raw)

    async def _claim(self, run_id: str, by: str) -> str:
        # HSETNX on the run's own hash: the claim lives and expires with the run.
        key = self._run_key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "answered_by", by)
            pipe.hget(key, "answered_by")
            _, holder = await pipe.execute()
        return _text(holder)

    async def _claimed(self, run_id: str) -> str | None:
        raw = await self._redis.hget(self._run_key(run_id), "answered_by")
        return None if raw is None else _text(raw)

    async def _load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        entries = await self._redis.xrange(
            self._events_key(run_id), min=f"({after}-0", max="+", count=limit
        )
        return [parse_event(fields[b"event"]) for _, fields in entries or () if fields]

    async def _wait_stored(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        # XREAD wakes on any entry after `after`, including one added before the call.
        block_ms = max(int(timeout * 1000), 1)
        await self._redis.xread({self._events_key(run_id): f"{after}-0"}, count=1, block=block_ms)

    # --- runs of dead processes ---

    async def recover_interrupted(self) -> list[str]:
        """Ends the running runs whose owner's lease is gone (or that no one here drives)."""
        run_ids = [_text(raw) for raw in await self._redis.smembers(self._running_key)]
        run_ids = [run_id for run_id in run_ids if run_id not in self._hot]
        if not run_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hmget(self._run_key(run_id), ["status", "owner"])
            rows: list[list[bytes | None]] = await pipe.execute()
        stale = [
            run_id
            for run_id, (status, _) in zip(run_ids, rows, strict=True)
            if status != b"running"
        ]
        if stale:
            await self._redis.srem(self._running_key, *stale)
        owners = {  # a record without an owner is nobody's: "" never holds a lease
            run_id: (owner or b"").decode()
            for run_id, (status, owner) in zip(run_ids, rows, strict=True)
            if status == b"running"
        }
        alive = await self._live_owners(set(owners.values()) - {self.owner_id, ""})
        left = [run_id for run_id, owner in owners.items() if owner not in alive]
        return await self._interrupt(left)

    async def _live_owners(self, owners: set[str]) -> set[str]:
        ordered = sorted(owners)
        async with self._redis.pipeline(transaction=False) as pipe:
            for owner in ordered:
                pipe.exists(self._lease_key(owner))
            found = await pipe.execute()
        return {owner for owner, exists in zip(ordered, found, strict=True) if exists}

    async def _interrupt(self, run_ids: list[str]) -> list[str]:
        """Appends `run.failed` (interrupted) to each run, unless it moved on meanwhile."""
        if not run_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hget(self._run_key(run_id), "record")
                pipe.xrevrange(self._events_key(run_id), count=1)
            found = await pipe.execute()
        writes: list[tuple[RunRecord, Sequence[StreamEvent], int | None]] = []
        for raw, last in zip(found[::2], found[1::2], strict=True):
            if raw is None:
                continue
            top = int(last[0][0].split(b"-")[0]) if last else 0
            event, ended = interruption(RunRecord.model_validate_json(raw), last_seq=top)
            writes.append((ended, [event], top))
        written = await self._append(writes)
        return [record.run_id for (record, _, _), ok in zip(writes, written, strict=True) if ok]

    async def _refresh_lease(self) -> None:
        previous = await self._redis.set(
            self._lease_key(self.owner_id), b"1", px=int(self._lease_s * 1000), get=True
        )
        if previous is None and self._leased:
            logger.error("this process's lease lapsed: other replicas may have ended its runs")
        self._leased = True

    async def _keep_lease(self) -> None:
        """Refreshes the lease every `lease_s / 3`."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._refresh_lease()
            except (RedisError, OSError):
                logger.warning("refreshing the run log's lease failed", exc_info=True)

    async def _sweep(self, every_s: float) -> None:
        """Ends the runs of dead processes every `every_s` (its own task: a long sweep
        never delays the lease)."""
        while True:
            await asyncio.sleep(every_s)
            try:
                ended = await self.recover_interrupted()
            except Exception:
                logger.exception("ending the runs of dead processes failed")
                continue
            if ended:
                logger.warning("ended %d runs of dead processes: %s", len(ended), ended)

    # --- cancel requests ---

    async def request_cancel(self, run_id: str, reason: str) -> None:
        """Publishes the request; every replica (this one too) hands it to its callbacks."""
        payload = json.dumps({"run_id": run_id, "reason": reason})
        await self._redis.publish(self._cancel_channel, payload)

    async def _listen_for_cancels(self) -> None:
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message["type"] == "message":
                        self._on_cancel_message(message["data"])
            except (RedisError, OSError):
                logger.warning("cancel subscription lost; resubscribing", exc_info=True)
            # `listen` reconnects and resubscribes by itself; this only paces retries.
            await asyncio.sleep(1.0)

    def _on_cancel_message(self, data: bytes) -> None:
        try:
            request = json.loads(data)
            run_id, reason = str(request["run_id"]), str(request["reason"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed cancel request on %s", self._cancel_channel)
            return
        self._deliver_cancel(run_id, reason)
