"""A minimal HTTP/1.1 client for one streamed POST, on an asyncio `Protocol`.

The default stream reader of the load generator. httpx spends about 80 µs of client
CPU per network read when frames arrive one by one, so at 500 streams it, not the
floor server, set the pace (8.3 s of client CPU for the floor's 8.4 s). This reader
decodes the status line and chunked transfer coding only: enough for uvicorn's answers
on 127.0.0.1, not a general client (no redirects, TLS, or keep-alive).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from bench.frames import FrameCounter, StreamResult
from bench.targets import Target


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, counter: FrameCounter, first_delta_only: bool) -> None:
        self.counter = counter
        self.first_delta_only = first_delta_only
        self.ended: asyncio.Future[StreamResult] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head_done = False
        self._chunked = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buffer += data
        if not self._head_done and not self._read_head():
            return
        if self.ended.done():  # an error status, already reported
            return
        if self._chunked:
            self._read_chunks(now)
        else:
            self.counter.feed(bytes(self._buffer), now)
            self._buffer.clear()
        if self.first_delta_only and self.counter.result.ttfd_s is not None:
            self._end(self.counter.result)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ended.done():
            result = self.counter.finish(time.perf_counter())
            if exc is not None and result.error is None:
                result.error = f"connection lost: {exc}"
            self.ended.set_result(result)

    def _read_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self._buffer[:end]).decode("latin-1").lower()
        del self._buffer[: end + 4]
        self._head_done = True
        status = head.split(" ", 2)[1]
        self._chunked = "transfer-encoding: chunked" in head
        if status != "200":
            self.counter.result.error = f"HTTP {status}"
            self._end(self.counter.result)
        return True

    def _read_chunks(self, now: float) -> None:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                self._end(self.counter.finish(now))
                return
            if len(buffer) < line_end + 2 + size + 2:
                return
            self.counter.feed(bytes(buffer[line_end + 2 : line_end + 2 + size]), now)
            del buffer[: line_end + 2 + size + 2]

    def _end(self, result: StreamResult) -> None:
        if not self.ended.done():
            self.ended.set_result(result)
        if self.transport is not None:
            self.transport.close()


def _request(
    host: str,
    port: int,
    path: str,
    body: dict[str, Any] | None,
    *,
    method: str = "POST",
    headers: Mapping[str, str] | None = None,
) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _exchange(
    port: int, request: bytes, target: Target, *, first_delta_only: bool, record: bool
) -> StreamResult:
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    counter = FrameCounter(target, start, record=record)
    transport, protocol = await loop.create_connection(
        lambda: _StreamProtocol(counter, first_delta_only), "127.0.0.1", port
    )
    try:
        transport.write(request)
        return await protocol.ended
    finally:
        transport.close()


async def stream(
    port: int,
    target: Target,
    body: dict[str, Any],
    *,
    first_delta_only: bool = False,
    record: bool = False,
) -> StreamResult:
    """POSTs `body` to 127.0.0.1:`port` and reads the answer (to its end or first delta)."""
    request = _request("127.0.0.1", port, target.path, body)
    return await _exchange(port, request, target, first_delta_only=first_delta_only, record=record)


async def get(
    port: int,
    path: str,
    target: Target,
    *,
    headers: Mapping[str, str] | None = None,
    first_delta_only: bool = False,
    record: bool = False,
) -> StreamResult:
    """GETs `path` (e.g. a run's events, with `Last-Event-ID`) and reads the answer.

    `target` gives the markers only (its path and body are not used); the clock starts
    before the connection is opened, as for `stream`.
    """
    request = _request("127.0.0.1", port, path, None, method="GET", headers=headers)
    return await _exchange(port, request, target, first_delta_only=first_delta_only, record=record)
