"""Vercel AI SDK: `POST /v1/vercel/{agent}` answers `useChat` with a UI message stream.

The chat's `id` is the session id (created for this agent when new) and the last user
message's text and file parts are the new message; earlier messages are already in the
session. A run that waits (an ADK pause) sends a `tool-approval-request` for a tool
confirmation and leaves every other request to the client as a tool call (a client
tool's, a long-running tool's, `adk_request_credential`, `adk_request_input`); when
`useChat` sends the chat again with the approvals (`addToolApprovalResponse`) or the
tool outputs (`addToolOutput`) on its last assistant message, they answer the waiting
run and a new run continues it on the same stream of parts (a denial's result is
`tool-output-denied`).
A file part (`useChat`'s attachments) must carry its bytes as a `data:` URL: we do not
fetch `http(s)` URLs for a client (a 400 says so).

`GET /v1/vercel/{agent}/{chat_id}/stream` is `useChat({resume: true})`'s reconnect: it
replays the chat's active run from its start as a fresh stream (the SDK's default
transport treats a resumed stream as a replay), or answers 204 when none is active.

A run is cancelled when its client leaves, as on the native API; a chat that wants to
resume after a reload sends `on_disconnect: "continue"` in the body (`useChat`'s
transport `body` option), which keeps the run going for `detach_grace_s` unwatched.
"""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from google.genai import types
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adkstream.api.bodies import ClientToolBody
from adkstream.api.client_calls import answer_of
from adkstream.api.inputs import current_user, host_of, read_model
from adkstream.api.protocol_runs import open_session, start_protocol_run, user_message
from adkstream.api.resume import client_tool_specs, continue_run, waiting_runs
from adkstream.api.streams import run_stream
from adkstream.api.vercel import VercelEncoder
from adkstream.errors import RequestError
from adkstream.runner.answers import answers_message
from adkstream.runner.host import Host


class UIMessage(BaseModel):
    """One message of `useChat`'s history; only text and file parts are read."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    role: str
    parts: list[dict[str, Any]] = Field(default_factory=list)


class ChatBody(BaseModel):
    """`useChat`'s request body (DefaultChatTransport)."""

    # Unlike the native bodies, unknown fields are ignored: the SDK sends fields of its
    # own (`messageId`, `metadata`) and whatever the app adds through `body`.
    model_config = ConfigDict(extra="ignore")

    id: str
    messages: list[UIMessage] = Field(min_length=1)
    trigger: str | None = None
    on_disconnect: Literal["cancel", "continue"] = "cancel"
    tools: list[ClientToolBody] | None = None
    """Client-side tools (the transport's `body`): a call of one is left to `onToolCall`."""

    def tool_answers(self) -> dict[str, Any]:
        """What the last assistant message says to the run's requests, by request id:
        approvals (`addToolApprovalResponse`, true or false) and the outputs of the
        calls the client answered (`addToolOutput`)."""
        last = self.messages[-1]
        if last.role != "assistant":
            return {}
        found = (_tool_answer(part) for part in last.parts)
        return dict(answer for answer in found if answer is not None)

    def new_message(self) -> types.Content:
        """The last user message: its text, then its files as inline data.

        Raises:
            RequestError: no user message (`missing_message`), or the last one has neither
                text nor a file, or a file part is not a valid `data:` URL (400, naming
                `messages`).
        """
        for message in reversed(self.messages):
            if message.role == "user":
                text = "".join(
                    str(part.get("text", ""))
                    for part in message.parts
                    if part.get("type") == "text"
                )
                files = [_inline_file(part) for part in message.parts if part.get("type") == "file"]
                return user_message(text, files)
        raise RequestError(
            "messages holds no user message", code="missing_message", field="messages"
        )


