"""Coalescing before ADK: merge a model's partial text chunks within the run's window.

ADK spends about 220 µs of CPU on every partial event (pydantic copies, telemetry, its
own queues), far more than anything done with the event afterwards. Handing ADK fewer,
larger partials is the lever: `CoalescingModel` wraps an agent's model and merges the
text chunks that arrive within `coalesce_ms` of the last one it passed on. The first
chunk of a message, and any chunk after a quiet window, passes at once (no added time to
first token); a merge goes out when its window expires even if the model is silent.
Function calls, thoughts next to text, and the final aggregated response pass through
untouched (pending text first), so the final text and `output_key` are exactly as
without it.

The window is per run: the run sets `COALESCE_WINDOW` (a function giving the window in
seconds, read at every decision, as the run manager widens it under load) before it
starts ADK, and ADK's tasks inherit it (contextvars are copied into tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from contextvars import ContextVar
from typing import Any

from google.adk.agents.llm_agent import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.workflow import BaseNode
from google.genai import types

from adkstream.agents.registry import walk_nodes

Window = Callable[[], float]
"""The coalescing window in seconds, now (0: every chunk passes as it comes)."""


def no_window() -> float:
    return 0.0


COALESCE_WINDOW: ContextVar[Window] = ContextVar("adkstream_coalesce_window", default=no_window)


class CoalescingModel(BaseLlm):
    """Wraps `inner`; merges its streamed text chunks within `COALESCE_WINDOW`."""

    inner: BaseLlm

    @classmethod
    def wrap(cls, inner: BaseLlm) -> CoalescingModel:
        return cls(model=inner.model, inner=inner)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        window = COALESCE_WINDOW.get()
        responses = self.inner.generate_content_async(llm_request, stream=stream)
        if not stream or window() <= 0:
            async with aclosing(responses) as passing:
                async for response in passing:
                    yield response
            return
        async with aclosing(coalesce_responses(responses, window)) as merged:
            async for response in merged:
                yield response

    def connect(
        self, llm_request: LlmRequest
    ) -> contextlib.AbstractAsyncContextManager[BaseLlmConnection]:
        """Live connections are the inner model's (no partials to merge there)."""
        return self.inner.connect(llm_request)


_END = object()


async def coalesce_responses(
    responses: AsyncGenerator[LlmResponse, None], window: Window
) -> AsyncGenerator[LlmResponse, None]:
    """The responses with runs of partial text chunks merged; see the module docstring."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    reader = loop.create_task(_read_into(responses, queue))
    pending: list[LlmResponse] = []
    last_sent = float("-inf")
    try:
        while True:
            if pending:
                try:
                    async with asyncio.timeout_at(last_sent + window()):
                        item = await queue.get()
                except TimeoutError:
                    yield _merged(pending)
                    pending = []
                    last_sent = loop.time()
                    continue
            else:
                item = await queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                if pending:
                    yield _merged(pending)
                raise item
            now = loop.time()
            if _is_text_chunk(item) and (not pending or _same_kind(pending[-1], item)):
                if not pending and now - last_sent >= window():
                    last_sent = now
                    yield item
                else:
                    pending.append(item)
                continue
            if pending:
                yield _merged(pending)
                pending = []
                last_sent = now
            yield item
        if pending:
            yield _merged(pending)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _read_into(
    responses: AsyncGenerator[LlmResponse, None], queue: asyncio.Queue[Any]
) -> None:
    try:
        async with aclosing(responses) as reading:
            async for response in reading:
                queue.put_nowait(response)
    except Exception as exc:
        queue.put_nowait(exc)
    else:
        queue.put_nowait(_END)


def _is_text_chunk(response: LlmResponse) -> bool:
    content = response.content
    if not response.partial or content is None or not content.parts:
        return False
    return all(p.text is not None and _only_text(p) for p in content.parts)


def _only_text(part: types.Part) -> bool:
    return (
        part.function_call is None
        and part.function_response is None
        and part.inline_data is None
        and part.file_data is None
        and part.executable_code is None
        and part.code_execution_result is None
    )


def _same_kind(a: LlmResponse, b: LlmResponse) -> bool:
    """Thought chunks merge with thoughts, answer text with answer text."""
    return _thought(a) == _thought(b)


def _thought(response: LlmResponse) -> bool:
    parts = _parts(response)
    return bool(parts and parts[0].thought)


def _parts(response: LlmResponse) -> list[types.Part]:
    content = response.content
    return content.parts or [] if content is not None else []


def _merged(pending: list[LlmResponse]) -> LlmResponse:
    if len(pending) == 1:
        return pending[0]
    last = pending[-1]
    text = "".join(p.text or "" for r in pending for p in _parts(r))
    part = types.Part(text=text, thought=True if _thought(last) else None)
    content = types.Content(role=last.content.role if last.content else "model", parts=[part])
    return last.model_copy(update={"content": content})


def install_coalescing(root: BaseNode) -> None:
    """Wraps the model of every LLM agent under `root` (once; string models resolved)."""
    for node in walk_nodes(root):
        if isinstance(node, LlmAgent) and not isinstance(node.model, CoalescingModel):
            node.model = CoalescingModel.wrap(node.canonical_model)


def unwrapped(model: BaseLlm | str) -> BaseLlm | str:
    """The model under a CoalescingModel (for code that asks what the model is)."""
    return model.inner if isinstance(model, CoalescingModel) else model
