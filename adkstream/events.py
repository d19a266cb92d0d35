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
    """Token counts summed over the model calls of a run.

    `total_tokens` is `prompt_tokens + completion_tokens + thought_tokens +
    tool_use_prompt_tokens`; `cached_tokens` is the part of `prompt_tokens` served from
    the model's context cache (already counted in `prompt_tokens`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    thought_tokens: int = 0
    cached_tokens: int = 0
    tool_use_prompt_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            thought_tokens=self.thought_tokens + other.thought_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            tool_use_prompt_tokens=self.tool_use_prompt_tokens + other.tool_use_prompt_tokens,
        )


class ErrorInfo(BaseModel):
    """A stable machine code and a message that leaks no internals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    message: str


class RunStarted(_Event):
    """The run began. `resumes` is the waiting run this one continues (its answers)."""

    type: Literal["run.started"] = "run.started"
    session_id: str
    user_id: str
    app: str
    agent: str
    invocation_id: str | None = None
    resumes: str | None = None


class RunQueued(_Event):
    """The run waits its turn: the session's run `behind` is in progress, and a session
    runs one run at a time (`if_busy: "enqueue"`). The run goes on when that one ends."""

    type: Literal["run.queued"] = "run.queued"
    behind: str


class MessageDelta(_Attributed):
    type: Literal["message.delta"] = "message.delta"
    message_id: str
    text: str


FinishReason: TypeAlias = str
"""Why a model stopped: `stop`, `max_tokens` (the answer was cut), or a content filter's
reason (`safety`, `recitation`, `blocklist`, `prohibited_content`, `spii`, `language`,
`image_safety`, `malformed_function_call`, ..., `other`): Gemini's `FinishReason` (or a
prompt's `BlockedReason`) in lower case. Only `stop` and `max_tokens` are not a filter."""

FILTER_FREE_REASONS = frozenset({"stop", "max_tokens"})


class MessageCompleted(_Attributed):
    """The whole text of a message. `finish_reason` is set when the model did not end it
    normally: `max_tokens` (cut at the token limit) or a filter's reason (see `FinishReason`)."""

    type: Literal["message.completed"] = "message.completed"
    message_id: str
    text: str
    output_key: str | None = None
    finish_reason: FinishReason | None = None


class ReasoningDelta(_Attributed):
    """New text of a model's thinking (Gemini's thought parts), coalesced like message text."""

    type: Literal["reasoning.delta"] = "reasoning.delta"
    message_id: str
    text: str


class ReasoningCompleted(_Attributed):
    """The whole text of one piece of thinking; its deltas concatenate to `text`."""

    type: Literal["reasoning.completed"] = "reasoning.completed"
    message_id: str
    text: str


class CodeCall(_Attributed):
    """Code a model wrote to be run (Gemini's code execution, or an ADK code executor)."""

    type: Literal["code.call"] = "code.call"
    code_id: str
    language: str
    code: str


class CodeResult(_Attributed):
    """What running the code of `code_id` gave: `outcome` is `ok`, `failed` or
    `deadline_exceeded`; `output` is its stdout (or stderr / the failure)."""

    type: Literal["code.result"] = "code.result"
    code_id: str
    outcome: str
    output: str = ""


class Source(BaseModel):
    """A source a model drew on: a web page (grounding) or a cited document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    url: str | None = None
    title: str | None = None
    kind: Literal["web", "document", "citation"] = "web"


class SourceSpan(BaseModel):
    """A span of the message's text (character offsets into `message.completed.text`,
    when the model gives them) and the sources (`Source.id`) that support it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int | None = None
    end: int | None = None
    text: str | None = None
    source_ids: list[str] = Field(default_factory=list)


class MessageSources(_Attributed):
    """The sources behind a message (Gemini's grounding and citation metadata); sent
    after the message's `message.completed`, with the same `message_id`."""

    type: Literal["message.sources"] = "message.sources"
    message_id: str
    sources: list[Source]
    spans: list[SourceSpan] = Field(default_factory=list)
    queries: list[str] = Field(default_factory=list)


class MessageFile(_Attributed):
    """A file a model made (an image, say) as part of a message: base64 in `data`."""

    type: Literal["message.file"] = "message.file"
    message_id: str
    file_id: str
    mime_type: str
    data: str
    name: str | None = None


class ArtifactSaved(_Attributed):
    """A tool or agent saved an artifact in the session (ADK's artifact service).

    `url` is where to fetch this version: `GET /v1/sessions/{id}/artifacts/{name}?version=N`.
    """

    type: Literal["artifact.saved"] = "artifact.saved"
    name: str
    version: int
    mime_type: str | None = None
    size: int | None = None
    url: str


