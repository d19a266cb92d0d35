"""Stream events -> AG-UI events (ag-ui-protocol 1.0), and AG-UI events -> SSE frames.

A pure class fed one stream event at a time; the route owns the I/O. What it guarantees
is what AG-UI clients verify (`verifyEvents` in @ag-ui/client): `RUN_STARTED` first, a
START before any CONTENT, ARGS or END, every START closed by its END before
`RUN_FINISHED`, exactly one terminal event, last. Events first pass through
`Contiguous`, so parallel branches come one after another.

Where each event goes:
- Each agent run (an `(author, branch)` from `agent.started` to `agent.completed`; a
  loop's every iteration) is a step: STEP_STARTED before its messages (an event of an
  agent whose step is not open opens it), its open text and reasoning ended before
  STEP_FINISHED. A step is named after its author; an author that runs on several
  branches gets the branch in the name of the second and later (`w (par.w2)`).
- `reasoning.*`: REASONING_START + REASONING_MESSAGE_START (span and message share the
  reasoning's `message_id`), REASONING_MESSAGE_CONTENT per delta, REASONING_MESSAGE_END
  + REASONING_END at `reasoning.completed` (its whole text as one CONTENT when no delta
  came), at its agent's step end, or before the terminal event.
- `code.call` / `code.result`: an ACTIVITY_SNAPSHOT (activity type `code_execution`,
  message id the `code_id`) with `{language, code}`, replaced by `{language, code,
  outcome, output}` when the result comes. Not a tool call: AG-UI clients take a tool
  call without a result for one the application must answer (`pendingToolCallIds`),
  and the code already ran on the server.
- `message.sources`: an ACTIVITY_SNAPSHOT (type `sources`, id `<message_id>-sources`)
  `{messageId, sources[{id, url, title, kind}], spans[{start, end, text, sourceIds}],
  queries}`: an activity message the UI shows beside the cited message.
- `message.file`: an ACTIVITY_SNAPSHOT (type `file`, id the `file_id`) `{messageId,
  name, part}` where `part` is AG-UI's own media part (`image`, `audio`, `video`, else
  `document`) with a `data` source: an assistant message in 1.0 holds text only.
- `artifact.saved`: CUSTOM `artifact.saved` `{name, version, mimeType, size, url,
  author, branch}` (`url` is relative to our server); `agent.escalated`: CUSTOM
  `agent.escalated` `{author, branch}`; `run.queued`: CUSTOM `run.queued` `{behind}`
  (the run waits for the session's run in progress); `agent.transfer`: CUSTOM `agent.transfer`
  `{fromAgent, toAgent}`. Notifications, not conversation: activity messages persist in
  the client's messages, CUSTOM events only reach its subscribers.
- Finish reasons: a message cut (`max_tokens`) or filtered says so in its
  TEXT_MESSAGE_END `metadata` `{finishReason, filtered}` (the client merges it into the
  message's metadata); RUN_FINISHED's `metadata` carries the run's `{finishReason,
  filtered}` and our whole usage (`adkstream.usage`).
- Usage: RUN_FINISHED `usage` is one TokenUsage in AG-UI's accounting: `inputTokens` =
  prompt + tool-use prompt tokens, `outputTokens` = completion + thought tokens,
  `reasoningTokens` = thought tokens, `cachedInputTokens` = cached tokens.
- `run.waiting`: RUN_FINISHED with the `interrupt` outcome, one interrupt per pending
  request (`id` = request id, `reason` = its kind, `message` = its hint,
  `responseSchema` = its answer schema; name, args and payload in `metadata`);
  `input.requested` sends nothing of its own. `POST /v1/agui/{agent}` does not read
  `resume[]` yet: a waiting run is answered with `POST /v1/runs/{run_id}/answers`.
- Live-only events (`turn.completed`, `media.delta`) send nothing.

Divergences worth knowing:
- Our run id is not AG-UI's `runId`: RUN_STARTED / RUN_FINISHED echo the client's
  `runId`; ours travels in `metadata.adkstream.run_id` (and the `X-Run-Id` header).
- Agent attribution rides on `metadata` (`author`, `branch`) of each message, tool,
  activity and step event; a text message's `name` is its author; a long-running
  tool call's TOOL_CALL_START adds `longRunning: true`.
- A `run.cancelled` ends with `RUN_FINISHED` and the `cancelled` outcome (not an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, assert_never

from ag_ui.core import (
    ActivitySnapshotEvent,
    AudioPart,
    BaseEvent,
    CustomEvent,
    DataSource,
    DocumentPart,
    ImagePart,
    Interrupt,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    TokenUsage,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
    VideoPart,
)

from adkstream.api.contiguous import Contiguous
from adkstream.api.encoder import Framing, chunk_frames
from adkstream.api.sse import encode_frame
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
    InputRequest,
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
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    TurnCompleted,
    Usage,
)

_AgentKey = tuple[str, str | None]
_Content = (
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
)
"""The events that belong inside their agent's step."""

