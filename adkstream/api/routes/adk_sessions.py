"""ADK's REST API sessions: `/apps/{app_name}/users/{user_id}/sessions[/{session_id}]`.

Answers are ADK's (the session as ADK's pydantic model dumps it, camelCase, no None
fields). Divergences: creating a session with `events` or `options` is refused (422
naming the field); an id that exists answers 409 `session_exists`.
"""

from __future__ import annotations

import uuid
from typing import Any

from google.adk.cli.api_server import CreateSessionRequest, UpdateSessionRequest
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adkstream.adk_private import session_json
from adkstream.agents.registry import HostedAgent
from adkstream.api.adk_rest_access import find_session, path_scope
from adkstream.api.inputs import host_of, read_model
from adkstream.api.routes import resource
from adkstream.errors import ConflictError, RequestError


async def list_sessions(request: Request) -> Response:
    agent, user = path_scope(request)
    found = await host_of(request).session_service.list_sessions(app_name=agent.name, user_id=user)
    return JSONResponse([session_json(session) for session in found.sessions])


async def create_session(request: Request) -> Response:
    """`POST .../sessions`: body `{sessionId?, state?}` (or none)."""
    agent, user = path_scope(request)
    body = await read_model(request, CreateSessionRequest, allow_empty=True)
    for name in ("events", "options"):
        if getattr(body, name):
            raise RequestError(
                f"{name}: not supported by adkstream",
                code="invalid_field",
                field=name,
                status=422,
            )
    return await _created(request, agent, user, body.session_id, body.state)


async def create_session_with_id(request: Request) -> Response:
    """`POST .../sessions/{session_id}`: the body is the initial state (ADK's older form)."""
    agent, user = path_scope(request)
    body = await read_model(request, _StateBody, allow_empty=True)
    return await _created(request, agent, user, request.path_params["session_id"], body.state())


async def get_session(request: Request) -> Response:
    agent, user = path_scope(request)
    session = await find_session(request, agent, user, request.path_params["session_id"])
    return JSONResponse(session_json(session))


async def update_session(request: Request) -> Response:
    """`PATCH .../sessions/{session_id}` `{stateDelta}`: an event that changes the state."""
    agent, user = path_scope(request)
    body = await read_model(request, UpdateSessionRequest)
    session = await find_session(request, agent, user, request.path_params["session_id"])
    event = Event(
        invocation_id=f"p-{uuid.uuid4()}",
        author="user",
        actions=EventActions(state_delta=body.state_delta),
    )
    await host_of(request).session_service.append_event(session=session, event=event)
    return JSONResponse(session_json(session))


async def delete_session(request: Request) -> Response:
    """Answers `null` whether or not the session existed, as ADK does."""
    agent, user = path_scope(request)
    await host_of(request).session_service.delete_session(
        app_name=agent.name, user_id=user, session_id=request.path_params["session_id"]
    )
    return JSONResponse(None)


async def _created(
    request: Request,
    agent: HostedAgent,
    user: str,
    session_id: str | None,
    state: dict[str, Any] | None,
) -> Response:
    service = host_of(request).session_service
    if session_id is not None and await service.get_session(
        app_name=agent.name, user_id=user, session_id=session_id
    ):
        raise ConflictError(
            f"session {session_id!r} already exists", code="session_exists", field="session_id"
        )
    session = await service.create_session(
        app_name=agent.name, user_id=user, session_id=session_id, state=state
    )
    return JSONResponse(session_json(session))


class _StateBody(BaseModel):
    """Any JSON object: the state itself."""

    model_config = ConfigDict(extra="allow")

    def state(self) -> dict[str, Any] | None:
        return dict(self.model_extra or {}) or None


_SESSION = "/apps/{app_name}/users/{user_id}/sessions/{session_id}"
routes = [
    resource("/apps/{app_name}/users/{user_id}/sessions", GET=list_sessions, POST=create_session),
    resource(
        _SESSION,
        GET=get_session,
        POST=create_session_with_id,
        PATCH=update_session,
        DELETE=delete_session,
    ),
]
