"""A fake Gemini Developer API server for tests, speaking the real HTTP wire format.

It runs a real uvicorn server on 127.0.0.1 inside the current event loop, so the real
``google-genai`` client and ADK's ``google.adk.models.google_llm.Gemini`` can talk to it::

    async with FakeGemini() as server:
        server.script(TextReply(["Hel", "lo"]))
        llm = Gemini(model="gemini-2.5-flash", base_url=server.url)

Endpoints (``{v}`` is any API version, ``v1beta`` for google-genai's default):

* ``POST /{v}/models/{model}:streamGenerateContent?alt=sse`` -> ``text/event-stream``, one
  ``data: <GenerateContentResponse JSON>\\r\\n\\r\\n`` event per chunk, no ``[DONE]``; the
  stream ends at EOF. Without ``alt=sse`` the chunks come back as one JSON array.
* ``POST /{v}/models/{model}:generateContent`` -> one JSON ``GenerateContentResponse``.
* Errors: non-2xx status with ``{"error": {"code", "message", "status"}}``.

Replies are scripted with :meth:`FakeGemini.script` and consumed FIFO, one per call. With an
empty script the server echoes (see :func:`echo_text`), streamed in chunks of 4 characters.

`TextReply` and `ToolCallReply` cover the common cases; `PartsReply` scripts anything else the
model can send (thoughts with signatures, code execution, inline images, grounding and
citations, finish reasons other than STOP, a blocked prompt, detailed usage), built from the
wire-part helpers (`text_part`, `thought_part`, `code_part`, ...)::

    server.script(
        PartsReply(
            [thought_part("Let me see", signature=b"sig-1"), "The answer", " is 4."],
            grounding=web_grounding([("https://example.org/a", "A")], queries=["2+2"]),
            usage=Usage(thoughts=7),
        )
    )
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

import uvicorn

__all__ = [
    "ECHO_CHUNK_SIZE",
    "ErrorReply",
    "FakeGemini",
    "HangReply",
    "PartsReply",
    "RecordedCall",
    "Reply",
    "TextReply",
    "ToolCallReply",
    "Usage",
    "WirePart",
    "call_part",
    "citation",
    "code_part",
    "code_result_part",
    "echo_text",
    "grounding_support",
    "image_part",
    "last_user_text",
    "safety_rating",
    "system_text",
    "text_part",
    "thought_part",
    "web_grounding",
]

ECHO_CHUNK_SIZE = 4
"""Characters per streamed chunk of the default echo reply."""

_SYSTEM_PREFIX_CHARS = 60
_STARTUP_TIMEOUT_S = 10.0
_SHUTDOWN_TIMEOUT_S = 10.0

# google.rpc.Code names the Gemini API reports in `error.status` for each HTTP status.
_GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_PATH_RE = re.compile(
    r"/(?P<version>[^/]+)/models/(?P<model>[^/:]+):(?P<method>streamGenerateContent|generateContent)"
)

_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]


# --------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class TextReply:
    """Model text, streamed as one SSE chunk per item of `chunks`.

    The last chunk carries ``finishReason: STOP`` and ``usageMetadata``. `delay_s` is the fake
    model's pacing: the server pauses that long before each chunk (non-streaming calls pause
    ``delay_s * len(chunks)`` before answering).
    """

    chunks: Sequence[str]
    delay_s: float = 0.0


@dataclass(frozen=True)
class ToolCallReply:
    """One ``functionCall`` part, sent whole in a single chunk with ``finishReason: STOP``.

    `id` is sent as ``functionCall.id`` when given; by default the call has no ``id`` field,
    like most calls from the Gemini API (ADK then makes up an ``adk-...`` id).
    """

    name: str
    args: Mapping[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class ErrorReply:
    """A non-2xx response with the Google JSON error body (429 -> RESOURCE_EXHAUSTED, ...)."""

    status: int
    message: str = "..."


@dataclass(frozen=True)
class HangReply:
    """Streams `chunks` (no finish reason), then keeps the stream open.

    The server sets :attr:`FakeGemini.hanging` once the chunks are sent and
    :attr:`FakeGemini.disconnected` when the client goes away. Stopping the server ends a
    still-open stream cleanly. A non-streaming call sends nothing and hangs the same way.
    """

    chunks: Sequence[str]


WirePart = Mapping[str, Any]
"""One part as it goes on the wire (camelCase JSON), e.g. ``{"text": "hi"}``; see `text_part`."""


@dataclass(frozen=True)
class Usage:
    """The ``usageMetadata`` of a `PartsReply` (sent on its last chunk).

    ``None`` counts are derived from the call: `prompt` is the number of words in the request's
    text parts, `candidates` the number of non-thought parts of the reply and `thoughts` the
    number of thought parts. ``totalTokenCount`` is prompt + candidates + thoughts +
    tool_use_prompt (`cached` is the cached share of `prompt`, not added). Counts that are 0
    are left out of the JSON, as the API does, except the prompt and total counts.
    """

    prompt: int | None = None
    candidates: int | None = None
    thoughts: int | None = None
    cached: int = 0
    tool_use_prompt: int = 0


@dataclass(frozen=True)
class PartsReply:
    """A scripted reply of arbitrary parts, streamed one SSE chunk per item of `chunks`.

    Each chunk is a list of wire parts (`WirePart` dicts built with `text_part`,
    `thought_part`, `code_part`, `code_result_part`, `image_part`, `call_part`, or by hand),
    or, as shorthands, a single part or a ``str`` (one text part); inside a list a ``str`` is
    a text part too. An empty list is a chunk whose candidate has no ``content`` (e.g. the
    final ``finishReason: SAFETY`` chunk); with no chunks at all the reply is one such chunk.

    The last chunk's candidate carries `finish_reason` (``None``: no ``finishReason`` at all),
    `grounding` (``groundingMetadata``, see `web_grounding`), `citations`
    (``citationMetadata.citationSources``, see `citation`) and `safety_ratings`; the last
    chunk also carries `usage` (``None``: no ``usageMetadata``). There is no
    ``finishMessage``: google-genai drops it from Gemini API responses, so ADK's
    ``error_message`` is always ``None`` for a finish reason.

    `block_reason` (e.g. ``"SAFETY"``) makes the reply a blocked prompt instead: one response
    with ``promptFeedback: {blockReason, safetyRatings}``, usage and no ``candidates``; it
    cannot be combined with chunks.

    A non-streaming call gets one response with all parts, consecutive text parts of the same
    kind (thought or answer) merged into one as the API does (keeping a thought signature),
    and the same candidate metadata and usage. `delay_s` paces the chunks as in `TextReply`.
    """

    chunks: Sequence[str | WirePart | Sequence[str | WirePart]] = ()
    _: KW_ONLY
    finish_reason: str | None = "STOP"
    grounding: Mapping[str, Any] | None = None
    citations: Sequence[Mapping[str, Any]] = ()
    safety_ratings: Sequence[Mapping[str, Any]] = ()
    block_reason: str | None = None
    usage: Usage | None = Usage()
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.chunks, str | Mapping):
            raise TypeError("PartsReply.chunks is a sequence of chunks, e.g. [text_part('hi')]")
        for chunk in self.chunks:
            _chunk_parts(chunk)  # type check, raises TypeError
        if self.block_reason is not None and self.chunks:
            raise ValueError("a blocked prompt (block_reason) has no candidates, so no chunks")


Reply = TextReply | ToolCallReply | ErrorReply | HangReply | PartsReply
_Streamable = TextReply | ToolCallReply | HangReply | PartsReply


# --------------------------------------------------------------------------- wire-part helpers


def _b64(data: bytes) -> str:
    # proto3 JSON maps `bytes` to standard base64 with padding.
    return base64.b64encode(data).decode("ascii")


def text_part(text: str) -> dict[str, Any]:
    """``{"text": text}``."""
    return {"text": text}


def thought_part(text: str, *, signature: bytes | None = None) -> dict[str, Any]:
    """A thought-summary part: ``{"text", "thought": true, "thoughtSignature"?}``.

    `signature` is sent base64-encoded; google-genai decodes it back into
    ``Part.thought_signature`` bytes. The API puts it on one part, e.g. the last thought.
    """
    part: dict[str, Any] = {"text": text, "thought": True}
    if signature is not None:
        part["thoughtSignature"] = _b64(signature)
    return part


def code_part(code: str, *, language: str = "PYTHON") -> dict[str, Any]:
    """Built-in code execution's code: ``{"executableCode": {"language", "code"}}``."""
    return {"executableCode": {"language": language, "code": code}}