CODE_ACTIVITY = "code_execution"
SOURCES_ACTIVITY = "sources"
FILE_ACTIVITY = "file"


def json_pointer(key: str) -> str:
    """The RFC 6901 pointer to a top-level member: `~` -> `~0`, `/` -> `~1`."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def state_patch(state: dict[str, Any], delta: dict[str, Any]) -> list[dict[str, Any]]:
    """`delta` as an RFC 6902 JSON Patch on `state`, one op per key, and applied to it.

    A key `state` lacks is an `add`, one it has a `replace`; `state` is updated in place
    so that the next delta is written against the state the client now holds.
    """
    ops: list[dict[str, Any]] = []
    for key, value in delta.items():
        op = "replace" if key in state else "add"
        ops.append({"op": op, "path": json_pointer(key), "value": value})
        state[key] = value
    return ops


def agui_frame(event: BaseEvent) -> bytes:
    """One AG-UI event as SSE: `data: <camelCase JSON>`, no `event:` or `id:` line."""
    return encode_frame(data=event.model_dump_json(by_alias=True, exclude_none=True))


def token_usage(usage: Usage) -> TokenUsage:
    """Our usage in AG-UI's accounting, where thoughts are output and cached tokens input."""
    return TokenUsage(
        input_tokens=usage.prompt_tokens + usage.tool_use_prompt_tokens,
        output_tokens=usage.completion_tokens + usage.thought_tokens,
        total_tokens=usage.total_tokens,
        # Omitted rather than 0 when the model reported none (AG-UI reads 0 as measured).
        reasoning_tokens=usage.thought_tokens or None,
        cached_input_tokens=usage.cached_tokens or None,
    )


def finish_metadata(reason: str) -> dict[str, Any]:
    """Why a model stopped, and whether a content filter stopped it."""
    return {"finishReason": reason, "filtered": reason not in FILTER_FREE_REASONS}


