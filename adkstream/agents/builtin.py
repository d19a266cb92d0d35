"""The agents the server hosts by default: `assistant`, `pipeline` and `fanout`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.workflow import START, JoinNode, Workflow


def get_current_time(timezone: str) -> dict[str, str]:
    """Returns the current time in an IANA timezone such as "Europe/Paris" or "UTC".

    Args:
        timezone: the IANA name of the timezone.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return {"error": f"unknown timezone {timezone!r}"}
    return {"timezone": timezone, "time": dt.datetime.now(zone).isoformat(timespec="seconds")}


def build_assistant(model: BaseLlm | str) -> LlmAgent:
    """A helpful assistant with one tool; its final answer lands in `state["last_answer"]`."""
    return LlmAgent(
        name="assistant",
        description="A helpful assistant that can tell the time.",
        model=model,
        instruction="You are a helpful, concise assistant. Use get_current_time for the time.",
        tools=[get_current_time],
        output_key="last_answer",
    )


def build_pipeline(model: BaseLlm | str) -> Workflow:
    """Two agents chained through state: `writer` drafts, `editor` reads the draft."""
    writer = LlmAgent(
        name="writer",
        model=model,
        instruction="Write a short first draft answering the user's request.",
        output_key="draft",
    )
    editor = LlmAgent(
        name="editor",
        model=model,
        instruction="Improve this draft and return only the improved text: {draft}",
        output_key="final",
    )
    return Workflow(
        name="pipeline",
        description="A writer drafts, an editor improves the draft (output_key chaining).",
        edges=[(START, writer, editor)],
    )


def build_fanout(model: BaseLlm | str) -> Workflow:
    """Two agents answer in parallel; a join collects both answers."""
    optimist = LlmAgent(
        name="optimist",
        model=model,
        instruction="Give the most hopeful short take on the user's request.",
        output_key="optimist_take",
    )
    skeptic = LlmAgent(
        name="skeptic",
        model=model,
        instruction="Give the most critical short take on the user's request.",
        output_key="skeptic_take",
    )
    join = JoinNode(name="join")
    return Workflow(
        name="fanout",
        description="Two takes in parallel, joined (a fan-out with a JoinNode).",
        edges=[(START, optimist, join), (START, skeptic, join)],
    )
