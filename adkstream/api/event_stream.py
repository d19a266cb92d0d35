"""The SSE response: frames written as they come, a ping while silent, gone when the client is.

Two tasks per response and one ASGI `send` per chunk of frames. sse-starlette, used
before, runs an anyio task group of four tasks per response and enters a cancel scope
for every frame it sends; with hundreds of streams on one process that was a visible
share of the CPU spent per stream, for nothing this server needs (it drains its own
runs on shutdown, and has no per-send timeout).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from adkstream.api.sse import encode_frame

logger = logging.getLogger("adkstream.api")

CLEANUP_S = 5.0
"""The longest the frame iterator's cleanup may take once the stream ends."""
PING_FRAME = encode_frame(comment="ping")
DEFAULT_HEADERS = {"Connection": "keep-alive"}


class EventStreamResponse(StreamingResponse):
    """`text/event-stream` from an iterator of encoded frames.

    Args:
        frames: SSE frames (bytes, each ending with its blank line); the response closes
            the iterator when it ends early, so its `finally` blocks run.
        ping_s: a ping comment goes out after this long without a frame.
        status_code, headers: as for any response.
    """

    def __init__(
        self,
        frames: AsyncIterator[bytes],
        *,
        ping_s: float,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            frames,
            status_code=status_code,
            headers=DEFAULT_HEADERS | dict(headers or {}),
            media_type="text/event-stream",
        )
        self._ping_s = ping_s
        self._last_write = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        self._last_write = loop.time()
        streaming = loop.create_task(self._stream(send, loop))
        watching = loop.create_task(self._watch(receive, send, loop))
        try:
            await asyncio.wait({streaming, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (streaming, watching):
                task.cancel()
            outcomes = await asyncio.gather(streaming, watching, return_exceptions=True)
        for outcome in outcomes:
            # OSError: the client went away while a frame was being written.
            if isinstance(outcome, Exception) and not isinstance(outcome, OSError):
                raise outcome

    async def _stream(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self._last_write = loop.time()
        finally:
            await self._close_frames()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _close_frames(self) -> None:
        """Runs the frame iterator's cleanup (bounded: it must not hold the response)."""
        aclose = getattr(self.body_iterator, "aclose", None)
        if aclose is None:
            return
        try:
            async with asyncio.timeout(CLEANUP_S):
                await aclose()
        except TimeoutError:
            logger.warning("an event stream's cleanup took over %ss; left behind", CLEANUP_S)

    async def _watch(self, receive: Receive, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        """Returns when the client disconnects; pings after `ping_s` of silence meanwhile."""
        while True:
            due = self._last_write + self._ping_s
            try:
                async with asyncio.timeout_at(due):
                    message = await receive()
            except TimeoutError:
                if loop.time() >= self._last_write + self._ping_s:
                    await send(
                        {"type": "http.response.body", "body": PING_FRAME, "more_body": True}
                    )
                    self._last_write = loop.time()
                continue
            if message["type"] == "http.disconnect":
                return
