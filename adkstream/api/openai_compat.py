"""Stream events -> OpenAI Chat Completions: `chat.completion.chunk` frames, or a `chat.completion`.

A pure class fed one stream event at a time. Events first pass through `Contiguous`, so
parallel branches' messages come one after another, never interleaved. A run whose
agents write several messages (a workflow) answers them in order, separated by a blank
line, in the one choice's `content`. The streamed and the non-streamed answer hold the
same text, thinking, citations and images.

What goes where (the event types not listed send nothing):
- `message.delta` / `message.completed`: `content` (a completed message without deltas
  comes whole: a model that did not stream).
- `reasoning.delta` / `reasoning.completed`: `reasoning_content`, the field vLLM and
  DeepSeek use (the OpenAI SDK keeps it: `delta.model_extra["reasoning_content"]`);
  each thought once, thoughts separated by a blank line like messages.
- `message.sources`: `annotations` of type `url_citation` (OpenAI's web-search shape);
  `start_index` / `end_index` are offsets into the whole `content` as sent (earlier
  messages and separators included). A source cited by no span covers its whole
  message; a source without a URL (a document) has no place there and is left out.
  Streamed, they come in one delta just before the finish chunk: the SDK's
  `chat.completions.stream()` merges a list only once unless its items carry `index`.
- `message.file`: chat completions has no field for an image the model made; an image
  goes in `images: [{"index", "type": "image_url", "image_url": {"url": <data URL>}}]`,
  the extension OpenRouter uses (streamed as a delta, with `index` so that the SDK's
  stream helper appends rather than overwrites). A data URL in `content` would be
  markdown pretending to be the model's text, and megabytes of it; other files are
  left out (no client reads them there).
- `run.completed` / `run.waiting`: `finish_reason` `stop`, `length` (`max_tokens`) or
  `content_filter` (any other reason: a filter stopped the model, see
  `FILTER_FREE_REASONS`). A run that waits ends with `finish_reason: "tool_calls"`
  and one call in `tool_calls` per pending request (`api/client_calls.py`): a client
  tool's or a long-running tool's own call, `adk_request_confirmation` for a tool
  confirmation, `adk_request_credential` for a credential, `adk_request_input` for
  input. Their ids name the run (`tool_call_id`): the next request's `role: "tool"`
  messages answer them and continue the run, as the standard tool loop does.
- Not sent, as the protocol has no place for them and they are not the answer: tool
  calls and results (they ran on the server: a `tool_calls` delta would ask the client
  to run them; the pause's own requests come as `tool_calls` at the end);
  `code.call` / `code.result` (server-side code execution, like a tool);
  `artifact.saved` (its URL is relative to this server and needs the API's
  credentials: read it from the native stream);
  `agent.*` and `state.delta` (no agent attribution or state in chat completions);
  `run.queued` (the answer just comes later).

Usage: OpenAI counts reasoning tokens inside `completion_tokens`, so `completion_tokens`
is our completion plus thought tokens (`completion_tokens_details.reasoning_tokens`
the thoughts), and `prompt_tokens` our prompt plus tool-use prompt tokens (Gemini's
tool results read back; `prompt_tokens_details.cached_tokens` the cached part). Then
`prompt_tokens + completion_tokens == total_tokens`, our `total_tokens`.

Divergences worth knowing: a run that fails or is cancelled after the first byte sends
a `data:` object with an `error` key (the OpenAI SDK raises it as `APIError`), then
`data: [DONE]`; `code` is our stable run error code (`model_error`, `cancelled`, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, assert_never

from adkstream.api.client_calls import client_call
from adkstream.api.contiguous import Contiguous
from adkstream.api.encoder import Framing, chunk_frames
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
    SourceSpan,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    TurnCompleted,
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
    """Our usage in OpenAI's arithmetic (see the module docstring)."""
    prompt = usage.prompt_tokens + usage.tool_use_prompt_tokens
    completion = usage.completion_tokens + usage.thought_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.thought_tokens},
    }


TOOL_CALL_ID_PREFIX = "call_"


