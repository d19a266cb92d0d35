"""Stream events -> AG-UI events (ag-ui-protocol 1.0), and AG-UI events -> SSE frames.

A pure class fed one stream event at a time; the route owns the I/O. What it guarantees
is what AG-UI clients verify: `RUN_STARTED` first, a START before any CONTENT or ARGS,
every START closed by its END before `RUN_FINISHED`, exactly one terminal event, last.

Divergences worth knowing:
- Our run id is not AG-UI's `runId`: RUN_STARTED / RUN_FINISHED echo the client's
  `runId`; ours travels in `metadata.adkstream.run_id` (and the `X-Run-Id` header).
- Agent attribution rides on `metadata` (`author`, `branch`) of each message, tool
  and step event; a text message's `name` is its author.
- A `run.cancelled` ends with `RUN_FINISHED` and the `cancelled` outcome (not an error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    RunErrorEvent,
    RunFinishedCancelledOutcome,
    RunFinishedEvent,
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
)

from adkstream.api.sse import encode_frame
from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    AgentTransfer,
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
)

_AgentKey = tuple[str, str | None]


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
    _open_messages: set[str] = field(default_factory=set)
    _closed_messages: set[str] = field(default_factory=set)
    _steps: dict[_AgentKey, str] = field(default_factory=dict)
    _ended: bool = False

    def frames(self, event: StreamEvent) -> list[bytes]:
        """`encode`, as SSE frames."""
        return [agui_frame(e) for e in self.encode(event)]

    def encode(self, event: StreamEvent) -> list[BaseEvent]:
        """The AG-UI events for one stream event (none after the terminal one)."""
        if self._ended:
            return []
        ts = int(event.ts * 1000)
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
                return self._step_started(event, ts)
            case AgentCompleted():
                return self._step_finished(event, ts)
            case MessageDelta():
                return [
                    *self._start_message(event, ts),
                    TextMessageContentEvent(
                        message_id=event.message_id, delta=event.text, timestamp=ts
                    ),
                ]
            case MessageCompleted():
                return self._complete_message(event, ts)
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
                        metadata=_attribution(event.author, event.branch),
                    )
                ]
            case StateDelta():
                patch = state_patch(self.state, event.delta)
                return [StateDeltaEvent(delta=patch, timestamp=ts)]
            case AgentTransfer():
                value = {"fromAgent": event.from_agent, "toAgent": event.to_agent}
                return [CustomEvent(name="agent.transfer", value=value, timestamp=ts)]
            case RunCompleted() | RunCancelled() | RunFailed():
                self._ended = True
                return self._terminal(event, ts)
            case _:
                return []  # events AG-UI has no place for

    def _step_started(self, event: AgentStarted, ts: int) -> list[BaseEvent]:
        key = (event.author, event.branch)
        # Step names must be unique among active steps: the same agent running in
        # two branches at once (a fan-out) gets its branch in the name.
        name = event.author
        if name in self._steps.values():
            name = f"{event.author} ({event.branch})"
        self._steps[key] = name
        meta = _attribution(event.author, event.branch)
        return [StepStartedEvent(step_name=name, timestamp=ts, metadata=meta)]

    def _step_finished(self, event: AgentCompleted, ts: int) -> list[BaseEvent]:
        name = self._steps.pop((event.author, event.branch), None)
        if name is None:
            return []  # an agent's second final response: its step has already ended
        meta = _attribution(event.author, event.branch)
        return [StepFinishedEvent(step_name=name, timestamp=ts, metadata=meta)]

    def _start_message(self, event: MessageDelta | MessageCompleted, ts: int) -> list[BaseEvent]:
        mid = event.message_id
        if mid in self._open_messages:
            return []
        self._open_messages.add(mid)
        return [
            TextMessageStartEvent(
                message_id=mid,
                role="assistant",
                name=event.author,
                timestamp=ts,
                metadata=_attribution(event.author, event.branch),
            )
        ]

    def _complete_message(self, event: MessageCompleted, ts: int) -> list[BaseEvent]:
        mid = event.message_id
        if mid in self._closed_messages:
            return []
        out: list[BaseEvent] = []
        if mid not in self._open_messages:
            # A model that does not stream: the whole text arrives at once.
            out += self._start_message(event, ts)
            out.append(TextMessageContentEvent(message_id=mid, delta=event.text, timestamp=ts))
        self._open_messages.discard(mid)
        self._closed_messages.add(mid)
        out.append(TextMessageEndEvent(message_id=mid, timestamp=ts))
        return out

    def _tool_call(self, event: ToolCall, ts: int) -> list[BaseEvent]:
        meta = _attribution(event.author, event.branch)
        return [
            ToolCallStartEvent(
                tool_call_id=event.call_id, tool_call_name=event.name, timestamp=ts, metadata=meta
            ),
            ToolCallArgsEvent(
                tool_call_id=event.call_id, delta=json.dumps(event.args), timestamp=ts
            ),
            ToolCallEndEvent(tool_call_id=event.call_id, timestamp=ts),
        ]

    def _terminal(self, event: RunCompleted | RunCancelled | RunFailed, ts: int) -> list[BaseEvent]:
        if isinstance(event, RunFailed):
            # RUN_ERROR may end a run at any point; nothing may follow it.
            return [RunErrorEvent(message=event.error.message, code=event.error.code, timestamp=ts)]
        out = self._close_all(ts)
        if isinstance(event, RunCancelled):
            out.append(
                RunFinishedEvent(
                    thread_id=self.thread_id,
                    run_id=self.run_id,
                    outcome=RunFinishedCancelledOutcome(),
                    timestamp=ts,
                    metadata={"adkstream": {"reason": event.reason}},
                )
            )
            return out
        usage = event.usage
        out.append(
            RunFinishedEvent(
                thread_id=self.thread_id,
                run_id=self.run_id,
                result=event.final_text,
                usage=[
                    TokenUsage(
                        input_tokens=usage.prompt_tokens,
                        output_tokens=usage.completion_tokens,
                        total_tokens=usage.total_tokens,
                    )
                ],
                timestamp=ts,
            )
        )
        return out

    def _close_all(self, ts: int) -> list[BaseEvent]:
        """ENDs for what is still open: RUN_FINISHED is refused while anything is."""
        out: list[BaseEvent] = [
            TextMessageEndEvent(message_id=mid, timestamp=ts) for mid in sorted(self._open_messages)
        ]
        self._closed_messages |= self._open_messages
        self._open_messages.clear()
        out += [StepFinishedEvent(step_name=name, timestamp=ts) for name in self._steps.values()]
        self._steps.clear()
        return out


def _attribution(author: str, branch: str | None) -> dict[str, Any]:
    return {"author": author, "branch": branch}
