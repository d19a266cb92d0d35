"""Stream events -> the Vercel AI SDK UI message stream (protocol `v1`), and its SSE frames.

A pure class fed one stream event at a time: each event becomes zero or more UI message
chunks (`{"type": "text-delta", ...}`), each chunk one `data:` frame, and the stream
ends with `data: [DONE]`. One run is one assistant message (`start` ... `finish`).
Events first pass through `Contiguous`, so parallel branches come one after another.

Divergences worth knowing:
- The protocol has no agent attribution: every agent run opens a step (`start-step`)
  followed by a `data-agent` part `{author, branch, status}` (one `id` per agent run,
  `agent:<author>[:<branch>]`, then `#2`, `#3` ... when it runs again, so the client
  updates it in place to `completed`); text, reasoning, tool, source and file parts
  carry `providerMetadata.adkstream.{author, branch}`. Steps never nest: open text and
  reasoning parts end before a `finish-step`, an agent starting while another's step
  is open (a transfer) ends that step first, and an `agent.completed` without an open
  step of its own sends no `finish-step`.
- The protocol has no code-execution part: `code.call` / `code.result` are
  provider-executed tool parts named `code_execution` (input `{language, code}`, output
  `{outcome, output}`), the shape the SDK's own Google provider gives Gemini's code
  execution.
- `message.sources`: a `source-url` per source with a URL, a `source-document` (media
  type `application/octet-stream`: unknown) per source without one; the spans citing a
  source ride on its `providerMetadata`, the search queries are not sent.
- `artifact.saved` is a `data-artifact` part `{name, version, mimeType, size, url}`, not
  a `file` part: its URL is relative to our server (the page's origin may differ, and
  it needs the API's credentials), and an artifact is not part of the model's answer.
- `agent.escalated` is a `data-escalate` part `{author, branch}` (the `data-agent` part
  still ends `completed`).
- `finish.finishReason` is `stop`, `length` (`max_tokens`) or `content-filter` (any
  filter's reason); the reason itself and the usage ride on `messageMetadata`.
- A run that waits its turn (`run.queued`: the session's run in progress goes first)
  sends a transient `data-queued` part `{behind}`.
- State changes come as transient `data-state` parts (delivered to `onData`, not kept
  in the message).
- A run that waits ends with `finishReason: "tool-calls"` (the run id and the pending
  request ids on `messageMetadata.adkstream`). A tool confirmation is a
  `tool-approval-request` on the tool's part (`addToolApprovalResponse` answers it, a
  denial's result is `tool-output-denied`); every other request is a tool call the
  client answers with `addToolOutput` (`api/client_calls.py`): a client tool's or a
  long-running tool's own call, `adk_request_credential`, `adk_request_input`.
- A failed run sends `error` (our stable message, never exception text) then `finish`
  with `finishReason: "error"`; a cancelled run sends `abort`, as the SDK's own
  producer does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, assert_never

from adkstream.api.client_calls import client_call
from adkstream.api.contiguous import Contiguous
from adkstream.api.encoder import SSE_HEADERS, Framing, chunk_frames
from adkstream.api.sse import DONE_FRAME, json_frame
from adkstream.events import (
    FILTER_FREE_REASONS,
    AdkEvent,
    AgentCompleted,
    AgentEscalated,
    AgentStarted,
    AgentTransfer,
    ArtifactSaved,
    CodeCall,
    CodeResult,
    InputRequested,
    MediaDelta,
    MessageCompleted,
    MessageDelta,
    MessageFile,
    MessageSources,
    ReasoningCompleted,
    ReasoningDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunQueued,
    RunStarted,
    RunWaiting,
    Source,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    TurnCompleted,
)
from adkstream.runner.pauses import CONFIRMATION, CREDENTIAL, INPUT

Chunk = dict[str, Any]
_AgentKey = tuple[str, str | None]
_Text = MessageDelta | MessageCompleted | ReasoningDelta | ReasoningCompleted
_Attributed = (
    MessageDelta
    | MessageCompleted
    | ReasoningDelta
    | ReasoningCompleted
    | ToolCall
    | ToolResult
    | CodeCall
    | CodeResult
    | MessageSources
    | MessageFile
    | InputRequested
)

_PAUSE_CALLS = frozenset({CONFIRMATION, CREDENTIAL, INPUT})
"""ADK's own calls that pause a run: the `input.requested` after them says them."""