def tool_call_id(run_id: str, request_id: str) -> str:
    """The id a client tool's call goes out with: it names the waiting run, so that the
    next request's `role: "tool"` message finds it with no session id (the standard
    tool loop sends none)."""
    return f"{TOOL_CALL_ID_PREFIX}{run_id}_{request_id}"


def parse_tool_call_id(call_id: str) -> tuple[str, str] | None:
    """(run id, request id) of a `tool_call_id`; None if it is not one of ours."""
    if not call_id.startswith(TOOL_CALL_ID_PREFIX):
        return None
    run_id, sep, request_id = call_id.removeprefix(TOOL_CALL_ID_PREFIX).partition("_")
    return (run_id, request_id) if sep and run_id and request_id else None


def _client_calls(event: RunWaiting) -> list[Json]:
    """Every pending request as a call the client answers (see `client_calls`)."""
    calls = []
    for request in event.pending:
        name, args = client_call(request)
        function = {"name": name, "arguments": json.dumps(args)}
        call_id = tool_call_id(event.run_id, request.request_id)
        calls.append({"id": call_id, "type": "function", "function": function})
    return calls


def finish_reason(reason: str) -> str:
    """Our finish reason as OpenAI's: `stop`, `length` or `content_filter`."""
    if reason not in FILTER_FREE_REASONS:
        return "content_filter"
    return "length" if reason == "max_tokens" else "stop"