def _tool_answer(part: dict[str, Any]) -> tuple[str, Any] | None:
    """(request id, answer) from one tool part of a UI message, if it holds one."""
    kind, state = part.get("type"), part.get("state")
    if not isinstance(kind, str) or not (kind.startswith("tool-") or kind == "dynamic-tool"):
        return None
    approval = part.get("approval")
    if state == "approval-responded" and isinstance(approval, dict):
        approval_id = approval.get("id")
        return (approval_id, approval.get("approved") is True) if approval_id else None
    call_id = part.get("toolCallId")
    if part.get("providerExecuted") or not isinstance(call_id, str):
        return None
    if state == "output-available":
        return call_id, part.get("output")
    if state == "output-error":
        return call_id, {"error": part.get("errorText")}
    return None


def _inline_file(part: dict[str, Any]) -> types.Part:
    """A file part (`{type: "file", mediaType, url: "data:..."}`) as inline data."""
    url = part.get("url")
    if not isinstance(url, str) or not url.startswith("data:"):
        raise RequestError(
            "a file part's url must be a data: URL (other URLs are not fetched)",
            field="messages",
        )
    header, comma, payload = url.removeprefix("data:").partition(",")
    if not comma:
        raise RequestError("a file part's data: URL has no ',' before its data", field="messages")
    media_type, _, params = header.partition(";")
    try:
        if params.split(";")[-1].lower() == "base64":
            data = base64.b64decode(payload, validate=True)
        else:  # RFC 2397: percent-encoded bytes
            data = unquote_to_bytes(payload)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise RequestError(
            "a file part's data: URL is not valid base64", field="messages"
        ) from None
    mime_type = media_type or part.get("mediaType")
    if not isinstance(mime_type, str) or not mime_type:
        raise RequestError("a file part has no media type", field="messages")
    return types.Part(inline_data=types.Blob(mime_type=mime_type, data=data))


async def chat(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    agent = host.agents.get(request.path_params["agent"])
    body = await read_model(request, ChatBody)
    session = await open_session(host, user=user, agent=agent, session_id=body.id, field="id")
    if (answered := await _continue(host, user, session.id, body)) is not None:
        return answered
    message = body.new_message()
    run = await start_protocol_run(
        host,
        agent=agent,
        user=user,
        session_id=session.id,
        message=message,
        on_disconnect=body.on_disconnect,
        client_tools=client_tool_specs(body.tools or [], field="tools"),
    )
    return run_stream(host, run.record, VercelEncoder())


async def _continue(host: Host, user: str, session_id: str, body: ChatBody) -> Response | None:
    """The stream of the run that continues the chat's waiting run with the approvals and
    tool results of the last assistant message; None when they answer no waiting run."""
    answers = body.tool_answers()
    if not answers:
        return None
    for record in await waiting_runs(host, user, session_id):
        mine = [
            answer_of(request, answers[request.request_id])
            for request in record.pending
            if request.request_id in answers
        ]
        if not mine:
            continue
        message = answers_message(record.pending, mine)
        pending = {request.request_id: request for request in record.pending}
        denied = frozenset(
            pending[a.request_id].call_id or a.request_id
            for a in mine
            if pending[a.request_id].kind == "confirmation" and not a.fields()["confirmed"]
        )
        answered = frozenset(pending[a.request_id].call_id or a.request_id for a in mine)
        tools = client_tool_specs(body.tools, field="tools") if body.tools else None
        run = await continue_run(
            host, record, message, on_disconnect=body.on_disconnect, client_tools=tools
        )
        encoder = VercelEncoder(answered=answered, denied=denied)
        return run_stream(host, run.record, encoder)
    return None


async def resume_chat(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    agent = host.agents.get(request.path_params["agent"])
    chat_id = request.path_params["chat_id"]
    owner = await host.sessions.agent_of(user, chat_id)
    if owner is None or owner.name != agent.name:
        return Response(status_code=204)  # nothing to resume: the SDK's "no active stream"
    active = [
        record
        for record in await host.log.list_runs(chat_id)
        if record.user_id == user and not record.finished
    ]
    if not active:
        return Response(status_code=204)
    return run_stream(host, active[-1], VercelEncoder())


routes = [
    Route("/v1/vercel/{agent}", chat, methods=["POST"]),
    Route("/v1/vercel/{agent}/{chat_id}/stream", resume_chat, methods=["GET"]),
]
