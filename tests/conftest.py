"""Shared fixtures: the real services (PostgreSQL, Redis) and a clean model environment."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

REQUIRE_SERVICES = os.environ.get("ADKSTREAM_REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("ADKSTREAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "ADKSTREAM_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skips the test when the service is down, or fails under ADKSTREAM_REQUIRE_SERVICES=1."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable on {host}:{port} (scripts/services.sh starts it)"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason}; ADKSTREAM_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _offline_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach a real model: the built-in agents use the offline model."""
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    # Tests fire requests faster than one person: the limit tests set their own values.
    monkeypatch.setenv("ADKSTREAM_RATE_LIMIT", "100000/minute")
    monkeypatch.setenv("ADKSTREAM_MAX_RUNS_PER_USER", "10000")


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of its own for one test; its keys are deleted afterwards."""
    import redis.asyncio as redis

    prefix = f"adkstream-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def postgres_prefix(postgres_url: str) -> AsyncIterator[str]:
    """A table prefix of its own for one test's run log; its tables are dropped afterwards."""
    import asyncpg

    prefix = f"adkstream_test_{uuid.uuid4().hex[:8]}"
    yield prefix
    conn = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE $1", f"{prefix}%"
        )
        for (table,) in tables:
            await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
    finally:
        await conn.close()
