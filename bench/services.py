"""The machine's PostgreSQL and Redis, for the scenarios that measure the scale-out setup.

Servers get them through adkstream's own settings (`ADKSTREAM_DATABASE_URL`,
`ADKSTREAM_REDIS_URL`, `ADKSTREAM_REDIS_PREFIX`). Each use takes a Redis key prefix of
its own and deletes its keys afterwards; sessions a scenario creates in PostgreSQL are
deleted through the API by id (never by listing: other runs share the database).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import redis.asyncio as redis

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_ADDRESS = ("127.0.0.1", 5432)
REDIS_ADDRESS = ("127.0.0.1", 6379)
SERVICE_PROCESSES = ("postgres", "redis-server")
DELETE_CONCURRENCY = 8


def reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1.0):
            return True
    except OSError:
        return False


def missing(*, postgres: bool = True, redis_: bool = True) -> list[str]:
    """The services that are not reachable (`bash scripts/services.sh` starts them)."""
    down = []
    if postgres and not reachable(POSTGRES_ADDRESS):
        down.append(f"PostgreSQL on {POSTGRES_ADDRESS[0]}:{POSTGRES_ADDRESS[1]}")
    if redis_ and not reachable(REDIS_ADDRESS):
        down.append(f"Redis on {REDIS_ADDRESS[0]}:{REDIS_ADDRESS[1]}")
    return down


def redis_url(pool: int | None = None) -> str:
    """The Redis URL; with `pool`, redis-py's `max_connections` query argument.

    redis-py 8's asyncio pools default to 100 connections and raise `MaxConnectionsError`
    (no waiting) when a 101st is needed at once: every pool made from this URL (log, run
    slots, rate limiter) takes its limit from it.
    """
    return REDIS_URL if pool is None else f"{REDIS_URL}?max_connections={pool}"


def scale_out_env(
    prefix: str, *, postgres: bool = True, redis_pool: int | None = None
) -> dict[str, str]:
    """The settings of a replica: sessions in PostgreSQL (if asked), the log in Redis."""
    env = {"ADKSTREAM_REDIS_URL": redis_url(redis_pool), "ADKSTREAM_REDIS_PREFIX": prefix}
    if postgres:
        env["ADKSTREAM_DATABASE_URL"] = DATABASE_URL
    return env


async def delete_keys(prefix: str) -> int:
    """Deletes every Redis key that contains `prefix` (the rate limiter adds its own
    prefix before it); returns how many."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"*{prefix}*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        await client.aclose()


@asynccontextmanager
async def redis_prefix(name: str) -> AsyncIterator[str]:
    """A fresh key prefix for one scenario run; its keys are deleted afterwards."""
    prefix = f"adkstream-bench-{name}-{uuid.uuid4().hex[:8]}"
    try:
        yield prefix
    finally:
        await delete_keys(prefix)


async def delete_sessions(base_url: str, session_ids: list[str]) -> int:
    """Deletes sessions by id through the API (cascading to their events); returns failures."""
    limit = asyncio.Semaphore(DELETE_CONCURRENCY)
    failures = 0

    async def delete(client: httpx.AsyncClient, session_id: str) -> None:
        nonlocal failures
        async with limit:
            try:
                response = await client.delete(f"{base_url}/v1/sessions/{session_id}")
                failures += response.status_code not in (204, 404)
            except httpx.HTTPError:
                failures += 1

    async with httpx.AsyncClient(timeout=30.0) as client:
        await asyncio.gather(*(delete(client, sid) for sid in session_ids))
    return failures
