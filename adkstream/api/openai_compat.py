"""Stream events -> OpenAI Chat Completions: `chat.completion.chunk` frames, or a `chat.completion`.

A pure class fed one stream event at a time. Only text is sent: tool calls and results
ran on the server, so they are left out (a `tool_calls` delta would ask the client to
run them). A run whose agents write several messages (a workflow) answers them in
order, separated by a blank line; the last one is the run's `final_text`. The streamed
and the non-streamed answer are the same text.

Divergences worth knowing: a run that fails or is cancelled after the first byte sends
a `data:` object with an `error` key (the OpenAI SDK raises it as `APIError`), then
`data: [DONE]`; `code` is our stable run error code (`model_error`, `cancelled`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adkstream.api.sse import DONE_FRAME, json_frame
from adkstream.events import (
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunStarted,
    StreamEvent,
    Usage,
)

Json = dict[str, Any]

MESSAGE_SEPARATOR = "\n\n"


def openai_frame(data: Json) -> bytes:
    return json_frame(data)


def error_object(message: str, *, type: str, code: str, param: str | None = None) -> Json:
    """OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def model_list(names: list[str], *, created: int = 0) -> Json:
    """`GET /v1/models`: the agents as OpenAI models."""
    return {"object": "list", "data": [model_object(name, created=created) for name in names]}


def model_object(name: str, *, created: int = 0) -> Json:
    return {"id": name, "object": "model", "created": created, "owned_by": "adkstream"}


def usage_object(usage: Usage) -> Json:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


@dataclass
class ChatCompletionEncoder:
    """Turns the stream events of one run into chat completion chunks.

    Args:
        completion_id: the `id` of every chunk (`chatcmpl-...`).
        model: the model name the client asked for (the agent's name).
        created: unix seconds, the same on every chunk.
        include_usage: `stream_options.include_usage`: a last chunk with `choices: []`
            and the run's usage (and `usage: null` on the others, as OpenAI sends).
    """

    completion_id: str
    model: str
    created: int
    include_usage: bool = False
    text: list[str] = field(default_factory=list)
    usage: Usage | None = None
    error: Json | None = None
    _messages: set[str] = field(default_factory=set)
    _ended: bool = False

    def frames(self, event: StreamEvent) -> list[bytes]:
        """`encode` as SSE frames; `data: [DONE]` follows the terminal event's."""
        if self._ended:
            return []
        frames = [openai_frame(chunk) for chunk in self.encode(event)]
        if self._ended:
            frames.append(DONE_FRAME)
        return frames

    def encode(self, event: StreamEvent) -> list[Json]:
        """The chunks for one stream event (none after the terminal one)."""
        if self._ended:
            return []
        match event:
            case RunStarted():
                return [self._chunk({"role": "assistant", "content": ""})]
            case MessageDelta():
                return self._content(event.message_id, event.text)
            case MessageCompleted() if event.message_id not in self._messages:
                return self._content(event.message_id, event.text)  # a model that did not stream
            case RunCompleted():
                self._ended = True
                self.usage = event.usage
                out = [self._chunk({}, finish_reason="stop")]
                if self.include_usage:
                    out.append(self._envelope([], usage=usage_object(event.usage)))
                return out
            case RunFailed():
                self._ended = True
                self.error = error_object(
                    event.error.message, type="server_error", code=event.error.code
                )
                return [self.error]
            case RunCancelled():
                self._ended = True
                message = f"The run was cancelled ({event.reason})."
                self.error = error_object(message, type="cancelled", code="cancelled")
                return [self.error]
            case _:
                return []

    def completion(self) -> Json:
        """The non-streamed answer, once `encode` has seen the run's `run.completed`."""
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "".join(self.text),
                        "refusal": None,
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage_object(self.usage or Usage()),
        }

    def _content(self, message_id: str, text: str) -> list[Json]:
        if message_id not in self._messages:
            if self._messages:
                text = MESSAGE_SEPARATOR + text
            self._messages.add(message_id)
        if not text:
            return []
        self.text.append(text)
        return [self._chunk({"content": text})]

    def _chunk(self, delta: Json, *, finish_reason: str | None = None) -> Json:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._envelope([choice])

    def _envelope(self, choices: list[Json], *, usage: Json | None = None) -> Json:
        chunk: Json = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = usage
        return chunk
