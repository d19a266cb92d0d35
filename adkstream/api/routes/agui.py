"""AG-UI: `POST /v1/agui/{agent}` runs an agent for an AG-UI client (RunAgentInput in, events out).

`threadId` is the session id (the session is created for this agent when it does not
exist yet), the last user message is the new message (its text, and its media parts when
they carry inline data: URL and provider-file sources are refused with a 400), and the
keys of `state` that differ from the session's state become the run's `state_delta`.

This module also holds the shell the three protocol adapters share (AG-UI, Vercel,
OpenAI): open the session a client names, start a run as `POST /v1/runs` does, and
stream a protocol encoder's frames from the run's log (`EventStreamResponse`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from ag_ui.core import (
    AudioPart,
    DataSource,
    DocumentPart,
    ImagePart,
    RunAgentInput,
    TextPart,
    ToolMessage,
    UserMessage,
    VideoPart,
)
from google.genai import types
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adkstream.agents.client_tools import ClientToolSpec
from adkstream.agents.registry import HostedAgent
from adkstream.api.agui import AguiEncoder
from adkstream.api.agui_answers import agui_answers
from adkstream.api.bodies import _ID_PATTERN
from adkstream.api.event_stream import EventStreamResponse
from adkstream.api.inputs import current_user, host_of, read_model
from adkstream.api.resume import continue_run, waiting_runs
from adkstream.api.streams import SSE_HEADERS, run_headers
from adkstream.errors import ConflictError, NotFoundError, RequestError
from adkstream.events import StreamEvent
from adkstream.runner.answers import answers_message
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord
from adkstream.runner.runs import DisconnectPolicy, Run, RunRequest
from adkstream.runner.sessions import SessionView

_SESSION_ID = re.compile(_ID_PATTERN)
_MISSING = object()

FrameSource = Callable[[StreamEvent], list[bytes]]
"""A protocol encoder's `frames`: the SSE frames for one stream event."""


