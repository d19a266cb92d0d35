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
    PartsReply,
    TextReply,
    ToolCallReply,
    Usage,
    call_part,
    citation,
    code_part,
    code_result_part,
    echo_text,
    grounding_support,
    image_part,
    last_user_text,
    safety_rating,
    system_text,
    text_part,
    thought_part,
    web_grounding,
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


# --------------------------------------------------------------------------- PartsReply

SIG = b"\x00\x01sig-\xff"  # not valid UTF-8: the base64 round trip must be byte exact
PNG = b"\x89PNG\r\n\x1a\n\x00fake-image\xff"
PARIS = "https://example.org/paris"


def _thinking_reply() -> PartsReply:
    return PartsReply(
        [thought_part("Let me "), thought_part("think.", signature=SIG), "The answer", " is 4."],
        usage=Usage(thoughts=12, cached=3, tool_use_prompt=5),
    )


def _code_reply() -> PartsReply:
    return PartsReply(
        [
            "Let me compute.",
            [code_part("print(2 + 2)"), code_result_part("4\n")],
            text_part("It is 4."),
        ]
    )


def _grounded_reply() -> PartsReply:
    return PartsReply(
        ["Paris is ", "the capital."],
        grounding=web_grounding(
            [(PARIS, "Paris"), ("https://example.org/fr", "France")],
            queries=["capital of France"],
            supports=[
                grounding_support(0, 8, "Paris is"),
                grounding_support(9, 21, "the capital.", chunk_indices=[0, 1]),
            ],
            entry_point_html="<div>search</div>",
        ),
        citations=[citation(0, 8, PARIS, title="Paris")],
    )


async def _genai_chunks(
    client: genai.Client, *, stream: bool
) -> list[types.GenerateContentResponse]:
    """The streamed chunks, or the one non-streamed response as a list (contents "x")."""
    if stream:
        return await _collect(
            await client.aio.models.generate_content_stream(model=MODEL, contents="x")
        )
    return [await client.aio.models.generate_content(model=MODEL, contents="x")]


def _parts(response: types.GenerateContentResponse | LlmResponse) -> list[types.Part]:
    if isinstance(response, LlmResponse):
        content = response.content
    else:
        assert response.candidates is not None
        content = response.candidates[0].content
    assert content is not None
    return list(content.parts or [])


def _all_parts(responses: list[types.GenerateContentResponse]) -> list[types.Part]:
    return [part for response in responses for part in _parts(response)]


