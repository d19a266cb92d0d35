"""The wrapper around every hosted agent's model: its partial text reaches ADK rarely or never.

ADK spends about 200 µs of CPU on every partial event (pydantic copies, telemetry, its
own queues), far more than anything done with the event afterwards. `CoalescingModel`
wraps an agent's model and does one of two things with its partial text chunks:
- Tap (the default): each chunk goes to the run's text sink (`text_tap`), and ADK sees
  only the rest (the final aggregated response, function calls, anything but plain
  text). The run merges the tapped deltas within its window on the way out.
- Merge (agents with an `after_model_callback`, which must see partial responses, and
  any call the tap cannot attribute): chunks that arrive within the run's window of the
  last one passed on go to ADK as one. The first chunk of a message, and any chunk after
  a quiet window, passes at once (no added time to first token; if more text came with
  it, that goes with it); a merge goes out when its window expires even if the model is
  silent. Merging costs a list append per chunk: the consumer is woken per merged
  response, not per chunk.
Either way function calls, thoughts next to text, and the final aggregated response pass
through untouched (pending text first), so the final text and `output_key` are exactly
as without it.

The window is per run: the run sets `COALESCE_WINDOW` (a function giving the window in
seconds, read at every decision, as the run manager widens it under load) before it
starts ADK, and ADK's tasks inherit it (contextvars are copied into tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
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

from adkstream.agents.content import parts_of, text_pieces
from adkstream.agents.registry import walk_nodes
from adkstream.agents.text_tap import TEXT_TAP, model_call_of
from adkstream.tasks import cancel_and_wait
from adkstream.wakeup import Wakeup

Window = Callable[[], float]
"""The coalescing window in seconds, now (0: every chunk passes as it comes)."""


def no_window() -> float:
    return 0.0


COALESCE_WINDOW: ContextVar[Window] = ContextVar("adkstream_coalesce_window", default=no_window)


class CoalescingModel(BaseLlm):
    """Wraps `inner`; taps its streamed text (see `text_tap`) or merges it within the window.

    Attributes:
        inner: the agent's model.
        tap: whether partial text may bypass ADK (False when the agent has an
            `after_model_callback`, which must see every partial response).
    """

    inner: BaseLlm
    tap: bool = True

    @classmethod
    def wrap(cls, inner: BaseLlm, *, tap: bool = True) -> CoalescingModel:
        return cls(model=inner.model, inner=inner, tap=tap)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        responses = self.inner.generate_content_async(llm_request, stream=stream)
        sink = TEXT_TAP.get() if stream and self.tap else None
        call = model_call_of(llm_request) if sink is not None else None
        window = COALESCE_WINDOW.get()
        if sink is not None and call is not None:
            responses = tap_responses(responses, functools.partial(sink, call))
        elif stream and window() > 0:
            responses = coalesce_responses(responses, window)
        async with aclosing(responses) as passing:
            async for response in passing:
                yield response

    def connect(
        self, llm_request: LlmRequest
    ) -> contextlib.AbstractAsyncContextManager[BaseLlmConnection]:
        """Live connections are the inner model's (no partials to merge there)."""
        return self.inner.connect(llm_request)


_END = object()


def coalesce_responses(
    responses: AsyncGenerator[LlmResponse, None], window: Window
) -> AsyncGenerator[LlmResponse, None]:
    """The responses with runs of partial text chunks merged; see the module docstring."""
    merger = _Merger(asyncio.get_running_loop(), window)
    return _pass_on(_read(responses, merger.put, merger.put_item), merger.get)


def tap_responses(
    responses: AsyncGenerator[LlmResponse, None], sink: Callable[[str, bool], None]
) -> AsyncGenerator[LlmResponse, None]:
    """The responses that are not partial text; the text of those goes to `sink`, with
    whether it is thought (answer and thought pieces of a chunk in their order).

    A task of its own reads the model, so that a chunk costs one step of that task: were
    the model read here, at the bottom of ADK's dozen nested generators, every chunk would
    resume them all.
    """
    rest: asyncio.Queue[Any] = asyncio.Queue()

    def take(response: LlmResponse) -> None:
        if _all_text(response):
            pieces = text_pieces(response)
            for text, thought in pieces or [("", False)]:
                sink(text, thought)
        else:
            rest.put_nowait(response)

    return _pass_on(_read(responses, take, rest.put_nowait), rest.get)