def code_result_part(output: str, *, outcome: str = "OUTCOME_OK") -> dict[str, Any]:
    """Built-in code execution's result: ``{"codeExecutionResult": {"outcome", "output"}}``.

    `outcome` is ``OUTCOME_OK``, ``OUTCOME_FAILED`` or ``OUTCOME_DEADLINE_EXCEEDED``.
    """
    return {"codeExecutionResult": {"outcome": outcome, "output": output}}


def image_part(data: bytes, *, mime_type: str = "image/png") -> dict[str, Any]:
    """Inline media output: ``{"inlineData": {"mimeType", "data": <base64>}}``."""
    return {"inlineData": {"mimeType": mime_type, "data": _b64(data)}}


def call_part(
    name: str,
    args: Mapping[str, Any] | None = None,
    *,
    id: str | None = None,
    signature: bytes | None = None,
) -> dict[str, Any]:
    """``{"functionCall": {"name", "args", "id"?}, "thoughtSignature"?}``."""
    call: dict[str, Any] = {"name": name, "args": dict(args or {})}
    if id is not None:
        call["id"] = id
    part: dict[str, Any] = {"functionCall": call}
    if signature is not None:
        part["thoughtSignature"] = _b64(signature)
    return part


def grounding_support(
    start: int, end: int, text: str, chunk_indices: Sequence[int] = (0,)
) -> dict[str, Any]:
    """One ``groundingSupports`` item: the answer's ``[start, end)`` backed by those sources.

    Indices are into the answer text; the API leaves out ``startIndex`` when it is 0.
    """
    segment: dict[str, Any] = {"endIndex": end, "text": text}
    if start:
        segment = {"startIndex": start, **segment}
    return {"segment": segment, "groundingChunkIndices": list(chunk_indices)}


