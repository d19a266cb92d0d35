"""AsyncClient.run, runs and sessions against a real server, and its typed error answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from adkstream import errors as family_errors
from adkstream.agents import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.client import (
    AsyncClient,
    ConflictError,
    NotFoundError,
    RunResult,
    UnprocessableEntityError,
)
from adkstream.runner import EventLog
from adkstream.settings import Settings
from tests.client.conftest import TIMEOUT_S, AppFactory, drain
from tests.servers import serve_app


async def test_run_returns_the_final_text(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=400, offline_reply_tokens=25)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        result = await client.run("what is adkstream?")
        assert isinstance(result, RunResult)
        assert result.ok
        assert result.status == "completed"
        assert result.error is None
        assert result.final_text is not None
        assert result.final_text.startswith("You said: what is adkstream?")
        assert len(result.final_text.split()) == 25
        assert result.usage is not None
        assert result.usage.completion_tokens == 25
        assert result.finish_reason == "stop"
        info = await client.get_run(result.run_id)
        assert info.status == "completed"
        assert info.final_text == result.final_text
        assert info.finish_reason == "stop"
        assert info.session_id == result.session_id
        assert info.agent == "assistant"
        assert info.ended_at is not None
        session = await client.get_session(result.session_id)
        assert session.state["last_answer"] == result.final_text
        assert session.messages is not None
        assert [m.text for m in session.messages] == ["what is adkstream?", result.final_text]


class StoppedModel(BaseLlm):
    """Answers, and stops for `reason` (the token limit, or a filter)."""

    model: str = "stopped"
    reason: types.FinishReason

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        content = types.Content(role="model", parts=[types.Part(text="The answer is")])
        yield LlmResponse(content=content, finish_reason=self.reason)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        pytest.param(types.FinishReason.MAX_TOKENS, "max_tokens", id="cut"),
        pytest.param(types.FinishReason.SAFETY, "safety", id="filtered"),
    ],
)
async def test_run_result_says_why_the_model_stopped(
    tmp_path: Path, reason: types.FinishReason, expected: str
) -> None:
    agent = LlmAgent(name="stopped", model=StoppedModel(reason=reason))
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, AgentRegistry([HostedAgent.of(agent)]), log=EventLog.in_memory())
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        result = await client.run("go on")
        info = await client.get_run(result.run_id)
    assert result.ok  # not a failure: the model ended, and said why
    assert (result.finish_reason, info.finish_reason) == (expected, expected)
    assert result.final_text == "The answer is"


async def test_sessions_create_list_get_delete(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url, AsyncClient(url) as client:
        created = await client.create_session(state={"n": 1}, session_id="s-1")
        assert created.id == "s-1"
        assert created.agent == "assistant"
        assert created.state == {"n": 1}
        other = await client.create_session(agent="assistant")
        listed = await client.list_sessions()
        assert {s.id for s in listed} == {"s-1", other.id}
        assert all(s.messages is None for s in listed)
        result = await client.run("remember", session_id="s-1")
        assert result.session_id == "s-1"
        assert (await client.get_session("s-1")).state["n"] == 1
        await client.delete_session("s-1")
        with pytest.raises(NotFoundError) as raised:
            await client.get_session("s-1")
        assert isinstance(raised.value, family_errors.NotFoundError)
        assert raised.value.status_code == 404


async def test_error_answers_are_typed_with_code_and_field(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url, AsyncClient(url) as client:
        await client.create_session(session_id="taken")
        with pytest.raises(ConflictError) as conflict:
            await client.create_session(session_id="taken")
        assert isinstance(conflict.value, family_errors.ConflictError)
        assert conflict.value.status_code == 409
        with pytest.raises(NotFoundError) as missing:
            await client.run("hi", session_id="nope")
        assert missing.value.code == "session_not_found"
        assert missing.value.field == "session_id"
        stream = client.stream("hi", coalesce_ms=5000)
        with pytest.raises(UnprocessableEntityError) as invalid:
            await drain(stream)
        assert invalid.value.status_code == 422
        assert invalid.value.field == "coalesce_ms"
        assert stream.run_id is None
