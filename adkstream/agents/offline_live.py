"""An offline live (bidi) model: `OfflineModel` plus a `connect()` that needs no network.

The connection answers each user turn the way Gemini Live's connection reports one
(`google/adk/models/gemini_llm_connection.py`): partial text chunks, then the whole text
as one `partial=False` response, then a content-less `turn_complete` response, and
`receive()` returns after each turn (ADK calls it again for the next one). Realtime
input is answered with what arrived: "Received N bytes of <mime>." right away for a
blob sent outside an activity, at `activity_end` for blobs sent inside one (and so is
content made only of inline data). A new
activity or content while a turn is streaming interrupts it (the text so far comes as
one `partial=False` response with `interrupted=True`, as Gemini's does).

With `response_modalities=["AUDIO"]` each word also comes as a chunk of silent 16-bit
PCM (`inline_data`) and the text as output transcription instead of content.

Deliberate divergence from a real connection: an exception inside `send_*` is not
raised (ADK's send task would die silently and `run_live` hang, docs/ADK_NOTES.md "Live");
it is raised from `receive()` instead, so the run fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, field

from google.adk.models.base_llm_connection import BaseLlmConnection, RealtimeInput
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from adkstream.agents.offline import OfflineModel

AUDIO_MIME = "audio/pcm;rate=24000"
AUDIO_BYTES_PER_WORD = 960
"""20 ms of silent 16-bit mono PCM at 24 kHz per word, in AUDIO mode."""


class OfflineLiveModel(OfflineModel):
    """`OfflineModel` that can also hold a live connection (`Runner.run_live`).

    Attributes:
        tokens_per_s: words streamed per second; 0 streams without delay.
        reply_tokens: words in an answer to a text turn.
    """

    model: str = "offline-live"

    @contextlib.asynccontextmanager
    async def connect(self, llm_request: LlmRequest) -> AsyncIterator[BaseLlmConnection]:
        """A fake live connection; closed when the block ends."""
        modalities = llm_request.live_connect_config.response_modalities or []
        audio = any(str(m).upper().endswith("AUDIO") for m in modalities)
        connection = OfflineLiveConnection(self, audio=audio)
        try:
            yield connection
        finally:
            await connection.close()


@dataclass
class _Turn:
    words: list[str]
    prompt_tokens: int


@dataclass
class _Inputs:
    """Realtime input gathered inside one activity: bytes per mime type, in arrival order."""

    sizes: dict[str, int] = field(default_factory=dict)

    def add(self, blob: types.Blob) -> None:
        mime = blob.mime_type or "application/octet-stream"
        self.sizes[mime] = self.sizes.get(mime, 0) + len(blob.data or b"")

    def describe(self) -> str:
        if not self.sizes:
            return "Received nothing."
        pieces = [f"{size} bytes of {mime}" for mime, size in self.sizes.items()]
        return f"Received {' and '.join(pieces)}."


_Item = _Turn | BaseException | None


class OfflineLiveConnection(BaseLlmConnection):
    """The fake connection of `OfflineLiveModel.connect` (see the module docstring)."""

    def __init__(self, model: OfflineLiveModel, *, audio: bool = False) -> None:
        self._model = model
        self._audio = audio
        self._items: asyncio.Queue[_Item] = asyncio.Queue()
        self._closed = False
        self._speaking = False
        self._wake = asyncio.Event()
        self._interrupted = False
        self._activity: _Inputs | None = None
        self.realtime_bytes = 0
        """Bytes of realtime blobs received so far (for tests and demos)."""

    # --- input (ADK's send task) ---

    async def send_history(self, history: list[types.Content]) -> None:
        # Gemini answers when the history ends with the user's turn; so does this.
        with self._guard():
            if history and history[-1].role == "user":
                self._answer_text(history[-1])

    async def send_content(self, content: types.Content) -> None:
        with self._guard():
            if content.parts and all(p.function_response for p in content.parts):
                return  # tool results: this model calls no tools
            self._interrupt()
            self._answer_text(content)

    async def send_realtime(self, blob: RealtimeInput) -> None:
        with self._guard():
            if isinstance(blob, types.ActivityStart):
                self._interrupt()
                self._activity = _Inputs()
            elif isinstance(blob, types.ActivityEnd):
                inputs, self._activity = self._activity or _Inputs(), None
                self._answer(inputs.describe(), prompt_tokens=0)
            elif isinstance(blob, types.Blob):
                self.realtime_bytes += len(blob.data or b"")
                if self._activity is not None:
                    self._activity.add(blob)
                else:
                    single = _Inputs()
                    single.add(blob)
                    self._answer(single.describe(), prompt_tokens=0)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wake.set()
            self._items.put_nowait(None)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            self._items.put_nowait(exc)

    def _answer_text(self, content: types.Content) -> None:
        parts = content.parts or []
        inline = [p.inline_data for p in parts if p.inline_data is not None]
        if inline and not any(p.text for p in parts):
            described = _Inputs()
            for blob in inline:
                described.add(blob)
            self._answer(described.describe(), prompt_tokens=0)
            return
        text = "".join(p.text or "" for p in parts)
        request = LlmRequest(contents=[types.Content(role="user", parts=[types.Part(text=text)])])
        words = self._model.answer_words(request)
        self._items.put_nowait(_Turn(words=words, prompt_tokens=len(text.split())))

    def _answer(self, text: str, *, prompt_tokens: int) -> None:
        self._items.put_nowait(_Turn(words=text.split(), prompt_tokens=prompt_tokens))

    def _interrupt(self) -> None:
        if self._speaking:
            self._interrupted = True
            self._wake.set()

    # --- output (ADK's receive loop) ---

    async def receive(self) -> AsyncGenerator[LlmResponse, None]:
        if self._closed and self._items.empty():
            return
        item = await self._items.get()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        async for response in self._speak(item):
            yield response

    async def _speak(self, turn: _Turn) -> AsyncGenerator[LlmResponse, None]:
        delay = 1.0 / self._model.tokens_per_s if self._model.tokens_per_s > 0 else 0.0
        said: list[str] = []
        self._speaking, self._interrupted = True, False
        self._wake.clear()
        try:
            for index, word in enumerate(turn.words):
                if delay and await self._paused(delay):
                    break
                if self._closed or self._interrupted:
                    break
                chunk = word if index == 0 else " " + word
                said.append(chunk)
                for response in self._chunk(chunk):
                    yield response
        finally:
            self._speaking = False
        if self._closed:
            return
        for response in self._ending("".join(said), turn):
            yield response

    async def _paused(self, delay: float) -> bool:
        """Waits `delay`; True when woken early (closed or interrupted)."""
        try:
            async with asyncio.timeout(delay):
                await self._wake.wait()
        except TimeoutError:
            return False
        return True

    def _chunk(self, text: str) -> list[LlmResponse]:
        if not self._audio:
            part = types.Part(text=text)
            return [LlmResponse(content=types.Content(role="model", parts=[part]), partial=True)]
        silence = types.Blob(mime_type=AUDIO_MIME, data=bytes(AUDIO_BYTES_PER_WORD))
        return [
            LlmResponse(
                content=types.Content(role="model", parts=[types.Part(inline_data=silence)])
            ),
            LlmResponse(
                output_transcription=types.Transcription(text=text, finished=False), partial=True
            ),
        ]

    def _ending(self, text: str, turn: _Turn) -> list[LlmResponse]:
        interrupted = True if self._interrupted else None
        usage = types.GenerateContentResponseUsageMetadata(
            prompt_token_count=turn.prompt_tokens,
            candidates_token_count=len(text.split()),
            total_token_count=turn.prompt_tokens + len(text.split()),
        )
        if self._audio:
            whole = LlmResponse(
                output_transcription=types.Transcription(text=text, finished=True), partial=False
            )
        else:
            part = types.Part(text=text)
            whole = LlmResponse(
                content=types.Content(role="model", parts=[part]),
                partial=False,
                interrupted=interrupted,
            )
        responses = [whole] if text else []
        responses.append(LlmResponse(usage_metadata=usage))
        if interrupted:
            if self._audio or not text:
                responses.append(LlmResponse(interrupted=True))
        else:
            responses.append(LlmResponse(turn_complete=True))
        return responses