async def _read(
    responses: AsyncGenerator[LlmResponse, None],
    take: Callable[[LlmResponse], None],
    end: Callable[[Any], None],
) -> None:
    """Reads the model to its end: each response to `take`, then `_END` (or the error) to `end`."""
    try:
        async with aclosing(responses) as reading:
            async for response in reading:
                take(response)
    except Exception as exc:
        end(exc)
    else:
        end(_END)


async def _pass_on(
    reading: Coroutine[Any, Any, None], get: Callable[[], Awaitable[Any]]
) -> AsyncGenerator[LlmResponse, None]:
    """What `get` hands over, until `_END` (an error it hands over is raised), while
    `reading` runs in a task of its own (cancelled when this generator is closed)."""
    reader = asyncio.get_running_loop().create_task(reading)
    try:
        while True:
            item = await get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        await cancel_and_wait(reader)


class _TextRun(list[LlmResponse]):
    """Adjacent text chunks of one kind (thought or answer), merged when they go."""

    thought: bool


class _Merger:
    """Between the task reading the model and ADK: adjacent text chunks wait and merge.

    The reader appends to the last run of text without waking anybody (a chunk costs a
    list append); the consumer takes the first run when its window is over, at once
    when it starts a message (first text, or text of another kind), or when something
    other than text follows it. A consumer slower than the model takes all that piled
    up in one response.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, window: Window) -> None:
        self._loop = loop
        self._window = window
        self._ready: deque[Any] = deque()
        self._last_sent = float("-inf")
        self._last_kind: bool | None = None  # None: no text since the last other item
        self._wakeup = Wakeup()  # the consumer's, woken when the reader adds an item

    def put(self, response: LlmResponse) -> None:
        thought = _text_kind(response)
        if thought is None:
            self.put_item(response)
            return
        tail = self._ready[-1] if self._ready else None
        if isinstance(tail, _TextRun) and tail.thought == thought:
            tail.append(response)
            return
        run = _TextRun([response])
        run.thought = thought
        self.put_item(run)

    def put_item(self, item: Any) -> None:
        self._ready.append(item)
        self._wakeup.wake()

    async def get(self) -> Any:
        while True:
            if not self._ready:
                await self._wakeup.wait()
                continue
            head = self._ready[0]
            if not isinstance(head, _TextRun):
                self._last_kind = None
                return self._ready.popleft()
            now = self._loop.time()
            due = now if head.thought != self._last_kind else self._last_sent + self._window()
            if len(self._ready) > 1 or now >= due:
                self._ready.popleft()
                self._last_sent, self._last_kind = now, head.thought
                return _merged(head)
            await self._wakeup.wait(due)


def _all_text(response: LlmResponse) -> bool:
    """Whether `response` is a partial chunk of text only (answer, thought, or both)."""
    parts = parts_of(response)
    return bool(response.partial and parts) and all(
        part.text is not None and _only_text(part) for part in parts
    )


def _text_kind(response: LlmResponse) -> bool | None:
    """None if `response` is not a partial chunk of text of one kind; else whether it is thought."""
    if not _all_text(response):
        return None
    kinds = {bool(part.thought) for part in parts_of(response)}
    return kinds.pop() if len(kinds) == 1 else None


def _only_text(part: types.Part) -> bool:
    return (
        part.function_call is None
        and part.function_response is None
        and part.inline_data is None
        and part.file_data is None
        and part.executable_code is None
        and part.code_execution_result is None
    )


def _merged(run: _TextRun) -> LlmResponse:
    if len(run) == 1:
        return run[0]
    last = run[-1]
    text = "".join(p.text or "" for r in run for p in parts_of(r))
    part = types.Part(text=text, thought=True if run.thought else None)
    content = types.Content(role=last.content.role if last.content else "model", parts=[part])
    return last.model_copy(update={"content": content})


def install_coalescing(root: BaseNode) -> None:
    """Wraps the model of every LLM agent under `root` (once; string models resolved)."""
    for node in walk_nodes(root):
        if isinstance(node, LlmAgent) and not isinstance(node.model, CoalescingModel):
            tap = not node.after_model_callback
            node.model = CoalescingModel.wrap(node.canonical_model, tap=tap)


def unwrapped(model: BaseLlm | str) -> BaseLlm | str:
    """The model under a CoalescingModel (for code that asks what the model is)."""
    return model.inner if isinstance(model, CoalescingModel) else model