class ToolCall(_Attributed):
    """A function call. `long_running` marks a call ADK does not wait for (its id is in
    the event's `long_running_tool_ids`): its result comes later, or from outside."""

    type: Literal["tool.call"] = "tool.call"
    call_id: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    long_running: bool = False


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


class AgentEscalated(_Attributed):
    """An agent escalated (`actions.escalate`): a LoopAgent around it stops looping."""

    type: Literal["agent.escalated"] = "agent.escalated"


class AgentTransfer(_Event):
    type: Literal["agent.transfer"] = "agent.transfer"
    from_agent: str
    to_agent: str


class RunCompleted(_Event):
    """The run ended normally. `finish_reason` is the last model answer's: `stop`, or
    `max_tokens` (the final text was cut), or a content filter's reason (`safety`, ...):
    the model refused or was stopped, which is not an outage (that is `run.failed`)."""

    type: Literal["run.completed"] = "run.completed"
    usage: Usage = Field(default_factory=Usage)
    final_text: str = ""
    finish_reason: FinishReason = "stop"


class InputRequested(_Attributed):
    """The run needs an answer before it can go on (an ADK pause): a person's confirmation,
    a long-running tool's result, a credential, a client-side tool's result, or input.

    `request_id` is what an answer names; `kind` is `confirmation`, `tool_result`,
    `credential`, `client_tool` or `input`; `name` and `args` are the tool's (for a
    confirmation, the tool awaiting it); `hint` and `payload` are ADK's; an answer must
    satisfy `answer_schema` (JSON Schema). The run then ends with `run.waiting`.
    """

    type: Literal["input.requested"] = "input.requested"
    request_id: str
    kind: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    call_id: str | None = None
    hint: str | None = None
    payload: Any = None
    answer_schema: dict[str, Any] = Field(default_factory=dict)


class InputRequest(BaseModel):
    """One thing a waiting run waits for (the payload of `input.requested`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    kind: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    call_id: str | None = None
    hint: str | None = None
    payload: Any = None
    answer_schema: dict[str, Any] = Field(default_factory=dict)
    author: str = ""
    branch: str | None = None


class RunWaiting(_Event):
    """The run paused, waiting for the answers to `pending` (each also announced by an
    `input.requested`). `POST /v1/runs/{run_id}/answers` continues ADK's invocation
    `invocation_id` in a new run whose `run.started` says `resumes`."""

    type: Literal["run.waiting"] = "run.waiting"
    pending: list[InputRequest]
    invocation_id: str | None = None
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


class AdkEvent(_Event):
    """An ADK Event as ADK's own REST API sends it (`/run`, `/run_sse`): its JSON, camelCase,
    without None fields. Written only by runs started there (`RunRequest.adk_events`);
    every other encoder skips it."""

    type: Literal["adk.event"] = "adk.event"
    event: dict[str, Any]


StreamEvent: TypeAlias = Annotated[
    RunStarted
    | RunQueued
    | MessageDelta
    | MessageCompleted
    | ReasoningDelta
    | ReasoningCompleted
    | CodeCall
    | CodeResult
    | MessageSources
    | MessageFile
    | ArtifactSaved
    | ToolCall
    | ToolResult
    | StateDelta
    | AgentStarted
    | AgentCompleted
    | AgentEscalated
    | AgentTransfer
    | InputRequested
    | RunCompleted
    | RunWaiting
    | RunFailed
    | RunCancelled
    | TurnCompleted
    | MediaDelta
    | AdkEvent,
    Field(discriminator="type"),
]
TerminalEvent: TypeAlias = RunCompleted | RunWaiting | RunFailed | RunCancelled
DeltaEvent: TypeAlias = MessageDelta | ReasoningDelta
"""The events the coalescer merges: new text of one `message_id`."""
DELTA_TYPES = (MessageDelta, ReasoningDelta)
TERMINAL_TYPES = frozenset({"run.completed", "run.waiting", "run.failed", "run.cancelled"})

stream_event_adapter: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)


def parse_event(data: str | bytes) -> StreamEvent:
    """Decode one event from its JSON text (an SSE `data:` value or an NDJSON line)."""
    return stream_event_adapter.validate_json(data)


def is_terminal(event: StreamEvent) -> bool:
    return event.type in TERMINAL_TYPES


def event_json(event: StreamEvent) -> str:
    """The compact JSON of an event, as every encoder sends it."""
    return event.model_dump_json()
