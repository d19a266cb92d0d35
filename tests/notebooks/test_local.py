"""`InProcess` (adkstream/runner/local.py), the runner shared by `show_run` and `adkstream run`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adkstream.agents import builtin_agents
from adkstream.errors import ConflictError, NotFoundError
from adkstream.events import MessageDelta, RunCancelled, RunCompleted
from adkstream.runner.local import InProcess
from adkstream.settings import Settings
from tests.notebooks.conftest import TIMEOUT_S


@pytest.fixture
async def local() -> AsyncIterator[InProcess]:
    settings = Settings(offline_tokens_per_s=0, offline_reply_tokens=6)
    in_process = InProcess(builtin_agents(settings), coalesce_ms=0)
    yield in_process
    await in_process.aclose()


async def test_in_process_runs_and_keeps_state(local: InProcess) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        run = await local.start("hello", agent="assistant")
        events = [event async for event in local.events(run.run_id)]
        state = await local.state(run.session_id)
    final = events[-1]
    assert isinstance(final, RunCompleted)
    deltas = "".join(e.text for e in events if isinstance(e, MessageDelta))
    assert deltas == final.final_text == state["last_answer"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # every delta, unmerged


async def test_in_process_continues_or_creates_a_named_session(local: InProcess) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        first = await local.start("one", session_id="notes")
        _ = [event async for event in local.events(first.run_id)]
        second = await local.start("two", session_id="notes")
        _ = [event async for event in local.events(second.run_id)]
        state = await local.state("notes")
    assert first.session_id == second.session_id == "notes"
    assert state["last_answer"].startswith("You said: two.")


async def test_in_process_refuses_another_agents_session(local: InProcess) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        run = await local.start("one", agent="assistant")
        _ = [event async for event in local.events(run.run_id)]
        with pytest.raises(ConflictError):
            await local.start("two", agent="pipeline", session_id=run.session_id)
        with pytest.raises(NotFoundError):
            await local.start("two", agent="nobody")


async def test_in_process_cancel() -> None:
    slow = InProcess(builtin_agents(Settings(offline_tokens_per_s=5, offline_reply_tokens=100)))
    seen = []
    cancelled = False
    try:
        async with asyncio.timeout(TIMEOUT_S):
            run = await slow.start("hi")
            async for event in slow.events(run.run_id):  # it ends at the terminal event
                seen.append(event)
                if isinstance(event, MessageDelta) and not cancelled:
                    slow.cancel(run.run_id, "enough")
                    cancelled = True
    finally:
        await slow.aclose()
    assert isinstance(seen[-1], RunCancelled) and seen[-1].reason == "enough"
    with pytest.raises(ConflictError):
        slow.cancel(run.run_id)
