"""The wire events (protocol v1): what a run produces, shared by runner, api and client.

Every event is a frozen pydantic model in one union discriminated on `type`. `seq` is
assigned once, when the event enters the run's log (events are built with `seq=0` and
numbered by the log). This module imports neither ADK nor Starlette.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL_VERSION = 1


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = 0
    run_id: str
    ts: float


class _Attributed(_Event):
    author: str
    branch: str | None = None


class Usage(BaseModel):
    """Token counts summed over the model calls of a run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class ErrorInfo(BaseModel):
    """A stable machine code and a message that leaks no internals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str


class RunStarted(_Event):
    type: Literal["run.started"] = "run.started"
    session_id: str
    user_id: str
    app: str
    agent: str
    invocation_id: str | None = None


class MessageDelta(_Attributed):
    type: Literal["message.delta"] = "message.delta"
    message_id: str
    text: str


class MessageCompleted(_Attributed):
    type: Literal["message.completed"] = "message.completed"
    message_id: str
    text: str
    output_key: str | None = None


class ToolCall(_Attributed):
    type: Literal["tool.call"] = "tool.call"
    call_id: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ToolResult(_Attributed):
    type: Literal["tool.result"] = "tool.result"
    call_id: str
    name: str
    result: Any = None


class StateDelta(_Attributed):
    type: Literal["state.delta"] = "state.delta"
    delta: dict[str, Any]


class AgentStarted(_Attributed):
    type: Literal["agent.started"] = "agent.started"


class AgentCompleted(_Attributed):
    type: Literal["agent.completed"] = "agent.completed"
    output: Any = None


class AgentTransfer(_Event):
    type: Literal["agent.transfer"] = "agent.transfer"
    from_agent: str
    to_agent: str


class RunCompleted(_Event):
    type: Literal["run.completed"] = "run.completed"
    usage: Usage = Field(default_factory=Usage)
    final_text: str = ""


class RunFailed(_Event):
    type: Literal["run.failed"] = "run.failed"
    error: ErrorInfo


class RunCancelled(_Event):
    type: Literal["run.cancelled"] = "run.cancelled"
    reason: str


class TurnCompleted(_Attributed):
    """A model turn of a live run ended (`turn_complete`, or cut short: `interrupted`)."""

    type: Literal["turn.completed"] = "turn.completed"
    turn: int
    message_id: str | None = None
    text: str = ""
    interrupted: bool = False


class MediaDelta(_Attributed):
    """A chunk of binary model output in a live run (audio), base64 in `data`."""

    type: Literal["media.delta"] = "media.delta"
    message_id: str
    mime_type: str
    data: str


StreamEvent: TypeAlias = Annotated[
    RunStarted
    | MessageDelta
    | MessageCompleted
    | ToolCall
    | ToolResult
    | StateDelta
    | AgentStarted
    | AgentCompleted
    | AgentTransfer
    | RunCompleted
    | RunFailed
    | RunCancelled
    | TurnCompleted
    | MediaDelta,
    Field(discriminator="type"),
]
TerminalEvent: TypeAlias = RunCompleted | RunFailed | RunCancelled
TERMINAL_TYPES = frozenset({"run.completed", "run.failed", "run.cancelled"})

stream_event_adapter: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)


def parse_event(data: str | bytes) -> StreamEvent:
    """Decode one event from its JSON text (an SSE `data:` value or an NDJSON line)."""
    return stream_event_adapter.validate_json(data)


def is_terminal(event: StreamEvent) -> bool:
    return event.type in TERMINAL_TYPES


def event_json(event: StreamEvent) -> str:
    """The compact JSON of an event, as every encoder sends it."""
    return event.model_dump_json()
