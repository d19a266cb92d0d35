"""Pins every private google-genai API adkstream uses (adkstream/genai_private.py): when a
genai upgrade moves or changes one, a test here fails and says what to fix."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import pytest_asyncio
from google import genai
from google.genai import _common, _extra_utils, models, types
from google.genai._api_client import BaseApiClient

from adkstream import genai_private
from tests.fakes.fixtures import fake_gemini
from tests.fakes.gemini_server import FakeGemini, PartsReply, thought_part

__all__ = ["fake_gemini"]

FIX = "google-genai changed a private API: update adkstream/genai_private.py"
MODEL = "gemini-2.5-flash"
TIMEOUT_S = 10
CONFIG = types.GenerateContentConfig(
    system_instruction="Be brief.",
    temperature=0.5,
    thinking_config=types.ThinkingConfig(include_thoughts=True),
    tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="f")])],
    http_options=types.HttpOptions(headers={"x-extra": "1"}),
)


@pytest_asyncio.fixture
async def client(fake_gemini: FakeGemini) -> AsyncIterator[genai.Client]:
    c = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=fake_gemini.url))
    yield c
    await c.aio.aclose()


def test_the_private_names_are_there() -> None:
    for owner, name in [
        (types, "_GenerateContentParameters"),
        (models, "_GenerateContentParameters_to_mldev"),
        (models, "_GenerateContentResponse_from_mldev"),
        (_common, "convert_to_dict"),
        (_common, "encode_unserializable_types"),
        (_extra_utils, "StreamContinuation"),
        (types.GenerateContentResponse, "_from_response"),
        (BaseApiClient, "_build_request"),
        (BaseApiClient, "_async_request"),
        (BaseApiClient, "_verify_response"),
    ]:
        assert hasattr(owner, name), f"{FIX}: {getattr(owner, '__name__', owner)}.{name}"
    assert "stream" in inspect.signature(BaseApiClient._async_request).parameters, FIX


def test_genai_streams_through_the_pieces_we_copy() -> None:
    """genai's own stream is the one `LeanGemini` rebuilds: continuation hops over
    `_generate_content_stream`, which builds each chunk as `StreamRequest.response` does."""
    outer = inspect.getsource(models.AsyncModels._generate_content_stream_with_continuation)
    assert "StreamContinuation" in outer and "_generate_content_stream(" in outer, FIX
    inner = inspect.getsource(models.AsyncModels._generate_content_stream)
    for piece in (
        "_GenerateContentParameters_to_mldev",
        "_GenerateContentResponse_from_mldev",
        "_from_response",
        "async_request_streamed",
        "_verify_response",
        "streamGenerateContent?alt=sse",
    ):
        assert piece in inner, f"{FIX}: AsyncModels._generate_content_stream no longer uses {piece}"


async def test_stream_request_is_genais_request_and_chunks(
    fake_gemini: FakeGemini, client: genai.Client
) -> None:
    reply = PartsReply([thought_part("hm", signature=b"s"), "Hello", " there"])
    fake_gemini.script(reply, reply)
    async with asyncio.timeout(TIMEOUT_S):
        stream = await client.aio.models.generate_content_stream(
            model=MODEL, contents="hi", config=CONFIG
        )
        theirs = [chunk async for chunk in stream]
        api = genai_private.base_api_client(client)
        request = genai_private.StreamRequest.build(api, model=MODEL, contents="hi", config=CONFIG)
        response = await request.send()
        ours = [request.response(c, response.headers) async for c in request.segments(response)]
    first, second = fake_gemini.calls
    assert (second.body, second.query, second.api_version) == (
        first.body,
        first.query,
        first.api_version,
    ), FIX
    assert second.headers.get("x-extra") == "1", FIX

    def comparable(chunks: list[types.GenerateContentResponse]) -> list[object]:
        # Two calls: the fake's response ids and the Date header differ.
        return [c.model_dump(exclude={"response_id", "sdk_http_response"}) for c in chunks]

    assert comparable(ours) == comparable(theirs), FIX
    assert all(type(c) is type(t) for c, t in zip(ours, theirs, strict=True)), FIX
    assert all(c.sdk_http_response and c.sdk_http_response.headers for c in ours), FIX
