"""`FrameStreamResponse` against a hand-driven ASGI server: the last message is last."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from adkstream.api.event_stream import FrameStreamResponse


async def _one_frame() -> AsyncIterator[bytes]:
    yield b"data: 1\n\n"


async def test_no_heartbeat_after_the_last_message() -> None:
    """A heartbeat falling due while the final message is being written (a slow client)
    is not sent: uvicorn refuses a body after the one that ends the response."""
    sent: list[dict[str, Any]] = []
    final_started = False
    watcher_went_round = asyncio.Event()
    calls_after_final = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal final_started
        if any(m.get("more_body") is False for m in sent):
            raise RuntimeError(f"{message['type']} sent after the response completed")
        sent.append(message)
        if message.get("more_body") is False:
            final_started = True
            await watcher_went_round.wait()  # the write takes until the watcher went round

    async def receive() -> dict[str, Any]:
        nonlocal calls_after_final
        if final_started:
            calls_after_final += 1
            if calls_after_final >= 3:  # its heartbeat timeout came and went twice
                watcher_went_round.set()
        await asyncio.get_running_loop().create_future()  # the client never leaves
        raise AssertionError("unreachable")

    response = FrameStreamResponse(
        _one_frame(), media_type="text/event-stream", heartbeat=b": ping\n\n", ping_s=0.001
    )
    async with asyncio.timeout(10):
        await response({"type": "http"}, receive, send)

    frames = [m["body"] for m in sent[1:] if m["body"] != b": ping\n\n"]  # pings before: fine
    assert frames == [b"data: 1\n\n", b""]
    assert sent[-1]["more_body"] is False