@dataclass
class AguiEncoder:
    """Turns the stream events of one run into AG-UI events.

    Args:
        thread_id: AG-UI's thread (our session id).
        run_id: the client's `runId`, echoed in RUN_STARTED and RUN_FINISHED.
        state: the session state when the run starts: the STATE_SNAPSHOT.
    """

    thread_id: str
    run_id: str
    state: dict[str, Any] = field(default_factory=dict)
    _order: Contiguous = field(default_factory=Contiguous)
    _texts: dict[str, _AgentKey] = field(default_factory=dict)
    """Open text messages and their agents, in the order they started."""
    _reasoning: dict[str, _AgentKey] = field(default_factory=dict)
    """Open reasoning (span and message) and their agents."""
    _done: set[str] = field(default_factory=set)
    """Text and reasoning messages already ended: each is sent once."""
    _steps: dict[_AgentKey, str] = field(default_factory=dict)
    """The open steps and their names."""
    _names: dict[_AgentKey, str] = field(default_factory=dict)
    """Each agent's step name, fixed for the run (a loop's iterations share it)."""
    _code: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The content of each code activity, to which its result is added."""
    _ended: bool = False

    framing = Framing("agui")

    @property
    def ended(self) -> bool:
        """Whether the terminal event has been encoded: nothing follows it."""
        return self._ended

    def frames(self, event: StreamEvent) -> list[bytes]:
        """`encode`, as SSE frames."""
        return chunk_frames(self, event, agui_frame)

    def encode(self, event: StreamEvent) -> list[BaseEvent]:
        """The AG-UI events for one stream event and any it let out of `Contiguous`
        (none after the terminal one)."""
        out: list[BaseEvent] = []
        for ordered in self._order.push(event):
            if self._ended:
                break
            out += self._encode(ordered, int(ordered.ts * 1000))
        return out

    def _encode(self, event: StreamEvent, ts: int) -> list[BaseEvent]:
        match event:
            case RunStarted():
                meta = {"adkstream": {"run_id": event.run_id, "session_id": event.session_id}}
                return [
                    RunStartedEvent(
                        thread_id=self.thread_id, run_id=self.run_id, timestamp=ts, metadata=meta
                    ),
                    StateSnapshotEvent(snapshot=dict(self.state), timestamp=ts),
                ]
            case AgentStarted():
                key = (event.author, event.branch)
                return [] if key in self._steps else self._open_step(key, ts)
            case AgentCompleted():
                return self._close_step((event.author, event.branch), ts)
            case AgentEscalated():
                value = _who(event.author, event.branch)
                return [CustomEvent(name="agent.escalated", value=value, timestamp=ts)]
            case AgentTransfer():
                value = {"fromAgent": event.from_agent, "toAgent": event.to_agent}
                return [CustomEvent(name="agent.transfer", value=value, timestamp=ts)]
            case (
                MessageDelta()
                | MessageCompleted()
                | ReasoningDelta()
                | ReasoningCompleted()
                | ToolCall()
                | ToolResult()
                | CodeCall()
                | CodeResult()
                | MessageSources()
                | MessageFile()
            ):
                key = (event.author, event.branch)
                step = [] if key in self._steps else self._open_step(key, ts)
                return [*step, *self._content(event, ts)]
            case ArtifactSaved():
                return [CustomEvent(name="artifact.saved", value=_artifact(event), timestamp=ts)]
            case RunQueued():
                value = {"behind": event.behind}
                return [CustomEvent(name="run.queued", value=value, timestamp=ts)]
            case StateDelta():
                patch = state_patch(self.state, event.delta)
                return [StateDeltaEvent(delta=patch, timestamp=ts)]
            case InputRequested():
                return []  # the request goes out in RUN_FINISHED's interrupt outcome
            case RunCompleted() | RunWaiting() | RunCancelled() | RunFailed():
                self._ended = True
                return self._terminal(event, ts)
            case TurnCompleted() | MediaDelta():
                return []  # live runs only: they do not reach this protocol
            case AdkEvent():
                return []  # runs of ADK's REST API only: they do not reach this protocol
            case _:
                assert_never(event)

    def _content(self, event: _Content, ts: int) -> list[BaseEvent]:
        match event:
            case MessageDelta():
                if event.message_id in self._done:
                    return []
                said = TextMessageContentEvent(
                    message_id=event.message_id, delta=event.text, timestamp=ts
                )
                return [*self._start_text(event, ts), said]
            case MessageCompleted():
                return self._complete_text(event, ts)
            case ReasoningDelta():
                if event.message_id in self._done:
                    return []
                thought = ReasoningMessageContentEvent(
                    message_id=event.message_id, delta=event.text, timestamp=ts
                )
                return [*self._start_reasoning(event, ts), thought]
            case ReasoningCompleted():
                return self._complete_reasoning(event, ts)
            case ToolCall():
                return self._tool_call(event, ts)
            case ToolResult():
                return [
                    ToolCallResultEvent(
                        message_id=f"{event.call_id}-result",
                        tool_call_id=event.call_id,
                        content=json.dumps(event.result),
                        role="tool",
                        timestamp=ts,
                        metadata=_who(event.author, event.branch),
                    )
                ]
            case CodeCall():
                code = {"language": event.language, "code": event.code}
                self._code[event.code_id] = code
                return [self._activity(event, event.code_id, CODE_ACTIVITY, code, ts)]
            case CodeResult():
                result = self._code.pop(event.code_id, {}) | {
                    "outcome": event.outcome,
                    "output": event.output,
                }
                return [self._activity(event, event.code_id, CODE_ACTIVITY, result, ts)]
            case MessageSources():
                activity_id = f"{event.message_id}-sources"
                return [self._activity(event, activity_id, SOURCES_ACTIVITY, _sources(event), ts)]
            case MessageFile():
                return [self._activity(event, event.file_id, FILE_ACTIVITY, _file(event), ts)]
            case _:
                assert_never(event)

    # --- steps ---

    def _open_step(self, key: _AgentKey, ts: int) -> list[BaseEvent]:
        name = self._names.get(key)
        if name is None:
            author, branch = key
            # Step names must be unique among open steps; an author seen on another
            # branch (a fan-out running one agent several times) gets its branch.
            taken = set(self._names.values())
            name = author if author not in taken else f"{author} ({branch})"
            self._names[key] = name
        self._steps[key] = name
        return [StepStartedEvent(step_name=name, timestamp=ts, metadata=_who(*key))]

    def _close_step(self, key: _AgentKey, ts: int) -> list[BaseEvent]:
        """Ends the agent's step, after what it left open (a step holds its messages)."""
        name = self._steps.pop(key, None)
        if name is None:
            return []  # an agent's second final response: its step has already ended
        out = self._end_reasoning(
            [mid for mid, owner in self._reasoning.items() if owner == key], ts
        )
        out += self._end_texts([mid for mid, owner in self._texts.items() if owner == key], ts)
        out.append(StepFinishedEvent(step_name=name, timestamp=ts, metadata=_who(*key)))
        return out

    # --- text and reasoning ---

    def _start_text(self, event: MessageDelta | MessageCompleted, ts: int) -> list[BaseEvent]:
        mid = event.message_id
        if mid in self._texts:
            return []
        self._texts[mid] = (event.author, event.branch)
        return [
            TextMessageStartEvent(
                message_id=mid,
                role="assistant",
                name=event.author,
                timestamp=ts,
                metadata=_who(event.author, event.branch),
            )
        ]

    def _complete_text(self, event: MessageCompleted, ts: int) -> list[BaseEvent]:
        mid = event.message_id
        if mid in self._done:
            return []
        out: list[BaseEvent] = []
        if mid not in self._texts:
            # A model that does not stream: the whole text arrives at once.
            out += self._start_text(event, ts)
            out.append(TextMessageContentEvent(message_id=mid, delta=event.text, timestamp=ts))
        del self._texts[mid]
        self._done.add(mid)
        # The client merges END's metadata into the message's: a cut or filtered
        # message says why it stopped.
        meta = None if event.finish_reason is None else finish_metadata(event.finish_reason)
        out.append(TextMessageEndEvent(message_id=mid, timestamp=ts, metadata=meta))
        return out

    def _end_texts(self, message_ids: list[str], ts: int) -> list[BaseEvent]:
        for mid in message_ids:
            del self._texts[mid]
            self._done.add(mid)
        return [TextMessageEndEvent(message_id=mid, timestamp=ts) for mid in message_ids]

    def _start_reasoning(
        self, event: ReasoningDelta | ReasoningCompleted, ts: int
    ) -> list[BaseEvent]:
        mid = event.message_id
        if mid in self._reasoning:
            return []
        self._reasoning[mid] = (event.author, event.branch)
        meta = _who(event.author, event.branch)
        # One span per piece of thinking, named by it: the verifier tracks spans and
        # messages apart, so one id may name both.
        return [
            ReasoningStartEvent(message_id=mid, timestamp=ts, metadata=meta),
            ReasoningMessageStartEvent(message_id=mid, timestamp=ts, metadata=meta),
        ]

    def _complete_reasoning(self, event: ReasoningCompleted, ts: int) -> list[BaseEvent]:
        mid = event.message_id
        if mid in self._done:
            return []
        out: list[BaseEvent] = []
        if mid not in self._reasoning:
            # Thinking that was not streamed: its whole text at once.
            out += self._start_reasoning(event, ts)
            out.append(ReasoningMessageContentEvent(message_id=mid, delta=event.text, timestamp=ts))
        return [*out, *self._end_reasoning([mid], ts)]

    def _end_reasoning(self, message_ids: list[str], ts: int) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        for mid in message_ids:
            del self._reasoning[mid]
            self._done.add(mid)
            out.append(ReasoningMessageEndEvent(message_id=mid, timestamp=ts))
            out.append(ReasoningEndEvent(message_id=mid, timestamp=ts))
        return out

    # --- tools and activities ---

    def _tool_call(self, event: ToolCall, ts: int) -> list[BaseEvent]:
        meta = _who(event.author, event.branch)
        if event.long_running:
            meta["longRunning"] = True
        return [
            ToolCallStartEvent(
                tool_call_id=event.call_id, tool_call_name=event.name, timestamp=ts, metadata=meta
            ),
            ToolCallArgsEvent(
                tool_call_id=event.call_id, delta=json.dumps(event.args), timestamp=ts
            ),
            ToolCallEndEvent(tool_call_id=event.call_id, timestamp=ts),
        ]

    def _activity(
        self,
        event: CodeCall | CodeResult | MessageSources | MessageFile,
        activity_id: str,
        activity_type: str,
        content: dict[str, Any],
        ts: int,
    ) -> ActivitySnapshotEvent:
        return ActivitySnapshotEvent(
            message_id=activity_id,
            activity_type=activity_type,
            content=content,
            timestamp=ts,
            metadata=_who(event.author, event.branch),
        )

    # --- the end ---

    def _terminal(
        self, event: RunCompleted | RunWaiting | RunCancelled | RunFailed, ts: int
    ) -> list[BaseEvent]:
        if isinstance(event, RunFailed):
            # RUN_ERROR may end a run at any point; nothing may follow it.
            return [RunErrorEvent(message=event.error.message, code=event.error.code, timestamp=ts)]
        out = self._close_all(ts)
        match event:
            case RunCancelled():
                out.append(
                    RunFinishedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        outcome=RunFinishedCancelledOutcome(),
                        timestamp=ts,
                        metadata={"adkstream": {"reason": event.reason}},
                    )
                )
            case RunWaiting():
                interrupts = [_interrupt(request) for request in event.pending]
                out.append(
                    RunFinishedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        result=event.final_text,
                        outcome=RunFinishedInterruptOutcome(interrupts=interrupts)
                        if interrupts
                        else None,
                        usage=[token_usage(event.usage)],
                        timestamp=ts,
                        metadata={"adkstream": {"usage": event.usage.model_dump()}},
                    )
                )
            case RunCompleted():
                usage = {"adkstream": {"usage": event.usage.model_dump()}}
                out.append(
                    RunFinishedEvent(
                        thread_id=self.thread_id,
                        run_id=self.run_id,
                        result=event.final_text,
                        usage=[token_usage(event.usage)],
                        timestamp=ts,
                        metadata=finish_metadata(event.finish_reason) | usage,
                    )
                )
        return out

    def _close_all(self, ts: int) -> list[BaseEvent]:
        """ENDs for what is still open: RUN_FINISHED is refused while anything is."""
        out = self._end_reasoning(list(self._reasoning), ts)
        out += self._end_texts(list(self._texts), ts)
        out += [
            StepFinishedEvent(step_name=name, timestamp=ts, metadata=_who(*key))
            for key, name in self._steps.items()
        ]
        self._steps.clear()
        return out


