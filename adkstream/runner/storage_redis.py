"""Scale-out run storage: Redis Streams, so any replica can replay and follow any run.

Keys, under a prefix (default `adkstream`):

    {prefix}:run:{run_id}            hash: record (RunRecord JSON), status, owner, cancel
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
- Each process holds a lease (`lease_s`, 5 s by default), refreshed every `lease_s / 3`;
  its runs record it as owner. The running runs whose owner's lease is gone are ended
  with `run.failed` `interrupted`: by `recover_interrupted` (at startup, and every
  `sweep_s` in the background), and by a follower of such a run as soon as it finds it
  silent. A process judges other processes' leases only once its own has held for a
  whole `lease_s`: after Redis was out of reach, every live process has had the time
  to renew its own before anyone takes it for dead.
- A blocked XREAD asks Redis to wait for at most half the client's socket timeout
  (`block_limit_s`), and is repeated: one that waited as long as the timeout was cut
  by it (`redis.TimeoutError` in a follower of a run silent for 5 s).
- Redis losing data (flushed, or restarted without persistence) is noticed by a run's
  owner when a write of the run is refused because its hash is gone, or when its own
  lease lapsed and it looks at its runs: it writes back what it holds of each lost run
  (its record and every event: a run's hot copy starts at its first event), and the
  run ends with `run.failed` `storage_lost` (`on_run_lost`). A follower on another
  replica that finds the run gone ends its stream with that error itself (log.py).
- `prune` deletes nothing: Redis expires runs by itself (see below).
- Retention (see retention.py) is Redis's own expiry, set as a run ends: a finished
  run's hash and stream expire `ttl_s` after its end (ADKSTREAM_RUN_RETENTION_S); a run
  that waits for answers after `waiting_ttl_s` (the longer of the retention and the
  pause expiry), or never while unanswered when there is no pause expiry; an answer
  (its claim) sets them to expire `ttl_s` later. A session's run index lives as long as
  the longest-kept of its runs: an end never shortens its expiry, and puts the run back
  in it if the index expired while the run went on. Streams are never trimmed: a run
  kept is replayed whole (`Last-Event-ID` may name any seq), and it goes whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Collection, Sequence
from typing import Any

import redis.asyncio as redis
from redis.exceptions import NoScriptError, RedisError

from adkstream.events import StreamEvent, parse_event
from adkstream.runner import failures
from adkstream.runner.redis_pool import block_limit_s, redis_client
from adkstream.runner.retention import Retention
from adkstream.runner.run_record import RunRecord, RunStatus, interruption
from adkstream.runner.storage import Batches, HeldRun, LogHooks, StorageOptions
from adkstream.tasks import cancel_and_wait

logger = logging.getLogger("adkstream.log")

DEFAULT_TTL_S = 7 * 24 * 3600
DEFAULT_LEASE_S = 5.0

# KEYS: run hash, events stream, running set, session runs.
# ARGV: run_id, record JSON, status, expected top seq ('' for any), how long to keep the
#       run once it ended (ms; 0: for ever), then seq, event JSON pairs. Returns 1 if
#       written, 0 if the run is not running (or its top is not the expected one).
# A session index kept "for ever" gets ten years (INDEX_FOREVER_MS): no expiry at all
# (-1) is how a new index looks, which its first run's end sets.
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
  local keep = tonumber(ARGV[5])
  if keep > 0 then
    redis.call('PEXPIRE', KEYS[1], keep)
    redis.call('PEXPIRE', KEYS[2], keep)
  else
    keep = INDEX_FOREVER_MS
  end
  local left = redis.call('PTTL', KEYS[4])
  if left == -2 then
    redis.call('ZADD', KEYS[4], cjson.decode(ARGV[2])['created_at'], ARGV[1])
  end
  if left < keep then
    redis.call('PEXPIRE', KEYS[4], keep)
  end
end
return 1
""".replace("INDEX_FOREVER_MS", str(10 * 365 * 24 * 3600 * 1000))

# KEYS: run hash. ARGV: cancel channel, reason, request JSON. Keeps the request on a
# running run's hash, then publishes it (returns the number of subscribers reached).
_CANCEL_SCRIPT = """
if redis.call('HGET', KEYS[1], 'status') == 'running' then
  redis.call('HSET', KEYS[1], 'cancel', ARGV[2])
end
return redis.call('PUBLISH', ARGV[1], ARGV[3])
"""


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


RESERVATION_MS = 60_000
"""How long a run id reserved for a run about to start stays taken without its record."""


