"""An agent whose tools save and read an artifact, for artifact tests in a served process.

`adkstream serve tests.api.artifact_agent:root_agent` hosts it as `notes`; its offline
model calls `save_note` when a message names it ("save_note please") and `read_note`
likewise, then answers with the tool's result.
"""

from __future__ import annotations

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from adkstream.agents.offline import OfflineModel

NOTE_NAME = "note.txt"


async def save_note(text: str, tool_context: ToolContext) -> dict[str, object]:
    """Saves `text` as the session's note (a new version of the artifact `note.txt`).

    Args:
        text: what to write down.
    """
    version = await tool_context.save_artifact(NOTE_NAME, types.Part(text=text))
    return {"saved": NOTE_NAME, "version": version}


async def read_note(tool_context: ToolContext) -> dict[str, object]:
    """Reads the session's note back (the latest version of `note.txt`)."""
    part = await tool_context.load_artifact(NOTE_NAME)
    return {"note": None if part is None else part.text}


def build_notes(model: BaseLlm | str) -> LlmAgent:
    return LlmAgent(
        name="notes",
        model=model,
        instruction="Save and read notes with your tools.",
        tools=[save_note, read_note],
    )


root_agent = build_notes(OfflineModel(tokens_per_s=0, reply_tokens=8))
