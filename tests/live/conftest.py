"""A live adkstream server on 127.0.0.1 and a WebSocket client for its live route."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from adkstream.events import StreamEvent, parse_event
from adkstream.runner.live import LiveRuns
from tests.api.conftest import Api, ServerFactory, start_server

__all__ = ["Api", "LiveSocket", "ServerFactory", "live_runs", "open_live", "start_server"]

TIMEOUT_S = 15


@dataclass
class LiveSocket:
    """A client of the live route: sends frames, reads stream events and error frames."""

    ws: ClientConnection
    events: list[StreamEvent] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next(self) -> StreamEvent | dict[str, Any]:
        """The next server frame: a stream event, or an error frame (a dict)."""
        raw = await self.ws.recv()
        data = json.loads(raw)
        if data.get("type") == "error":
            error: dict[str, Any] = data
            self.errors.append(error)
            return error
        event = parse_event(raw)
        self.events.append(event)
        return event

    async def until(self, predicate: Callable[[StreamEvent | dict[str, Any]], bool]) -> list[Any]:
        """Reads frames up to and including the first that matches; returns them."""
        frames: list[Any] = []
        while True:
            frame = await self.next()
            frames.append(frame)
            if predicate(frame):
                return frames

    async def until_type(self, kind: str) -> list[Any]:
        return await self.until(lambda f: _type_of(f) == kind)

    async def until_closed(self) -> tuple[int | None, str]:
        """Reads every remaining frame; the close code and reason the server sent."""
        try:
            while True:
                await self.next()
        except websockets.ConnectionClosed as closed:
            received = closed.rcvd
            return (received.code, received.reason) if received else (None, "")


def _type_of(frame: StreamEvent | dict[str, Any]) -> str:
    return str(frame["type"]) if isinstance(frame, dict) else frame.type


def ws_url(api: Api, session_id: str, query: str = "") -> str:
    base = api.url.replace("http://", "ws://", 1)
    return f"{base}/v1/sessions/{session_id}/live{query}"


@asynccontextmanager
async def open_live(
    api: Api, session_id: str, *, query: str = "", headers: dict[str, str] | None = None
) -> AsyncIterator[LiveSocket]:
    async with websockets.connect(
        ws_url(api, session_id, query), additional_headers=headers, open_timeout=TIMEOUT_S
    ) as ws:
        yield LiveSocket(ws)


def live_runs(api: Api) -> LiveRuns:
    runs: LiveRuns = api.host.live
    return runs
