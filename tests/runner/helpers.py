"""Shared helpers of the runner tests: a RunManager on ADK's in-memory sessions, and the
stream invariants every runner test checks (docs/ARCHITECTURE.md, "Rules that every test of
the runner checks")."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from google.adk.events.event import Event
from google.adk.sessions import InMemorySessionService
from google.adk.sessions.session import Session
from google.genai import types

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.events import (
    TERMINAL_TYPES,
    MessageCompleted,
    MessageDelta,
    ReasoningCompleted,
    ReasoningDelta,
    StreamEvent,
    event_json,
    parse_event,
)
from adkstream.runner import EventLog, Run, RunManager, RunRequest
from adkstream.runner.lifecycle import RunServices

TIMEOUT_S = 10
USER_ID = "u-test"


def user_message(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


@dataclass
class Harness:
    """A RunManager writing to a EventLog, with sessions in ADK's InMemorySessionService."""

    agents: AgentRegistry
    session_service: InMemorySessionService
    log: EventLog
    manager: RunManager

    async def start(self, agent: str, text: str, *, coalesce_ms: int = 0) -> Run:
        """Starts a run of `agent` in a new session of USER_ID."""
        hosted = self.agents.get(agent)
        session = await self.session_service.create_session(app_name=hosted.name, user_id=USER_ID)
        request = RunRequest(
            agent=hosted,
            user_id=USER_ID,
            session_id=session.id,
            message=user_message(text),
            coalesce_ms=coalesce_ms,
        )
        return await self.manager.start(request)

    async def run(
        self, agent: str, text: str, *, coalesce_ms: int = 0
    ) -> tuple[Run, list[StreamEvent]]:
        """Runs `agent` to its end; returns the run and every event of its log."""
        run = await self.start(agent, text, coalesce_ms=coalesce_ms)
        await run.done.wait()
        return run, await self.events(run)

    async def events(self, run: Run) -> list[StreamEvent]:
        """The run's log as written (not the merging `follow`)."""
        return await self.log.read(run.run_id, after=0, limit=10_000)

    async def session(self, run: Run) -> Session:
        session = await self.session_service.get_session(
            app_name=run.record.agent, user_id=USER_ID, session_id=run.record.session_id
        )
        assert session is not None
        return session

    async def wait_for(self, run: Run, predicate: Callable[[StreamEvent], bool]) -> StreamEvent:
        """The first event of the run's log that matches, waiting for it to be written."""
        async for event in self.log.follow(run.run_id, merge_over=None):
            if predicate(event):
                return event
        raise AssertionError("the run ended without the awaited event")


def make_harness(*agents: HostedAgent) -> Harness:
    registry = AgentRegistry(list(agents))
    service = InMemorySessionService()
    log = EventLog.in_memory()
    manager = RunManager(RunServices(registry, service, log))
    return Harness(agents=registry, session_service=service, log=log, manager=manager)


def of_type(events: Iterable[StreamEvent], type_: str) -> list[StreamEvent]:
    return [e for e in events if e.type == type_]


def check_stream(events: list[StreamEvent]) -> dict[str, str]:
    """Asserts the invariants of a run's log; returns message_id -> completed text.

    seq is 1..N without gaps; exactly one terminal event, last; every event survives its
    JSON; the deltas of each completed message (answer or reasoning) concatenate to
    exactly its text, and nothing of a message is streamed after it completed.
    """
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "run.started"
    assert [e.type in TERMINAL_TYPES for e in events] == [False] * (len(events) - 1) + [True]
    assert all(parse_event(event_json(e)) == e for e in events)
    streamed: dict[str, list[str]] = {}
    completed: dict[str, str] = {}
    thought: dict[str, str] = {}
    for event in events:
        if isinstance(event, MessageDelta | ReasoningDelta):
            assert event.message_id not in completed | thought, "a delta after its end"
            streamed.setdefault(event.message_id, []).append(event.text)
        elif isinstance(event, MessageCompleted | ReasoningCompleted):
            ended = completed if isinstance(event, MessageCompleted) else thought
            assert event.message_id not in ended, "a message completed twice"
            ended[event.message_id] = event.text
            assert "".join(streamed.get(event.message_id, [])) == event.text
    return completed


def persisted_texts(events: Iterable[Event], author: str) -> list[str]:
    """The visible texts of the session events an author persisted."""
    texts = []
    for event in events:
        if event.author != author or event.content is None:
            continue
        text = "".join(p.text for p in event.content.parts or [] if p.text and not p.thought)
        if text:
            texts.append(text)
    return texts


async def settle(tasks: set[asyncio.Task[object]]) -> None:
    """Waits (bounded by the caller) for tasks that end by themselves, e.g. a server's."""
    if tasks:
        await asyncio.wait(tasks)