HEADERS = SSE_HEADERS | {"x-vercel-ai-ui-message-stream": "v1"}
"""The protocol's required headers besides `Content-Type: text/event-stream`."""

CODE_TOOL = "code_execution"
"""The tool name of code-execution parts (the SDK's Google provider uses it too)."""

UNKNOWN_MEDIA_TYPE = "application/octet-stream"


def vercel_frame(chunk: Chunk) -> bytes:
    """One UI message chunk as an SSE `data:` frame (compact JSON, no `event:` / `id:`)."""
    return json_frame(chunk)


def finish_reason(reason: str) -> str:
    """Our finish reason as the SDK's: `stop`, `length` or `content-filter`."""
    if reason not in FILTER_FREE_REASONS:
        return "content-filter"
    return "length" if reason == "max_tokens" else "stop"


@dataclass
class _Parts:
    """The text (or reasoning) parts of a message: each started once and ended once."""

    kind: Literal["text", "reasoning"]
    open: dict[str, None] = field(default_factory=dict)  # a dict keeps the start order
    done: set[str] = field(default_factory=set)

    def delta(self, event: MessageDelta | ReasoningDelta) -> list[Chunk]:
        """The part's start (the first time) and this new text."""
        if event.message_id in self.done:
            return []
        return [*self._start(event), self._delta(event.message_id, event.text)]

    def complete(
        self, event: MessageCompleted | ReasoningCompleted, metadata: Chunk | None = None
    ) -> list[Chunk]:
        """The part's end (after its whole text, when no delta came), once."""
        mid = event.message_id
        if mid in self.done:
            return []
        out: list[Chunk] = []
        if mid not in self.open:
            # A model that does not stream: the whole text arrives at once.
            out += self._start(event)
            out.append(self._delta(mid, event.text))
        del self.open[mid]
        self.done.add(mid)
        end: Chunk = {"type": f"{self.kind}-end", "id": mid}
        if metadata is not None:
            # The reader replaces the part's providerMetadata with the end's.
            end["providerMetadata"] = metadata
        return [*out, end]

    def close_all(self) -> list[Chunk]:
        """Ends every open part (its text so far stands)."""
        out: list[Chunk] = [{"type": f"{self.kind}-end", "id": mid} for mid in self.open]
        self.done |= self.open.keys()
        self.open.clear()
        return out

    def _start(self, event: _Text) -> list[Chunk]:
        mid = event.message_id
        if mid in self.open:
            return []
        self.open[mid] = None
        return [{"type": f"{self.kind}-start", "id": mid, "providerMetadata": _attribution(event)}]

    def _delta(self, message_id: str, text: str) -> Chunk:
        return {"type": f"{self.kind}-delta", "id": message_id, "delta": text}


