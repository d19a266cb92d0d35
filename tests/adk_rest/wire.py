"""Reading ADK's REST API answers for comparison: SSE `data:` frames, and JSON with the
fields that differ between any two runs (ids, timestamps, invocation ids) taken out."""

from __future__ import annotations

import json
from typing import Any

VOLATILE = frozenset({"id", "timestamp", "invocationId", "lastUpdateTime"})


def data_frames(body: str) -> list[dict[str, Any]]:
    """The JSON of every `data:` line, as ADK's dev UI reads a `/run_sse` answer."""
    return [
        json.loads(line.removeprefix("data:"))
        for line in body.splitlines()
        if line.startswith("data:")
    ]


def stable(value: Any) -> Any:
    """`value` without the fields that differ between two runs of the same request."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list | tuple):
        return [stable(v) for v in value]
    return value


def is_error_frame(frame: dict[str, Any]) -> bool:
    """The last frame of a failed run: ADK's `{"error": ...}`, or ours (Event-shaped,
    `errorCode` and no invocation)."""
    return "error" in frame or ("errorCode" in frame and "invocationId" not in frame)
