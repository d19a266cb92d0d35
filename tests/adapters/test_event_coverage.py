"""Every member of the event union, through every protocol encoder: what each one sends
for it, pinned. A new event type fails `test_every_event_type_has_a_sample` until it gets
a sample here, and then this table until each encoder's handling of it is written down
(an encoder that does not carry a type says so with an empty list, on purpose)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import pytest

from adkstream.api.agui import AguiEncoder
from adkstream.api.openai_compat import ChatCompletionEncoder
from adkstream.api.vercel import VercelEncoder
from adkstream.events import (
    AdkEvent,
    ErrorInfo,
    MediaDelta,
    RunCancelled,
    RunFailed,
    RunQueued,
    StreamEvent,
    TurnCompleted,
)
from tests.adapters import events as ev

Kinds = list[str]

_ask = ev.confirmation(3, "q1", "c1")
SAMPLES: dict[str, StreamEvent] = {
    "run.started": ev.started(),
    "agent.started": ev.agent(2, "a"),
    "message.delta": ev.delta(3, "m1", "Hel"),
    "message.completed": ev.completed(3, "m1", "Hello"),
    "reasoning.delta": ev.thinking(3, "t1", "Hmm"),
    "reasoning.completed": ev.thought(3, "t1", "Hmm"),
    "code.call": ev.code(3, "k1", "print(1)"),
    "code.result": ev.code_result(3, "k1", "1"),
    "message.sources": ev.sources(3, "m1"),
    "message.file": ev.image(3, "m1"),
    "artifact.saved": ev.artifact(3),
    "tool.call": ev.tool_call(3, "c1", {"tz": "UTC"}),
    "tool.result": ev.tool_result(3, "c1", {"time": "noon"}),
    "state.delta": ev.state(3, {"k": 1}),
    "agent.completed": ev.agent_done(3, "a"),
    "agent.escalated": ev.escalated(3),
    "agent.transfer": ev.transfer(3, "a", "b"),
    "input.requested": _ask,
    "run.queued": RunQueued(run_id=ev.RUN, seq=2, ts=ev.TS, behind="run-0"),
    "run.completed": ev.run_completed(3, "Hello"),
    "run.waiting": ev.waiting(3, _ask),
    "run.failed": RunFailed(
        run_id=ev.RUN, seq=3, ts=ev.TS, error=ErrorInfo(code="model_error", message="failed")
    ),
    "run.cancelled": RunCancelled(run_id=ev.RUN, seq=3, ts=ev.TS, reason="cancelled"),
    "turn.completed": TurnCompleted(run_id=ev.RUN, seq=3, ts=ev.TS, author="a", turn=1),
    "media.delta": MediaDelta(
        run_id=ev.RUN, seq=3, ts=ev.TS, author="a", message_id="m1", mime_type="audio/pcm", data=""
    ),
    "adk.event": AdkEvent(run_id=ev.RUN, seq=3, ts=ev.TS, event={"author": "a", "partial": True}),
}


def _agui() -> Callable[[StreamEvent], Kinds]:
    encoder = AguiEncoder(thread_id="t", run_id="r")
    return lambda event: [e.type.value for e in encoder.encode(event)]


def _vercel() -> Callable[[StreamEvent], Kinds]:
    encoder = VercelEncoder()
    return lambda event: [str(chunk["type"]) for chunk in encoder.encode(event)]


def _openai() -> Callable[[StreamEvent], Kinds]:
    encoder = ChatCompletionEncoder(completion_id="c", model="m", created=0, include_usage=True)
    return lambda event: [_openai_kind(chunk) for chunk in encoder.encode(event)]


def _openai_kind(chunk: dict[str, Any]) -> str:
    if "error" in chunk:
        return "error"
    if not chunk["choices"]:
        return "usage"
    [choice] = chunk["choices"]
    delta = ",".join(sorted(choice["delta"]))
    return f"delta({delta})" + (f"+{choice['finish_reason']}" if choice["finish_reason"] else "")


ENCODERS = {"agui": _agui, "vercel": _vercel, "openai": _openai}


def preface(event_type: str) -> list[StreamEvent]:
    """The events before the sample of `event_type`: a run an agent began (and, for a
    message's end, its first delta)."""
    before: list[StreamEvent] = []
    if event_type != "run.started":
        before.append(ev.started())
    if event_type not in ("run.started", "agent.started", "agent.transfer"):
        before.append(ev.agent(2, "a"))
    if event_type == "message.completed":
        before.append(ev.delta(2, "m1", "Hel"))
    return before


def kinds_for(encoder: str, event_type: str) -> Kinds:
    """What `encoder` sends for the sample of `event_type` after its preface (whose
    output is dropped)."""
    encode = ENCODERS[encoder]()
    for event in preface(event_type):
        encode(event)
    return encode(SAMPLES[event_type])


def event_types() -> set[str]:
    """The `type` of every member of the `StreamEvent` union."""
    (union, _) = get_args(StreamEvent)
    return {m.model_fields["type"].default for m in get_args(union)}


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == event_types()
    assert set(PINNED) == event_types()


PINNED: dict[str, dict[str, Kinds]] = {
    "adk.event": {"agui": [], "openai": [], "vercel": []},
    "agent.completed": {
        "agui": ["STEP_FINISHED"],
        "openai": [],
        "vercel": ["data-agent", "finish-step"],
    },
    "agent.escalated": {"agui": ["CUSTOM"], "openai": [], "vercel": ["data-escalate"]},
    "agent.started": {
        "agui": ["STEP_STARTED"],
        "openai": [],
        "vercel": ["start-step", "data-agent"],
    },
    "agent.transfer": {"agui": ["CUSTOM"], "openai": [], "vercel": []},
    "artifact.saved": {"agui": ["CUSTOM"], "openai": [], "vercel": ["data-artifact"]},
    "code.call": {"agui": ["ACTIVITY_SNAPSHOT"], "openai": [], "vercel": ["tool-input-available"]},
    "code.result": {
        "agui": ["ACTIVITY_SNAPSHOT"],
        "openai": [],
        "vercel": ["tool-input-available", "tool-output-available"],
    },
    "input.requested": {
        "agui": [],
        "openai": [],
        "vercel": ["tool-input-available", "tool-approval-request"],
    },
    "media.delta": {"agui": [], "openai": [], "vercel": []},
    "message.completed": {"agui": ["TEXT_MESSAGE_END"], "openai": [], "vercel": ["text-end"]},
    "message.delta": {
        "agui": ["TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT"],
        "openai": ["delta(content)"],
        "vercel": ["text-start", "text-delta"],
    },
    "message.file": {
        "agui": ["ACTIVITY_SNAPSHOT"],
        "openai": ["delta(images)"],
        "vercel": ["file"],
    },
    "message.sources": {
        "agui": ["ACTIVITY_SNAPSHOT"],
        "openai": [],
        "vercel": ["source-url", "source-url"],
    },
    "reasoning.completed": {
        "agui": [
            "REASONING_START",
            "REASONING_MESSAGE_START",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_END",
            "REASONING_END",
        ],
        "openai": ["delta(reasoning_content)"],
        "vercel": ["reasoning-start", "reasoning-delta", "reasoning-end"],
    },
    "reasoning.delta": {
        "agui": ["REASONING_START", "REASONING_MESSAGE_START", "REASONING_MESSAGE_CONTENT"],
        "openai": ["delta(reasoning_content)"],
        "vercel": ["reasoning-start", "reasoning-delta"],
    },
    "run.cancelled": {
        "agui": ["STEP_FINISHED", "RUN_FINISHED"],
        "openai": ["error"],
        "vercel": ["abort"],
    },
    "run.completed": {
        "agui": ["STEP_FINISHED", "RUN_FINISHED"],
        "openai": ["delta()+stop", "usage"],
        "vercel": ["data-agent", "finish-step", "finish"],
    },
    "run.failed": {"agui": ["RUN_ERROR"], "openai": ["error"], "vercel": ["error", "finish"]},
    "run.started": {
        "agui": ["RUN_STARTED", "STATE_SNAPSHOT"],
        "openai": ["delta(content,role)"],
        "vercel": ["start"],
    },
    "run.queued": {"agui": ["CUSTOM"], "openai": [], "vercel": ["data-queued"]},
    "run.waiting": {
        "agui": ["STEP_FINISHED", "RUN_FINISHED"],
        "openai": ["delta(tool_calls)", "delta()+tool_calls", "usage"],
        "vercel": ["data-agent", "finish-step", "finish"],
    },
    "state.delta": {"agui": ["STATE_DELTA"], "openai": [], "vercel": ["data-state"]},
    "tool.call": {
        "agui": ["TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END"],
        "openai": [],
        "vercel": ["tool-input-available"],
    },
    "tool.result": {
        "agui": ["TOOL_CALL_RESULT"],
        "openai": [],
        "vercel": ["tool-input-available", "tool-output-available"],
    },
    "turn.completed": {"agui": [], "openai": [], "vercel": []},
}


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_encoder_handling_of_every_event_type_is_pinned(encoder: str, event_type: str) -> None:
    assert kinds_for(encoder, event_type) == PINNED[event_type][encoder]
