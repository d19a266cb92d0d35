"""Stream events -> the Vercel AI SDK UI message stream (protocol `v1`), and its SSE frames.

A pure class fed one stream event at a time: each event becomes zero or more UI message
chunks (`{"type": "text-delta", ...}`), each chunk one `data:` frame, and the stream
ends with `data: [DONE]`. One run is one assistant message (`start` ... `finish`).

Divergences worth knowing:
- The protocol has no agent attribution: every agent's turn opens a step
  (`start-step`) followed by a `data-agent` part `{author, branch, status}` (same `id`
  per agent, so the client updates it in place when the agent completes); text parts
  and tool calls also carry `providerMetadata.adkstream.{author, branch}`.
- State changes come as transient `data-state` parts (delivered to `onData`, not kept
  in the message).
- A failed run sends `error` (our stable message, never exception text) then `finish`
  with `finishReason: "error"`; a cancelled run sends `abort`, as the SDK's own
  producer does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adkstream.api.sse import DONE_FRAME, json_frame
from adkstream.events import (
    AgentCompleted,
    AgentStarted,
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

Chunk = dict[str, Any]

HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "x-vercel-ai-ui-message-stream": "v1",
}
"""The protocol's required headers besides `Content-Type: text/event-stream` and
`Connection: keep-alive`, which `EventStreamResponse` sets."""


def vercel_frame(chunk: Chunk) -> bytes:
    """One UI message chunk as an SSE `data:` frame (compact JSON, no `event:` / `id:`)."""
    return json_frame(chunk)


@dataclass
class VercelEncoder:
    """Turns the stream events of one run into UI message chunks."""

    _open_texts: set[str] = field(default_factory=set)
    _closed_texts: set[str] = field(default_factory=set)
    _tool_calls: set[str] = field(default_factory=set)
    _ended: bool = False

    def frames(self, event: StreamEvent) -> list[bytes]:
        """`encode` as SSE frames; `data: [DONE]` follows the terminal event's chunks."""
        if self._ended:
            return []
        frames = [vercel_frame(chunk) for chunk in self.encode(event)]
        if self._ended:
            frames.append(DONE_FRAME)
        return frames

    def encode(self, event: StreamEvent) -> list[Chunk]:
        """The UI message chunks for one stream event (none after the terminal one)."""
        if self._ended:
            return []
        match event:
            case RunStarted():
                metadata = {"run_id": event.run_id, "session_id": event.session_id}
                return [{"type": "start", "messageId": event.run_id, "messageMetadata": metadata}]
            case AgentStarted():
                return [{"type": "start-step"}, _agent_part(event, "running")]
            case AgentCompleted():
                return [_agent_part(event, "completed"), {"type": "finish-step"}]
            case MessageDelta():
                return [*self._text_start(event), _text_delta(event.message_id, event.text)]
            case MessageCompleted():
                return self._text_end(event)
            case ToolCall():
                self._tool_calls.add(event.call_id)
                return [_tool_input(event.call_id, event.name, event.args, event)]
            case ToolResult():
                out: list[Chunk] = []
                if event.call_id not in self._tool_calls:
                    # The reader refuses an output for a call it never saw.
                    out.append(_tool_input(event.call_id, event.name, {}, event))
                out.append(
                    {
                        "type": "tool-output-available",
                        "toolCallId": event.call_id,
                        "output": event.result,
                        "providerExecuted": True,
                    }
                )
                return out
            case StateDelta():
                data = {"author": event.author, "branch": event.branch, "delta": event.delta}
                return [{"type": "data-state", "data": data, "transient": True}]
            case RunCompleted():
                self._ended = True
                usage = event.usage.model_dump()
                finish = {
                    "type": "finish",
                    "finishReason": "stop",
                    "messageMetadata": {"usage": usage},
                }
                return [*self._close_texts(), finish]
            case RunFailed():
                self._ended = True
                return [
                    {"type": "error", "errorText": event.error.message},
                    {"type": "finish", "finishReason": "error"},
                ]
            case RunCancelled():
                self._ended = True
                return [{"type": "abort", "reason": event.reason}]
            case _:
                return []  # agent.transfer: the next agent's data-agent part says it

    def _text_start(self, event: MessageDelta | MessageCompleted) -> list[Chunk]:
        mid = event.message_id
        if mid in self._open_texts:
            return []
        self._open_texts.add(mid)
        return [{"type": "text-start", "id": mid, "providerMetadata": _attribution(event)}]

    def _text_end(self, event: MessageCompleted) -> list[Chunk]:
        mid = event.message_id
        if mid in self._closed_texts:
            return []
        out: list[Chunk] = []
        if mid not in self._open_texts:
            # A model that does not stream: the whole text arrives at once.
            out += self._text_start(event)
            out.append(_text_delta(mid, event.text))
        self._open_texts.discard(mid)
        self._closed_texts.add(mid)
        out.append({"type": "text-end", "id": mid})
        return out

    def _close_texts(self) -> list[Chunk]:
        out: list[Chunk] = [{"type": "text-end", "id": mid} for mid in sorted(self._open_texts)]
        self._closed_texts |= self._open_texts
        self._open_texts.clear()
        return out


def _text_delta(message_id: str, text: str) -> Chunk:
    return {"type": "text-delta", "id": message_id, "delta": text}


def _tool_input(
    call_id: str, name: str, args: dict[str, Any], event: ToolCall | ToolResult
) -> Chunk:
    return {
        "type": "tool-input-available",
        "toolCallId": call_id,
        "toolName": name,
        "input": args,
        # The server ran the tool: `useChat`'s onToolCall (client-side tools) must not.
        "providerExecuted": True,
        "providerMetadata": _attribution(event),
    }


def _agent_part(event: AgentStarted | AgentCompleted, status: str) -> Chunk:
    return {
        "type": "data-agent",
        "id": f"agent:{event.author}" + (f":{event.branch}" if event.branch else ""),
        "data": {"author": event.author, "branch": event.branch, "status": status},
    }


def _attribution(event: MessageDelta | MessageCompleted | ToolCall | ToolResult) -> Chunk:
    return {"adkstream": {"author": event.author, "branch": event.branch}}
