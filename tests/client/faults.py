"""ASGI wrappers that break a real app's run event streams the way networks and proxies do.

`CutStreams` ends every SSE response of `POST /v1/runs` and `GET /v1/runs/{id}/events`
after `k` event frames: either cleanly (the body ends, as a proxy's idle timeout does)
or by aborting the connection in the middle of the k-th frame (as a dropped TCP
connection does). The wrapped app sees its client disconnect, as it would for real.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]

_EVENTS_PATH = re.compile(r"^/v1/runs/[^/]+/events$")


class ConnectionAborted(Exception):
    """Raised to the server after a cut: uvicorn then closes the socket mid-body."""


def is_event_stream_request(scope: Message) -> bool:
    path = scope.get("path", "")
    if scope.get("method") == "POST" and path == "/v1/runs":
        return True
    return scope.get("method") == "GET" and bool(_EVENTS_PATH.match(path))


class CutStreams:
    """Cuts each run event stream after `k` event frames; counts requests and cuts.

    Args:
        app: the real app.
        k: event frames let through per response.
        mode: `end` finishes the body after the k-th frame; `abort` sends half of
            the k-th frame and then drops the connection.
    """

    def __init__(self, app: ASGIApp, *, k: int, mode: Literal["end", "abort"]) -> None:
        self.app = app
        self.k = k
        self.mode = mode
        self.stream_requests = 0
        self.cuts = 0

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_event_stream_request(scope):
            await self.app(scope, receive, send)
            return
        self.stream_requests += 1
        cut = asyncio.Event()
        frames = 0

        async def cut_send(message: Message) -> None:
            body = message.get("body", b"") if message["type"] == "http.response.body" else b""
            if not body.startswith(b"id:"):
                if not cut.is_set():
                    await send(message)
                return
            # One body may carry several frames (events stored together): count each.
            for frame in body.split(b"\n\n")[:-1]:
                await send_frame(message | {"body": frame + b"\n\n"})

        async def send_frame(message: Message) -> None:
            nonlocal frames
            if cut.is_set():
                return  # the connection is gone: like uvicorn, drop what follows
            body = message["body"]
            frames += 1
            if frames < self.k:
                await send(message)
                return
            self.cuts += 1
            cut.set()
            if self.mode == "end":
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                half = {"type": "http.response.body", "body": body[: len(body) // 2]}
                await send(half | {"more_body": True})

        async def cut_receive() -> Message:
            if cut.is_set():
                return {"type": "http.disconnect"}
            received = asyncio.ensure_future(receive())
            cutting = asyncio.ensure_future(cut.wait())
            try:
                await asyncio.wait({received, cutting}, return_when=asyncio.FIRST_COMPLETED)
            finally:  # also when the app cancels its receive
                for task in (received, cutting):
                    if not task.done():
                        task.cancel()
                await asyncio.gather(received, cutting, return_exceptions=True)
            if not received.cancelled():
                return received.result()
            return {"type": "http.disconnect"}

        await self.app(scope, cut_receive, cut_send)
        if cut.is_set() and self.mode == "abort":
            raise ConnectionAborted("cut mid-frame")


class FailFirstResumes:
    """Answers the first `n` `GET /v1/runs/{id}/events` with a status, then passes through.

    It also cuts the first `POST /v1/runs` stream after `k` frames, so that the client
    has to resume.
    """

    def __init__(self, app: ASGIApp, *, k: int, n: int, status: int, retry_after: str) -> None:
        self.cut = CutStreams(app, k=k, mode="end")
        self.app = app
        self.n = n
        self.status = status
        self.retry_after = retry_after
        self.failed = 0
        self.resumed = 0

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_event_stream_request(scope):
            await self.app(scope, receive, send)
        elif scope["method"] == "POST":
            await self.cut(scope, receive, send)
        elif self.failed < self.n:
            self.failed += 1
            await _error(send, self.status, self.retry_after)
        else:
            self.resumed += 1
            await self.app(scope, receive, send)


async def _error(send: Send, status: int, retry_after: str) -> None:
    body = b'{"error":{"code":"unavailable","message":"try later"}}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", retry_after.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
