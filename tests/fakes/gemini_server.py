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
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs

import uvicorn

__all__ = [
    "ECHO_CHUNK_SIZE",
    "ErrorReply",
    "FakeGemini",
    "HangReply",
    "RecordedCall",
    "Reply",
    "TextReply",
    "ToolCallReply",
    "echo_text",
    "last_user_text",
    "system_text",
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
    """One ``functionCall`` part, sent whole in a single chunk with ``finishReason: STOP``."""

    name: str
    args: Mapping[str, Any]


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


Reply = TextReply | ToolCallReply | ErrorReply | HangReply


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


def _chunk_payloads(
    reply: TextReply | ToolCallReply | HangReply, model: str, response_id: str, prompt: int
) -> list[dict[str, Any]]:
    """The GenerateContentResponse JSON objects a streamed reply consists of."""
    if isinstance(reply, ToolCallReply):
        call = {"functionCall": {"name": reply.name, "args": dict(reply.args)}}
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
    reply: TextReply | ToolCallReply, model: str, response_id: str, prompt: int
) -> dict[str, Any]:
    """The single GenerateContentResponse of a non-streaming call."""
    if isinstance(reply, ToolCallReply):
        return _chunk_payloads(reply, model, response_id, prompt)[0]
    text = "".join(reply.chunks)
    return _response(model, response_id, [{"text": text}], usage=_usage(prompt, len(reply.chunks)))


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
        reply: TextReply | ToolCallReply | HangReply,
        model: str,
        response_id: str,
        body: Mapping[str, Any],
    ) -> None:
        if isinstance(reply, HangReply):
            if not await self._hang(receive):
                await _send_json(send, 503, _error_payload(503, "The fake server is stopping."))
            return
        if isinstance(reply, TextReply) and reply.delay_s:
            await asyncio.sleep(reply.delay_s * len(reply.chunks))
        await _send_json(send, 200, _whole_payload(reply, model, response_id, _prompt_words(body)))

    async def _answer_json_array(
        self,
        send: _Send,
        receive: _Receive,
        reply: TextReply | ToolCallReply | HangReply,
        model: str,
        response_id: str,
        body: Mapping[str, Any],
    ) -> None:
        if isinstance(reply, HangReply):
            await self._answer_whole(send, receive, reply, model, response_id, body)
            return
        if isinstance(reply, TextReply) and reply.delay_s:
            await asyncio.sleep(reply.delay_s * len(reply.chunks))
        payloads = _chunk_payloads(reply, model, response_id, _prompt_words(body))
        await _send_json(send, 200, payloads)

    async def _answer_sse(
        self,
        send: _Send,
        receive: _Receive,
        reply: TextReply | ToolCallReply | HangReply,
        model: str,
        response_id: str,
        body: Mapping[str, Any],
    ) -> None:
        payloads = _chunk_payloads(reply, model, response_id, _prompt_words(body))
        delay = reply.delay_s if isinstance(reply, TextReply) else 0.0
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
