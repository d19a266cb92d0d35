"""open_log: SQLite under the data dir by default, Redis when a URL is given."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adkstream.runner.log_factory import open_log
from adkstream.runner.redis_log import RedisLog
from adkstream.runner.sqlite_log import SqliteLog

TIMEOUT_S = 10


async def test_log_factory_opens_sqlite_in_a_new_data_dir(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        data_dir = tmp_path / "data" / "adkstream"
        log = await open_log(data_dir=data_dir, redis_url=None)
        try:
            assert isinstance(log, SqliteLog)
            assert (data_dir / "runs.db").is_file()
        finally:
            await log.close()


async def test_log_factory_opens_redis_when_given_a_url(tmp_path: Path, redis_url: str) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        log = await open_log(data_dir=tmp_path / "unused", redis_url=redis_url)
        try:
            assert isinstance(log, RedisLog)
            assert not (tmp_path / "unused").exists()
        finally:
            await log.close()