class RedisStorage:
    """Runs in Redis Streams; open it with `await RedisStorage.open(url)`.

    Args:
        client: a client with `decode_responses=False`.
        prefix: the key prefix; replicas sharing one prefix share runs.
        ttl_s: how long a finished run is kept (None: for ever).
        waiting_ttl_s: how long a run waiting for answers is kept (None: until answered;
            then for `ttl_s`).
        lease_s: how long this process's lease lasts without a refresh: a process that
            died is taken for dead this long after its last refresh.
        sweep_s: how often to end runs of dead processes (None: only when asked).
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "adkstream",
        ttl_s: float | None = DEFAULT_TTL_S,
        waiting_ttl_s: float | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        sweep_s: float | None = DEFAULT_LEASE_S,
    ) -> None:
        self._hooks: LogHooks | None = None
        self._redis = client
        self.prefix = prefix
        self.owner_id = uuid.uuid4().hex
        self._ttl_ms = int((ttl_s or 0) * 1000)
        self._waiting_ttl_ms = int((waiting_ttl_s or 0) * 1000)
        self._lease_s = lease_s
        self._sweep_s = sweep_s
        self._append_sha = ""
        self._leased = False
        self._lease_held_since: float | None = None
        """Since when (monotonic) the lease has been renewed without a gap."""
        self._check_pending = False
        """The lease lapsed and this process has not yet looked at its runs."""
        self._restoring = asyncio.Lock()
        self._block_s = block_limit_s(client)
        self._pubsub = client.pubsub()
        self._cancel_script = client.register_script(_CANCEL_SCRIPT)
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        prefix: str = "adkstream",
        ttl_s: float | None = DEFAULT_TTL_S,
        waiting_ttl_s: float | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        sweep_s: float | None = DEFAULT_LEASE_S,
    ) -> RedisStorage:
        """Connects, takes this process's lease and subscribes to cancel requests.

        Raises:
            redis.exceptions.RedisError: Redis cannot be reached.
        """
        client = redis_client(url)
        log = cls(
            client,
            prefix=prefix,
            ttl_s=ttl_s,
            waiting_ttl_s=waiting_ttl_s,
            lease_s=lease_s,
            sweep_s=sweep_s,
        )
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

    def attach(self, hooks: LogHooks) -> None:
        self._hooks = hooks

    @property
    def _log(self) -> LogHooks:
        if self._hooks is None:
            raise RuntimeError("RedisStorage used before a log attached it")
        return self._hooks

    async def close(self) -> None:
        """Gives up the lease and closes the client."""
        await cancel_and_wait(*self._tasks)
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
            if raw is None:
                gone.append(run_id)  # expired
            else:
                records.append(RunRecord.model_validate_json(raw))
        if gone:
            await self._redis.zrem(session_key, *gone)
        return records

    async def create(self, record: RunRecord) -> None:
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

    async def store(self, batches: Batches) -> None:
        written = await self._append([(record, events, None) for record, events in batches])
        refused = [
            record.run_id for (record, _), ok in zip(batches, written, strict=True) if not ok
        ]
        if refused:
            await self._on_refused(refused)

    async def _on_refused(self, run_ids: list[str]) -> None:
        """Runs whose write was refused (not running in Redis): lost, or ended elsewhere."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.exists(self._run_key(run_id))
            found: list[int] = await pipe.execute()
        for run_id, exists in zip(run_ids, found, strict=True):
            hot = self._log.held(run_id)
            if hot is None:
                continue
            if not exists:
                await self._lost(hot)
            elif not hot.finished:
                self._ended_elsewhere(hot)

    def _ended_elsewhere(self, hot: HeldRun) -> None:
        # Another replica ended the run while this process held it (its lease lapsed):
        # what it produced since is dropped, the `interrupted` end stands.
        logger.error("run %s was ended as interrupted elsewhere; it stops here", hot.run_id)
        self._log.deliver_lost(hot.run_id, failures.INTERRUPTED)

    async def _lost(self, hot: HeldRun) -> None:
        """A run of this process that Redis lost: written back, and it ends (`storage_lost`)."""
        if not await self._restore(hot):
            return
        if hot.finished:
            logger.error("run %s: Redis lost it after its end; written back", hot.run_id)
        else:
            logger.error("run %s: Redis lost it; written back, and it ends", hot.run_id)
            self._log.deliver_lost(hot.run_id, failures.STORAGE_LOST)

    async def _restore(self, hot: HeldRun) -> bool:
        """Writes a lost run back: its record and every event this process holds of it.

        Returns:
            False if Redis has the run (written back already, by another path).
        """
        async with self._restoring:
            if await self._redis.exists(self._run_key(hot.run_id)):
                return False
            record = hot.record
            # Stored as a new run first (running, no events), then its events and its
            # record as any batch: a follower never sees a record ahead of its events.
            blank = record.model_copy(update={"status": RunStatus.RUNNING, "last_seq": 0})
            await self.create(blank)
            await self._append([(record, list(hot.events), None)])
        return True

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
                        self._keep_ms(record),
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

    def _keep_ms(self, record: RunRecord) -> int:
        """How long the run's keys live once it ended, in ms (0: for ever)."""
        return self._waiting_ttl_ms if record.status is RunStatus.WAITING else self._ttl_ms

    async def load_run(self, run_id: str) -> RunRecord | None:
        raw = await self._redis.hget(self._run_key(run_id), "record")
        return None if raw is None else RunRecord.model_validate_json(raw)

    async def claim(self, run_id: str, by: str) -> str:
        # HSETNX on the run's own hash: the claim lives and expires with the run, which
        # an answer keeps for `ttl_s` more (it may have been kept for ever until then).
        key = self._run_key(run_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "answered_by", by)
            pipe.hget(key, "answered_by")
            if self._ttl_ms:
                pipe.pexpire(key, self._ttl_ms)
                pipe.pexpire(self._events_key(run_id), self._ttl_ms)
            _, holder, *_ = await pipe.execute()
        return _text(holder)

    async def reserve(self, run_id: str) -> bool:
        # Only until the run's record is stored (which then keeps the id taken): a
        # reservation whose process died before that lapses by itself.
        key = f"{self.prefix}:reserved:{run_id}"
        return bool(await self._redis.set(key, self.owner_id, nx=True, px=RESERVATION_MS))

    async def claimed(self, run_id: str) -> str | None:
        raw = await self._redis.hget(self._run_key(run_id), "answered_by")
        return None if raw is None else _text(raw)

    async def load_events(self, run_id: str, *, after: int, limit: int) -> list[StreamEvent]:
        entries = await self._redis.xrange(
            self._events_key(run_id), min=f"({after}-0", max="+", count=limit
        )
        return [parse_event(fields[b"event"]) for _, fields in entries or () if fields]

    async def wait(self, run_id: str, *, after: int, timeout: float) -> None:  # noqa: ASYNC109
        # XREAD wakes on any entry after `after`, including one added before the call.
        # It blocks for less than the socket timeout: the caller asks again.
        wait_s = timeout if self._block_s is None else min(timeout, self._block_s)
        block_ms = max(int(wait_s * 1000), 1)
        found = await self._redis.xread(
            {self._events_key(run_id): f"{after}-0"}, count=1, block=block_ms
        )
        if not found:
            await self._end_if_orphaned(run_id)

    async def ping(self) -> None:
        await self._redis.ping()

    async def prune(self, retention: Retention, *, now: float, held: Collection[str]) -> int:
        return 0  # Redis expires runs by itself

    # --- runs of dead processes ---

    async def interrupt_left(self, held: Collection[str]) -> list[str]:
        """Ends the running runs whose owner's lease is gone (or that no one here drives)."""
        run_ids = [_text(raw) for raw in await self._redis.smembers(self._running_key)]
        run_ids = [run_id for run_id in run_ids if run_id not in held]
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

    async def _end_if_orphaned(self, run_id: str) -> None:
        """Ends a silent run of another process whose lease is gone: a follower of the
        run finds it before the next sweep does."""
        if self._log.held(run_id) is not None or not self._judges_leases():
            return
        status, owner = await self._redis.hmget(self._run_key(run_id), ["status", "owner"])
        if status != b"running":
            return
        owner_id = _text(owner or b"")
        alive = owner_id not in ("", self.owner_id) and await self._redis.exists(
            self._lease_key(owner_id)
        )
        if alive:
            return
        if await self._interrupt([run_id]):
            logger.warning("ended run %s: its owner's lease lapsed", run_id)

    def _judges_leases(self) -> bool:
        """Whether this process may take a lapsed lease for a dead process: only once its
        own lease has held for a whole lease period (see the module docstring)."""
        since = self._lease_held_since
        return since is not None and time.monotonic() - since >= self._lease_s

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
        lapsed = previous is None and self._leased
        if lapsed:
            # Redis was out of reach for longer than the lease, or lost its data.
            logger.error("this process's lease lapsed: other replicas may have ended its runs")
            self._check_pending = True
        if lapsed or self._lease_held_since is None:
            self._lease_held_since = time.monotonic()
        self._leased = True

    async def _keep_lease(self) -> None:
        """Refreshes the lease every `lease_s / 3`; after a lapse, looks at this
        process's runs (`_check_runs`)."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._refresh_lease()
            except (RedisError, OSError):
                self._lease_held_since = None
                logger.warning("refreshing the run log's lease failed", exc_info=True)
                continue
            if self._check_pending:
                try:
                    await self._check_runs()
                except (RedisError, OSError):
                    logger.warning("looking at this process's runs failed", exc_info=True)
                else:
                    self._check_pending = False

    async def _check_runs(self) -> None:
        """After a lapse of this process's lease: its runs that Redis lost are written
        back and end (`storage_lost`); those another process ended stop (`interrupted`).
        A run that has stored nothing yet is left to its first write, which finds out."""
        hots = [hot for hot in self._log.held_runs() if hot.stored_seq > 0]
        statuses = await self._run_fields(hots, "status")
        for hot, status in zip(hots, statuses, strict=True):
            if status is None:
                await self._lost(hot)
            elif status != b"running" and not hot.finished:
                self._ended_elsewhere(hot)

    async def _sweep(self, every_s: float) -> None:
        """Ends the runs of dead processes every `every_s` (its own task: a long sweep
        never delays the lease)."""
        while True:
            await asyncio.sleep(every_s)
            if not self._judges_leases():
                continue
            try:
                ended = await self.interrupt_left({hot.run_id for hot in self._log.held_runs()})
            except Exception:
                logger.exception("ending the runs of dead processes failed")
                continue
            if ended:
                logger.warning("ended %d runs of dead processes: %s", len(ended), ended)

    # --- cancel requests ---

    async def request_cancel(self, run_id: str, reason: str) -> None:
        """Publishes the request; every replica (this one too) hands it to its callbacks.

        A running run's hash keeps the request too (field `cancel`): a replica whose
        subscription was down when it was published reads it once it is back.
        """
        payload = json.dumps({"run_id": run_id, "reason": reason})
        await self._cancel_script(
            keys=[self._run_key(run_id)], args=[self._cancel_channel, reason, payload]
        )

    async def _listen_for_cancels(self) -> None:
        """Hands each cancel request to the callbacks.

        redis-py resubscribes by itself when it reconnects, which Redis confirms with a
        `subscribe` message (the first one was taken by `_start`): then the requests
        this process missed meanwhile are read back (`_catch_up_cancels`).
        """
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message["type"] == "message":
                        self._on_cancel_message(message["data"])
                    elif message["type"] == "subscribe":
                        await self._catch_up_cancels()
            except (RedisError, OSError) as exc:
                logger.warning("cancel subscription lost (%s); resubscribing", exc)
            # `listen` reconnects and resubscribes by itself; this only paces retries.
            await asyncio.sleep(1.0)

    async def _run_fields(self, hots: list[HeldRun], name: str) -> list[bytes | None]:
        """Field `name` of each run's hash, in one round trip (none for no runs)."""
        if not hots:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for hot in hots:
                pipe.hget(self._run_key(hot.run_id), name)
            values: list[bytes | None] = await pipe.execute()
        return values

    async def _catch_up_cancels(self) -> None:
        """Delivers the cancel requests stored on the running runs of this process."""
        hots = [hot for hot in self._log.held_runs() if not hot.finished]
        reasons = await self._run_fields(hots, "cancel")
        for hot, reason in zip(hots, reasons, strict=True):
            if reason is not None:
                self._log.deliver_cancel(hot.run_id, _text(reason))

    def _on_cancel_message(self, data: bytes) -> None:
        try:
            request = json.loads(data)
            run_id, reason = str(request["run_id"]), str(request["reason"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed cancel request on %s", self._cancel_channel)
            return
        if self._hooks is not None:  # a request before the log attached: no run here
            self._hooks.deliver_cancel(run_id, reason)


async def open_storage(url: str, options: StorageOptions) -> RedisStorage:
    """`redis://`, `rediss://` or `unix://`: the lease and the expiry from `options`."""
    retention = options.retention or Retention()
    return await RedisStorage.open(
        url,
        prefix=options.prefix,
        ttl_s=retention.runs_s,
        waiting_ttl_s=retention.waiting_s,
        lease_s=options.lease_s,
        sweep_s=options.lease_s,
    )
