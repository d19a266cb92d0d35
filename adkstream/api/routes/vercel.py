"""Vercel AI SDK: `POST /v1/vercel/{agent}` answers `useChat` with a UI message stream.

The chat's `id` is the session id (created for this agent when new) and the last user
message's text parts are the new message; earlier messages are already in the session.
`GET /v1/vercel/{agent}/{chat_id}/stream` is `useChat({resume: true})`'s reconnect: it
replays the chat's active run from its start as a fresh stream (the SDK's default
transport treats a resumed stream as a replay), or answers 204 when none is active.

A run is cancelled when its client leaves, as on the native API; a chat that wants to
resume after a reload sends `on_disconnect: "continue"` in the body (`useChat`'s
transport `body` option), which keeps the run going for `detach_grace_s` unwatched.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adkstream.api.inputs import current_user, host_of, read_model
from adkstream.api.routes.agui import (
    open_session,
    protocol_stream,
    start_protocol_run,
    user_message,
)
from adkstream.api.vercel import HEADERS, VercelEncoder
from adkstream.errors import RequestError


class UIMessage(BaseModel):
    """One message of `useChat`'s history; only text parts are read."""

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

    def new_message(self) -> str:
        """The text of the last user message."""
        for message in reversed(self.messages):
            if message.role == "user":
                text = "".join(
                    str(part.get("text", ""))
                    for part in message.parts
                    if part.get("type") == "text"
                )
                if not text.strip():
                    raise RequestError("the last user message has no text part", field="messages")
                return text
        raise RequestError(
            "messages holds no user message", code="missing_message", field="messages"
        )


async def chat(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    agent = host.agents.get(request.path_params["agent"])
    body = await read_model(request, ChatBody)
    text = body.new_message()
    session = await open_session(host, user=user, agent=agent, session_id=body.id, field="id")
    run = await start_protocol_run(
        host,
        agent=agent,
        user=user,
        session_id=session.id,
        message=user_message(text),
        on_disconnect=body.on_disconnect,
    )
    return protocol_stream(host, run.record, VercelEncoder().frames, headers=HEADERS)


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
    return protocol_stream(host, active[-1], VercelEncoder().frames, headers=HEADERS)


routes = [
    Route("/v1/vercel/{agent}", chat, methods=["POST"]),
    Route("/v1/vercel/{agent}/{chat_id}/stream", resume_chat, methods=["GET"]),
]