def web_grounding(
    sources: Sequence[tuple[str, str]],
    *,
    queries: Sequence[str] = (),
    supports: Sequence[Mapping[str, Any]] = (),
    entry_point_html: str | None = None,
) -> dict[str, Any]:
    """A Google Search ``groundingMetadata`` for `PartsReply.grounding`.

    `sources` are ``(uri, title)`` pairs, sent as ``groundingChunks[i].web``; `supports`
    come from `grounding_support`; `queries` are the ``webSearchQueries``;
    `entry_point_html` is ``searchEntryPoint.renderedContent``.
    """
    metadata: dict[str, Any] = {}
    if entry_point_html is not None:
        metadata["searchEntryPoint"] = {"renderedContent": entry_point_html}
    metadata["groundingChunks"] = [{"web": {"uri": uri, "title": title}} for uri, title in sources]
    if supports:
        metadata["groundingSupports"] = [dict(support) for support in supports]
    if queries:
        metadata["webSearchQueries"] = list(queries)
    return metadata


def citation(start: int, end: int, uri: str, *, title: str | None = None) -> dict[str, Any]:
    """One citation source for `PartsReply.citations`: ``{startIndex, endIndex, uri, title?}``.

    The Gemini Developer API sends these as ``citationMetadata.citationSources`` (Vertex AI
    calls the list ``citations``); google-genai exposes them as
    ``candidate.citation_metadata.citations``.
    """
    source: dict[str, Any] = {"startIndex": start, "endIndex": end, "uri": uri}
    if title is not None:
        source["title"] = title
    return source


def safety_rating(
    category: str = "HARM_CATEGORY_DANGEROUS_CONTENT",
    probability: str = "HIGH",
    *,
    blocked: bool = True,
) -> dict[str, Any]:
    """One ``safetyRatings`` item for `PartsReply.safety_ratings`."""
    rating: dict[str, Any] = {"category": category, "probability": probability}
    if blocked:
        rating["blocked"] = True
    return rating


@dataclass(frozen=True)
class RecordedCall:
    """What arrived on the wire for one call (the body is also in `FakeGemini.requests`)."""

    api_version: str
    model: str
    method: str  # "generateContent" or "streamGenerateContent"
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: dict[str, Any]

    @property
    def stream(self) -> bool:
        return self.method == "streamGenerateContent"

    @property
    def api_key(self) -> str | None:
        return self.headers.get("x-goog-api-key")


