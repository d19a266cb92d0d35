"""A real uvicorn server for an ASGI app on 127.0.0.1:0, in the test's event loop.

httpx's ASGITransport buffers whole bodies and never returns on an endless SSE route, so
streaming tests talk to a real server over loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    def install_signal_handlers(self) -> None:  # the test runner owns the signals
        return None


@contextlib.asynccontextmanager
async def serve_app(app: Any, *, wait_s: float = 20.0) -> AsyncIterator[str]:
    """Serves `app` (with its lifespan) and yields its base URL; stops it afterwards."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name="test-uvicorn")
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait({task, ready}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        raise RuntimeError("the test server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(wait_s):
            await task


@contextlib.contextmanager
def serve_app_in_thread(app: Any, *, wait_s: float = 20.0) -> Iterator[str]:
    """Serves `app` from a thread with its own event loop, for synchronous tests."""
    import threading

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_config=None, access_log=False
    )
    server = _Server(config)
    started = threading.Event()

    def serve() -> None:
        async def main() -> None:
            task = asyncio.create_task(server.serve())
            await server.ready.wait()
            started.set()
            await task

        asyncio.run(main())

    thread = threading.Thread(target=serve, name="test-uvicorn-thread", daemon=True)
    thread.start()
    if not started.wait(wait_s):
        raise RuntimeError("the test server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(wait_s)
