"""LiveRuns through the real ADK Runner.run_live on the offline live model, without a server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from google.adk.agents import LlmAgent
from google.adk.models.llm_request import LlmRequest
from google.adk.sessions import InMemorySessionService
from google.genai import types

from adkstream.agents import builtin_agents
from adkstream.agents.offline import OfflineModel
from adkstream.agents.offline_live import OfflineLiveModel
from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.errors import ConflictError, UnavailableError
from adkstream.events import (
    MessageCompleted,
    RunCancelled,
    RunCompleted,
    RunFailed,
    StreamEvent,
    TurnCompleted,
)
from adkstream.runner.lifecycle import RunServices
from adkstream.runner.live import LiveRun, LiveRuns, live_root
from adkstream.runner.log import EventLog
from adkstream.settings import Settings

TIMEOUT_S = 10
USER = "u-live"


@dataclass
class Live:
    runs: LiveRuns
    log: EventLog
    sessions: InMemorySessionService
    agents: AgentRegistry

    async def start(self, agent: str = "assistant") -> LiveRun:
        hosted = self.agents.get(agent)
        session = await self.sessions.create_session(app_name=hosted.name, user_id=USER)
        return await self.runs.start(
            agent=hosted, user_id=USER, session_id=session.id, coalesce_ms=0
        )

    async def until(self, run: LiveRun, predicate: Callable[[StreamEvent], bool]) -> StreamEvent:
        async for event in self.log.follow(run.run_id, merge_over=None):
            if predicate(event):
                return event
        raise AssertionError("the run ended first")

    async def state(self, run: LiveRun) -> dict[str, object]:
        session = await self.sessions.get_session(
            app_name=run.record.agent, user_id=USER, session_id=run.record.session_id
        )
        assert session is not None
        return dict(session.state)

    async def terminal(self, run: LiveRun) -> StreamEvent:
        await run.done.wait()
        events = await self.log.read(run.run_id, after=0, limit=10_000)
        return events[-1]


def user_text(value: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=value)])


def is_turn_end(event: StreamEvent) -> bool:
    return isinstance(event, TurnCompleted)


@pytest.fixture
async def live() -> AsyncIterator[Live]:
    running = make_live(builtin_agents(Settings(offline_tokens_per_s=0, offline_reply_tokens=8)))
    yield running
    async with asyncio.timeout(TIMEOUT_S):
        await running.runs.shutdown()


def make_live(agents: AgentRegistry, *, max_runs: int = 10) -> Live:
    log, sessions = EventLog.in_memory(), InMemorySessionService()
    runs = LiveRuns(RunServices(agents, sessions, log), max_runs=max_runs)
    return Live(runs=runs, log=log, sessions=sessions, agents=agents)


async def test_live_run_output_key_holds_each_turns_text(live: Live) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        run = await live.start()
        run.send_content(user_text("first"))
        first = await live.until(run, is_turn_end)
        after_first = await live.state(run)
        run.send_content(user_text("second"))
        second = await live.until(run, lambda e: is_turn_end(e) and e.seq > first.seq)
        after_second = await live.state(run)
        run.close()
        terminal = await live.terminal(run)
    assert isinstance(first, TurnCompleted) and isinstance(second, TurnCompleted)
    assert after_first["last_answer"] == first.text
    assert after_second["last_answer"] == second.text != first.text
    assert isinstance(terminal, RunCompleted) and terminal.final_text == second.text
    assert run.queue.closed


async def test_live_run_activity_start_interrupts_the_models_turn() -> None:
    agents = builtin_agents(Settings(offline_tokens_per_s=200, offline_reply_tokens=2000))
    live = make_live(agents)
    async with asyncio.timeout(TIMEOUT_S):
        run = await live.start()
        run.send_content(user_text("tell me everything"))
        await live.until(run, lambda e: e.type == "message.delta")
        run.send_activity_start()
        cut = await live.until(run, is_turn_end)
        run.send_activity_end()
        next_turn = await live.until(run, lambda e: is_turn_end(e) and e.seq > cut.seq)
        run.close()
        events = await live.log.read(run.run_id, after=0, limit=10_000)
    assert isinstance(cut, TurnCompleted) and cut.interrupted
    assert 0 < len(cut.text.split()) < 2000
    completed = [e for e in events if isinstance(e, MessageCompleted)]
    assert completed[0].text == cut.text
    assert isinstance(next_turn, TurnCompleted) and next_turn.text == "Received nothing."
    assert not next_turn.interrupted


class _BrokenLiveModel(OfflineLiveModel):
    def answer_words(self, llm_request: LlmRequest) -> list[str]:
        raise RuntimeError("the model broke while taking the user's turn")


async def test_live_run_fails_when_the_models_send_path_fails() -> None:
    # ADK's send task dies silently on an exception; the offline connection raises it
    # from receive() instead, so the run fails rather than hangs.
    agent = LlmAgent(name="broken", model=_BrokenLiveModel(tokens_per_s=0))
    live = make_live(AgentRegistry([HostedAgent.of(agent)]))
    async with asyncio.timeout(TIMEOUT_S):
        run = await live.start("broken")
        run.send_content(user_text("hello"))
        terminal = await live.terminal(run)
    assert isinstance(terminal, RunFailed) and terminal.error.code == "internal_error"
    assert "broke" not in terminal.error.message
    assert run.queue.closed


async def test_live_run_cancel_and_shutdown_close_the_queue(live: Live) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        cancelled = await live.start()
        interrupted = await live.start()
        await live.log.request_cancel(cancelled.run_id, "cancelled by request")
        await live.runs.shutdown()
        ends = [await live.terminal(run) for run in (cancelled, interrupted)]
    assert isinstance(ends[0], RunCancelled) and ends[0].reason == "cancelled by request"
    assert isinstance(ends[1], RunFailed) and ends[1].error.code == "interrupted"
    assert cancelled.queue.closed and interrupted.queue.closed
    assert not live.runs.active


async def test_live_runs_refuse_over_max_runs() -> None:
    live = make_live(builtin_agents(Settings(offline_tokens_per_s=0)), max_runs=1)
    async with asyncio.timeout(TIMEOUT_S):
        run = await live.start()
        with pytest.raises(UnavailableError):
            await live.start()
        run.close()
        await run.done.wait()


def test_live_root_runs_the_agent_tree_on_live_models() -> None:
    helper = LlmAgent(name="helper", model=OfflineModel(tokens_per_s=5, reply_tokens=7))
    root = LlmAgent(name="root", model=OfflineModel(tokens_per_s=5), sub_agents=[helper])
    copy = live_root(HostedAgent.of(root))
    assert isinstance(copy, LlmAgent) and isinstance(copy.model, OfflineLiveModel)
    (sub,) = copy.sub_agents
    assert isinstance(sub, LlmAgent) and isinstance(sub.model, OfflineLiveModel)
    assert (sub.model.tokens_per_s, sub.model.reply_tokens) == (5, 7)
    assert sub.parent_agent is copy
    # The hosted agent itself is untouched: its non-live runs keep their model.
    assert type(root.model) is OfflineModel and helper.parent_agent is root


def test_live_root_swaps_a_gemini_model_for_a_live_one() -> None:
    agent = LlmAgent(name="chat", model="gemini-2.5-flash")
    copy = live_root(HostedAgent.of(agent), gemini_live_model="gemini-live-test")
    assert isinstance(copy, LlmAgent) and copy.model == "gemini-live-test"
    already = LlmAgent(name="voice", model="gemini-live-2.5-flash-preview")
    kept = live_root(HostedAgent.of(already))
    assert isinstance(kept, LlmAgent) and kept.model == "gemini-live-2.5-flash-preview"


def test_live_root_refuses_a_workflow() -> None:
    agents = builtin_agents(Settings())
    with pytest.raises(ConflictError) as caught:
        live_root(agents.get("pipeline"))
    assert caught.value.code == "live_not_supported"
