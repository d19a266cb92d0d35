"""The benchmark's models: which fake model a server runs, and the 4-character chunk model.

Issue 3 measures adkstream's own offline model (one word per chunk); issue 9 measures
every server with a model that streams 4-character chunks through the real ADK `Runner`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncGenerator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from adkstream.agents.builtin import build_assistant
from adkstream.agents.offline import OfflineModel

CHUNK_TEXT = "abc "  # 4 characters; ADK concatenates the chunks into the final text
YIELD_LOG = "yields.jsonl"  # in the server's data directory
GATE_FILE = "go"  # in the server's data directory: with `gate`, chunks wait for it
GATE_TIMEOUT_S = 120.0  # a gated model waits at most this long, then streams anyway
GATE_POLL_S = 0.01
CHUNKS_ASKED = re.compile(r"^chunks=(\d+) ")
"""A message that starts `chunks=N ` gets N chunks (the soak scenario's short runs and
long streams share one server)."""


@dataclass(frozen=True)
class ModelSpec:
    """What every server in one measurement streams.

    Attributes:
        kind: `offline` (adkstream's word model), `chunks` (4-character chunks) or
            `thinking` (the same chunks, the first half of them thought parts), or
            `gemini` (ADK's `Gemini` class over HTTP, `gemini_url`).
        chunks: model chunks per answer.
        interval_ms: pause before each chunk; 0 streams at full speed.
        record_yields: the chunk model (and the floor) log when each chunk was yielded.
        gate: the chunk model waits (bounded) for `GATE_FILE` in the server's data
            directory before its first chunk, so that a scenario can attach subscribers
            to a run before it writes (adkstream servers only).
    """

    kind: Literal["offline", "chunks", "thinking", "gemini"] = "chunks"
    chunks: int = 2000
    interval_ms: float = 0.0
    record_yields: bool = False
    gate: bool = False
    gemini_url: str | None = None
    """`gemini`: ADK's real `Gemini` class against the fake Gemini API (`bench.gemini`) here."""

    def args(self) -> list[str]:
        """The `bench.servers` flags that reproduce this spec in another process."""
        return [
            "--model",
            self.kind,
            "--chunks",
            str(self.chunks),
            "--interval-ms",
            str(self.interval_ms),
            *(["--record-yields"] if self.record_yields else []),
            *(["--gate"] if self.gate else []),
            *(["--gemini-url", self.gemini_url] if self.gemini_url else []),
        ]

    def describe(self) -> dict[str, object]:
        return asdict(self)


def log_yields(path: Path, times: list[float]) -> None:
    """Appends one answer's chunk times (unix seconds) as a JSON line; read by `bench.lag`."""
    with path.open("a") as file:
        file.write(json.dumps(times) + "\n")


class ChunkModel(BaseLlm):
    """Streams `chunks` partial responses of 4 characters (or as many as the message asks
    for, `CHUNKS_ASKED`), then the aggregated final one.

    Like `OfflineModel`, it yields the final `partial=False` response itself: only ADK's
    `Gemini` class aggregates, and without it nothing is persisted. The partial responses
    of one answer share one `Content`, which nothing downstream mutates: building a
    validated `Part` costs about 6 µs, `LlmResponse` and `Content` about 9 µs more, which
    would make the fake model, not the server it feeds, most of what a load scenario
    measures. With `yield_log` set, it logs the time of each chunk's yield there. With
    `gate_file` set, it waits until that file exists (at most `GATE_TIMEOUT_S`) before
    its first chunk.
    """

    model: str = "bench-chunks"
    chunks: int = 2000
    thinking: bool = False
    """The first half of the chunks are thought parts (a model thinking aloud)."""
    interval_ms: float = 0.0
    yield_log: Path | None = None
    gate_file: Path | None = None

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        delay = self.interval_ms / 1000
        times: list[float] = []
        if self.gate_file is not None:
            # Another process opens the gate (a file): polled, at most GATE_TIMEOUT_S.
            for _ in range(int(GATE_TIMEOUT_S / GATE_POLL_S)):
                if self.gate_file.exists():
                    break
                await asyncio.sleep(GATE_POLL_S)
        chunks = chunks_asked(llm_request, self.chunks)
        thoughts = chunks // 2 if self.thinking else 0
        if stream:
            chunk = types.Content(role="model", parts=[types.Part(text=CHUNK_TEXT)])
            thought = types.Content(role="model", parts=[types.Part(text=CHUNK_TEXT, thought=True)])
            for index in range(chunks):
                if delay:
                    await asyncio.sleep(delay)
                if self.yield_log is not None:
                    times.append(time.time())
                yield LlmResponse(content=thought if index < thoughts else chunk, partial=True)
        if self.yield_log is not None:
            log_yields(self.yield_log, times)
        parts = [types.Part(text=CHUNK_TEXT * (chunks - thoughts))]
        if thoughts:
            parts.insert(0, types.Part(text=CHUNK_TEXT * thoughts, thought=True))
        yield LlmResponse(
            content=types.Content(role="model", parts=parts),
            partial=False,
            turn_complete=True,
            usage_metadata=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=1,
                candidates_token_count=chunks,
                total_token_count=chunks + 1,
            ),
        )


def chunks_asked(llm_request: LlmRequest, default: int) -> int:
    """The chunk count the request's last user message asks for, else `default`."""
    for content in reversed(llm_request.contents or []):
        if content.role == "user":
            text = "".join(part.text or "" for part in content.parts or [])
            match = CHUNKS_ASKED.match(text)
            return int(match[1]) if match else default
    return default


def build_model(
    spec: ModelSpec, yield_log: Path | None = None, gate_file: Path | None = None
) -> BaseLlm:
    """The model `spec` names; the chunk model logs its yields to `yield_log` if asked,
    and with `spec.gate` waits for `gate_file`."""
    if spec.kind == "offline":
        tokens_per_s = 1000 / spec.interval_ms if spec.interval_ms else 0.0
        return OfflineModel(tokens_per_s=tokens_per_s, reply_tokens=spec.chunks)
    if spec.kind == "gemini":
        from google.adk.models.google_llm import Gemini

        # Any key will do for the fake; given here, as the servers run without GOOGLE_API_*.
        return Gemini(
            model="gemini-2.5-flash", base_url=spec.gemini_url, client_kwargs={"api_key": "bench"}
        )
    log = yield_log if spec.record_yields else None
    gate = gate_file if spec.gate else None
    return ChunkModel(
        chunks=spec.chunks,
        thinking=spec.kind == "thinking",
        interval_ms=spec.interval_ms,
        yield_log=log,
        gate_file=gate,
    )


def build_agent(
    spec: ModelSpec, yield_log: Path | None = None, gate_file: Path | None = None
) -> LlmAgent:
    """adkstream's `assistant` agent on the spec's model: every server runs this agent."""
    return build_assistant(build_model(spec, yield_log, gate_file))