@dataclass
class VercelEncoder:
    """Turns the stream events of one run into UI message chunks.

    Args:
        answered: for a run that continues a waiting one, the calls its answers are about
            (a confirmed tool's, a client tool's): their results end the step the chat's
            message left open, before this run's first `start-step` (the reader updates
            a tool part of the current step only).
        denied: the answered calls the client denied: their result is `tool-output-denied`.
    """

    answered: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()
    _order: Contiguous = field(default_factory=Contiguous)
    _texts: _Parts = field(default_factory=lambda: _Parts("text"))
    _reasoning: _Parts = field(default_factory=lambda: _Parts("reasoning"))
    _tool_calls: set[str] = field(default_factory=set)
    _runs: dict[_AgentKey, int] = field(default_factory=dict)
    """How many times each agent has started: its `data-agent` part's id."""
    _step: _AgentKey | None = None
    """The agent whose step is open."""
    _held: dict[str, ToolCall] = field(default_factory=dict)
    """Long-running calls and ADK's calls that pause, until the `input.requested` that
    says whose they are."""
    _stand_ins: set[str] = field(default_factory=set)
    """Paused calls (awaiting approval, a credential, their result): ADK's stand-in
    result is not theirs."""
    _deferred_step: AgentStarted | None = None
    _answered_done: set[str] = field(default_factory=set)
    """The first step of a continuation, until the answered calls' results are out."""
    _ended: bool = False

    framing = Framing("vercel", headers=HEADERS)

    def __post_init__(self) -> None:
        self._tool_calls |= self.answered  # their parts exist: the chat's message has them

    @property
    def ended(self) -> bool:
        """Whether the terminal event has been encoded: nothing follows it."""
        return self._ended

    def frames(self, event: StreamEvent) -> list[bytes]:
        """`encode` as SSE frames; `data: [DONE]` follows the terminal event's chunks."""
        return chunk_frames(self, event, vercel_frame, end=DONE_FRAME)

    def encode(self, event: StreamEvent) -> list[Chunk]:
        """The UI message chunks for one stream event and any it let out of `Contiguous`
        (none after the terminal event)."""
        out: list[Chunk] = []
        for ordered in self._order.push(event):
            if self._ended:
                break
            if self._held and not isinstance(ordered, InputRequested | ToolCall):
                out += self._release_held()
            if self._deferred_step is not None and not self._answers_result(ordered):
                out += self._start_step(self._deferred_step)
                self._deferred_step = None
            out += self._encode(ordered)
        return out

    def _encode(self, event: StreamEvent) -> list[Chunk]:
        match event:
            case RunStarted():
                return [_start_part(event)]
            case AgentStarted() if self._step is None and self._open_answers():
                self._deferred_step = event
                return []
            case AgentStarted():
                return self._start_step(event)
            case AgentCompleted():
                return self._finish_step(event)
            case AgentEscalated():
                return [{"type": "data-escalate", "data": _who(event)}]
            case MessageDelta():
                return self._texts.delta(event)
            case MessageCompleted():
                if event.finish_reason is None:
                    return self._texts.complete(event)
                # A cut or filtered text says why on its part.
                cut = _attribution(event, finishReason=event.finish_reason)
                return self._texts.complete(event, cut)
            case ReasoningDelta():
                return self._reasoning.delta(event)
            case ReasoningCompleted():
                return self._reasoning.complete(event)
            case ToolCall() if event.long_running or event.name in _PAUSE_CALLS:
                self._held[event.call_id] = event
                return []
            case ToolCall():
                return self._tool_input(event.call_id, event.name, event.args, event)
            case ToolResult() if event.call_id in self._stand_ins:
                return []  # ADK's stand-in ("requires confirmation"), not the tool's result
            case ToolResult() if event.call_id in self.denied:
                self._answered_done.add(event.call_id)
                return [{"type": "tool-output-denied", "toolCallId": event.call_id}]
            case ToolResult() if event.call_id in self.answered:
                self._answered_done.add(event.call_id)
                return self._tool_output(event.call_id, event.name, event.result, event)
            case ToolResult():
                return self._tool_output(event.call_id, event.name, event.result, event)
            case CodeCall():
                code = {"language": event.language, "code": event.code}
                return self._tool_input(event.code_id, CODE_TOOL, code, event)
            case CodeResult():
                result = {"outcome": event.outcome, "output": event.output}
                return self._tool_output(event.code_id, CODE_TOOL, result, event)
            case MessageSources():
                return [_source_part(source, event) for source in event.sources]
            case MessageFile():
                return [_file_part(event)]
            case ArtifactSaved():
                return [_artifact_part(event)]
            case RunQueued():
                queued = {"type": "data-queued", "data": {"behind": event.behind}}
                return [queued | {"transient": True}]
            case StateDelta():
                state = _who(event) | {"delta": event.delta}
                return [{"type": "data-state", "data": state, "transient": True}]
            case RunCompleted():
                self._ended = True
                return [*self._close_step(), _finish_part(event)]
            case RunFailed():
                self._ended = True
                return [
                    {"type": "error", "errorText": event.error.message},
                    {"type": "finish", "finishReason": "error"},
                ]
            case RunCancelled():
                self._ended = True
                return [{"type": "abort", "reason": event.reason}]
            case InputRequested():
                return self._input_requested(event)
            case RunWaiting():
                self._ended = True
                waiting = {"run_id": event.run_id, "waiting": [p.request_id for p in event.pending]}
                finish = {
                    "type": "finish",
                    "finishReason": "tool-calls",
                    "messageMetadata": {"adkstream": waiting},
                }
                return [*self._close_step(), finish]
            case AgentTransfer():
                return []  # the next agent's step and data-agent part say it
            case TurnCompleted() | MediaDelta():
                return []  # live runs only: they do not reach this protocol
            case AdkEvent():
                return []  # runs of ADK's REST API only: they do not reach this protocol
            case _:
                assert_never(event)

    # --- steps ---

    def _start_step(self, event: AgentStarted) -> list[Chunk]:
        key = (event.author, event.branch)
        if self._step == key:
            return []  # already open: nothing new
        out = self._close_step()
        self._runs[key] = self._runs.get(key, 0) + 1
        self._step = key
        return [*out, {"type": "start-step"}, _agent_part(key, self._runs[key], "running")]

    def _finish_step(self, event: AgentCompleted) -> list[Chunk]:
        key = (event.author, event.branch)
        if self._step != key:
            # An agent that completes again without starting again (a loop's next turn,
            # as older runners reported it): its part says so, but no step is open.
            return [_agent_part(key, self._runs.get(key, 1), "completed")]
        return self._close_step()

    def _close_step(self) -> list[Chunk]:
        """Ends the open step, and every open text and reasoning part before it: a step's
        parts end inside it (earlier `ai` readers forget the parts open at a `finish-step`)."""
        out = [*self._texts.close_all(), *self._reasoning.close_all()]
        key, self._step = self._step, None
        if key is not None:
            out += [_agent_part(key, self._runs[key], "completed"), {"type": "finish-step"}]
        return out

    # --- tools ---

    def _open_answers(self) -> bool:
        """Whether answered calls still wait for their results (a continuation's start)."""
        return bool(self.answered - self._answered_done)

    def _answers_result(self, event: StreamEvent) -> bool:
        return isinstance(event, AgentStarted | ToolResult) and (
            not isinstance(event, ToolResult) or event.call_id in self.answered
        )

    def _input_requested(self, event: InputRequested) -> list[Chunk]:
        """A pause: an approval request for a confirmation; for the rest, a call the
        client answers with `addToolOutput` (no `providerExecuted`: `useChat`'s
        onToolCall sees it): a client tool's or a long-running tool's own call, or a
        call of `adk_request_credential` / `adk_request_input` (`api/client_calls.py`).
        ADK's stand-in result for the paused call is not sent: the answer is its result."""
        self._held.pop(event.request_id, None)  # ADK's call of the pause, said here instead
        self._stand_ins.add(event.call_id or event.request_id)
        if event.kind == "confirmation":
            call_id = event.call_id or event.request_id
            out: list[Chunk] = []
            if call_id not in self._tool_calls:
                out += self._tool_input(call_id, event.name, event.args, event)
            approval = {"type": "tool-approval-request", "approvalId": event.request_id}
            return [*out, approval | {"toolCallId": call_id}]
        self._tool_calls.add(event.request_id)
        name, args = client_call(event)
        call = {
            "type": "tool-input-available",
            "toolCallId": event.request_id,
            "toolName": name,
            "input": args,
            "providerMetadata": _attribution(event),
        }
        return [call]

    def _release_held(self) -> list[Chunk]:
        """Long-running calls no request claimed: ordinary calls after all."""
        held, self._held = self._held, {}
        return [
            c
            for call in held.values()
            for c in self._tool_input(call.call_id, call.name, call.args, call)
        ]

    def _tool_input(
        self,
        call_id: str,
        name: str,
        args: Any,
        event: ToolCall | ToolResult | CodeCall | CodeResult | InputRequested,
    ) -> list[Chunk]:
        self._tool_calls.add(call_id)
        return [
            {
                "type": "tool-input-available",
                "toolCallId": call_id,
                "toolName": name,
                "input": args,
                # The server ran the tool: `useChat`'s onToolCall (client-side tools) must not.
                "providerExecuted": True,
                "providerMetadata": _attribution(event),
            }
        ]

    def _tool_output(
        self, call_id: str, name: str, result: Any, event: ToolResult | CodeResult
    ) -> list[Chunk]:
        out: list[Chunk] = []
        if call_id not in self._tool_calls:
            # The reader refuses an output for a call it never saw.
            out += self._tool_input(call_id, name, {}, event)
        output = {
            "type": "tool-output-available",
            "toolCallId": call_id,
            "output": result,
            "providerExecuted": True,
        }
        return [*out, output]


