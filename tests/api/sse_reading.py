"""Reading a run's stream in tests with a standard SSE parser (httpx-sse)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from adkstream.events import MessageCompleted, MessageDelta, StreamEvent, parse_event


async def post_sse(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> tuple[httpx.Response, list[tuple[str, str, StreamEvent]]]:
    """POSTs a run and reads every frame: (id, event name, parsed data)."""
    frames: list[tuple[str, str, StreamEvent]] = []
    async with aconnect_sse(client, "POST", "/v1/runs", json=body) as source:
        async for sse in source.aiter_sse():
            if not sse.data:
                continue  # httpx-sse surfaces the retry-only frame; a browser would not
            frames.append((sse.id, sse.event, parse_event(sse.data)))
        return source.response, frames


def texts_by_message(events: Sequence[StreamEvent]) -> tuple[dict[str, str], dict[str, str]]:
    """(concatenated delta text, completed text) per message id."""
    deltas: dict[str, list[str]] = defaultdict(list)
    completed: dict[str, str] = {}
    for event in events:
        if isinstance(event, MessageDelta):
            deltas[event.message_id].append(event.text)
        elif isinstance(event, MessageCompleted):
            completed[event.message_id] = event.text
    return {k: "".join(v) for k, v in deltas.items()}, completed
