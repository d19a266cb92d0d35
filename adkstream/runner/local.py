"""Runs in this process, without a server: in-memory sessions and log (the CLI's `run`, notebooks).

    local = InProcess(builtin_agents())
    run = await local.start("hello", agent="assistant")
    async for event in local.events(run.run_id):
        ...
    state = await local.state(run.session_id)
    await local.aclose()

Sessions live as long as the `InProcess` object: pass `session_id` to continue one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from google.adk.sessions import InMemorySessionService
from google.genai import types

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.errors import ConflictError, NotFoundError
from adkstream.events import StreamEvent
from adkstream.runner.answers import Answer, answers_message
from adkstream.runner.lifecycle import RunServices
from adkstream.runner.log import EventLog
from adkstream.runner.run_record import RunStatus
from adkstream.runner.runs import RunManager, RunRequest, new_run_id
from adkstream.runner.sessions import SessionStore

__all__ = ["InProcess", "LocalRun"]

LOCAL_USER = "local"


@dataclass(frozen=True)
class LocalRun:
    """A run started by `InProcess.start`."""

    run_id: str
    session_id: str
    agent: str


class InProcess:
    """The hosted agents, their sessions, the log and the run manager of one process.

    Args:
        agents: the agents to run (the first is the default).
        user_id: whose sessions these are.
        coalesce_ms: the coalescing window of each run (0: every delta).
    """

    def __init__(
        self, agents: AgentRegistry, *, user_id: str = LOCAL_USER, coalesce_ms: int = 30
    ) -> None:
        self.agents = agents
        self.user_id = user_id
        self.coalesce_ms = coalesce_ms
        self.session_service = InMemorySessionService()
        self.sessions = SessionStore(self.session_service, agents)
        self.log = EventLog.in_memory()
        self.runs = RunManager(RunServices(agents, self.session_service, self.log))

    async def start(
        self,
        message: str | types.Content,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        state_delta: Mapping[str, Any] | None = None,
    ) -> LocalRun:
        """Starts a run; no `session_id` starts a new session, an unknown one creates it.

        Raises:
            NotFoundError: no such agent.
            ConflictError: the session belongs to another agent.
        """
        hosted, session_id = await self._session(agent, session_id)
        if isinstance(message, str):
            message = types.Content(role="user", parts=[types.Part(text=message)])
        run = await self.runs.start(
            RunRequest(
                agent=hosted,
                user_id=self.user_id,
                session_id=session_id,
                message=message,
                state_delta=None if state_delta is None else dict(state_delta),
                coalesce_ms=self.coalesce_ms,
            )
        )
        return LocalRun(run_id=run.run_id, session_id=session_id, agent=hosted.name)

    async def answer(self, run_id: str, answers: Mapping[str, Mapping[str, Any]]) -> LocalRun:
        """Answers waiting run `run_id` (request id -> its fields, as for
        `POST /v1/runs/{id}/answers`) and starts the run that continues it.

        Raises:
            NotFoundError: no such run.
            ConflictError: the run is not waiting, or was answered already.
            RequestError: an answer does not fit its request, or one is missing.
        """
        record = await self.log.get_run(run_id)
        if record is None:
            raise NotFoundError(f"no run {run_id!r}", code="run_not_found")
        if record.status is not RunStatus.WAITING:
            raise ConflictError(
                f"run {run_id!r} is {record.status.value}, not waiting for answers",
                code="run_not_waiting",
            )
        given = [Answer(request_id=rid, **dict(fields)) for rid, fields in answers.items()]
        message = answers_message(record.pending, given)
        new_id = new_run_id()
        holder = await self.log.claim_answer(run_id, by=new_id)
        if holder != new_id:
            raise ConflictError(f"run {run_id!r} was answered already", code="already_answered")
        run = await self.runs.start(
            RunRequest(
                agent=self.agents.get(record.agent),
                user_id=record.user_id,
                session_id=record.session_id,
                message=message,
                coalesce_ms=self.coalesce_ms,
                invocation_id=record.invocation_id,
                resumes=run_id,
            ),
            run_id=new_id,
        )
        return LocalRun(run_id=run.run_id, session_id=record.session_id, agent=record.agent)

    def events(self, run_id: str, *, after: int = 0) -> AsyncIterator[StreamEvent]:
        """The run's events after seq `after`, every delta as it was logged, to its end."""
        return self.log.follow(run_id, after=after, merge_over=None)

    def cancel(self, run_id: str, reason: str = "cancelled by the caller") -> None:
        """Stops a run; it ends with `run.cancelled`.

        Raises:
            ConflictError: the run has already ended.
        """
        self.runs.cancel(run_id, reason)

    async def state(self, session_id: str) -> dict[str, Any]:
        """The session's state (JSON-safe), e.g. the agents' `output_key` values."""
        view = await self.sessions.get(self.user_id, session_id, with_messages=False)
        return view.state

    async def aclose(self) -> None:
        """Ends the runs still going (`run.failed`, `interrupted`)."""
        await self.runs.shutdown()

    async def _session(self, agent: str | None, session_id: str | None) -> tuple[HostedAgent, str]:
        if session_id is None:
            hosted = self.agents.get(agent)
            view = await self.sessions.create(agent=hosted, user_id=self.user_id)
            return hosted, view.id
        found = await self.sessions.agent_of(self.user_id, session_id)
        if found is None:
            hosted = self.agents.get(agent)
            await self.sessions.create(agent=hosted, user_id=self.user_id, session_id=session_id)
            return hosted, session_id
        if agent is not None and agent != found.name:
            self.agents.get(agent)  # an unknown agent is "not found" before a mismatch
            raise ConflictError(
                f"session {session_id!r} belongs to agent {found.name!r}",
                code="agent_mismatch",
                field="agent",
            )
        return found, session_id
