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


def thought_text(response: LlmResponse) -> str:
    """The model's thinking: the text of its thought parts."""
    return "".join(p.text for p in parts_of(response) if p.text and p.thought)


def text_pieces(response: LlmResponse) -> list[tuple[str, bool]]:
    """The response's text parts as (text, is_thought), adjacent parts of a kind joined."""
    pieces: list[tuple[str, bool]] = []
    for part in parts_of(response):
        if not part.text:
            continue
        thought = bool(part.thought)
        if pieces and pieces[-1][1] == thought:
            pieces[-1] = (pieces[-1][0] + part.text, thought)
        else:
            pieces.append((part.text, thought))
    return pieces
