"""Who and what an ADK REST API request names: its user, app and session, checked.

ADK's routes name the user in the path or the body (`/apps/{app}/users/{user}/...`,
`userId`). With auth off that name is used as ADK uses it (each name its own sessions);
with auth on, a name that is not the caller's answers 404, as another user's session
does on the native routes. The app is a hosted agent's name (ADK's `app_name`).
"""

from __future__ import annotations

from typing import Any

from google.adk.sessions.base_session_service import GetSessionConfig
from google.adk.sessions.session import Session
from starlette.requests import HTTPConnection, Request

from adkstream.agents.registry import HostedAgent
from adkstream.api.inputs import current_user, host_of
from adkstream.errors import NotFoundError, RequestError

_NO_EVENTS = GetSessionConfig(num_recent_events=0)


def checked_user(connection: HTTPConnection, named: str, *, field: str) -> str:
    """The user a request names, once it may act as that user (404 otherwise)."""
    if not named:
        raise RequestError(
            f"{field} must not be empty", code="invalid_field", field=field, status=422
        )
    if host_of(connection).settings.auth_enabled and named != current_user(connection):
        raise NotFoundError(f"no user {named!r} here", field=field)
    return named


def app_agent(connection: HTTPConnection, name: str | None, *, field: str) -> HostedAgent:
    """The hosted agent an ADK `app_name` names (422 when missing, 404 when unknown)."""
    if not name:
        raise RequestError(f"{field} is required", code="invalid_field", field=field, status=422)
    agents = host_of(connection).agents
    if name not in agents:
        raise NotFoundError(
            f"no app named {name!r}; known: {', '.join(a.name for a in agents)}",
            code="unknown_agent",
            field=field,
        )
    return agents.get(name)


def path_scope(request: Request) -> tuple[HostedAgent, str]:
    """The app and the user of an `/apps/{app_name}/users/{user_id}/...` path."""
    agent = app_agent(request, request.path_params["app_name"], field="app_name")
    user = checked_user(request, request.path_params["user_id"], field="user_id")
    return agent, user


async def find_session(
    request: HTTPConnection,
    agent: HostedAgent,
    user: str,
    session_id: str,
    *,
    field: str = "session_id",
    with_events: bool = True,
) -> Session:
    """The session, or 404 `session_not_found` naming `field`."""
    session = await host_of(request).session_service.get_session(
        app_name=agent.name,
        user_id=user,
        session_id=session_id,
        config=None if with_events else _NO_EVENTS,
    )
    if session is None:
        raise NotFoundError(
            f"Session not found: {session_id}", code="session_not_found", field=field
        )
    return session


def path_params(request: Request, *names: str) -> list[Any]:
    return [request.path_params[name] for name in names]
