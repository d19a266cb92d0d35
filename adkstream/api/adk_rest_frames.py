"""ADK's REST API wire format: a run's `adk.event`s as `/run_sse` frames and `/run` arrays.

The frames are ADK's (`data: <Event JSON>`, camelCase, no None fields), with additions
an ADK client ignores (the dev UI reads only `data:` lines):
- `id: <seq>` (resume with Last-Event-ID), a `retry:` hint, `: ping` comments;
- a run that fails or is cancelled ends with one Event-shaped frame, `errorCode` (a
  stable code) and `errorMessage` (no internals), where ADK sends
  `{"error": "<ExceptionType>: <exception text>"}`.
As ADK's `/run_sse` does, an event with content and `artifactDelta` goes out as two
frames: the content with `artifactDelta` emptied, then a content-less copy (the dev UI
renders artifacts from that one); `/run` sends it whole, as ADK does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from adkstream.api.encoder import RETRY_MS, Framing
from adkstream.api.sse import encode_frame, retry_frame
from adkstream.events import AdkEvent, RunCancelled, RunFailed, StreamEvent

CANCELLED_CODE = "CANCELLED"


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def streamed(event: dict[str, Any]) -> list[dict[str, Any]]:
    """`event` as `/run_sse` sends it: one event, or two for content with an artifact delta."""
    actions = event.get("actions") or {}
    content = event.get("content") or {}
    if not actions.get("artifactDelta") or not content.get("parts"):
        return [event]
    with_content = event | {"actions": actions | {"artifactDelta": {}}}
    artifact_only = {key: value for key, value in event.items() if key != "content"}
    return [with_content, artifact_only]


def error_event(event: RunFailed | RunCancelled, *, author: str) -> dict[str, Any]:
    """The Event-shaped end of a run that failed or was cancelled."""
    if isinstance(event, RunFailed):
        code, message = event.error.code, event.error.message
    else:
        code, message = CANCELLED_CODE, f"The run was cancelled ({event.reason})."
    return {
        "author": author,
        "errorCode": code,
        "errorMessage": message,
        "timestamp": event.ts,
        "actions": {},
    }


def sse_frames(event: StreamEvent, *, author: str, split: bool = True) -> bytes:
    """The `/run_sse` frames of one logged event (none for the events ADK does not send);
    `split`: an artifact delta with content goes out as two frames (ADK does not split
    when the request answers a function call: `functionCallEventId`)."""
    if isinstance(event, AdkEvent):
        *first, last = streamed(event.event) if split else [event.event]
        frames = [encode_frame(data=_dumps(item)) for item in first]
        frames.append(encode_frame(data=_dumps(last), id=str(event.seq)))
        return b"".join(frames)
    if isinstance(event, RunFailed | RunCancelled):
        return encode_frame(data=_dumps(error_event(event, author=author)), id=str(event.seq))
    return b""


class AdkSseEncoder:
    """`/run_sse`'s stream, through `streams.run_stream` like every other stream.

    Args:
        author: the root agent's name (the author of the error frame).
        split: as `sse_frames`.
    """

    framing = Framing("adk_sse", opening=retry_frame(RETRY_MS))

    def __init__(self, *, author: str, split: bool) -> None:
        self.author = author
        self.split = split

    def frames(self, event: StreamEvent) -> list[bytes]:
        frame = sse_frames(event, author=self.author, split=self.split)
        return [frame] if frame else []


def run_events(events: Iterable[StreamEvent], *, author: str) -> list[dict[str, Any]]:
    """`/run`'s answer: the run's ADK events, then the error event of a failed or
    cancelled run (ADK answers 500 with no events instead)."""
    out: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, AdkEvent):
            out.append(event.event)
        elif isinstance(event, RunFailed | RunCancelled):
            out.append(error_event(event, author=author))
    return out
