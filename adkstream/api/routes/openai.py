"""OpenAI-compatible chat: `POST /v1/chat/completions`, `GET /v1/models`.

`model` is the agent's name; the last user message is the new message (the session
holds the history, so earlier messages are not replayed into it): its text parts, then
its images (`image_url`), audio (`input_audio`) and files (`file.file_data`) as inline
data for the model; a message may hold only media. Media must be inline: an `image_url`
or `file_data` that is not a base64 `data:` URL is a 400 naming `messages` (the server
fetches no URL: that would let a client make it call any address, and tie a run to a
third party's latency), and so is an uploaded file's `file_id` (no Files API here).

Without a session a request starts a new one; the header `X-Session-Id` (or
`metadata.session_id`) names the session to continue, created when it does not exist.
Every answer carries `X-Session-Id` and `X-Run-Id`. Identity comes from authentication,
never from the body: OpenAI's `user` field is accepted and ignored.

A run that waits (an ADK pause, or a call of one of the request's `tools`) ends with
`finish_reason: "tool_calls"`, a call per pending request (`api/openai_compat.py` says
which); the next request's `role: "tool"` messages with those `tool_call_id`s answer
them and continue the run, with no session id or header.

Divergence: errors on these routes use OpenAI's shape `{"error": {"message", "type",
"param", "code"}}` (the native API's is `{"error": {"code", "message", "field"}}`), so
that OpenAI clients show them; `code` keeps our stable codes.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from google.genai import types
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.agents.client_tools import ClientToolSpec
from adkstream.api.bodies import ClientToolBody
from adkstream.api.client_calls import answer_of
from adkstream.api.inputs import StreamFormat, current_user, host_of, read_model
from adkstream.api.json_depth import parse_json
from adkstream.api.message_check import check_message
from adkstream.api.openai_compat import (
    ChatCompletionEncoder,
    error_object,
    model_list,
    model_object,
    parse_tool_call_id,
)
from adkstream.api.protocol_runs import open_session, start_protocol_run, user_message
from adkstream.api.resume import client_tool_specs, continue_run
from adkstream.api.streams import run_headers, run_stream, stream_response
from adkstream.errors import ConflictError, NotFoundError, RequestError, UnavailableError
from adkstream.runner.answers import Answer, answers_message
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunStatus
from adkstream.runner.runs import Run

_RUN_ERROR_STATUS = {
    "rate_limited": 429,
    "cancelled": 409,
    "interrupted": 503,
    "timeout": 504,
    "internal_error": 500,
}
"""HTTP status of a non-streamed answer whose run failed; other codes (the model's) 502."""


_AUDIO_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
"""`input_audio.format` -> media type (the formats OpenAI's API takes)."""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def user_content(self, where: str) -> types.Content:
        """This message as the model gets it: its text, then its media as inline data.

        Raises:
            RequestError: a part that is not text or inline media, a malformed data
                URL, or no text and no media at all (400, naming `messages`).
        """
        if isinstance(self.content, str) or self.content is None:
            text, files = self.content or "", []
        else:
            texts = [p for p in self.content if p.get("type") == "text"]
            text = "".join(str(p.get("text", "")) for p in texts)
            files = [
                _media_part(part, f"{where}.content[{at}]")
                for at, part in enumerate(self.content)
                if part.get("type") != "text"
            ]
        return user_message(text, files)


def _media_part(part: dict[str, Any], where: str) -> types.Part:
    kind = part.get("type")
    value = part.get(kind) if isinstance(kind, str) else None
    if kind == "image_url" and isinstance(value, dict):
        return _data_url(value.get("url"), f"{where}.image_url.url")
    if kind == "input_audio" and isinstance(value, dict):
        mime_type = _AUDIO_TYPES.get(str(value.get("format")))
        if mime_type is None:
            raise RequestError(
                f"{where}.input_audio.format must be one of {sorted(_AUDIO_TYPES)}",
                field="messages",
            )
        data = _base64(value.get("data"), f"{where}.input_audio.data")
        return types.Part(inline_data=types.Blob(mime_type=mime_type, data=data))
    if kind == "file" and isinstance(value, dict):
        if "file_data" not in value:
            raise RequestError(
                f"{where}.file: send the file inline as file_data (a base64 data: URL);"
                " uploaded files (file_id) are not supported",
                field="messages",
            )
        # `filename` is not passed on: the Gemini API refuses a Blob's display_name.
        return _data_url(value.get("file_data"), f"{where}.file.file_data")
    raise RequestError(
        f"{where}: a part of type {kind!r} is not accepted in a user message"
        " (text, image_url, input_audio or file)",
        field="messages",
    )


def _data_url(url: Any, where: str) -> types.Part:
    """A `data:<media type>[;param...];base64,<data>` URL as an inline-data part.

    Raises:
        RequestError: any other URL, or a data URL without a media type, not base64,
            or empty (400, naming `messages`).
    """
    if not isinstance(url, str) or not url.startswith("data:"):
        raise RequestError(
            f"{where}: only data URLs (data:<media type>;base64,<data>) are accepted;"
            " the server does not fetch URLs",
            field="messages",
        )
    header, comma, payload = url.removeprefix("data:").partition(",")
    mime_type, *params = header.split(";")
    if not comma or not params or params[-1].lower() != "base64":
        raise RequestError(f"{where} is not a base64 data URL", field="messages")
    if "/" not in mime_type:
        raise RequestError(f"{where} has no media type (data:image/png;...)", field="messages")
    data = _base64(payload, where)
    return types.Part(inline_data=types.Blob(mime_type=mime_type.strip().lower(), data=data))


def _base64(value: Any, where: str) -> bytes:
    try:
        data = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except ValueError:  # binascii.Error, or non-ASCII text
        raise RequestError(f"{where} is not valid base64", field="messages") from None
    if not data:
        raise RequestError(f"{where} is empty", field="messages")
    return data


class FunctionSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class FunctionTool(BaseModel):
    """One of the request's `tools`: `{"type": "function", "function": {...}}`."""

    model_config = ConfigDict(extra="allow")

    type: Literal["function"] = "function"
    function: FunctionSpec


def _tool_output(content: str | list[dict[str, Any]] | None) -> Any:
    """A tool message's content as the tool's result (JSON when it is JSON)."""
    if isinstance(content, list):
        content = "".join(str(part.get("text", "")) for part in content)
    try:
        return parse_json(content or "null")
    except ValueError:
        return content


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionBody(BaseModel):
    """The request of `POST /v1/chat/completions`; sampling parameters are ignored."""

    # Unknown fields are accepted: OpenAI clients send many (temperature, n, ...) that
    # an agent has no use for.
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    metadata: dict[str, str] | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Any = None

    def client_tools(self) -> tuple[ClientToolSpec, ...]:
        """`tools`, the tools the client runs; none with `tool_choice: "none"`."""
        if self.tool_choice == "none":
            return ()
        return client_tool_specs(
            [ClientToolBody(**tool.function.model_dump()) for tool in self.tools or []],
            field="tools",
        )

    def tool_results(self) -> dict[str, list[tuple[str, Any]]]:
        """The `role: "tool"` messages after the last assistant message: run id ->
        (request id, result), for the tool calls this server asked for."""
        found: dict[str, list[tuple[str, Any]]] = {}
        for message in reversed(self.messages):
            if message.role != "tool":
                break
            call_id = (message.model_extra or {}).get("tool_call_id")
            ids = parse_tool_call_id(call_id) if isinstance(call_id, str) else None
            if ids is None:
                raise RequestError(
                    f"tool_call_id {call_id!r} names no tool call of this server",
                    field="messages",
                )
            run_id, request_id = ids
            found.setdefault(run_id, []).append((request_id, _tool_output(message.content)))
        return found

    def new_message(self) -> types.Content:
        """The last user message, the one this run answers (see `ChatMessage.user_content`).

        Raises:
            RequestError: no user message (`missing_message`), or a bad last one (400).
        """
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].role == "user":
                return self.messages[index].user_content(f"messages[{index}]")
        raise RequestError(
            "messages holds no user message", code="missing_message", field="messages"
        )


