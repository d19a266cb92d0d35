"""Literal stream events for the encoder tests (seq and ts as the log would set them)."""

from __future__ import annotations

from typing import Any

from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    ErrorInfo,
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunStarted,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    Usage,
)

RUN = "run-1"
TS = 1_700_000_000.25


def _common(seq: int) -> dict[str, Any]:
    return {"run_id": RUN, "seq": seq, "ts": TS + seq}


def started(seq: int = 1) -> RunStarted:
    return RunStarted(**_common(seq), session_id="s-1", user_id="u", app="app", agent="app")


def agent(seq: int, author: str, branch: str | None = None) -> AgentStarted:
    return AgentStarted(**_common(seq), author=author, branch=branch)


def agent_done(seq: int, author: str, branch: str | None = None) -> AgentCompleted:
    return AgentCompleted(**_common(seq), author=author, branch=branch)


def delta(seq: int, message_id: str, text: str, author: str = "a") -> MessageDelta:
    return MessageDelta(**_common(seq), author=author, message_id=message_id, text=text)


def completed(seq: int, message_id: str, text: str, author: str = "a") -> MessageCompleted:
    return MessageCompleted(**_common(seq), author=author, message_id=message_id, text=text)


def tool_call(seq: int, call_id: str, args: dict[str, Any], author: str = "a") -> ToolCall:
    return ToolCall(**_common(seq), author=author, call_id=call_id, name="clock", args=args)


def tool_result(seq: int, call_id: str, result: Any, author: str = "a") -> ToolResult:
    return ToolResult(**_common(seq), author=author, call_id=call_id, name="clock", result=result)


def state(seq: int, change: dict[str, Any], author: str = "a") -> StateDelta:
    return StateDelta(**_common(seq), author=author, delta=change)


def run_completed(seq: int, final_text: str = "") -> RunCompleted:
    usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
    return RunCompleted(**_common(seq), usage=usage, final_text=final_text)


def run_failed(seq: int) -> RunFailed:
    error = ErrorInfo(code="model_error", message="The model failed to answer.")
    return RunFailed(**_common(seq), error=error)


def run_cancelled(seq: int) -> RunCancelled:
    return RunCancelled(**_common(seq), reason="cancelled by request")


def numbered(*events: StreamEvent) -> list[StreamEvent]:
    """The events with seq 1, 2, 3 ... in order (whatever they were built with)."""
    return [e.model_copy(update={"seq": i, "ts": TS + i}) for i, e in enumerate(events, 1)]