async def test_genai_stream_thoughts_with_signature_then_answer(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(_thinking_reply())
    async with asyncio.timeout(TIMEOUT_S):
        chunks = await _genai_chunks(client, stream=True)

    parts = _all_parts(chunks)
    assert [(p.text, p.thought) for p in parts] == [
        ("Let me ", True),
        ("think.", True),
        ("The answer", None),
        (" is 4.", None),
    ]
    assert [p.thought_signature for p in parts] == [None, SIG, None, None]
    assert [c.text for c in chunks] == [None, None, "The answer", " is 4."]
    usage = chunks[-1].usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == 1  # "x"
    assert usage.candidates_token_count == 2  # derived: two answer parts
    assert usage.thoughts_token_count == 12
    assert usage.cached_content_token_count == 3
    assert usage.tool_use_prompt_token_count == 5
    assert usage.total_token_count == 1 + 2 + 12 + 5
    assert [c.usage_metadata is not None for c in chunks] == [False, False, False, True]


async def test_genai_whole_response_merges_text_runs(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    fake_gemini.script(_thinking_reply(), PartsReply([thought_part("hm")], usage=Usage()))
    async with asyncio.timeout(TIMEOUT_S):
        [response] = await _genai_chunks(client, stream=False)
        [only_thought] = await _genai_chunks(client, stream=False)

    assert _parts(response) == [
        types.Part(text="Let me think.", thought=True, thought_signature=SIG),
        types.Part(text="The answer is 4."),
    ]
    assert response.text == "The answer is 4."
    assert response.usage_metadata is not None
    assert response.usage_metadata.thoughts_token_count == 12
    assert response.usage_metadata.total_token_count == 20
    assert fake_gemini.calls[0].method == "generateContent"
    usage = only_thought.usage_metadata
    assert usage is not None
    assert (usage.candidates_token_count, usage.thoughts_token_count) == (None, 1)  # 0: omitted
    assert usage.total_token_count == 2


@pytest.mark.parametrize("stream", [True, False])
async def test_genai_code_execution_parts(
    fake_gemini: FakeGemini, client: genai.Client, stream: bool
) -> None:
    fake_gemini.script(_code_reply())
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _genai_chunks(client, stream=stream)

    parts = _all_parts(responses)
    assert [p.text for p in parts] == ["Let me compute.", None, None, "It is 4."]
    code, result = parts[1], parts[2]
    assert code.executable_code is not None
    assert code.executable_code.code == "print(2 + 2)"
    assert code.executable_code.language == types.Language.PYTHON
    assert result.code_execution_result is not None
    assert result.code_execution_result.outcome == types.Outcome.OUTCOME_OK
    assert result.code_execution_result.output == "4\n"
    with_code = responses[1] if stream else responses[0]
    assert with_code.executable_code == "print(2 + 2)"
    assert with_code.code_execution_result == "4\n"


@pytest.mark.parametrize("stream", [True, False])
async def test_genai_grounding_and_citations(
    fake_gemini: FakeGemini, client: genai.Client, stream: bool
) -> None:
    fake_gemini.script(_grounded_reply())
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _genai_chunks(client, stream=stream)

    assert "".join(r.text or "" for r in responses) == "Paris is the capital."
    assert responses[-1].candidates is not None
    candidate = responses[-1].candidates[0]
    grounding = candidate.grounding_metadata
    assert grounding is not None
    assert grounding.grounding_chunks is not None
    assert [(c.web.uri, c.web.title) for c in grounding.grounding_chunks if c.web] == [
        (PARIS, "Paris"),
        ("https://example.org/fr", "France"),
    ]
    assert grounding.web_search_queries == ["capital of France"]
    assert grounding.search_entry_point is not None
    assert grounding.search_entry_point.rendered_content == "<div>search</div>"
    assert grounding.grounding_supports is not None
    first, second = grounding.grounding_supports
    assert first.segment == types.Segment(end_index=8, text="Paris is")  # startIndex 0: omitted
    assert first.grounding_chunk_indices == [0]
    assert second.segment is not None
    assert (second.segment.start_index, second.segment.end_index) == (9, 21)
    assert second.grounding_chunk_indices == [0, 1]
    assert candidate.citation_metadata is not None
    assert candidate.citation_metadata.citations == [
        types.Citation(start_index=0, end_index=8, uri=PARIS, title="Paris")
    ]
    if stream:
        assert responses[0].candidates is not None
        assert responses[0].candidates[0].grounding_metadata is None


@pytest.mark.parametrize("stream", [True, False])
async def test_genai_inline_image(
    fake_gemini: FakeGemini, client: genai.Client, stream: bool
) -> None:
    fake_gemini.script(
        PartsReply([["Here:", image_part(PNG)], image_part(b"GIF89a", mime_type="image/gif")])
    )
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _genai_chunks(client, stream=stream)

    parts = _all_parts(responses)
    assert parts[0].text == "Here:"
    assert [(p.inline_data.mime_type, p.inline_data.data) for p in parts if p.inline_data] == [
        ("image/png", PNG),
        ("image/gif", b"GIF89a"),
    ]


@pytest.mark.parametrize("stream", [True, False])
async def test_genai_finish_reasons_and_blocked_prompt(
    fake_gemini: FakeGemini, client: genai.Client, stream: bool
) -> None:
    fake_gemini.script(
        PartsReply(["Hello", " wor"], finish_reason="MAX_TOKENS"),
        PartsReply(["Once upon", []], finish_reason="SAFETY", safety_ratings=[safety_rating()]),
        PartsReply(finish_reason="SAFETY"),
        PartsReply(block_reason="PROHIBITED_CONTENT", safety_ratings=[safety_rating()]),
    )
    async with asyncio.timeout(TIMEOUT_S):
        max_tokens = await _genai_chunks(client, stream=stream)
        partial_safety = await _genai_chunks(client, stream=stream)
        empty_safety = await _genai_chunks(client, stream=stream)
        blocked = await _genai_chunks(client, stream=stream)

    def last_candidate(responses: list[types.GenerateContentResponse]) -> types.Candidate:
        assert responses[-1].candidates is not None
        return responses[-1].candidates[0]

    assert "".join(r.text or "" for r in max_tokens) == "Hello wor"
    assert last_candidate(max_tokens).finish_reason == types.FinishReason.MAX_TOKENS

    assert "".join(r.text or "" for r in partial_safety) == "Once upon"
    candidate = last_candidate(partial_safety)
    assert candidate.finish_reason == types.FinishReason.SAFETY
    assert candidate.safety_ratings is not None
    [rating] = candidate.safety_ratings
    assert rating.category == types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT
    assert rating.probability == types.HarmProbability.HIGH
    assert rating.blocked is True
    if stream:  # the SAFETY chunk itself carries no content
        assert candidate.content is None

    [response] = empty_safety
    assert response.candidates is not None
    assert response.candidates[0].content is None
    assert response.candidates[0].finish_reason == types.FinishReason.SAFETY
    assert response.text is None

    [response] = blocked
    assert response.candidates is None
    assert response.prompt_feedback is not None
    assert response.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT
    assert response.prompt_feedback.safety_ratings is not None
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count is None
    assert response.usage_metadata.total_token_count == 1


async def test_genai_function_call_ids(fake_gemini: FakeGemini, client: genai.Client) -> None:
    fake_gemini.script(
        ToolCallReply("get_weather", {"city": "Paris"}, id="call-1"),
        PartsReply(
            [["Checking.", call_part("lookup", {"q": 1}, id="call-2", signature=SIG)]],
            usage=None,
        ),
    )
    async with asyncio.timeout(TIMEOUT_S):
        [tool_chunk] = await _genai_chunks(client, stream=True)
        [parts_response] = await _genai_chunks(client, stream=False)

    assert tool_chunk.function_calls == [
        types.FunctionCall(id="call-1", name="get_weather", args={"city": "Paris"})
    ]
    [_, call] = _parts(parts_response)
    assert call.function_call == types.FunctionCall(id="call-2", name="lookup", args={"q": 1})
    assert call.thought_signature == SIG
    assert parts_response.usage_metadata is None


async def test_adk_stream_thoughts_then_answer(fake_gemini: FakeGemini, llm: Gemini) -> None:
    fake_gemini.script(_thinking_reply())
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _collect(llm.generate_content_async(_request("x"), stream=True))

    assert [r.partial for r in responses] == [True, True, True, True, False]
    assert responses[1].content is not None and responses[1].content.parts is not None
    assert responses[1].content.parts[0].thought_signature == SIG
    final = responses[-1]
    assert _parts(final) == [
        types.Part(text="Let me think.", thought=True, thought_signature=SIG),
        types.Part(text="The answer is 4."),
    ]
    assert final.finish_reason == types.FinishReason.STOP
    assert final.error_code is None
    assert final.usage_metadata is not None
    assert final.usage_metadata.thoughts_token_count == 12
    assert final.usage_metadata.tool_use_prompt_token_count == 5
    assert final.usage_metadata.total_token_count == 20


async def test_adk_non_streaming_thoughts(fake_gemini: FakeGemini, llm: Gemini) -> None:
    fake_gemini.script(_thinking_reply())
    async with asyncio.timeout(TIMEOUT_S):
        [response] = await _collect(llm.generate_content_async(_request("x"), stream=False))

    assert _parts(response) == [
        types.Part(text="Let me think.", thought=True, thought_signature=SIG),
        types.Part(text="The answer is 4."),
    ]
    assert response.usage_metadata is not None
    assert response.usage_metadata.thoughts_token_count == 12


@pytest.mark.parametrize("stream", [True, False])
async def test_adk_code_execution_grounding_and_image(
    fake_gemini: FakeGemini, llm: Gemini, stream: bool
) -> None:
    fake_gemini.script(
        _code_reply(),
        _grounded_reply(),
        PartsReply([["Here:", image_part(PNG)]], delay_s=0.001),
    )
    async with asyncio.timeout(TIMEOUT_S):
        code = await _collect(llm.generate_content_async(_request("x"), stream=stream))
        grounded = await _collect(llm.generate_content_async(_request("x"), stream=stream))
        image = await _collect(llm.generate_content_async(_request("x"), stream=stream))

    code_final = code[-1]
    assert code_final.partial is (False if stream else None)
    parts = _parts(code_final)
    assert [p.text for p in parts] == ["Let me compute.", None, None, "It is 4."]
    assert parts[1].executable_code is not None
    assert parts[1].executable_code.code == "print(2 + 2)"
    assert parts[2].code_execution_result is not None
    assert parts[2].code_execution_result.outcome == types.Outcome.OUTCOME_OK
    assert parts[2].code_execution_result.output == "4\n"

    grounded_final = grounded[-1]
    assert _text(grounded_final) == "Paris is the capital."
    assert grounded_final.grounding_metadata is not None
    assert grounded_final.grounding_metadata.grounding_chunks is not None
    web = grounded_final.grounding_metadata.grounding_chunks[0].web
    assert web is not None and web.uri == PARIS
    assert grounded_final.grounding_metadata.web_search_queries == ["capital of France"]
    assert grounded_final.citation_metadata is not None
    assert grounded_final.citation_metadata.citations is not None
    assert grounded_final.citation_metadata.citations[0].uri == PARIS

    [text, picture] = _parts(image[-1])
    assert text.text == "Here:"
    assert picture.inline_data is not None
    assert (picture.inline_data.mime_type, picture.inline_data.data) == ("image/png", PNG)


async def test_adk_stream_finish_reasons_become_error_codes(
    fake_gemini: FakeGemini, llm: Gemini
) -> None:
    fake_gemini.script(
        PartsReply(["Hello", " wor"], finish_reason="MAX_TOKENS"),
        PartsReply(["Once upon", []], finish_reason="SAFETY"),
        PartsReply(finish_reason="SAFETY"),
        PartsReply(block_reason="SAFETY"),
    )
    async with asyncio.timeout(TIMEOUT_S):
        max_tokens = await _collect(llm.generate_content_async(_request("x"), stream=True))
        partial_safety = await _collect(llm.generate_content_async(_request("x"), stream=True))
        empty_safety = await _collect(llm.generate_content_async(_request("x"), stream=True))
        blocked = await _collect(llm.generate_content_async(_request("x"), stream=True))

    final = max_tokens[-1]
    assert (final.partial, _text(final)) == (False, "Hello wor")
    assert final.finish_reason == types.FinishReason.MAX_TOKENS
    assert final.error_code == types.FinishReason.MAX_TOKENS  # any non-STOP finish, streamed

    final = partial_safety[-1]
    assert (final.partial, _text(final)) == (False, "Once upon")
    assert (final.error_code, final.error_message) == (types.FinishReason.SAFETY, None)

    assert [r.partial for r in empty_safety] == [True, False]
    assert [r.error_code for r in empty_safety] == [types.FinishReason.SAFETY] * 2
    assert empty_safety[-1].content is None

    assert [r.error_code for r in blocked] == [types.BlockedReason.SAFETY] * 2
    assert blocked[-1].content is None
    assert blocked[-1].finish_reason is None


async def test_adk_non_streaming_finish_reasons(fake_gemini: FakeGemini, llm: Gemini) -> None:
    fake_gemini.script(
        PartsReply(["Hello", " wor"], finish_reason="MAX_TOKENS"),
        PartsReply(finish_reason="SAFETY"),
        PartsReply(block_reason="SAFETY"),
    )
    async with asyncio.timeout(TIMEOUT_S):
        [max_tokens] = await _collect(llm.generate_content_async(_request("x"), stream=False))
        [safety] = await _collect(llm.generate_content_async(_request("x"), stream=False))
        [blocked] = await _collect(llm.generate_content_async(_request("x"), stream=False))

    # LlmResponse.create: a candidate with content is a success whatever its finish reason.
    assert _text(max_tokens) == "Hello wor"
    assert (max_tokens.finish_reason, max_tokens.error_code) == (
        types.FinishReason.MAX_TOKENS,
        None,
    )
    # ... and one without content is an error with the finish reason as its code.
    assert safety.content is None
    assert safety.error_code == types.FinishReason.SAFETY
    assert blocked.content is None
    assert blocked.error_code == types.BlockedReason.SAFETY


async def test_adk_stream_function_call_keeps_id_and_signature(
    fake_gemini: FakeGemini, llm: Gemini
) -> None:
    fake_gemini.script(
        PartsReply(
            [
                thought_part("Need data."),
                call_part("lookup", {"q": "x"}, id="call-9", signature=SIG),
            ]
        )
    )
    async with asyncio.timeout(TIMEOUT_S):
        responses = await _collect(llm.generate_content_async(_request("x"), stream=True))

    [thought, call] = _parts(responses[-1])
    assert thought.thought is True
    assert call.function_call == types.FunctionCall(id="call-9", name="lookup", args={"q": "x"})
    assert call.thought_signature == SIG


async def test_parts_reply_raw_wire_format(fake_gemini: FakeGemini) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "a b c"}]}]}
    reply = PartsReply(
        [thought_part("t", signature=b"\x00sig"), ["a", code_part("1")], []],
        finish_reason="SAFETY",
        citations=[citation(0, 1, "u")],
        usage=Usage(candidates=7, cached=2),
    )
    fake_gemini.script(reply, reply, reply)
    url = f"/v1beta/models/{MODEL}"
    async with asyncio.timeout(TIMEOUT_S), httpx.AsyncClient(base_url=fake_gemini.url) as http:
        sse = await http.post(f"{url}:streamGenerateContent?alt=sse", json=body)
        array = await http.post(f"{url}:streamGenerateContent", json=body)
        whole = await http.post(f"{url}:generateContent", json=body)

    events = sse.text.split("\r\n\r\n")
    assert events[-1] == ""
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert payloads == [{**p, "responseId": "fake-0"} for p in array.json()]
    assert [p["candidates"][0].get("content") for p in payloads] == [
        {
            "parts": [{"text": "t", "thought": True, "thoughtSignature": "AHNpZw=="}],
            "role": "model",
        },
        {
            "parts": [{"text": "a"}, {"executableCode": {"language": "PYTHON", "code": "1"}}],
            "role": "model",
        },
        None,
    ]
    usage = {
        "promptTokenCount": 3,
        "candidatesTokenCount": 7,
        "cachedContentTokenCount": 2,
        "thoughtsTokenCount": 1,
        "totalTokenCount": 11,
    }
    assert payloads[-1]["candidates"][0] == {
        "finishReason": "SAFETY",
        "citationMetadata": {"citationSources": [{"startIndex": 0, "endIndex": 1, "uri": "u"}]},
        "index": 0,
    }
    assert payloads[-1]["usageMetadata"] == usage
    assert all(
        "usageMetadata" not in p and "finishReason" not in p["candidates"][0] for p in payloads[:-1]
    )
    whole_payload = whole.json()
    assert whole_payload["candidates"][0]["content"]["parts"] == [
        {"text": "t", "thought": True, "thoughtSignature": "AHNpZw=="},
        {"text": "a"},
        {"executableCode": {"language": "PYTHON", "code": "1"}},
    ]
    assert whole_payload["usageMetadata"] == usage


def test_parts_reply_validation() -> None:
    with pytest.raises(ValueError, match="block_reason"):
        PartsReply(["x"], block_reason="SAFETY")
    with pytest.raises(TypeError):
        PartsReply("not a list of chunks")
    with pytest.raises(TypeError):
        PartsReply([[1]])  # type: ignore[list-item]
