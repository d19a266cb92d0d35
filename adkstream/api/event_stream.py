"""A run's frames as a response: written as they come, a heartbeat while silent, gone when
the client is.

Two tasks per response and one ASGI `send` per chunk of frames. sse-starlette, used
before, runs an anyio task group of four tasks per response and enters a cancel scope
for every frame it sends; with hundreds of streams on one process that was a visible
share of the CPU spent per stream, for nothing this server needs (it drains its own
runs on shutdown, and has no per-send timeout).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from adkstream.api.sse import PING_FRAME

logger = logging.getLogger("adkstream.api")

CLEANUP_S = 5.0
"""The longest the frame iterator's cleanup may take once the stream ends."""
DEFAULT_HEADERS = {"Connection": "keep-alive"}


class FrameStreamResponse(StreamingResponse):
    """A streamed body from an iterator of encoded frames (SSE, NDJSON, ...).

    Args:
        frames: the frames; the response closes the iterator when it ends early, so its
            `finally` blocks run.
        media_type: the content type.
        heartbeat: written after `ping_s` without a write; None: no heartbeat.
        ping_s: see `heartbeat`.
        on_sent: called with the size of every write once it is written (frames and
            heartbeats: the whole body).
        status_code, headers: as for any response.
    """

    def __init__(
        self,
        frames: AsyncIterator[bytes],
        *,
        media_type: str,
        heartbeat: bytes | None,
        ping_s: float,
        on_sent: Callable[[int], None] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(frames, status_code=status_code, headers=headers, media_type=media_type)
        self._heartbeat = heartbeat
        self._ping_s = ping_s
        self._on_sent = on_sent or _ignore
        self._last_write = 0.0
        self._ended = False

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
                self._on_sent(len(chunk))
        finally:
            await self._close_frames()
        # No heartbeat may follow the last message, even one due while it is written
        # or before this task's end stops the watcher (the server would refuse it).
        self._ended = True
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
        """Returns when the client disconnects; heartbeats after `ping_s` of silence."""
        while True:
            due = None if self._heartbeat is None else self._last_write + self._ping_s
            try:
                async with asyncio.timeout_at(due):
                    message = await receive()
            except TimeoutError:
                if not self._ended and loop.time() >= self._last_write + self._ping_s:
                    await self._beat(send, loop)
                continue
            if message["type"] == "http.disconnect":
                return

    async def _beat(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        assert self._heartbeat is not None  # _watch waits with no timeout otherwise
        await send({"type": "http.response.body", "body": self._heartbeat, "more_body": True})
        self._last_write = loop.time()
        self._on_sent(len(self._heartbeat))


class EventStreamResponse(FrameStreamResponse):
    """`text/event-stream` with `Connection: keep-alive` and a `: ping` heartbeat, for an
    SSE body that is not a run's encoded events (a run's stream is `streams.run_stream`).

    Args:
        frames, ping_s, status_code, headers: as for `FrameStreamResponse`.
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
            media_type="text/event-stream",
            heartbeat=PING_FRAME,
            ping_s=ping_s,
            status_code=status_code,
            headers=DEFAULT_HEADERS | dict(headers or {}),
        )


def _ignore(size: int) -> None:
    pass
