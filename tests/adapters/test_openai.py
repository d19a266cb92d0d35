"""OpenAI-compatible chat driven by the official `openai` package: over a real server,
and over a canned stream of our encoder's chunks for the events a test model cannot make
(thinking, citations, images, cut and filtered answers, interleaved parallel branches)."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adkstream.agents.registry import AgentRegistry, HostedAgent
from adkstream.api import create_app
from adkstream.api.openai_compat import ChatCompletionEncoder
from adkstream.events import MessageCompleted, MessageDelta, StreamEvent
from adkstream.settings import Settings
from tests.adapters import events as ev
from tests.adapters.conftest import SECRET, native_run
from tests.api.conftest import Api, ServerFactory
from tests.servers import serve_app


def openai_usage(native: dict[str, int]) -> dict[str, Any]:
    """The native usage as OpenAI counts it: reasoning inside the completion, tool-use
    prompt tokens inside the prompt."""
    prompt = native["prompt_tokens"] + native["tool_use_prompt_tokens"]
    completion = native["completion_tokens"] + native["thought_tokens"]
    assert prompt + completion == native["total_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": native["total_tokens"],
        "prompt_tokens_details": {"cached_tokens": native["cached_tokens"]},
        "completion_tokens_details": {"reasoning_tokens": native["thought_tokens"]},
    }


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
    assert usage_chunk.usage.model_dump(exclude_none=True) == openai_usage(native["usage"])
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
    assert completion.usage.model_dump(exclude_none=True) == openai_usage(native["usage"])
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


async def test_openai_fanout_branches_come_one_after_another(start_server: ServerFactory) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "a plan"}]
    # A paced model: both branches stream at once, word by word interleaved in the log.
    async with (
        start_server(offline_tokens_per_s=400, offline_reply_tokens=12) as api,
        AsyncOpenAI(base_url=api.url + "/v1", api_key="x", max_retries=0) as client,
        asyncio.timeout(30),
    ):
        stream = await client.chat.completions.create(
            model="fanout", messages=messages, stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        run_id = stream.response.headers["x-run-id"]
        events = [event async for event in api.host.log.follow(run_id)]
        completion = await client.chat.completions.create(model="fanout", messages=messages)
    authors = [e.author for e in events if isinstance(e, MessageDelta)]
    switches = sum(a != b for a, b in itertools.pairwise(authors))
    assert switches > 1, "the branches did not interleave: this test proves nothing"
    texts = [e.text for e in events if isinstance(e, MessageCompleted)]
    assert len(texts) == 2
    # Each branch's message whole, one after the other, whichever ran first.
    assert streamed.split("\n\n") in (texts, texts[::-1])
    assert len((completion.choices[0].message.content or "").split("\n\n")) == 2


# --- a canned event sequence read by the SDK ---


def branch(name: str) -> list[StreamEvent]:
    """One branch of a ParallelAgent: `name` thinks, then says "You said: hi."."""
    events = [
        ev.agent(0, name),
        ev.thinking(0, f"{name}-t", "Hm.", author=name),
        ev.delta(0, f"{name}-m", "You ", author=name),
        ev.delta(0, f"{name}-m", "said: hi.", author=name),
        ev.completed(0, f"{name}-m", "You said: hi.", author=name),
        ev.agent_done(0, name),
    ]
    return [e.model_copy(update={"branch": f"par.{name}"}) for e in events]


def cited_answer(finish_reason: str = "stop") -> list[StreamEvent]:
    """A planner that thinks, answers with a cited text, draws a dot and runs code; two
    parallel branches interleaved word by word; a summary ending with `finish_reason`."""
    mixed = [event for pair in zip(branch("x"), branch("y"), strict=True) for event in pair]
    return ev.numbered(
        ev.started(),
        ev.agent(0, "planner"),
        ev.thinking(0, "t1", "Let me ", author="planner"),
        ev.thinking(0, "t1", "think.", author="planner"),
        ev.thought(0, "t1", "Let me think.", author="planner"),
        ev.delta(0, "p1", "Hello", author="planner"),
        ev.delta(0, "p1", " world", author="planner"),
        ev.completed(0, "p1", "Hello world", author="planner"),
        ev.sources(0, "p1", author="planner"),
        ev.image(0, "p1", author="planner"),
        ev.code(0, "x1", "print(1 + 1)", author="planner"),
        ev.code_result(0, "x1", "2\n", author="planner"),
        ev.artifact(0, author="planner"),
        ev.agent_done(0, "planner"),
        *mixed,
        ev.agent(0, "summarizer"),
        ev.delta(0, "s1", "Sum", author="summarizer"),
        ev.cut(0, "s1", "Sum", finish_reason, author="summarizer"),
        ev.agent_done(0, "summarizer"),
        ev.run_completed(0, "Sum", finish_reason=finish_reason),
    )


CONTENT = "Hello world\n\nYou said: hi.\n\nYou said: hi.\n\nSum"
REASONING = "Let me think.\n\nHm.\n\nHm."
DOT = f"data:image/png;base64,{ev.PNG_1PX}"


def canned_app(events: Callable[[str], list[StreamEvent]]) -> Starlette:
    """`POST /v1/chat/completions` answering our encoder's chunks (or completion) for
    `events(model)`, whatever the messages."""

    async def chat(request: Request) -> Response:
        body = await request.json()
        encoder = ChatCompletionEncoder(
            completion_id="chatcmpl-canned",
            model=body["model"],
            created=1_700_000_000,
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        )
        if body.get("stream"):
            frames = (frame for event in events(body["model"]) for frame in encoder.frames(event))
            return StreamingResponse(frames, media_type="text/event-stream")
        for event in events(body["model"]):
            encoder.encode(event)
        return JSONResponse(encoder.completion())

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.fixture
async def canned() -> AsyncIterator[AsyncOpenAI]:
    """An SDK client of a canned server: the model name is the summary's finish reason."""
    app = canned_app(cited_answer)
    async with (
        serve_app(app) as url,
        AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as sdk,
    ):
        yield sdk


