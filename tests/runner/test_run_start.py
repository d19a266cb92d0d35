"""`RunManager.start` lets ADK go first: it returns once ADK has called a model, yielded an
event or ended (at most `first_step_wait_s`), so that storing `run.started` and sending
the headers overlap the model's work instead of delaying the call."""

from __future__ import annotations

import asyncio

import pytest
from google.adk.agents import LlmAgent
from google.adk.agents.callback_context import CallbackContext
from google.genai import types

from adkstream.agents.offline import OfflineModel
from adkstream.agents.registry import HostedAgent
from adkstream.events import RunCancelled, RunCompleted
from adkstream.runner import RunRequest
from tests.runner.helpers import TIMEOUT_S, USER_ID, check_stream, make_harness, user_message


class Gate:
    """A `before_agent_callback` that holds the agent until `open` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()

    async def __call__(self, callback_context: CallbackContext) -> types.Content | None:
        self.entered.set()
        await self.open.wait()
        return None


def _gated_agent(gate: Gate) -> HostedAgent:
    model = OfflineModel(tokens_per_s=0, reply_tokens=3)
    return HostedAgent.of(LlmAgent(name="gated", model=model, before_agent_callback=gate))


async def test_start_returns_after_adk_has_begun_the_run() -> None:
    harness = make_harness(HostedAgent.of(LlmAgent(name="talker", model=OfflineModel())))
    harness.manager.first_step_wait_s = TIMEOUT_S  # only ADK's progress ends the wait
    async with asyncio.timeout(TIMEOUT_S):
        run = await harness.start("talker", "hello")
        session = await harness.session(run)
        logged = await harness.events(run)
        await run.done.wait()

    # ADK stored the user's message (it does so before it calls the model) before
    # `start` stored `run.started`, which is still the log's first event.
    assert [event.author for event in session.events][:1] == ["user"]
    assert [event.type for event in logged][:1] == ["run.started"]
    check_stream(await harness.events(run))


async def test_start_waits_at_most_first_step_wait_s_for_adk() -> None:
    gate = Gate()
    harness = make_harness(_gated_agent(gate))
    harness.manager.first_step_wait_s = 0.01
    async with asyncio.timeout(TIMEOUT_S):
        run = await harness.start("gated", "hello")  # ADK is held before its model call
        assert gate.entered.is_set() and not gate.open.is_set()
        assert [event.type for event in await harness.events(run)] == ["run.started"]
        gate.open.set()
        await run.done.wait()
        events = await harness.events(run)

    check_stream(events)
    assert isinstance(events[-1], RunCompleted)


async def test_start_cancelled_while_adk_begins_ends_the_run_cancelled() -> None:
    gate = Gate()
    harness = make_harness(_gated_agent(gate))
    harness.manager.first_step_wait_s = TIMEOUT_S
    hosted = harness.agents.get("gated")
    session = await harness.session_service.create_session(app_name="gated", user_id=USER_ID)
    request = RunRequest(
        agent=hosted, user_id=USER_ID, session_id=session.id, message=user_message("hello")
    )
    async with asyncio.timeout(TIMEOUT_S):
        starting = asyncio.ensure_future(harness.manager.start(request))
        await gate.entered.wait()
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
        # The run exists all the same, already asked to stop: nothing runs on unseen.
        [run] = harness.manager.active.values()
        gate.open.set()
        assert run.task is not None
        await run.task  # the run ends and lets go of what it held
        events = await harness.events(run)

    check_stream(events)
    assert [event.type for event in events] == ["run.started", "run.cancelled"]
    assert isinstance(events[-1], RunCancelled)
    assert not harness.manager.active
    assert not harness.manager.slots._runs  # the user's slot is free again
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("adkstream-")]


async def test_start_lets_only_one_run_at_a_time_go_first() -> None:
    gate = Gate()
    harness = make_harness(_gated_agent(gate))
    harness.manager.first_step_wait_s = 60.0  # longer than the test may take
    async with asyncio.timeout(TIMEOUT_S):
        first = asyncio.ensure_future(harness.start("gated", "one"))
        await gate.entered.wait()  # the first start waits for its (held) ADK
        second = await harness.start("gated", "two")  # returns without waiting
        assert not first.done()
        gate.open.set()
        runs = [await first, second]
        for run in runs:
            await run.done.wait()

    for run in runs:
        events = await harness.events(run)
        check_stream(events)
        assert isinstance(events[-1], RunCompleted)