# --------------------------------------------------------------------------- body helpers


def _text_parts(content: Mapping[str, Any]) -> list[str]:
    return [
        part["text"]
        for part in content.get("parts") or []
        if isinstance(part.get("text"), str) and not part.get("thought")
    ]


def last_user_text(body: Mapping[str, Any]) -> str:
    """Text of the last user content that has text (its text parts joined by "\\n"), or ""."""
    for content in reversed(body.get("contents") or []):
        if content.get("role", "user") != "user":
            continue
        texts = _text_parts(content)
        if texts:
            return "\n".join(texts)
    return ""


def system_text(body: Mapping[str, Any]) -> str:
    """Text of ``systemInstruction`` (its text parts joined by "\\n"), or "" when absent."""
    instruction = body.get("systemInstruction")
    if not isinstance(instruction, Mapping):
        return ""
    return "\n".join(_text_parts(instruction))


def _function_responses(body: Mapping[str, Any]) -> list[Any]:
    contents = body.get("contents") or []
    if not contents:
        return []
    return [
        part["functionResponse"].get("response")
        for part in contents[-1].get("parts") or []
        if isinstance(part.get("functionResponse"), Mapping)
    ]


def echo_text(body: Mapping[str, Any]) -> str:
    """The default reply's text for a request body.

    ``Tool said: <json.dumps(response)>`` when the last content holds ``functionResponse``
    parts (one such sentence per part, joined by " "); otherwise ``Echo: <last user text>``
    plus `` | system: <first 60 chars of the system instruction>`` when there is one.
    """
    responses = _function_responses(body)
    if responses:
        return " ".join(f"Tool said: {json.dumps(response)}" for response in responses)
    text = f"Echo: {last_user_text(body)}"
    if "systemInstruction" in body:
        text += f" | system: {system_text(body)[:_SYSTEM_PREFIX_CHARS]}"
    return text


def _prompt_words(body: Mapping[str, Any]) -> int:
    return sum(
        len(text.split()) for content in body.get("contents") or [] for text in _text_parts(content)
    )


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# --------------------------------------------------------------------------- wire payloads


def _error_payload(status: int, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": message,
            "status": _GRPC_STATUS.get(status, "UNKNOWN"),
        }
    }


def _usage(prompt_tokens: int, candidate_tokens: int) -> dict[str, int]:
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidate_tokens,
        "totalTokenCount": prompt_tokens + candidate_tokens,
    }


