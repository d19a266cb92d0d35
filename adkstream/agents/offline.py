"""An offline streaming model: a `BaseLlm` that needs no network, for demos and tests.

It streams a deterministic answer word by word at `tokens_per_s` (0: no delay), then
yields the aggregated final response with usage metadata, as ADK requires of a custom
model (only the `Gemini` class aggregates for you: without the final `partial=False`
response nothing is persisted and `output_key` is never written). When the user's
message names one of the agent's tools, or asks to "use a tool", it calls that tool
first and then answers with the tool's result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.genai import types

from adkstream.adk_private import tool_declaration

_FILLER = [
    "adkstream",
    "streams",
    "each",
    "partial",
    "answer",
    "of",
    "an",
    "ADK",
    "agent",
    "to",
    "browsers,",
    "scripts",
    "and",
    "notebooks",
    "as",
    "typed",
    "events",
    "with",
    "ids",
    "so",
    "a",
    "dropped",
    "client",
    "resumes",
    "where",
    "it",
    "left",
    "off",
    "while",
    "the",
    "final",
    "text",
    "lands",
    "in",
    "session",
    "state",
    "through",
    "the",
    "agent's",
    "output",
    "key",
    "and",
    "nothing",
    "is",
    "left",
    "running",
    "when",
    "the",
    "client",
    "goes",
    "away",
]


class OfflineModel(BaseLlm):
    """A deterministic streaming model.

    Attributes:
        tokens_per_s: words streamed per second; 0 streams without delay.
        reply_tokens: words in an answer.
    """

    model: str = "offline"
    tokens_per_s: float = 40.0
    reply_tokens: int = 60

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        call = _tool_to_call(llm_request)
        if call is not None:
            part = types.Part(function_call=call)
            yield LlmResponse(
                content=types.Content(role="model", parts=[part]),
                usage_metadata=_usage(llm_request, 1),
            )
            return
        words = self.answer_words(llm_request)
        delay = 1.0 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0
        if stream:
            for index, word in enumerate(words):
                if delay:
                    await asyncio.sleep(delay)
                text = word if index == 0 else " " + word
                yield LlmResponse(
                    content=types.Content(role="model", parts=[types.Part(text=text)]),
                    partial=True,
                )
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(text=" ".join(words))]),
            partial=False,
            turn_complete=True,
            usage_metadata=_usage(llm_request, len(words)),
        )

    def answer_words(self, llm_request: LlmRequest) -> list[str]:
        """The answer: what was asked (or the tool's result), then filler, `reply_tokens` long."""
        head = _last_tool_result(llm_request)
        if head is None:
            prompt = " ".join(_last_user_text(llm_request).split()[:12])
            head = f"You said: {prompt}." if prompt else "Hello."
        words = head.split()
        index = 0
        while len(words) < self.reply_tokens:
            words.append(_FILLER[index % len(_FILLER)])
            index += 1
        return words[: max(self.reply_tokens, 1)]


def _last_user_text(request: LlmRequest) -> str:
    for content in reversed(request.contents):
        if content.role == "user" and content.parts:
            text = "".join(p.text or "" for p in content.parts)
            if text:
                return text
    return ""


def _last_tool_result(request: LlmRequest) -> str | None:
    if not request.contents:
        return None
    last = request.contents[-1]
    for part in last.parts or []:
        if part.function_response is not None:
            result = json.dumps(part.function_response.response, sort_keys=True)
            return f"The tool {part.function_response.name} returned {result}."
    return None


def _tool_to_call(request: LlmRequest) -> types.FunctionCall | None:
    """The tool call the user asked for, if the latest turn is a user text that asks."""
    if not request.contents or request.contents[-1].role != "user":
        return None
    if any(p.function_response for p in request.contents[-1].parts or []):
        return None
    text = _last_user_text(request).lower()
    names = list(request.tools_dict)
    for name in names:
        if name.lower() in text or name.replace("_", " ").lower() in text:
            return types.FunctionCall(name=name, args=_default_args(request, name))
    if names and ("use a tool" in text or "use the tool" in text):
        return types.FunctionCall(name=names[0], args=_default_args(request, names[0]))
    return None


def _default_args(request: LlmRequest, name: str) -> dict[str, Any]:
    """Arguments for the tool's required string parameters ("UTC" for a timezone)."""
    declaration = tool_declaration(request.tools_dict[name])
    if declaration is None:
        return {}
    if declaration.parameters is not None:
        required = list(declaration.parameters.required or [])
    else:
        schema = declaration.parameters_json_schema
        required = list(schema.get("required", [])) if isinstance(schema, dict) else []
    return {param: "UTC" if "zone" in param else "example" for param in required}


def _usage(request: LlmRequest, answer_tokens: int) -> types.GenerateContentResponseUsageMetadata:
    """Usage as Gemini reports it, counting words as tokens."""
    prompt = sum(len((p.text or "").split()) for c in request.contents for p in (c.parts or []))
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt,
        candidates_token_count=answer_tokens,
        total_token_count=prompt + answer_tokens,
    )
