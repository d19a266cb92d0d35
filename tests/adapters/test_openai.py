"""OpenAI-compatible chat over a real server, driven by the official `openai` package."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from tests.adapters.conftest import SECRET, native_run
from tests.api.conftest import Api


@pytest.fixture
async def client(api: Api) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=api.url + "/v1", api_key="x", max_retries=0) as sdk:
        yield sdk


async def test_openai_stream_equals_the_native_answer(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        native = await native_run(api, "hello there")
        stream = await client.chat.completions.create(
            model="assistant",
            messages=[{"role": "user", "content": "hello there"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        run_id = stream.response.headers["x-run-id"]
        view = (await api.client.get(f"/v1/runs/{run_id}")).json()
    assert stream.response.headers["x-session-id"] == view["session_id"]
    assert {c.id for c in chunks} == {f"chatcmpl-{run_id}"}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == native["final_text"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert (
        usage_chunk.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})
        == native["usage"]
    )
    assert all(c.usage is None for c in chunks[:-1])
    assert view["status"] == "completed" and view["final_text"] == native["final_text"]


async def test_openai_stream_without_usage_has_no_usage_chunk(client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        stream = await client.chat.completions.create(
            model="assistant", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_openai_non_stream_equals_the_native_answer(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        native = await native_run(api, "hello there")
        raw = await client.chat.completions.with_raw_response.create(
            model="assistant", messages=[{"role": "user", "content": "hello there"}]
        )
        completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.model == "assistant"
    (choice,) = completion.choices
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.message.content == native["final_text"]
    assert completion.usage is not None
    assert (
        completion.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})
        == native["usage"]
    )
    assert raw.headers["x-session-id"] and raw.headers["x-run-id"]


async def test_openai_tool_call_answers_with_the_text_only(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        raw = await client.chat.completions.with_raw_response.create(
            model="assistant",
            messages=[{"role": "user", "content": "What time is it? Use get_current_time."}],
        )
        view = (await api.client.get(f"/v1/runs/{raw.headers['x-run-id']}")).json()
    (choice,) = raw.parse().choices
    assert choice.message.tool_calls is None
    assert choice.message.content == view["final_text"]
    assert view["final_text"].startswith("The tool get_current_time returned")


async def test_openai_pipeline_stream_and_non_stream_agree(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        native = await native_run(api, "a poem", agent="pipeline")
        messages = [{"role": "user", "content": "a poem"}]
        stream = await client.chat.completions.create(
            model="pipeline", messages=messages, stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        completion = await client.chat.completions.create(model="pipeline", messages=messages)
    assert completion.choices[0].message.content == streamed
    draft, final = streamed.split("\n\n")
    assert final == native["final_text"]
    assert draft.startswith("You said: a poem.")


@pytest.mark.parametrize("how", ["header", "metadata"])
async def test_openai_continues_a_session(api: Api, client: AsyncOpenAI, how: str) -> None:
    async with asyncio.timeout(30):
        first = await client.chat.completions.with_raw_response.create(
            model="assistant",
            messages=[
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "one"},
            ],
        )
        session_id = first.headers["x-session-id"]
        history = [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": first.parse().choices[0].message.content},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
        ]
        if how == "header":
            second = await client.chat.completions.with_raw_response.create(
                model="assistant", messages=history, extra_headers={"X-Session-Id": session_id}
            )
        else:
            second = await client.chat.completions.with_raw_response.create(
                model="assistant", messages=history, metadata={"session_id": session_id}
            )
        session = (await api.client.get(f"/v1/sessions/{session_id}")).json()
    assert second.headers["x-session-id"] == session_id
    assert [m["text"] for m in session["messages"] if m["role"] == "user"] == ["one", "two"]


async def test_openai_named_session_is_created_when_new(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        raw = await client.chat.completions.with_raw_response.create(
            model="assistant",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Session-Id": "my-chat"},
        )
        session = await api.client.get("/v1/sessions/my-chat")
    assert raw.headers["x-session-id"] == "my-chat"
    assert session.status_code == 200 and session.json()["agent"] == "assistant"


async def test_openai_models_lists_the_agents(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        models = [model async for model in client.models.list()]
        one = await client.models.retrieve("pipeline")
        with pytest.raises(openai.NotFoundError):
            await client.models.retrieve("nobody")
    assert [m.id for m in models] == [a.name for a in api.host.agents]
    assert {m.object for m in models} == {"model"}
    assert one.id == "pipeline"


async def test_openai_errors_come_in_openai_shape(api: Api, client: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        with pytest.raises(openai.NotFoundError) as unknown:
            await client.chat.completions.create(
                model="nobody", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.BadRequestError) as no_user:
            await client.chat.completions.create(
                model="assistant", messages=[{"role": "system", "content": "x"}]
            )
        with pytest.raises(openai.UnprocessableEntityError) as empty:
            await client.chat.completions.create(model="assistant", messages=[])
        with pytest.raises(openai.ConflictError) as mismatch:
            await client.chat.completions.create(
                model="pipeline",
                messages=[{"role": "user", "content": "x"}],
                extra_headers={"X-Session-Id": await _assistant_session(client)},
            )
    body = unknown.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}
    assert body["type"] == "invalid_request_error"
    assert (body["code"], body["param"]) == ("model_not_found", "model")
    assert no_user.value.code == "missing_message"
    assert empty.value.code == "invalid_field"
    assert mismatch.value.code == "agent_mismatch"


async def _assistant_session(client: AsyncOpenAI) -> str:
    raw = await client.chat.completions.with_raw_response.create(
        model="assistant", messages=[{"role": "user", "content": "x"}]
    )
    return raw.headers["x-session-id"]


async def test_openai_failed_run(broken_api: Api) -> None:
    async with (
        asyncio.timeout(30),
        AsyncOpenAI(base_url=broken_api.url + "/v1", api_key="x", max_retries=0) as client,
    ):
        messages = [{"role": "user", "content": "hi"}]
        stream = await client.chat.completions.create(
            model="broken", messages=messages, stream=True
        )
        received: list[str] = []
        with pytest.raises(openai.APIError) as streamed:
            await _read_content(stream, received)
        with pytest.raises(openai.InternalServerError) as answered:
            await client.chat.completions.create(model="broken", messages=messages)
    assert "".join(received) == "Partial"
    for error in (streamed.value, answered.value):
        assert error.code == "model_error"
        assert SECRET not in str(error.body) and SECRET not in error.message
    assert answered.value.status_code == 502


async def _read_content(stream: AsyncStream[ChatCompletionChunk], into: list[str]) -> None:
    async for chunk in stream:
        into.append(chunk.choices[0].delta.content or "")