def _start_part(event: RunStarted) -> Chunk:
    metadata = {"run_id": event.run_id, "session_id": event.session_id}
    if event.resumes is not None:
        # It continues the waiting run's answer: the chat's last assistant message goes
        # on (a new message id would make the reader start another message).
        return {"type": "start", "messageMetadata": metadata | {"resumes": event.resumes}}
    return {"type": "start", "messageId": event.run_id, "messageMetadata": metadata}


def _finish_part(event: RunCompleted) -> Chunk:
    metadata = {"usage": event.usage.model_dump(), "finish_reason": event.finish_reason}
    return {
        "type": "finish",
        "finishReason": finish_reason(event.finish_reason),
        "messageMetadata": metadata,
    }


def _agent_part(key: _AgentKey, run: int, status: str) -> Chunk:
    author, branch = key
    part_id = f"agent:{author}" + (f":{branch}" if branch else "") + (f"#{run}" if run > 1 else "")
    return {
        "type": "data-agent",
        "id": part_id,
        "data": {"author": author, "branch": branch, "status": status},
    }


def _source_part(source: Source, event: MessageSources) -> Chunk:
    spans = [
        {"start": span.start, "end": span.end, "text": span.text}
        for span in event.spans
        if source.id in span.source_ids
    ]
    metadata = _attribution(event, messageId=event.message_id, kind=source.kind, spans=spans)
    if source.url is not None:
        chunk: Chunk = {"type": "source-url", "sourceId": source.id, "url": source.url}
        if source.title is not None:  # optional, and the schema refuses null
            chunk["title"] = source.title
    else:
        chunk = {
            "type": "source-document",
            "sourceId": source.id,
            "mediaType": UNKNOWN_MEDIA_TYPE,
            "title": source.title or source.id,  # required by the schema
        }
    chunk["providerMetadata"] = metadata
    return chunk


def _file_part(event: MessageFile) -> Chunk:
    return {
        "type": "file",
        "url": f"data:{event.mime_type};base64,{event.data}",
        "mediaType": event.mime_type,
        "providerMetadata": _attribution(
            event, messageId=event.message_id, fileId=event.file_id, name=event.name
        ),
    }


def _artifact_part(event: ArtifactSaved) -> Chunk:
    data = {
        "name": event.name,
        "version": event.version,
        "mimeType": event.mime_type,
        "size": event.size,
        "url": event.url,
        **_who(event),
    }
    # One part per version: a new version is a new part, not an update of the last.
    return {"type": "data-artifact", "id": f"artifact:{event.name}#{event.version}", "data": data}


def _who(
    event: _Attributed | AgentEscalated | StateDelta | ArtifactSaved | InputRequested,
) -> Chunk:
    return {"author": event.author, "branch": event.branch}


def _attribution(event: _Attributed, **extra: Any) -> Chunk:
    return {"adkstream": {**_who(event), **extra}}
