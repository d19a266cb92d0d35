"""The Vercel UI message stream encoder as a pure function: literal events in, chunks out."""

from __future__ import annotations

import json
from typing import Any

from adkstream.api.vercel import VercelEncoder
from adkstream.events import StreamEvent
from tests.adapters import events as ev


def encode(events: list[StreamEvent]) -> tuple[list[dict[str, Any]], bool]:
    """The chunks of every frame, and whether `data: [DONE]` came last (and only there)."""
    encoder = VercelEncoder()
    frames = [frame.decode() for event in events for frame in encoder.frames(event)]
    for frame in frames:
        assert frame.startswith("data: ") and frame.endswith("\n\n") and frame.count("\n") == 2
    data = [frame.removeprefix("data: ").strip() for frame in frames]
    done = data[-1] == "[DONE]" and "[DONE]" not in data[:-1]
    return [json.loads(d) for d in data if d != "[DONE]"], done


def test_vercel_text_run() -> None:
    chunks, done = encode(
        ev.numbered(
            ev.started(),
            ev.agent(0, "a"),
            ev.delta(0, "m1", "Hel"),
            ev.delta(0, "m1", "lo"),
            ev.completed(0, "m1", "Hello"),
            ev.state(0, {"k": 1}),
            ev.agent_done(0, "a"),
            ev.run_completed(0, "Hello"),
        )
    )
    attribution = {"adkstream": {"author": "a", "branch": None}}
    assert done
    assert chunks == [
        {
            "type": "start",
            "messageId": ev.RUN,
            "messageMetadata": {"run_id": ev.RUN, "session_id": "s-1"},
        },
        {"type": "start-step"},
        {
            "type": "data-agent",
            "id": "agent:a",
            "data": {"author": "a", "branch": None, "status": "running"},
        },
        {"type": "text-start", "id": "m1", "providerMetadata": attribution},
        {"type": "text-delta", "id": "m1", "delta": "Hel"},
        {"type": "text-delta", "id": "m1", "delta": "lo"},
        {"type": "text-end", "id": "m1"},
        {
            "type": "data-state",
            "data": {"author": "a", "branch": None, "delta": {"k": 1}},
            "transient": True,
        },
        {
            "type": "data-agent",
            "id": "agent:a",
            "data": {"author": "a", "branch": None, "status": "completed"},
        },
        {"type": "finish-step"},
        {
            "type": "finish",
            "finishReason": "stop",
            "messageMetadata": {
                "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
            },
        },
    ]


def test_vercel_tool_parts() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.tool_call(0, "c1", {"zone": "UTC"}),
            ev.tool_result(0, "c1", {"time": "noon"}),
            ev.tool_result(0, "c2", "orphan"),
            ev.run_completed(0),
        )
    )
    tools = [(c["type"], c["toolCallId"]) for c in chunks if "toolCallId" in c]
    assert tools == [
        ("tool-input-available", "c1"),
        ("tool-output-available", "c1"),
        ("tool-input-available", "c2"),  # the reader refuses an output without its input
        ("tool-output-available", "c2"),
    ]
    assert chunks[1]["input"] == {"zone": "UTC"} and chunks[1]["providerExecuted"] is True
    assert chunks[2]["output"] == {"time": "noon"}


def test_vercel_unstreamed_message_and_open_text_at_the_end() -> None:
    chunks, _ = encode(
        ev.numbered(
            ev.started(),
            ev.completed(0, "m1", "All"),
            ev.delta(0, "m2", "cut"),
            ev.run_completed(0),
        )
    )
    assert [(c["type"], c.get("id")) for c in chunks[1:]] == [
        ("text-start", "m1"),
        ("text-delta", "m1"),
        ("text-end", "m1"),
        ("text-start", "m2"),
        ("text-delta", "m2"),
        ("text-end", "m2"),
        ("finish", None),
    ]


def test_vercel_failure_and_cancel() -> None:
    failed, done = encode(ev.numbered(ev.started(), ev.run_failed(0), ev.delta(0, "m", "late")))
    assert done
    assert failed[1:] == [
        {"type": "error", "errorText": "The model failed to answer."},
        {"type": "finish", "finishReason": "error"},
    ]
    cancelled, done = encode(ev.numbered(ev.started(), ev.run_cancelled(0)))
    assert done
    assert cancelled[1:] == [{"type": "abort", "reason": "cancelled by request"}]