Handler = Callable[[Request], Awaitable[Response]]


def _openai_errors(handler: Handler) -> Handler:
    """Answers adkstream's request errors in OpenAI's error shape."""

    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as exc:
            body = error_object(
                exc.message, type="invalid_request_error", code=exc.code, param=exc.field
            )
            return JSONResponse(body, status_code=exc.status)
        except UnavailableError as exc:
            kind = "rate_limit_error" if exc.status == 429 else "server_error"
            body = error_object(exc.message, type=kind, code=exc.code)
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
            return JSONResponse(body, status_code=exc.status, headers=headers)

    return handle


@_openai_errors
async def chat_completions(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    body = await read_model(request, ChatCompletionBody)
    if body.model not in host.agents:
        raise NotFoundError(
            f"The model {body.model!r} does not exist; GET /v1/models lists them.",
            code="model_not_found",
            field="model",
        )
    agent = host.agents.get(body.model)
    tools = body.client_tools()
    if results := body.tool_results():
        run = await _continue(host, user, results, tools)
        return await _answer(request, host, body, run)
    message = body.new_message()
    # Before a session is made for it (start_protocol_run checks again, for every protocol).
    check_message(message, limit=host.settings.max_message_chars, field="messages")
    session_id, field = request.headers.get("x-session-id"), "X-Session-Id"
    if session_id is None and body.metadata is not None:
        session_id, field = body.metadata.get("session_id"), "metadata.session_id"
    if session_id is None:
        session = await host.sessions.create(agent=agent, user_id=user)
    else:
        session = await open_session(
            host, user=user, agent=agent, session_id=session_id, field=field
        )
    run = await start_protocol_run(
        host, agent=agent, user=user, session_id=session.id, message=message, client_tools=tools
    )
    return await _answer(request, host, body, run)


async def _continue(
    host: Host,
    user: str,
    results: dict[str, list[tuple[str, Any]]],
    tools: tuple[ClientToolSpec, ...],
) -> Run:
    """The run that continues the waiting run the tool messages answer.

    Raises:
        RequestError: the results are for more than one run, or miss a pending call (4xx).
        NotFoundError / ConflictError: no such run of the caller's, or it does not wait.
    """
    if len(results) != 1:
        raise RequestError("the tool messages answer more than one run", field="messages")
    [(run_id, answered)] = results.items()
    record = await host.log.get_run(run_id)
    if record is None or record.user_id != user:
        raise NotFoundError(f"no run {run_id!r} waits for these tool results", code="run_not_found")
    if record.status is not RunStatus.WAITING:
        raise ConflictError(
            f"run {run_id!r} is not waiting for tool results", code="run_not_waiting"
        )
    pending = {request.request_id: request for request in record.pending}
    answers = [
        answer_of(pending[rid], out) if rid in pending else Answer(request_id=rid)
        for rid, out in answered
    ]
    try:
        message = answers_message(record.pending, answers)
    except RequestError as exc:
        # Named as the tool messages that hold the answers (the native route's fields
        # would name `answers.N`, which this request has not).
        message_text = f"the tool messages' answers: {exc.message}"
        raise RequestError(
            message_text, code=exc.code, field="messages", status=exc.status
        ) from None
    return await continue_run(host, record, message, client_tools=tools or None)


async def _answer(request: Request, host: Host, body: ChatCompletionBody, run: Run) -> Response:
    """The run as a streamed or a whole chat completion."""
    encoder = ChatCompletionEncoder(
        completion_id=f"chatcmpl-{run.run_id}",
        model=body.model,
        created=int(time.time()),
        include_usage=body.stream_options is not None and body.stream_options.include_usage,
    )
    if body.stream:
        return run_stream(host, run.record, encoder)
    # The native JSON answer waits for the run and cancels it if the client leaves
    # meanwhile; its body is not ours to send, the run's events are re-encoded instead.
    await stream_response(request, host, run.record, StreamFormat.JSON)
    async for event in host.log.follow(run.run_id):  # the run has ended: a replay
        encoder.encode(event)
    headers = run_headers(run.record)
    if encoder.error is not None:
        code = encoder.error["error"]["code"]
        if code == "cancelled":
            # The SDKs retry a 409, which would start the cancelled work again.
            headers["x-should-retry"] = "false"
        status = _RUN_ERROR_STATUS.get(code, 502)
        return JSONResponse(encoder.error, status_code=status, headers=headers)
    return JSONResponse(encoder.completion(), headers=headers)


async def list_models(request: Request) -> Response:
    return JSONResponse(model_list([agent.name for agent in host_of(request).agents]))


@_openai_errors
async def get_model(request: Request) -> Response:
    name = request.path_params["model"]
    if name not in host_of(request).agents:
        raise NotFoundError(f"The model {name!r} does not exist.", code="model_not_found")
    return JSONResponse(model_object(name))


routes = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model}", get_model, methods=["GET"]),
]