HI: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


async def test_openai_sdk_reads_every_extension_of_a_stream(canned: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        stream = await canned.chat.completions.create(
            model="stop", messages=HI, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]
    with_choices = [c for c in chunks if c.choices]
    deltas = [c.choices[0].delta for c in with_choices]
    extras = [d.model_extra or {} for d in deltas]
    assert "".join(d.content or "" for d in deltas) == CONTENT  # branches contiguous
    assert "".join(e.get("reasoning_content", "") for e in extras) == REASONING
    (annotations,) = [e["annotations"] for e in extras if "annotations" in e]
    assert [a["url_citation"]["url"] for a in annotations] == [
        "https://example.com/a",
        "https://example.com/b",
    ]
    (images,) = [e["images"] for e in extras if "images" in e]
    assert images == [{"index": 0, "type": "image_url", "image_url": {"url": DOT}}]
    assert [c.choices[0].finish_reason for c in with_choices][-1] == "stop"
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 9, 12)
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 5
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 2


def check_message(message: Any) -> None:
    """The whole answer as the SDK types it: content, reasoning, citations, images."""
    assert message.content == CONTENT
    assert message.reasoning_content == REASONING  # kept by the SDK, as attribute too
    citations = [a.url_citation for a in message.annotations or []]
    assert [(c.url, c.title, c.start_index, c.end_index) for c in citations] == [
        ("https://example.com/a", "A", 0, 5),
        ("https://example.com/b", "B", 0, 11),
    ]
    assert CONTENT[0:5] == "Hello"
    assert message.images == [{"index": 0, "type": "image_url", "image_url": {"url": DOT}}]


async def test_openai_sdk_stream_helper_accumulates_the_extensions(canned: AsyncOpenAI) -> None:
    """`chat.completions.stream()` merges the deltas into one message, extensions too."""
    async with (
        asyncio.timeout(30),
        canned.chat.completions.stream(model="stop", messages=HI) as stream,
    ):
        final = await stream.get_final_completion()
    (choice,) = final.choices
    check_message(choice.message)
    assert choice.finish_reason == "stop"


async def test_openai_sdk_reads_a_completion(canned: AsyncOpenAI) -> None:
    async with asyncio.timeout(30):
        completion = await canned.chat.completions.create(model="stop", messages=HI)
    (choice,) = completion.choices
    check_message(choice.message)
    assert choice.finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 3,
        "completion_tokens": 9,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 5},
    }


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        pytest.param("max_tokens", "length", id="length"),
        pytest.param("safety", "content_filter", id="safety"),
        pytest.param("recitation", "content_filter", id="recitation"),
    ],
)
async def test_openai_sdk_reads_the_finish_reason(
    canned: AsyncOpenAI, reason: str, expected: str
) -> None:
    async with asyncio.timeout(30):
        stream = await canned.chat.completions.create(model=reason, messages=HI, stream=True)
        finishes = [c.choices[0].finish_reason async for c in stream if c.choices]
        completion = await canned.chat.completions.create(model=reason, messages=HI)
    assert finishes[-1] == expected and set(finishes[:-1]) == {None}
    assert completion.choices[0].finish_reason == expected


