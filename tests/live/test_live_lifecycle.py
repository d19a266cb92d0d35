"""Live runs share request runs' lifecycle: `max_run_s`, and the run metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from google.adk.agents import LlmAgent
from google.adk.events.event import Event
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.adk.sessions import InMemorySessionService
from google.genai import types

from adkstream.agents import builtin_agents
from adkstream.agents.offline_live import OfflineLiveModel
from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.events import RunCompleted, RunFailed
from adkstream.metrics import REGISTRY
from adkstream.runner.lifecycle import RunServices
from adkstream.runner.live import LiveRuns
from adkstream.runner.log import EventLog
from adkstream.settings import Settings
from tests.live.test_live_runs import TIMEOUT_S, USER, Live, user_text


def _live(*, max_run_s: float) -> Live:
    agents = builtin_agents(Settings(offline_tokens_per_s=0, offline_reply_tokens=8))
    log = EventLog.in_memory()
    sessions = InMemorySessionService()
    runs = LiveRuns(RunServices(agents, sessions, log), max_run_s=max_run_s)
    return Live(runs=runs, log=log, sessions=sessions, agents=agents)


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_live_run_ends_timeout_past_max_run_s() -> None:
    live = _live(max_run_s=0.3)
    async with asyncio.timeout(TIMEOUT_S):
        run = await live.start()  # the client never closes it
        terminal = await live.terminal(run)
        await live.runs.shutdown()
    assert isinstance(terminal, RunFailed) and terminal.error.code == "timeout"
    assert run.queue.closed
    assert not live.runs.active


async def test_live_runs_are_counted_in_the_run_metrics() -> None:
    live = _live(max_run_s=60)
    started = _sample("adkstream_runs_started_total", agent="assistant")
    completed = _sample("adkstream_runs_ended_total", agent="assistant", status="completed")
    active = _sample("adkstream_runs_active")
    async with asyncio.timeout(TIMEOUT_S):
        run = await live.start()
        counted_while_running = _sample("adkstream_runs_active") - active
        run.send_content(user_text("count me"))
        await live.until(run, lambda e: e.type == "turn.completed")
        run.close()
        terminal = await live.terminal(run)
        await live.runs.shutdown()
    assert isinstance(terminal, RunCompleted)
    assert counted_while_running == 1
    assert _sample("adkstream_runs_started_total", agent="assistant") - started == 1
    ended = _sample("adkstream_runs_ended_total", agent="assistant", status="completed")
    assert ended - completed == 1
    assert _sample("adkstream_runs_active") == active


class _RecordingLiveModel(OfflineLiveModel):
    """Notes how many contents each live connection is opened with."""

    @contextlib.asynccontextmanager
    async def connect(self, llm_request: LlmRequest) -> AsyncIterator[BaseLlmConnection]:
        CONTENTS.append(len(llm_request.contents))
        async with super().connect(llm_request) as connection:
            yield connection


CONTENTS: list[int] = []


@pytest.mark.parametrize(("recent_events", "expected"), [(None, 10), (4, 4)])
async def test_live_run_loads_the_latest_recent_events(
    recent_events: int | None, expected: int
) -> None:
    agent = LlmAgent(name="recorder", model=_RecordingLiveModel(tokens_per_s=0))
    agents = AgentRegistry([HostedAgent.of(agent)])
    log, sessions = EventLog.in_memory(), InMemorySessionService()
    runs = LiveRuns(RunServices(agents, sessions, log), recent_events=recent_events)
    session = await sessions.create_session(app_name="recorder", user_id=USER)
    for turn in range(10):
        author, role = ("user", "user") if turn % 2 == 0 else ("recorder", "model")
        content = types.Content(role=role, parts=[types.Part(text=f"turn {turn}")])
        await sessions.append_event(session, Event(author=author, content=content))
    CONTENTS.clear()
    async with asyncio.timeout(TIMEOUT_S):
        run = await runs.start(
            agent=agents.get("recorder"), user_id=USER, session_id=session.id, coalesce_ms=0
        )
        run.send_content(user_text("now"))
        live = Live(runs=runs, log=log, sessions=sessions, agents=agents)
        await live.until(run, lambda e: e.type == "turn.completed")
        run.close()
        await run.done.wait()
        await runs.shutdown()
    assert [expected] == CONTENTS
