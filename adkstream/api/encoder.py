"""The one encoder protocol every stream of a run goes through, and the native encoders.

An encoder turns the stream events of one run into the bytes of one format (native SSE
and NDJSON here; AG-UI, Vercel and OpenAI in their own modules); `streams.run_stream`
is the one driver that writes them to a client. An encoder says nothing about transport
beyond its `Framing`: content type, headers, heartbeat frame and opening frame.

There is no `error` or `close` member: a run's stream always ends with its terminal
event (the log stands one in for a storage fault, `runner/log.py`), so each encoder says
a failure, and writes its end marker (`data: [DONE]`), where it encodes that event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from adkstream.api.sse import PING_FRAME, event_frame, retry_frame
from adkstream.events import StreamEvent

RETRY_MS = 2000
"""The reconnect delay a native SSE stream advises (`retry:`)."""

NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Every stream's headers: no cache may keep it, no proxy may hold it back (nginx)."""

SSE_HEADERS = {"Connection": "keep-alive"} | NO_BUFFERING
"""The headers of every `text/event-stream` response besides its content type."""


@dataclass(frozen=True)
class Framing:
    """How one format's frames travel.

    Args:
        format: the format's name, the `format` label of the stream metrics.
        media_type: the response's content type.
        headers: response headers besides the run's (`streams.run_headers`).
        heartbeat: written after `heartbeat_s` without a frame, so that proxies keep
            the connection; None for formats that have no frame that means nothing.
        opening: written first, before any event (the native SSE `retry:` hint).
    """

    format: str
    media_type: str = "text/event-stream"
    headers: Mapping[str, str] = field(default_factory=lambda: SSE_HEADERS)
    heartbeat: bytes | None = PING_FRAME
    opening: bytes = b""


class StreamEncoder(Protocol):
    """Turns the stream events of one run, in order, into one format's frames.

    An encoder is made for one response and may keep state across events (open
    messages, steps); it is a pure core, fed values, with no I/O.
    """

    @property
    def framing(self) -> Framing: ...

    def frames(self, event: StreamEvent) -> list[bytes]:
        """The frames for one event (maybe none), ending with the format's end marker
        after the terminal event; nothing after that."""
        ...


class SseEncoder:
    """The native SSE stream: `id: <seq>`, `event: <type>`, `data: <event JSON>`."""

    framing = Framing("sse", opening=retry_frame(RETRY_MS))

    def frames(self, event: StreamEvent) -> list[bytes]:
        return [event_frame(event)]


class NdjsonEncoder:
    """The native NDJSON stream: one event object per line, no heartbeat."""

    framing = Framing(
        "ndjson", media_type="application/x-ndjson", headers=NO_BUFFERING, heartbeat=None
    )

    def frames(self, event: StreamEvent) -> list[bytes]:
        return [event.model_dump_json().encode() + b"\n"]


Chunk = TypeVar("Chunk")


class ChunkEncoder(Protocol[Chunk]):
    """A protocol's pure encoder: its own messages (chunks) for each stream event."""

    @property
    def ended(self) -> bool:
        """Whether the terminal event has been encoded (nothing follows it)."""
        ...

    def encode(self, event: StreamEvent) -> list[Chunk]: ...


def chunk_frames(
    encoder: ChunkEncoder[Chunk],
    event: StreamEvent,
    frame: Callable[[Chunk], bytes],
    *,
    end: bytes | None = None,
) -> list[bytes]:
    """`encoder.encode(event)` as frames, and `end` (once) after the terminal event's.

    The `frames` of the protocol encoders (AG-UI, Vercel, OpenAI).
    """
    if encoder.ended:
        return []
    frames = [frame(chunk) for chunk in encoder.encode(event)]
    if end is not None and encoder.ended:
        frames.append(end)
    return frames