# --- media sent in: the model gets the bytes ---


class RecordingModel(BaseLlm):
    """Answers one sentence, and keeps every LlmRequest it is sent."""

    model: str = "recording"
    requests: list[LlmRequest] = Field(default_factory=list)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request)
        part = types.Part(text="A dot.")
        yield LlmResponse(content=types.Content(role="model", parts=[part]))

    def received(self) -> list[tuple[str | None, bytes | None, str | None]]:
        """What the model got of the user's message: (text, bytes, mime type) per part."""
        (request,) = self.requests
        parts = request.contents[-1].parts or []
        blobs = [(p, p.inline_data or types.Blob()) for p in parts]
        return [(p.text, blob.data, blob.mime_type) for p, blob in blobs]


@pytest.fixture
async def looker(tmp_path: Path) -> AsyncIterator[tuple[AsyncOpenAI, RecordingModel]]:
    """An SDK client of a server hosting `looker`, whose model records what it is sent."""
    model = RecordingModel()
    agent = LlmAgent(name="looker", model=model, instruction="Describe what you see.")
    app = create_app(Settings(data_dir=tmp_path / "data"), AgentRegistry([HostedAgent.of(agent)]))
    async with (
        serve_app(app) as url,
        AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0) as sdk,
    ):
        yield sdk, model


PNG = base64.b64decode(ev.PNG_1PX)


def image_part(url: str = DOT) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, "detail": "low"}}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def audio_part(data: str = ev.PNG_1PX, fmt: str = "wav") -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}


def file_part(**file: Any) -> dict[str, Any]:
    return {"type": "file", "file": file}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            [text_part("What is "), text_part("this?"), image_part()],
            [("What is this?", None, None), (None, PNG, "image/png")],
            id="text-and-image",
        ),
        pytest.param([image_part()], [(None, PNG, "image/png")], id="image-only"),
        pytest.param(
            [text_part(" "), audio_part(fmt="mp3")], [(None, PNG, "audio/mpeg")], id="audio"
        ),
        pytest.param(
            [file_part(file_data="data:application/pdf;base64,JVBERg==", filename="a.pdf")],
            [(None, b"%PDF", "application/pdf")],
            id="file",
        ),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
async def test_openai_media_reach_the_model(
    looker: tuple[AsyncOpenAI, RecordingModel],
    content: list[dict[str, Any]],
    expected: list[Any],
    stream: bool,
) -> None:
    sdk, model = looker
    messages: Any = [
        {"role": "user", "content": "an earlier message, not replayed"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": content},
    ]
    async with asyncio.timeout(30):
        if stream:
            chunks = await sdk.chat.completions.create(
                model="looker", messages=messages, stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
        else:
            answer = await sdk.chat.completions.create(model="looker", messages=messages)
            text = answer.choices[0].message.content or ""
    assert text == "A dot."
    assert model.received() == expected


BAD_MEDIA = [
    pytest.param(
        [text_part("look"), image_part("data:image/png;base64,not base64!")],
        "messages[0].content[1].image_url.url is not valid base64",
        id="bad-base64",
    ),
    pytest.param([image_part("data:image/png,abc")], "is not a base64 data URL", id="not-base64"),
    pytest.param([image_part("data:;base64,AAAA")], "has no media type", id="no-type"),
    pytest.param([image_part("data:image/png;base64,")], "url is empty", id="empty"),
    pytest.param(
        [image_part("https://example.com/dot.png")],
        "only data URLs (data:<media type>;base64,<data>) are accepted",
        id="https-url",
    ),
    pytest.param([audio_part(fmt="flac")], "input_audio.format must be one of", id="audio-format"),
    pytest.param([file_part(file_id="file-abc")], "uploaded files (file_id)", id="file-id"),
    pytest.param(
        [{"type": "refusal", "refusal": "no"}], "a part of type 'refusal'", id="unknown-type"
    ),
]


@pytest.mark.parametrize(("content", "says"), BAD_MEDIA)
async def test_openai_bad_media_part_is_a_400_naming_messages(
    looker: tuple[AsyncOpenAI, RecordingModel], content: list[dict[str, Any]], says: str
) -> None:
    sdk, model = looker
    messages: Any = [{"role": "user", "content": content}]
    async with asyncio.timeout(30):
        with pytest.raises(openai.BadRequestError) as refused:
            await sdk.chat.completions.create(model="looker", messages=messages)
    assert refused.value.param == "messages"
    assert refused.value.code == "invalid_request"
    assert says in refused.value.message
    assert model.requests == []
