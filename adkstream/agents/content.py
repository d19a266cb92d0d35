"""What a model response holds (an ADK `Event` is one too): its parts, its visible text."""

from __future__ import annotations

from google.adk.models.llm_response import LlmResponse
from google.genai import types


def parts_of(response: LlmResponse) -> list[types.Part]:
    content = response.content
    return content.parts or [] if content is not None else []


def visible_text(response: LlmResponse) -> str:
    """The text a person reads: text parts, thoughts left out."""
    return "".join(p.text for p in parts_of(response) if p.text and not p.thought)
