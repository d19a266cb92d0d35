"""Server-Sent Events framing (WHATWG HTML, "Server-sent events", 9.2.6): events to bytes.

Only this module and the other encoders under `api/` turn events into bytes. A value can
never break a frame or inject a field: `data` is split on every line break the parser
knows (CRLF, CR, LF) into one `data:` line each, and `event`, `id` and comments cannot
carry a line break (they are cut at the first one); `id` also drops NUL, which makes a
parser ignore the whole field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from adkstream.events import StreamEvent

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _single_line(value: str) -> str:
    return _LINE_BREAK.split(value, maxsplit=1)[0]


def encode_frame(
    *,
    data: str | None = None,
    event: str | None = None,
    id: str | None = None,
    retry_ms: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One SSE frame, ending with the blank line that dispatches it."""
    lines: list[str] = []
    if comment is not None:
        lines.append(f": {_single_line(comment)}")
    if retry_ms is not None:
        lines.append(f"retry: {int(retry_ms)}")
    if id is not None:
        lines.append(f"id: {_single_line(id).replace(chr(0), '')}")
    if event is not None:
        lines.append(f"event: {_single_line(event)}")
    if data is not None:
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


def event_frame(event: StreamEvent) -> bytes:
    """A stream event as a frame: `id: <seq>`, `event: <type>`, one compact `data:` line.

    The JSON of an event has no raw line break (JSON escapes them), so this fast path
    writes the frame directly; `encode_frame` covers arbitrary values.
    """
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (
        event.seq,
        event.type.encode(),
        event.model_dump_json().encode(),
    )


def retry_frame(retry_ms: int) -> bytes:
    return encode_frame(retry_ms=retry_ms)


def comment_frame(text: str) -> bytes:
    return encode_frame(comment=text)


def json_frame(data: Any) -> bytes:
    """A `data:`-only frame of compact JSON (AG-UI, Vercel and OpenAI streams: no id/event)."""
    return encode_frame(data=json.dumps(data, separators=(",", ":")))


PING_FRAME = comment_frame("ping")
"""The heartbeat of every SSE stream: a comment, which parsers skip."""

DONE_FRAME = encode_frame(data="[DONE]")
"""The end marker of the Vercel and OpenAI streams."""
