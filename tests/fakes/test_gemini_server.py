"""The fake Gemini server against the real google-genai client and ADK's Gemini model."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterable, AsyncIterator
from typing import TypeVar

import httpx
import pytest
import pytest_asyncio
from google import genai
from google.adk.models.google_llm import Gemini
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import errors, types

from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import (
    ErrorReply,
    FakeGemini,
    HangReply,
    TextReply,
    ToolCallReply,
    echo_text,
    last_user_text,
    system_text,
)

__all__ = ["fake_gemini"]  # the fixture, imported for pytest to find

MODEL = "gemini-2.5-flash"
TIMEOUT_S = 10

T = TypeVar("T")


async def _collect(stream: AsyncIterable[T]) -> list[T]:
    return [item async for item in stream]


async def _call(client: genai.Client, *, stream: bool) -> str:
    """One call with contents "x"; returns the whole text."""
    if stream:
        chunks = await _collect(
            await client.aio.models.generate_content_stream(model=MODEL, contents="x")
        )
        return "".join(c.text or "" for c in chunks)
    return (await client.aio.models.generate_content(model=MODEL, contents="x")).text or ""


@pytest_asyncio.fixture
async def client(fake_gemini: FakeGemini) -> AsyncIterator[genai.Client]:
    c = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=fake_gemini.url))
    yield c
    await c.aio.aclose()
    c.close()


@pytest_asyncio.fixture
async def llm(fake_gemini: FakeGemini) -> AsyncIterator[Gemini]:
    model = Gemini(model=MODEL, base_url=fake_gemini.url)
    yield model
    await model.api_client.aio.aclose()


def _request(text: str, *, system: str | None = None) -> LlmRequest:
    return LlmRequest(
        model=MODEL,
        contents=[types.Content(role="user", parts=[types.Part(text=text)])],
        config=types.GenerateContentConfig(system_instruction=system),
    )


async def test_fixture_sets_up_the_environment(fake_gemini: FakeGemini) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        assert os.environ["GOOGLE_API_KEY"] == "test-key"
        assert "GOOGLE_GENAI_USE_VERTEXAI" not in os.environ
        assert fake_gemini.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=fake_gemini.url) as http:
            response = await http.get("/")
        assert response.status_code == 404


async def test_genai_stream_yields_scripted_chunks(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(TextReply(["Hel", "lo", " world"]))
    tool = types.Tool(
        function_declarations=[types.FunctionDeclaration(name="lookup", description="Look up.")]
    )
    async with asyncio.timeout(TIMEOUT_S):
        chunks = await _collect(
            await client.aio.models.generate_content_stream(
                model=MODEL,
                contents="say hello please",
                config=types.GenerateContentConfig(
                    system_instruction="Be brief.", tools=[tool], temperature=0.5
                ),
            )
        )

    assert [c.text for c in chunks] == ["Hel", "lo", " world"]
    assert [c.candidates[0].finish_reason for c in chunks if c.candidates] == [
        None,
        None,
        types.FinishReason.STOP,
    ]
    assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
    usage = chunks[-1].usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (3, 3)
    assert usage.total_token_count == 6

    [call] = fake_gemini.calls
    assert (call.api_version, call.model, call.method) == ("v1beta", MODEL, "streamGenerateContent")
    assert call.query == {"alt": "sse"}
    assert call.api_key == "x"
    body = fake_gemini.requests[0]
    assert body["contents"] == [{"role": "user", "parts": [{"text": "say hello please"}]}]
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert body["tools"][0]["functionDeclarations"][0]["name"] == "lookup"
    assert body["generationConfig"] == {"temperature": 0.5}


async def test_genai_stream_default_echo_in_chunks_of_four(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        chunks = await _collect(
            await client.aio.models.generate_content_stream(model=MODEL, contents="hi there")
        )

    assert [c.text for c in chunks] == ["Echo", ": hi", " the", "re"]
    usage = chunks[-1].usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (2, 4)
    assert fake_gemini.pending == 0


async def test_genai_generate_content_returns_whole_text(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(TextReply(["Hel", "lo"]))
    config = types.GenerateContentConfig(system_instruction="You are a very terse assistant.")
    async with asyncio.timeout(TIMEOUT_S):
        scripted = await client.aio.models.generate_content(
            model=MODEL, contents="x", config=config
        )
        echoed = await client.aio.models.generate_content(
            model=MODEL, contents="one two three", config=config
        )

    assert scripted.text == "Hello"
    assert scripted.candidates is not None
    assert scripted.candidates[0].finish_reason == types.FinishReason.STOP
    assert echoed.text == "Echo: one two three | system: You are a very terse assistant."
    assert echoed.usage_metadata is not None
    assert echoed.usage_metadata.prompt_token_count == 3
    assert [c.method for c in fake_gemini.calls] == ["generateContent", "generateContent"]


async def test_genai_tool_call_then_function_response_echo(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(ToolCallReply("get_weather", {"city": "Paris"}))
    async with asyncio.timeout(TIMEOUT_S):
        chunks = await _collect(
            await client.aio.models.generate_content_stream(model=MODEL, contents="weather?")
        )
        [chunk] = chunks
        assert chunk.function_calls is not None
        [call] = chunk.function_calls
        assert (call.name, call.args) == ("get_weather", {"city": "Paris"})

        contents = [
            types.Content(role="user", parts=[types.Part(text="weather?")]),
            types.Content(role="model", parts=[types.Part(function_call=call)]),
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(name="get_weather", response={"temp_c": 21})
                ],
            ),
        ]
        answer = await _collect(
            await client.aio.models.generate_content_stream(model=MODEL, contents=contents)
        )

    assert "".join(c.text or "" for c in answer) == 'Tool said: {"temp_c": 21}'
    parts = fake_gemini.requests[1]["contents"][-1]["parts"]
    assert parts == [{"functionResponse": {"name": "get_weather", "response": {"temp_c": 21}}}]
    assert fake_gemini.requests[1]["contents"][1]["parts"][0]["functionCall"]["name"] == (
        "get_weather"
    )


@pytest.mark.parametrize(
    ("status", "error_type", "grpc_status"),
    [(429, errors.ClientError, "RESOURCE_EXHAUSTED"), (500, errors.ServerError, "INTERNAL")],
)
@pytest.mark.parametrize("stream", [True, False])
async def test_genai_error_replies(
    fake_gemini: FakeGemini,
    client: genai.Client,
    status: int,
    error_type: type[errors.APIError],
    grpc_status: str,
    stream: bool,
) -> None:
    fake_gemini.script(ErrorReply(status, "model says no"))
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(error_type) as info:
            await _call(client, stream=stream)

    assert (info.value.code, info.value.status) == (status, grpc_status)
    assert info.value.message == "model says no"
    assert len(fake_gemini.requests) == 1  # no retries by default


async def test_script_is_consumed_fifo_then_echo(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(TextReply(["first"]), ErrorReply(500), TextReply(["third"], delay_s=0.001))
    async with asyncio.timeout(TIMEOUT_S):
        first = await client.aio.models.generate_content(model=MODEL, contents="a")
        with pytest.raises(errors.ServerError):
            await client.aio.models.generate_content(model=MODEL, contents="b")
        third = await _collect(
            await client.aio.models.generate_content_stream(model=MODEL, contents="c")
        )
        fourth = await client.aio.models.generate_content(model=MODEL, contents="d")

    assert first.text == "first"
    assert [c.text for c in third] == ["third"]
    assert fourth.text == "Echo: d"
    assert [last_user_text(body) for body in fake_gemini.requests] == ["a", "b", "c", "d"]


async def test_adk_stream_yields_partials_then_aggregate_with_usage(
    fake_gemini: FakeGemini, llm: Gemini
) -> None:
    fake_gemini.script(TextReply(["Hel", "lo"]))
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _collect(
            llm.generate_content_async(_request("hi you", system="Be kind."), stream=True)
        )

    assert [r.partial for r in responses] == [True, True, False]
    assert [_text(r) for r in responses] == ["Hel", "lo", "Hello"]
    final = responses[-1]
    assert final.finish_reason == types.FinishReason.STOP
    assert final.error_code is None
    assert final.usage_metadata is not None
    assert final.usage_metadata.prompt_token_count == 2
    assert final.usage_metadata.candidates_token_count == 2
    assert final.usage_metadata.total_token_count == 4
    [call] = fake_gemini.calls
    assert (call.method, call.query, call.api_key) == (
        "streamGenerateContent",
        {"alt": "sse"},
        "test-key",
    )
    assert system_text(fake_gemini.requests[0]) == "Be kind."


async def test_adk_default_echo_includes_system_instruction(
    fake_gemini: FakeGemini, llm: Gemini
) -> None:
    system = "S" * 80
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _collect(
            llm.generate_content_async(_request("ping", system=system), stream=True)
        )

    assert _text(responses[-1]) == f"Echo: ping | system: {'S' * 60}"
    assert all(r.partial for r in responses[:-1])
    assert len(responses) > 2


async def test_adk_stream_tool_call(fake_gemini: FakeGemini, llm: Gemini) -> None:
    fake_gemini.script(ToolCallReply("get_weather", {"city": "Paris", "days": 2}))
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _collect(llm.generate_content_async(_request("weather?"), stream=True))

    final = responses[-1]
    assert final.partial is False
    assert final.content is not None
    assert final.content.parts is not None
    [part] = final.content.parts
    assert part.function_call is not None
    assert part.function_call.name == "get_weather"
    assert part.function_call.args == {"city": "Paris", "days": 2}
    assert final.usage_metadata is not None


async def test_adk_non_streaming(fake_gemini: FakeGemini, llm: Gemini) -> None:
    fake_gemini.script(TextReply(["Hel", "lo"]))
    async with asyncio.timeout(TIMEOUT_S):
        [response] = await _collect(llm.generate_content_async(_request("hi"), stream=False))

    assert _text(response) == "Hello"
    assert response.usage_metadata is not None
    assert fake_gemini.calls[0].method == "generateContent"


@pytest.mark.parametrize(
    ("status", "error_type"), [(429, errors.ClientError), (500, errors.ServerError)]
)
async def test_adk_error_replies(
    fake_gemini: FakeGemini, llm: Gemini, status: int, error_type: type[errors.APIError]
) -> None:
    fake_gemini.script(ErrorReply(status, "quota"))
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(error_type) as info:
            await _collect(llm.generate_content_async(_request("hi"), stream=True))

    assert info.value.code == status
    assert info.value.message == "quota"


async def test_hang_reply_reports_client_disconnect(fake_gemini: FakeGemini, llm: Gemini) -> None:
    fake_gemini.script(HangReply(["Thinking", "..."]))
    received: list[LlmResponse] = []

    async def consume() -> None:
        async for response in llm.generate_content_async(_request("hi"), stream=True):
            received.append(response)

    async with asyncio.timeout(TIMEOUT_S):
        task = asyncio.create_task(consume())
        await fake_gemini.hanging.wait()
        assert not fake_gemini.disconnected.is_set()
        task.cancel()
        await asyncio.wait({task})
        await fake_gemini.disconnected.wait()

    assert task.cancelled()
    assert [_text(r) for r in received] == ["Thinking", "..."]
    assert all(r.partial for r in received)


async def test_stopping_the_server_ends_a_hanging_stream() -> None:
    async with asyncio.timeout(TIMEOUT_S):
        async with FakeGemini() as server:
            server.script(HangReply(["a"]))
            c = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=server.url))
            task = asyncio.create_task(
                _collect(await c.aio.models.generate_content_stream(model=MODEL, contents="x"))
            )
            await server.hanging.wait()
        chunks = await task  # the stream ends at EOF once the server stops
        await c.aio.aclose()
        c.close()

    assert [ch.text for ch in chunks] == ["a"]
    assert not server.disconnected.is_set()


async def test_raw_wire_format(fake_gemini: FakeGemini) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "abc"}]}]}
    fake_gemini.script(TextReply(["a", "b"]), TextReply(["c", "d"]))
    async with asyncio.timeout(TIMEOUT_S), httpx.AsyncClient(base_url=fake_gemini.url) as http:
        sse = await http.post(f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", json=body)
        array = await http.post(f"/v1beta/models/{MODEL}:streamGenerateContent", json=body)
        missing = await http.post("/v1beta/models/x:countTokens", json=body)

    assert sse.headers["content-type"] == "text/event-stream"
    events = sse.text.split("\r\n\r\n")
    assert events[-1] == ""
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert [p["candidates"][0]["content"] for p in payloads] == [
        {"parts": [{"text": "a"}], "role": "model"},
        {"parts": [{"text": "b"}], "role": "model"},
    ]
    assert "finishReason" not in payloads[0]["candidates"][0]
    assert payloads[1]["candidates"][0]["finishReason"] == "STOP"
    assert payloads[1]["usageMetadata"] == {
        "promptTokenCount": 1,
        "candidatesTokenCount": 2,
        "totalTokenCount": 3,
    }
    assert [p["candidates"][0]["content"]["parts"][0]["text"] for p in array.json()] == ["c", "d"]
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"


def test_body_helpers() -> None:
    body = {
        "systemInstruction": {"role": "user", "parts": [{"text": "sys a"}, {"text": "sys b"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "first"}]},
            {"role": "model", "parts": [{"text": "reply"}]},
            {"role": "user", "parts": [{"text": "second"}, {"text": "part"}]},
        ],
    }
    assert last_user_text(body) == "second\npart"
    assert system_text(body) == "sys a\nsys b"
    assert echo_text(body) == "Echo: second\npart | system: sys a\nsys b"
    assert last_user_text({}) == ""
    assert system_text({}) == ""
    assert echo_text({"contents": []}) == "Echo: "


def _text(response: LlmResponse) -> str:
    if response.content is None or response.content.parts is None:
        return ""
    return "".join(part.text or "" for part in response.content.parts)
