"""A fake Gemini API for the benchmark, in its own process: `python -m bench.gemini --port N`.

It speaks the `streamGenerateContent?alt=sse` wire format the real Gemini API (and
`tests/fakes/gemini_server.py`) speaks: one `data: <GenerateContentResponse JSON>` event
per chunk of 4 characters, `finishReason: STOP` and `usageMetadata` on the last, EOF ends
the stream. It is not the tests' fake on purpose: that one runs inside a test's event loop
and scripts every reply; this one runs apart (its CPU is not the measured server's) and
sends pre-encoded chunks, so that it costs as little as it can. A message that starts
`chunks=N ` gets N chunks (`bench.model.CHUNKS_ASKED`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from bench.model import CHUNK_TEXT

MODEL = "gemini-2.5-flash"
_CHUNKS_ASKED = re.compile(rb'"text":\s*"chunks=(\d+) ')
_Message = MutableMapping[str, Any]


def chunk_event(response_id: str, *, last: bool, chunks: int) -> bytes:
    """One SSE event of the stream, as the Gemini API sends it."""
    candidate: dict[str, Any] = {
        "content": {"parts": [{"text": CHUNK_TEXT}], "role": "model"},
        "index": 0,
    }
    payload: dict[str, Any] = {"candidates": [candidate]}
    if last:
        candidate["finishReason"] = "STOP"
        payload["usageMetadata"] = {
            "promptTokenCount": 1,
            "candidatesTokenCount": chunks,
            "totalTokenCount": chunks + 1,
        }
    payload |= {"modelVersion": MODEL, "responseId": response_id}
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\r\n\r\n"


class FakeGeminiApp:
    """The ASGI app: `GET /healthz`, `POST …:streamGenerateContent` (any model, version)."""

    def __init__(self, *, chunks: int, interval_ms: float) -> None:
        self.chunks = chunks
        self.delay = interval_ms / 1000
        self.middle = chunk_event("bench", last=False, chunks=chunks)

    async def __call__(
        self,
        scope: _Message,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/healthz":
            await _send(send, 200, b'{"status":"ok"}', b"application/json")
            return
        if scope["method"] != "POST" or not scope["path"].endswith(":streamGenerateContent"):
            error = b'{"error":{"code":404,"message":"not here","status":"NOT_FOUND"}}'
            await _send(send, 404, error, b"application/json")
            return
        asked = _CHUNKS_ASKED.search(body)
        chunks = int(asked[1]) if asked else self.chunks
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        middle = (
            self.middle
            if chunks == self.chunks
            else chunk_event("bench", last=False, chunks=chunks)
        )
        for index in range(chunks):
            if self.delay:
                await asyncio.sleep(self.delay)
            event = middle if index < chunks - 1 else chunk_event("bench", last=True, chunks=chunks)
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _send(
    send: Callable[[_Message], Awaitable[None]], status: int, body: bytes, content_type: bytes
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type)],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gemini")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--interval-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = FakeGeminiApp(chunks=args.chunks, interval_ms=args.interval_ms)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        backlog=4096,
        # Longer than a scenario's pause between bursts: a kept-alive connection that the
        # server closes just as a client reuses it fails that client's stream.
        timeout_keep_alive=300,
    )


if __name__ == "__main__":
    main()