async def run_agui(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    agent = host.agents.get(request.path_params["agent"])
    body = await read_model(request, RunAgentInput)
    client_state = _client_state(body)
    tools = tuple(
        ClientToolSpec(tool.name, tool.description or "", tool.parameters or {"type": "object"})
        for tool in body.tools or []
    )
    session = await open_session(
        host, user=user, agent=agent, session_id=body.thread_id, field="threadId"
    )
    encoder = AguiEncoder(
        thread_id=body.thread_id, run_id=body.run_id, state=session.state | client_state
    )
    run = await _continued(host, user, session.id, body, tools)
    if run is None:
        state_delta = {k: v for k, v in client_state.items() if session.state.get(k, _MISSING) != v}
        run = await start_protocol_run(
            host,
            agent=agent,
            user=user,
            session_id=session.id,
            message=_new_message(body),
            state_delta=state_delta or None,
            client_tools=tools,
        )
    return protocol_stream(host, run.record, encoder.frames)


async def _continued(
    host: Host,
    user: str,
    session_id: str,
    body: RunAgentInput,
    tools: tuple[ClientToolSpec, ...],
) -> Run | None:
    """The run that continues the thread's waiting run, when `resume[]` or tool messages
    answer it (see `agui_answers`); None when nothing answers a waiting run."""
    if not body.resume and not any(isinstance(m, ToolMessage) for m in body.messages):
        return None
    for record in await waiting_runs(host, user, session_id):
        answers = agui_answers(body, record.pending)
        if answers:
            message = answers_message(record.pending, answers)
            return await continue_run(host, record, message, client_tools=tools or None)
    if body.resume:
        ids = ", ".join(entry.interrupt_id for entry in body.resume)
        raise ConflictError(
            f"no run of the thread waits for {ids}", code="unknown_request", field="resume"
        )
    return None


def _new_message(body: RunAgentInput) -> types.Content:
    """The last user message, the one this run answers: its text, then its media parts
    (image, audio, video, document) as inline data.

    Only inline data is accepted (a part whose `source` is `{"type": "data", "value":
    <base64>, "mimeType": ...}`): a `url` source is not fetched, and a `file` source is
    a handle only the provider that issued it can read.

    Raises:
        RequestError: no user message (`missing_message`), or the last one has neither
            text nor a media part, or a media part is not inline or not valid base64
            (400, naming `messages`).
    """
    for index in range(len(body.messages) - 1, -1, -1):
        message = body.messages[index]
        if not isinstance(message, UserMessage):
            continue
        content = message.content
        if isinstance(content, str):
            text, files = content, []
        else:
            text = "".join(part.text for part in content if isinstance(part, TextPart))
            files = [
                _inline_part(part, f"messages[{index}].content[{at}]")
                for at, part in enumerate(content)
                if not isinstance(part, TextPart)
            ]
        if not text.strip() and not files:
            raise RequestError("the last user message has no text or media part", field="messages")
        return user_message(text if text.strip() else "", files)
    raise RequestError("messages holds no user message", code="missing_message", field="messages")


def _inline_part(part: ImagePart | AudioPart | VideoPart | DocumentPart, where: str) -> types.Part:
    source = part.source
    if not isinstance(source, DataSource):
        raise RequestError(
            f"{where}: only inline data is accepted (a source of type 'data');"
            f" a {source.type!r} source is not fetched",
            field="messages",
        )
    try:
        data = base64.b64decode(source.value, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise RequestError(f"{where}.source.value is not valid base64", field="messages") from None
    if not data:
        raise RequestError(f"{where}.source.value is empty", field="messages")
    if not source.mime_type:
        raise RequestError(f"{where}.source.mimeType is empty", field="messages")
    return types.Part(inline_data=types.Blob(mime_type=source.mime_type, data=data))


def _client_state(body: RunAgentInput) -> dict[str, Any]:
    if body.state is None:
        return {}
    if not isinstance(body.state, dict):
        raise RequestError("state must be a JSON object", field="state")
    return body.state


# --- the shell the protocol adapters share ---


async def open_session(
    host: Host, *, user: str, agent: HostedAgent, session_id: str, field: str
) -> SessionView:
    """The caller's session `session_id` of `agent`, created (empty) when it does not exist.

    Raises:
        RequestError: `session_id` is not a valid id (400, naming `field`).
        ConflictError: the session belongs to another agent (409, `agent_mismatch`).
    """
    if not _SESSION_ID.match(session_id):
        raise RequestError(
            f"{field} must be 1-128 letters, digits or ._:- (starting with a letter or digit)",
            field=field,
        )
    try:
        view = await host.sessions.get(user, session_id, with_messages=False)
    except NotFoundError:
        try:
            return await host.sessions.create(agent=agent, user_id=user, session_id=session_id)
        except ConflictError:  # a concurrent request created it first
            view = await host.sessions.get(user, session_id, with_messages=False)
    if view.agent != agent.name:
        raise ConflictError(
            f"session {session_id!r} belongs to agent {view.agent!r}",
            code="agent_mismatch",
            field=field,
        )
    return view


async def start_protocol_run(
    host: Host,
    *,
    agent: HostedAgent,
    user: str,
    session_id: str,
    message: types.Content,
    state_delta: dict[str, Any] | None = None,
    on_disconnect: DisconnectPolicy = "cancel",
    client_tools: tuple[ClientToolSpec, ...] = (),
) -> Run:
    """Starts a run with a user message, as `POST /v1/runs` does (same limits, coalescing).

    Raises:
        RequestError: the message's text is over `max_message_chars` (422,
            `message_too_long`).
        UnavailableError: over a run limit (the run manager's).
    """
    limit = host.settings.max_message_chars
    if sum(len(part.text or "") for part in message.parts or []) > limit:
        raise RequestError(
            f"the message is over the limit of {limit} characters",
            code="message_too_long",
            field="messages",
            status=422,
        )
    return await host.runs.start(
        RunRequest(
            agent=agent,
            user_id=user,
            session_id=session_id,
            message=message,
            state_delta=state_delta,
            coalesce_ms=host.settings.coalesce_ms,
            on_disconnect=on_disconnect,
            thoughts=host.settings.thoughts,
            client_tools=client_tools,
            if_busy=host.settings.if_busy,
        )
    )


def user_message(text: str, files: list[types.Part] | None = None) -> types.Content:
    """A user's message as ADK takes it: its text, then the files (images) it carries."""
    parts = [types.Part(text=text)] if text else []
    return types.Content(role="user", parts=parts + (files or []))


def protocol_stream(
    host: Host,
    record: RunRecord,
    frames: FrameSource,
    *,
    headers: dict[str, str] | None = None,
) -> EventStreamResponse:
    """The run's events from the start, through `frames`, as an SSE response.

    The response watches the run while it is open: when the client leaves, the run's
    disconnect policy applies (`cancel` stops it), as for the native stream.
    """
    return EventStreamResponse(
        _relay(host, record.run_id, frames),
        headers=run_headers(record) | SSE_HEADERS | (headers or {}),
        ping_s=host.settings.heartbeat_s,
    )


async def _relay(host: Host, run_id: str, frames: FrameSource) -> AsyncIterator[bytes]:
    """The frames of each batch storage hands over go out in one write, as for `/v1/runs`."""
    async with host.runs.watching(run_id):
        async for batch in host.log.follow_batches(run_id):
            data = b"".join([frame for event in batch for frame in frames(event)])
            if data:  # an encoder may have nothing to say for some events
                yield data


routes = [Route("/v1/agui/{agent}", run_agui, methods=["POST"])]