def _who(author: str, branch: str | None) -> dict[str, Any]:
    return {"author": author, "branch": branch}


def _artifact(event: ArtifactSaved) -> dict[str, Any]:
    return {
        "name": event.name,
        "version": event.version,
        "mimeType": event.mime_type,
        "size": event.size,
        "url": event.url,
        **_who(event.author, event.branch),
    }


def _sources(event: MessageSources) -> dict[str, Any]:
    return {
        "messageId": event.message_id,
        "sources": [source.model_dump() for source in event.sources],
        "spans": [
            {"start": s.start, "end": s.end, "text": s.text, "sourceIds": s.source_ids}
            for s in event.spans
        ],
        "queries": event.queries,
    }


def _file(event: MessageFile) -> dict[str, Any]:
    """AG-UI's media part for the file (a `data` source), with the message it belongs to."""
    source = DataSource(value=event.data, mime_type=event.mime_type)
    kind = event.mime_type.partition("/")[0]
    part: ImagePart | AudioPart | VideoPart | DocumentPart
    if kind == "image":
        part = ImagePart(source=source)
    elif kind == "audio":
        part = AudioPart(source=source)
    elif kind == "video":
        part = VideoPart(source=source)
    else:
        part = DocumentPart(source=source)
    return {
        "messageId": event.message_id,
        "name": event.name,
        "part": part.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def _interrupt(request: InputRequest) -> Interrupt:
    return Interrupt(
        id=request.request_id,
        reason=request.kind,
        message=request.hint,
        # A tool's own call (a client tool's, a long-running tool's) is the request.
        tool_call_id=request.call_id or (request.request_id if request.kind != "input" else None),
        response_schema=request.answer_schema or None,
        metadata={
            "name": request.name,
            "args": request.args,
            "payload": request.payload,
            **_who(request.author, request.branch),
        },
    )
