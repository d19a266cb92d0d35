"""`adkstream serve` in a subprocess on 127.0.0.1, for restart and multi-replica tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_LINE = "Uvicorn running on"
"""uvicorn logs it once the socket listens ("Application startup complete" comes before
the socket is bound: a client that connected on that line was refused, now and then)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """A running `adkstream serve`; `stop(sig)` ends it and waits for it to exit."""

    url: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    _drain: asyncio.Task[None] | None = None

    async def stop(self, sig: int = signal.SIGTERM, *, wait_s: float = 30.0) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(wait_s):
            code = await self.process.wait()
        if self._drain is not None:
            await self._drain
        return code


@dataclass
class Replicas:
    """Two served replicas sharing storage, and an HTTP client on each."""

    a: ServerProcess
    b: ServerProcess
    on_a: httpx.AsyncClient
    on_b: httpx.AsyncClient


@contextlib.asynccontextmanager
async def two_replicas(
    data_dir: Path,
    *,
    env: Mapping[str, str],
    args: tuple[str, ...] = (),
    client_timeout_s: float = 30.0,
) -> AsyncIterator[Replicas]:
    """`serve_process` twice (data dirs `a` and `b` under `data_dir`); `env` names the
    shared storage (ADKSTREAM_REDIS_URL, ADKSTREAM_DATABASE_URL)."""
    async with (
        serve_process(data_dir / "a", env=env, args=args) as a,
        serve_process(data_dir / "b", env=env, args=args) as b,
        httpx.AsyncClient(base_url=a.url, timeout=client_timeout_s) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=client_timeout_s) as on_b,
    ):
        yield Replicas(a, b, on_a, on_b)


@contextlib.asynccontextmanager
async def serve_process(
    data_dir: Path, *, env: Mapping[str, str] | None = None, args: tuple[str, ...] = ()
) -> AsyncIterator[ServerProcess]:
    """Starts `adkstream serve` and yields once it accepts connections (its ready line)."""
    port = free_port()
    full_env = {
        **os.environ,
        "ADKSTREAM_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adkstream.cli",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "info",
        *args,
        env=full_env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    server = ServerProcess(url=f"http://127.0.0.1:{port}", process=process)
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            while True:
                line = (await process.stderr.readline()).decode()
                if not line:
                    raise RuntimeError("server exited:\n" + "".join(server.output))
                server.output.append(line)
                if READY_LINE in line:
                    break
        server._drain = asyncio.create_task(_keep_reading(process.stderr, server.output))
        yield server
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if server._drain is not None:
            await server._drain


async def _keep_reading(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())
