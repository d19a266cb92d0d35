"""A private `redis-server` on a free port, for tests that stop, restart or flush Redis.

Never the machine's shared Redis: a test that takes Redis away takes away its own.
Started without persistence (`--save "" --appendonly no`), so `restart()` comes back
empty, as a Redis that lost its data.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.processes import free_port

READY_LINE = "Ready to accept connections"
START_S = 20.0


@dataclass
class PrivateRedis:
    """One `redis-server` process at a time on `port`; `stop()` and `start()` it at will."""

    port: int
    process: asyncio.subprocess.Process | None = None
    output: list[str] = field(default_factory=list)
    _drain: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Starts the server and returns once it accepts connections (its ready line)."""
        assert self.process is None, "already running"
        process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self.process = process
        assert process.stdout is not None
        async with asyncio.timeout(START_S):
            while True:
                line = (await process.stdout.readline()).decode()
                if not line:
                    raise RuntimeError("redis-server exited:\n" + "".join(self.output))
                self.output.append(line)
                if READY_LINE in line:
                    break
        self._drain = asyncio.create_task(_keep_reading(process.stdout, self.output))

    async def stop(self) -> None:
        """Stops the server (SIGKILL: nothing is saved) and waits until it is gone."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            process.kill()
        await process.wait()
        if self._drain is not None:
            await self._drain
            self._drain = None

    async def restart(self) -> None:
        """Stops and starts the server: it comes back without any data."""
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    """A started private Redis; skipped (or failed under ADKSTREAM_REQUIRE_SERVICES=1)
    without `redis-server` on the PATH."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not on the PATH"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason}; ADKSTREAM_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    server = PrivateRedis(port=free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _keep_reading(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())
