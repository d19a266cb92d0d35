"""The agents both servers of the differential test host, built fresh for each server
(adkstream wraps an agent's model in place, so two servers never share one object)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.workflow import START, BaseNode, Workflow
from google.genai import errors as genai_errors
from google.genai import types

from adkstream.agents.offline import OfflineModel
from adkstream.agents.offline_live import OfflineLiveModel

SECRET = "internal detail that must not reach a client"


def get_time(timezone: str) -> dict[str, str]:
    """The time in a timezone."""
    return {"timezone": timezone, "time": "noon"}


def _offline(words: int = 6) -> OfflineModel:
    return OfflineModel(tokens_per_s=0, reply_tokens=words)


class TransferModel(BaseLlm):
    """Hands the conversation to `helper` (ADK's `transfer_to_agent` tool), once."""

    model: str = "router"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        call = types.FunctionCall(name="transfer_to_agent", args={"agent_name": "helper"})
        yield LlmResponse(
            content=types.Content(role="model", parts=[types.Part(function_call=call)])
        )


class BrokenModel(BaseLlm):
    """Streams one word, then fails as a Gemini server error does."""

    model: str = "broken"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        part = types.Part(text="Partial")
        yield LlmResponse(content=types.Content(role="model", parts=[part]), partial=True)
        raise genai_errors.ServerError(500, {"error": {"message": SECRET, "status": "INTERNAL"}})


def text() -> BaseNode:
    return LlmAgent(name="text", model=_offline(), instruction="Answer.")


def tool() -> BaseNode:
    return LlmAgent(name="tool", model=_offline(), instruction="Answer.", tools=[get_time])


def state() -> BaseNode:
    return LlmAgent(name="state", model=_offline(), instruction="Answer.", output_key="answer")


def transfer() -> BaseNode:
    helper = LlmAgent(
        name="helper",
        model=_offline(),
        description="Helps.",
        disallow_transfer_to_parent=True,  # no transfer tool: the offline model would call it
        disallow_transfer_to_peers=True,
    )
    return LlmAgent(name="transfer", model=TransferModel(), sub_agents=[helper])


def workflow() -> BaseNode:
    first = LlmAgent(name="first", model=_offline(4), output_key="draft")
    second = LlmAgent(name="second", model=_offline(4), instruction="Improve {draft}.")
    return Workflow(name="workflow", edges=[(START, first, second)])


def error() -> BaseNode:
    return LlmAgent(name="error", model=BrokenModel(), instruction="Answer.")


def live() -> BaseNode:
    """An agent on a bidi model, for `/run_live` (ADK's server needs `connect()`)."""
    model = OfflineLiveModel(tokens_per_s=0, reply_tokens=6)
    return LlmAgent(name="live", model=model, instruction="Answer.", output_key="answer")


FACTORIES: dict[str, Callable[[], BaseNode]] = {
    "text": text,
    "tool": tool,
    "state": state,
    "transfer": transfer,
    "workflow": workflow,
    "error": error,
    "live": live,
}