@dataclass
class _Text:
    """One text channel of the choice (`content` or `reasoning_content`): its pieces in
    order, and where each message's text is in it."""

    pieces: list[str] = field(default_factory=list)
    length: int = 0
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    """message_id -> (start, end) of its text, separator excluded."""

    def add(self, message_id: str, text: str) -> str:
        """Appends new text of a message; returns what to send (with the separator
        before a message's first text, when messages came before it)."""
        if not text:
            return ""
        if message_id in self.spans:
            start, sent = self.spans[message_id][0], text
        else:
            sent = MESSAGE_SEPARATOR + text if self.spans else text
            start = self.length + len(sent) - len(text)
        self.pieces.append(sent)
        self.length += len(sent)
        self.spans[message_id] = (start, self.length)
        return sent

    def complete(self, message_id: str, text: str) -> str:
        """The whole text of a message that came without deltas (nothing otherwise)."""
        return "" if message_id in self.spans else self.add(message_id, text)

    def joined(self) -> str:
        return "".join(self.pieces)


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
    usage: Usage | None = None
    error: Json | None = None
    _order: Contiguous = field(default_factory=Contiguous)
    _content: _Text = field(default_factory=_Text)
    _reasoning: _Text = field(default_factory=_Text)
    _annotations: list[Json] = field(default_factory=list)
    _images: list[Json] = field(default_factory=list)
    _finish: str = "stop"
    tool_calls: list[Json] = field(default_factory=list)
    """The calls a waiting run asks the client to answer (`finish_reason: tool_calls`)."""
    _ended: bool = False

    framing = Framing("openai")

    @property
    def ended(self) -> bool:
        """Whether the terminal event has been encoded: nothing follows it."""
        return self._ended

    def frames(self, event: StreamEvent) -> list[bytes]:
        """`encode` as SSE frames; `data: [DONE]` follows the terminal event's."""
        return chunk_frames(self, event, openai_frame, end=DONE_FRAME)

    def encode(self, event: StreamEvent) -> list[Json]:
        """The chunks for one stream event and any it let out of `Contiguous` (none
        after the terminal event)."""
        out: list[Json] = []
        for ordered in self._order.push(event):
            if self._ended:
                break
            out += self._encode(ordered)
        return out

    def _encode(self, event: StreamEvent) -> list[Json]:
        match event:
            case RunStarted():
                return [self._chunk({"role": "assistant", "content": ""})]
            case MessageDelta():
                return self._delta("content", self._content.add(event.message_id, event.text))
            case MessageCompleted():
                text = self._content.complete(event.message_id, event.text)
                return self._delta("content", text)
            case ReasoningDelta():
                text = self._reasoning.add(event.message_id, event.text)
                return self._delta("reasoning_content", text)
            case ReasoningCompleted():
                text = self._reasoning.complete(event.message_id, event.text)
                return self._delta("reasoning_content", text)
            case MessageSources():
                self._annotations += self._citations(event)
                return []  # sent once, before the finish chunk
            case MessageFile() if event.mime_type.startswith("image/"):
                image = _image(event, index=len(self._images))
                self._images.append(image)
                return [self._chunk({"images": [image]})]
            case MessageFile():
                return []  # no field for other files (see the module docstring)
            case RunCompleted() | RunWaiting():
                return self._finished(event)
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
            case ToolCall() | ToolResult() | InputRequested() | CodeCall() | CodeResult():
                return []  # ran (or waits) on the server: not the client's to run
            case ArtifactSaved():
                return []  # a URL on this server, behind its credentials: not the answer
            case AgentStarted() | AgentCompleted() | AgentEscalated() | AgentTransfer():
                return []  # no agent attribution in chat completions
            case StateDelta():
                return []  # no state in chat completions
            case RunQueued():
                return []  # the answer just comes later
            case TurnCompleted() | MediaDelta():
                return []  # live runs only: they do not reach this protocol
            case AdkEvent():
                return []  # runs of ADK's REST API only: they do not reach this protocol
            case _:
                assert_never(event)

    def completion(self) -> Json:
        """The non-streamed answer, once `encode` has seen the run's terminal event."""
        message: Json = {
            "role": "assistant",
            "content": self._content.joined(),
            "refusal": None,
            "annotations": self._annotations,
        }
        if self._reasoning.pieces:
            message["reasoning_content"] = self._reasoning.joined()
        if self._images:
            message["images"] = self._images
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": self._finish}
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [choice],
            "usage": usage_object(self.usage or Usage()),
        }

    def _finished(self, event: RunCompleted | RunWaiting) -> list[Json]:
        self._ended = True
        self.usage = event.usage
        out = [self._chunk({"annotations": self._annotations})] if self._annotations else []
        if isinstance(event, RunCompleted):
            self._finish = finish_reason(event.finish_reason)
        elif calls := _client_calls(event):
            # The run waits for the client: its requests, as OpenAI asks for tool results.
            self._finish, self.tool_calls = "tool_calls", calls
            deltas = [{"index": i} | call for i, call in enumerate(calls)]
            out.append(self._chunk({"tool_calls": deltas}))
        out.append(self._chunk({}, finish_reason=self._finish))
        if self.include_usage:
            out.append(self._envelope([], usage=usage_object(event.usage)))
        return out

    def _citations(self, event: MessageSources) -> list[Json]:
        """`url_citation` annotations: one per (span, source with a URL) and one over
        the whole message per source no span cites, at offsets into the content."""
        end_of_content = self._content.length
        start, end = self._content.spans.get(event.message_id, (end_of_content, end_of_content))
        urls = {source.id: source for source in event.sources if source.url is not None}
        text = self._content.joined()[start:end]
        out: list[Json] = []
        cited: set[str] = set()
        for span in event.spans:
            where = _span_range(span, text)
            if where is None:
                continue
            for source in [urls[i] for i in span.source_ids if i in urls]:
                cited.add(source.id)
                out.append(_url_citation(source, start + where[0], start + where[1]))
        out += [_url_citation(s, start, end) for s in urls.values() if s.id not in cited]
        return out

    def _delta(self, key: str, text: str) -> list[Json]:
        return [self._chunk({key: text})] if text else []

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


def _span_range(span: SourceSpan, text: str) -> tuple[int, int] | None:
    """Where a span is in its message's `text`: its offsets (kept inside the text), or
    where its quoted text is found; None when neither says."""
    if span.start is not None and span.end is not None:
        start = min(max(span.start, 0), len(text))
        return start, min(max(span.end, start), len(text))
    if span.text and (found := text.find(span.text)) >= 0:
        return found, found + len(span.text)
    return None


def _url_citation(source: Source, start: int, end: int) -> Json:
    citation = {
        "url": source.url,
        "title": source.title or source.url,  # required by OpenAI's schema
        "start_index": start,
        "end_index": end,
    }
    return {"type": "url_citation", "url_citation": citation}


def _image(event: MessageFile, *, index: int) -> Json:
    url = f"data:{event.mime_type};base64,{event.data}"
    return {"index": index, "type": "image_url", "image_url": {"url": url}}
