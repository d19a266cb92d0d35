"""Sessions as the API shows them, on top of ADK's session service.

ADK keys sessions by (app_name, user_id, session_id); adkstream uses the agent's name as
the app name, so a session belongs to one agent. A session is found by id across the
hosted agents (a handful), for the calling user only: another user's session is "not found".
"""

from __future__ import annotations

from typing import Any

from google.adk.events.event import Event
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.adk.sessions.session import Session
from pydantic import BaseModel, ConfigDict, Field

from adkstream.agents.content import visible_text
from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.errors import ConflictError, NotFoundError
from adkstream.events import InputRequest
from adkstream.runner.json_values import json_safe
from adkstream.runner.stopped_answers import stopped_reason

_NO_EVENTS = GetSessionConfig(num_recent_events=0)


class SessionMessage(BaseModel):
    """One message of the history; `stopped` says why an answer was cut short (its run
    was cancelled, interrupted or stopped by a newer message), else None."""

    model_config = ConfigDict(frozen=True)

    author: str
    role: str
    text: str
    ts: float
    stopped: str | None = None


class WaitingRun(BaseModel):
    """A run of the session that waits for answers (`POST /v1/runs/{run_id}/answers`)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    pending: list[InputRequest]


class SessionView(BaseModel):
    """A session as `GET /v1/sessions/{id}` shows it; `waiting` lists its runs that wait
    for answers nobody gave yet (empty in lists)."""

    model_config = ConfigDict(frozen=True)

    id: str
    agent: str
    user_id: str
    state: dict[str, Any]
    messages: list[SessionMessage] | None = None
    waiting: list[WaitingRun] = Field(default_factory=list)
    created_at: float
    updated_at: float


class SessionStore:
    """Creates, finds, lists and deletes the sessions of the hosted agents."""

    def __init__(self, service: BaseSessionService, agents: AgentRegistry) -> None:
        self.service = service
        self.agents = agents

    async def create(
        self,
        *,
        agent: HostedAgent,
        user_id: str,
        session_id: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> SessionView:
        if session_id is not None and await self._find(user_id, session_id) is not None:
            raise ConflictError(
                f"session {session_id!r} already exists", code="session_exists", field="session_id"
            )
        session = await self.service.create_session(
            app_name=agent.name, user_id=user_id, session_id=session_id, state=state
        )
        return _view(agent.name, session, with_messages=True)

    async def get(
        self, user_id: str, session_id: str, *, with_messages: bool = True
    ) -> SessionView:
        found = await self._find(user_id, session_id, with_events=with_messages)
        if found is None:
            raise NotFoundError(f"no session {session_id!r}", code="session_not_found")
        return _view(found[0], found[1], with_messages=with_messages)

    async def agent_of(self, user_id: str, session_id: str) -> HostedAgent | None:
        found = await self._find(user_id, session_id)
        return None if found is None else self.agents.get(found[0])

    async def list(self, user_id: str) -> list[SessionView]:
        views: list[SessionView] = []
        for agent in self.agents:
            response = await self.service.list_sessions(app_name=agent.name, user_id=user_id)
            views.extend(_view(agent.name, s, with_messages=False) for s in response.sessions)
        return sorted(views, key=lambda v: v.updated_at, reverse=True)

    async def delete(self, user_id: str, session_id: str) -> None:
        found = await self._find(user_id, session_id)
        if found is None:
            raise NotFoundError(f"no session {session_id!r}", code="session_not_found")
        await self.service.delete_session(app_name=found[0], user_id=user_id, session_id=session_id)

    async def _find(
        self, user_id: str, session_id: str, *, with_events: bool = False
    ) -> tuple[str, Session] | None:
        config = None if with_events else _NO_EVENTS
        for agent in self.agents:
            session = await self.service.get_session(
                app_name=agent.name, user_id=user_id, session_id=session_id, config=config
            )
            if session is not None:
                return agent.name, session
        return None


def _view(agent: str, session: Session, *, with_messages: bool) -> SessionView:
    messages = _messages(session.events) if with_messages else None
    created = session.events[0].timestamp if session.events else session.last_update_time
    return SessionView(
        id=session.id,
        agent=agent,
        user_id=session.user_id,
        state=json_safe(dict(session.state)),
        messages=messages,
        created_at=created,
        updated_at=session.last_update_time,
    )


def _messages(events: list[Event]) -> list[SessionMessage]:
    """The history as a person reads it; a rewind (ADK's `rewind_async`, a rolled-back
    run) takes the messages from its invocation on out, as it does for the model."""
    kept: list[tuple[str, SessionMessage]] = []
    for event in events:
        rewound = event.actions.rewind_before_invocation_id
        if rewound:
            at = next((i for i, (inv, _) in enumerate(kept) if inv == rewound), len(kept))
            del kept[at:]
            continue
        message = _message(event)
        if message is not None:
            kept.append((event.invocation_id, message))
    return [message for _, message in kept]


def _message(event: Event) -> SessionMessage | None:
    """A persisted final event with visible text (or a stopped answer), as a chat message."""
    text = visible_text(event)
    stopped = stopped_reason(event)
    if not text and stopped is None:
        return None
    role = "user" if event.author == "user" else "assistant"
    return SessionMessage(
        author=event.author, role=role, text=text, ts=event.timestamp, stopped=stopped
    )
