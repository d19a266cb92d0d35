"""One run at a time per session, from the client: `if_busy` on `stream` and `run`."""

from __future__ import annotations

import asyncio

import pytest

from adkstream.client import AsyncClient, ConflictError
from adkstream.events import MessageDelta, RunCancelled, RunCompleted, RunQueued, RunStarted
from tests.client.conftest import TIMEOUT_S, AppFactory
from tests.servers import serve_app


async def test_client_if_busy_reject_enqueue_and_interrupt(make_app: AppFactory) -> None:
    # A slow offline model: each answer streams for about a second.
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=20)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        session = await client.create_session()
        async with client.stream("first", session_id=session.id) as first:
            async for event in first:
                if isinstance(event, MessageDelta):
                    break  # the first run is streaming
            with pytest.raises(ConflictError) as refused:
                await client.run("again", session_id=session.id)
            async with client.stream("queued", session_id=session.id, if_busy="enqueue") as queued:
                seen = [event async for event in queued]
            rest = [event async for event in first]
        interrupting = await client.run("now", session_id=session.id, if_busy="interrupt")
        view = await client.get_session(session.id)

    assert refused.value.code == "session_busy"
    assert first.run_id is not None and first.run_id in str(refused.value)
    assert isinstance(seen[0], RunStarted)
    assert seen[1] == RunQueued(run_id=seen[0].run_id, seq=2, ts=seen[1].ts, behind=first.run_id)
    assert isinstance(seen[-1], RunCompleted)  # after the first run ended
    assert isinstance(rest[-1], RunCompleted)
    assert rest[-1].ts <= seen[-1].ts
    assert interrupting.status == "completed"
    assert view.messages is not None
    assert [m.role for m in view.messages] == ["user", "assistant"] * 3
    assert all(m.stopped is None for m in view.messages)
    assert view.waiting == []


async def test_client_interrupt_keeps_the_stopped_answer(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=40)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        session = await client.create_session()
        async with client.stream("first", session_id=session.id) as first:
            said = ""
            async for event in first:
                if isinstance(event, MessageDelta):
                    said += event.text
                    break
            result = await client.run("second", session_id=session.id, if_busy="interrupt")
            rest = [event async for event in first]
        view = await client.get_session(session.id)

    assert isinstance(rest[-1], RunCancelled)
    assert rest[-1].reason == "interrupted by a newer message"
    assert result.status == "completed"
    assert view.messages is not None
    [user_1, stopped, user_2, answer] = view.messages
    assert (user_1.text, user_2.text) == ("first", "second")
    assert stopped.stopped == "interrupted by a newer message"
    assert stopped.text.startswith(said)
    assert answer.stopped is None and answer.text == result.final_text
