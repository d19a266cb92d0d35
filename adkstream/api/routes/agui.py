"""AG-UI: `POST /v1/agui/{agent}` runs an agent for an AG-UI client (RunAgentInput in, events out).

`threadId` is the session id (the session is created for this agent when it does not
exist yet), the last user message is the new message (its text, and its media parts when
they carry inline data: URL and provider-file sources are refused with a 400), and the
keys of `state` that differ from the session's state become the run's `state_delta`.
"""

from __future__ import annotations

import base64
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
from adkstream.api.agui import AguiEncoder
from adkstream.api.agui_answers import agui_answers
from adkstream.api.inputs import current_user, host_of, read_model
from adkstream.api.protocol_runs import open_session, start_protocol_run, user_message
from adkstream.api.resume import continue_run, waiting_runs
from adkstream.api.streams import run_stream
from adkstream.errors import ConflictError, RequestError
from adkstream.runner.answers import answers_message
from adkstream.runner.host import Host
from adkstream.runner.runs import Run

_MISSING = object()


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
    return run_stream(host, run.record, encoder)


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
        return user_message(text, files)
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


routes = [Route("/v1/agui/{agent}", run_agui, methods=["POST"])]