def _response(
    model: str,
    response_id: str,
    parts: list[dict[str, Any]],
    *,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if usage is not None:
        candidate["finishReason"] = "STOP"
    payload: dict[str, Any] = {"candidates": [candidate]}
    if usage is not None:
        payload["usageMetadata"] = usage
    payload["modelVersion"] = model
    payload["responseId"] = response_id
    return payload


def _as_part(item: str | WirePart) -> dict[str, Any]:
    if isinstance(item, str):
        return text_part(item)
    if isinstance(item, Mapping):
        return dict(item)
    raise TypeError(f"a part is a str or a mapping, not {type(item).__name__}")


def _chunk_parts(chunk: str | WirePart | Sequence[str | WirePart]) -> list[dict[str, Any]]:
    if isinstance(chunk, str | Mapping):
        return [_as_part(chunk)]
    if isinstance(chunk, Sequence):
        return [_as_part(item) for item in chunk]
    raise TypeError(f"a chunk is a part, a str or a list of them, not {type(chunk).__name__}")


def _parts_usage(usage: Usage, prompt: int, parts: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    thought_parts = sum(1 for part in parts if part.get("thought"))
    prompt_tokens = usage.prompt if usage.prompt is not None else prompt
    candidates = usage.candidates if usage.candidates is not None else len(parts) - thought_parts
    thoughts = usage.thoughts if usage.thoughts is not None else thought_parts
    metadata = {"promptTokenCount": prompt_tokens}
    optional = {
        "candidatesTokenCount": candidates,
        "cachedContentTokenCount": usage.cached,
        "thoughtsTokenCount": thoughts,
        "toolUsePromptTokenCount": usage.tool_use_prompt,
    }
    metadata |= {key: count for key, count in optional.items() if count}
    metadata["totalTokenCount"] = prompt_tokens + candidates + thoughts + usage.tool_use_prompt
    return metadata


def _final_candidate_fields(reply: PartsReply) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if reply.finish_reason is not None:
        fields["finishReason"] = reply.finish_reason
    if reply.grounding is not None:
        fields["groundingMetadata"] = dict(reply.grounding)
    if reply.citations:
        fields["citationMetadata"] = {"citationSources": [dict(c) for c in reply.citations]}
    if reply.safety_ratings:
        fields["safetyRatings"] = [dict(r) for r in reply.safety_ratings]
    return fields


def _parts_response(
    reply: PartsReply,
    model: str,
    response_id: str,
    parts: list[dict[str, Any]],
    *,
    final: bool,
    usage: dict[str, int] | None,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {}
    if parts:
        candidate["content"] = {"parts": parts, "role": "model"}
    if final:
        candidate |= _final_candidate_fields(reply)
    candidate["index"] = 0
    payload: dict[str, Any] = {"candidates": [candidate]}
    if final and usage is not None:
        payload["usageMetadata"] = usage
    payload["modelVersion"] = model
    payload["responseId"] = response_id
    return payload


def _blocked_response(
    reply: PartsReply, model: str, response_id: str, prompt: int
) -> dict[str, Any]:
    feedback: dict[str, Any] = {"blockReason": reply.block_reason}
    if reply.safety_ratings:
        feedback["safetyRatings"] = [dict(r) for r in reply.safety_ratings]
    payload: dict[str, Any] = {"promptFeedback": feedback}
    if reply.usage is not None:
        payload["usageMetadata"] = _parts_usage(reply.usage, prompt, [])
    payload["modelVersion"] = model
    payload["responseId"] = response_id
    return payload


def _parts_chunk_payloads(
    reply: PartsReply, model: str, response_id: str, prompt: int
) -> list[dict[str, Any]]:
    if reply.block_reason is not None:
        return [_blocked_response(reply, model, response_id, prompt)]
    chunks = [_chunk_parts(chunk) for chunk in reply.chunks] or [[]]
    usage = None
    if reply.usage is not None:
        usage = _parts_usage(reply.usage, prompt, [p for chunk in chunks for p in chunk])
    last = len(chunks) - 1
    return [
        _parts_response(reply, model, response_id, parts, final=index == last, usage=usage)
        for index, parts in enumerate(chunks)
    ]


_TEXT_KEYS = frozenset({"text", "thought", "thoughtSignature"})


def _merge_text_parts(parts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Joins runs of text parts of the same kind (thought or not), as a whole response has.

    A run keeps the one thought signature seen on it; a second signature starts a new part.
    Parts with other fields (code, images, calls, ...) are kept as they are.
    """
    merged: list[dict[str, Any]] = []
    for part in parts:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and isinstance(part.get("text"), str)
            and part.keys() <= _TEXT_KEYS
            and isinstance(previous.get("text"), str)
            and previous.keys() <= _TEXT_KEYS
            and bool(previous.get("thought")) == bool(part.get("thought"))
            and not ("thoughtSignature" in previous and "thoughtSignature" in part)
        ):
            merged[-1] = {**previous, **part, "text": previous["text"] + part["text"]}
        else:
            merged.append(dict(part))
    return merged


def _parts_whole_payload(
    reply: PartsReply, model: str, response_id: str, prompt: int
) -> dict[str, Any]:
    if reply.block_reason is not None:
        return _blocked_response(reply, model, response_id, prompt)
    parts = [part for chunk in reply.chunks for part in _chunk_parts(chunk)]
    usage = _parts_usage(reply.usage, prompt, parts) if reply.usage is not None else None
    merged = _merge_text_parts(parts)
    return _parts_response(reply, model, response_id, merged, final=True, usage=usage)


def _chunk_payloads(
    reply: _Streamable, model: str, response_id: str, prompt: int
) -> list[dict[str, Any]]:
    """The GenerateContentResponse JSON objects a streamed reply consists of."""
    if isinstance(reply, PartsReply):
        return _parts_chunk_payloads(reply, model, response_id, prompt)
    if isinstance(reply, ToolCallReply):
        call = call_part(reply.name, reply.args, id=reply.id)
        return [_response(model, response_id, [call], usage=_usage(prompt, 1))]
    chunks = list(reply.chunks)
    if isinstance(reply, HangReply):
        return [_response(model, response_id, [{"text": chunk}]) for chunk in chunks]
    usage = _usage(prompt, len(chunks))
    if not chunks:
        return [_response(model, response_id, [{"text": ""}], usage=usage)]
    return [
        _response(
            model,
            response_id,
            [{"text": chunk}],
            usage=usage if index == len(chunks) - 1 else None,
        )
        for index, chunk in enumerate(chunks)
    ]


def _whole_payload(
    reply: TextReply | ToolCallReply | PartsReply, model: str, response_id: str, prompt: int
) -> dict[str, Any]:
    """The single GenerateContentResponse of a non-streaming call."""
    if isinstance(reply, PartsReply):
        return _parts_whole_payload(reply, model, response_id, prompt)
    if isinstance(reply, ToolCallReply):
        return _chunk_payloads(reply, model, response_id, prompt)[0]
    text = "".join(reply.chunks)
    return _response(model, response_id, [{"text": text}], usage=_usage(prompt, len(reply.chunks)))


def _chunk_delay_s(reply: _Streamable) -> float:
    return reply.delay_s if isinstance(reply, TextReply | PartsReply) else 0.0


def _whole_delay_s(reply: _Streamable) -> float:
    """How long a non-streaming call waits: the pacing of all its chunks."""
    if isinstance(reply, TextReply):
        return reply.delay_s * len(reply.chunks)
    if isinstance(reply, PartsReply):
        return reply.delay_s * max(len(reply.chunks), 1)
    return 0.0


def _sse_event(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\r\n\r\n"


# --------------------------------------------------------------------------- ASGI helpers


async def _read_body(receive: _Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return bytes(body)


async def _wait_disconnect(receive: _Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send_json(send: _Send, status: int, payload: Any) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=UTF-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _cancel(*tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)


class _Server(uvicorn.Server):
    """uvicorn.Server that reports startup through an event and leaves signals alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Running inside a test's event loop: keep pytest's own SIGINT handling.
        yield


# --------------------------------------------------------------------------- the server


@dataclass
class FakeGemini:
    """A scripted Gemini API server; use as ``async with FakeGemini() as server: ...``.

    Attributes:
        url: ``http://127.0.0.1:PORT``, set once started; pass it as ``base_url``.
        requests: every request JSON body (camelCase, as sent), in arrival order.
        calls: the same calls with path, query and headers (see `RecordedCall`).
        hanging: set once a `HangReply` has sent its chunks.
        disconnected: set when a client went away from a stream the server had not finished
            (a `HangReply`, or a paced `TextReply` cut short).
    """

    url: str = field(default="", init=False)
    requests: list[dict[str, Any]] = field(default_factory=list, init=False)
    calls: list[RecordedCall] = field(default_factory=list, init=False)
    hanging: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    disconnected: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _replies: deque[Reply] = field(default_factory=deque, init=False, repr=False)
    _closing: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _ids: Iterator[int] = field(default_factory=itertools.count, init=False, repr=False)
    _server: _Server | None = field(default=None, init=False, repr=False)
    _serve_task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next calls, consumed FIFO (after them: the echo reply)."""
        self._replies.extend(replies)

    @property
    def pending(self) -> int:
        """Number of scripted replies not consumed yet."""
        return len(self._replies)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        config = uvicorn.Config(
            self._app,
            host="127.0.0.1",
            port=0,
            http="h11",
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(_SHUTDOWN_TIMEOUT_S),
        )
        server = _Server(config)
        self._server = server
        self._closing.clear()
        self._serve_task = asyncio.create_task(server.serve(), name="fake-gemini-server")
        ready = asyncio.create_task(server.ready.wait())
        await asyncio.wait(
            {self._serve_task, ready},
            timeout=_STARTUP_TIMEOUT_S,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not ready.done():
            await _cancel(ready, self._serve_task)
            raise RuntimeError("fake Gemini server did not start")
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        server, task = self._server, self._serve_task
        self._server = self._serve_task = None
        if server is None or task is None:
            return
        self._closing.set()  # lets hanging streams finish, so connections can close
        server.should_exit = True
        try:
            async with asyncio.timeout(_SHUTDOWN_TIMEOUT_S + 5):
                await task
        except TimeoutError:
            server.force_exit = True
            await _cancel(task)

    # ------------------------------------------------------------------ ASGI app

    async def _app(self, scope: _Message, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return
        raw = await _read_body(receive)
        match = _PATH_RE.fullmatch(scope["path"])
        if scope["method"] != "POST" or match is None:
            message = f"{scope['method']} {scope['path']} is not a Gemini endpoint of this fake."
            await _send_json(send, 404, _error_payload(404, message))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            await _send_json(send, 400, _error_payload(400, "Invalid JSON payload received."))
            return
        if not isinstance(body, dict):
            await _send_json(send, 400, _error_payload(400, "Request body must be an object."))
            return

        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        call = RecordedCall(
            api_version=match["version"],
            model=match["model"],
            method=match["method"],
            query=query,
            headers=headers,
            body=body,
        )
        self.requests.append(body)
        self.calls.append(call)

        reply = self._replies.popleft() if self._replies else self._echo(body)
        response_id = f"fake-{next(self._ids)}"
        if isinstance(reply, ErrorReply):
            await _send_json(send, reply.status, _error_payload(reply.status, reply.message))
        elif not call.stream:
            await self._answer_whole(send, receive, reply, call.model, response_id, body)
        elif query.get("alt") == "sse":
            await self._answer_sse(send, receive, reply, call.model, response_id, body)
        else:
            await self._answer_json_array(send, receive, reply, call.model, response_id, body)

    @staticmethod
    def _echo(body: Mapping[str, Any]) -> TextReply:
        return TextReply(chunks=_split(echo_text(body), ECHO_CHUNK_SIZE))

    async def _hang(self, receive: _Receive) -> bool:
        """Wait until the client leaves (returns True) or the server closes (False)."""
        self.hanging.set()
        gone = asyncio.create_task(_wait_disconnect(receive))
        closing = asyncio.create_task(self._closing.wait())
        try:
            await asyncio.wait({gone, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(gone, closing)
        if gone.cancelled() or not gone.done():
            return False
        self.disconnected.set()
        return True

    async def _answer_whole(
        self,
        send: _Send,
        receive: _Receive,
        reply: _Streamable,
        model: str,
        response_id: str,
        body: Mapping[str, Any],
    ) -> None:
        if isinstance(reply, HangReply):
            if not await self._hang(receive):
                await _send_json(send, 503, _error_payload(503, "The fake server is stopping."))
            return
        if delay := _whole_delay_s(reply):
            await asyncio.sleep(delay)
        await _send_json(send, 200, _whole_payload(reply, model, response_id, _prompt_words(body)))

    async def _answer_json_array(
        self,
        send: _Send,
        receive: _Receive,
        reply: _Streamable,
        model: str,
        response_id: str,
        body: Mapping[str, Any],
    ) -> None:
        if isinstance(reply, HangReply):
            await self._answer_whole(send, receive, reply, model, response_id, body)
            return
        if delay := _whole_delay_s(reply):
            await asyncio.sleep(delay)
        payloads = _chunk_payloads(reply, model, response_id, _prompt_words(body))
        await _send_json(send, 200, payloads)

    async def _answer_sse(
        self,
        send: _Send,
        receive: _Receive,
        reply: _Streamable,
        model: str,
        response_id: str,
        body: Mapping[str, Any],
    ) -> None:
        payloads = _chunk_payloads(reply, model, response_id, _prompt_words(body))
        delay = _chunk_delay_s(reply)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        gone = asyncio.create_task(_wait_disconnect(receive))
        try:
            for payload in payloads:
                if delay:
                    await asyncio.wait({gone}, timeout=delay)
                if gone.done():
                    self.disconnected.set()
                    return
                await send(
                    {"type": "http.response.body", "body": _sse_event(payload), "more_body": True}
                )
        finally:
            await _cancel(gone)
        if isinstance(reply, HangReply) and await self._hang(receive):
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
