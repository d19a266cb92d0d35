"""The coalescing model wrapper: fewer, larger partials for ADK, nothing delayed or lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from adkstream.agents.coalescing import coalesce_responses


def _chunk(text: str, *, partial: bool = True, thought: bool = False) -> LlmResponse:
    part = types.Part(text=text, thought=thought or None)
    return LlmResponse(content=types.Content(role="model", parts=[part]), partial=partial)


def _call() -> LlmResponse:
    call = types.Part(function_call=types.FunctionCall(name="f", args={}))
    return LlmResponse(content=types.Content(role="model", parts=[call]), partial=True)


def _texts(responses: list[LlmResponse]) -> list[str]:
    return ["".join(p.text or "" for p in (r.content.parts or [])) for r in responses if r.content]


async def _scripted(*responses: LlmResponse) -> AsyncGenerator[LlmResponse, None]:
    """A streaming model: between chunks it waits (here one trip around the loop)."""
    for response in responses:
        yield response
        await asyncio.sleep(0)


async def _collect_into(gen: AsyncGenerator[LlmResponse, None], into: list[LlmResponse]) -> None:
    async for response in gen:
        into.append(response)


async def _collect(gen: AsyncGenerator[LlmResponse, None]) -> list[LlmResponse]:
    return [r async for r in gen]


async def test_coalescing_first_chunk_alone_then_merged() -> None:
    chunks = [_chunk(w) for w in ["Hel", "lo", " wor", "ld"]]
    async with asyncio.timeout(5):
        out = await _collect(
            coalesce_responses(
                _scripted(*chunks, _chunk("Hello world", partial=False)), lambda: 10.0
            )
        )
    assert _texts(out) == ["Hel", "lo world", "Hello world"]
    assert [r.partial for r in out] == [True, True, False]


async def test_coalescing_zero_window_passes_everything() -> None:
    chunks = [_chunk(w) for w in ["a", "b", "c"]]
    async with asyncio.timeout(5):
        out = await _collect(coalesce_responses(_scripted(*chunks), lambda: 0.0))
    assert _texts(out) == ["a", "b", "c"]


async def test_coalescing_non_text_flushes_pending_first() -> None:
    stream = _scripted(_chunk("a"), _chunk("b"), _call(), _chunk("c"), _chunk("d", thought=True))
    async with asyncio.timeout(5):
        out = await _collect(coalesce_responses(stream, lambda: 10.0))
    assert _texts(out)[:2] == ["a", "b"]
    assert out[2].content is not None and out[2].content.parts[0].function_call is not None
    # A thought never merges into answer text.
    assert _texts(out)[3:] == ["c", "d"]
    assert out[4].content is not None and out[4].content.parts[0].thought


async def test_coalescing_window_expires_while_the_model_is_silent() -> None:
    release = asyncio.Event()

    async def model() -> AsyncGenerator[LlmResponse, None]:
        yield _chunk("first")
        await asyncio.sleep(0)
        yield _chunk("second")
        await release.wait()  # the model goes quiet: the merge must not wait for it
        yield _chunk("Done", partial=False)

    got: list[LlmResponse] = []
    async with asyncio.timeout(5):
        merged = coalesce_responses(model(), lambda: 0.05)
        got.append(await anext(merged))
        got.append(await anext(merged))
        release.set()
        got.extend([r async for r in merged])
    assert _texts(got) == ["first", "second", "Done"]


async def test_coalescing_error_flushes_then_raises() -> None:
    async def failing() -> AsyncGenerator[LlmResponse, None]:
        yield _chunk("a")
        await asyncio.sleep(0)
        yield _chunk("b")
        raise RuntimeError("model broke")

    got: list[LlmResponse] = []
    async with asyncio.timeout(5):
        with pytest.raises(RuntimeError, match="model broke"):
            await _collect_into(coalesce_responses(failing(), lambda: 10.0), got)
    assert _texts(got) == ["a", "b"]


async def test_coalescing_a_slow_consumer_takes_what_piled_up_in_one_response() -> None:
    # The model is faster than ADK: everything it said meanwhile goes as one partial,
    # the first chunk included (it is not held back: it goes with what came with it).
    async def burst() -> AsyncGenerator[LlmResponse, None]:
        for word in ["a", "b", "c"]:
            yield _chunk(word)
        yield _chunk("abc", partial=False)

    async with asyncio.timeout(5):
        out = await _collect(coalesce_responses(burst(), lambda: 10.0))
    assert _texts(out) == ["abc", "abc"]
    assert [r.partial for r in out] == [True, False]


async def test_coalescing_passes_a_chunk_of_thought_and_text_untouched() -> None:
    # One chunk holding a thought and answer text is neither kind: merging it into
    # either run would make its answer a thought, or its thought an answer.
    parts = [types.Part(text="hmm", thought=True), types.Part(text="Hi")]
    mixed = LlmResponse(content=types.Content(role="model", parts=parts), partial=True)
    stream = _scripted(_chunk("a", thought=True), mixed, _chunk(" there"))
    async with asyncio.timeout(5):
        out = await _collect(coalesce_responses(stream, lambda: 10.0))
    assert any(r is mixed for r in out)
    visible = [p.text for r in out for p in (r.content.parts if r.content else []) or []]
    thoughts = [
        p.text for r in out for p in (r.content.parts if r.content else []) or [] if p.thought
    ]
    assert "".join(visible) == "ahmmHi there"
    assert thoughts == ["a", "hmm"]
