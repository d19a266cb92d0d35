"""open_log: the storage a URL names; SQLite under the data dir by default."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from adkstream.runner.log_factory import default_log_url, open_log
from adkstream.runner.storage_memory import MemoryStorage
from adkstream.runner.storage_redis import RedisStorage
from adkstream.runner.storage_sqlite import SqliteStorage

TIMEOUT_S = 10


async def test_log_factory_opens_sqlite_in_a_new_data_dir(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        data_dir = tmp_path / "data" / "adkstream"
        log = await open_log(default_log_url(data_dir))
        try:
            assert isinstance(log.storage, SqliteStorage)
            assert (data_dir / "runs.db").is_file()
        finally:
            await log.close()


async def test_log_factory_opens_redis_when_given_a_url(redis_url: str) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await open_log(redis_url)
        try:
            assert isinstance(log.storage, RedisStorage)
        finally:
            await log.close()


async def test_log_factory_opens_memory() -> None:
    log = await open_log("memory://")
    assert isinstance(log.storage, MemoryStorage)
    await log.close()


async def test_log_factory_names_the_backends_for_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match=r"no run log backend for 'mongodb'.*postgresql"):
        await open_log("mongodb://127.0.0.1/runs")
