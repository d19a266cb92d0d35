"""The benchmark's models: which fake model a server runs, and the 4-character chunk model.

Issue 3 measures adkstream's own offline model (one word per chunk); issue 9 measures
every server with a model that streams 4-character chunks through the real ADK `Runner`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass
from typing import Literal

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from adkstream.agents import OfflineModel, build_assistant

CHUNK_TEXT = "abc "  # 4 characters; ADK concatenates the chunks into the final text


@dataclass(frozen=True)
class ModelSpec:
    """What every server in one measurement streams.

    Attributes:
        kind: `offline` (adkstream's word model) or `chunks` (4-character chunks).
        chunks: model chunks per answer.
        interval_ms: pause before each chunk; 0 streams at full speed.
    """

    kind: Literal["offline", "chunks"] = "chunks"
    chunks: int = 2000
    interval_ms: float = 0.0

    def args(self) -> list[str]:
        """The `bench.servers` flags that reproduce this spec in another process."""
        return [
            "--model",
            self.kind,
            "--chunks",
            str(self.chunks),
            "--interval-ms",
            str(self.interval_ms),
        ]

    def describe(self) -> dict[str, object]:
        return asdict(self)


class ChunkModel(BaseLlm):
    """Streams `chunks` partial responses of 4 characters, then the aggregated final one.

    Like `OfflineModel`, it yields the final `partial=False` response itself: only ADK's
    `Gemini` class aggregates, and without it nothing is persisted.
    """

    model: str = "bench-chunks"
    chunks: int = 2000
    interval_ms: float = 0.0

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        delay = self.interval_ms / 1000
        if stream:
            for _ in range(self.chunks):
                if delay:
                    await asyncio.sleep(delay)
                yield LlmResponse(
                    content=types.Content(role="model", parts=[types.Part(text=CHUNK_TEXT)]),
                    partial=True,
                )
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text=CHUNK_TEXT * self.chunks)]),
            partial=False,
            turn_complete=True,
            usage_metadata=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=1,
                candidates_token_count=self.chunks,
                total_token_count=self.chunks + 1,
            ),
        )


def build_model(spec: ModelSpec) -> BaseLlm:
    """The model `spec` names."""
    if spec.kind == "offline":
        tokens_per_s = 1000 / spec.interval_ms if spec.interval_ms else 0.0
        return OfflineModel(tokens_per_s=tokens_per_s, reply_tokens=spec.chunks)
    return ChunkModel(chunks=spec.chunks, interval_ms=spec.interval_ms)


def build_agent(spec: ModelSpec) -> LlmAgent:
    """adkstream's `assistant` agent on the spec's model: every server runs this agent."""
    return build_assistant(build_model(spec))
