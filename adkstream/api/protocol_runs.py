"""What the protocol routes (AG-UI, Vercel, OpenAI) share before they stream: open the
session a client names, make a user message, and start a run as `POST /v1/runs` does.

Their streams go out through `streams.run_stream`, as the native ones do.
"""

from __future__ import annotations

import re
from typing import Any

from google.genai import types

from adkstream.agents.client_tools import ClientToolSpec
from adkstream.agents.registry import HostedAgent
from adkstream.api.bodies import _ID_PATTERN
from adkstream.api.message_check import check_message
from adkstream.errors import ConflictError, NotFoundError, RequestError
from adkstream.runner.host import Host
from adkstream.runner.runs import DisconnectPolicy, Run, RunRequest
from adkstream.runner.sessions import SessionView

_SESSION_ID = re.compile(_ID_PATTERN)


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
    check_message(message, limit=host.settings.max_message_chars, field="messages")
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
    """A user's message as ADK takes it: its text, then the files (images) it carries.

    Blank text is left out; a message left with no part at all is refused where it
    starts (`check_message`), in the same words on every route.
    """
    parts = [types.Part(text=text)] if text.strip() else []
    return types.Content(role="user", parts=parts + (files or []))
