"""Runs that wait, from the Python client: the pending requests on the stream, and one
call (`answer`) that continues the run; client-side tools declared with `tools`."""

from __future__ import annotations

import asyncio

import pytest

from adkstream.client import AsyncClient, Client
from adkstream.client.errors import ConflictError
from adkstream.events import InputRequest, RunCompleted, RunStarted, RunWaiting, StreamEvent
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, ToolCallReply
from tests.pauses.pause_agent import TOOL_RUNS

__all__ = ["fake_gemini"]


async def test_pauses_client_streams_the_pending_requests_and_answers_them(
    bank_url: str, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(ToolCallReply("transfer", {"amount": 6}))
    async with asyncio.timeout(30), AsyncClient(bank_url) as client:
        async with client.stream("send 6") as events:
            seen = [event async for event in events]
        [request] = events.pending
        async with client.answer(
            events.run_id or "", {request.request_id: {"confirmed": True}}
        ) as more:
            continued = [event async for event in more]
        with pytest.raises(ConflictError) as again:
            async with client.answer(
                events.run_id or "", {request.request_id: {"confirmed": True}}
            ) as late:
                [event async for event in late]

    assert isinstance(seen[-1], RunWaiting)
    assert (request.kind, request.name, request.args) == ("confirmation", "transfer", {"amount": 6})
    assert isinstance(continued[0], RunStarted) and continued[0].resumes == events.run_id
    assert isinstance(continued[-1], RunCompleted)
    assert TOOL_RUNS["transfer"] == 1
    assert again.value.code == "already_answered"


async def test_pauses_sync_client_runs_a_client_tool(
    bank_url: str, fake_gemini: FakeGemini
) -> None:
    fake_gemini.script(ToolCallReply("get_location", {}))
    tool = {"name": "get_location", "description": "Where the user is."}

    def use_the_tool() -> tuple[InputRequest, list[StreamEvent]]:
        with Client(bank_url) as client:
            with client.stream("where am I?", tools=[tool]) as events:
                list(events)
            [request] = events.pending
            answers = {request.request_id: {"result": "Paris"}}
            with client.answer(events.run_id or "", answers) as more:
                return request, list(more)

    # The sync client blocks its thread; the server runs in this test's event loop.
    async with asyncio.timeout(30):
        request, continued = await asyncio.to_thread(use_the_tool)

    assert request.kind == "client_tool"
    final = continued[-1]
    assert isinstance(final, RunCompleted)
    assert "Paris" in final.final_text
