"""Client-side tools: tools a run declares that the client, not the server, executes.

A run may declare tools (name, description, JSON Schema of the arguments): the model
sees them beside the agent's own, and when it calls one, ADK treats the call as a
long-running tool that returns nothing, which pauses the run (`input.requested` with
kind `client_tool`); the client's result answers it and the invocation continues.
Every LLM agent of a hosted tree gets one `ClientToolset`; it reads the running run's
declarations from `CLIENT_TOOLS`, which the run sets before it starts ADK (ADK's
tasks inherit it), and gives no tools to a run that declared none.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from google.adk.agents.llm_agent import LlmAgent
from google.adk.agents.readonly_context import ReadonlyContext
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.base_toolset import BaseToolset
from google.adk.tools.tool_context import ToolContext
from google.adk.workflow import BaseNode
from google.genai import types

from adkstream.agents.registry import walk_nodes


@dataclass(frozen=True)
class ClientToolSpec:
    """A tool the client runs: its name, what it does, and its arguments' JSON Schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


CLIENT_TOOLS: ContextVar[tuple[ClientToolSpec, ...]] = ContextVar(
    "adkstream_client_tools", default=()
)
"""The running run's client tools; set by the run before it starts ADK."""


class ClientTool(BaseTool):
    """A declared client tool: long-running, it returns nothing, so its call pauses the run."""

    def __init__(self, spec: ClientToolSpec) -> None:
        super().__init__(name=spec.name, description=spec.description, is_long_running=True)
        self.spec = spec

    def _get_declaration(self) -> types.FunctionDeclaration:
        return types.FunctionDeclaration(
            name=self.spec.name,
            description=self.spec.description,
            parameters_json_schema=self.spec.parameters,
        )

    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        return None  # the client answers


class ClientToolset(BaseToolset):
    """The running run's client tools (none unless it declared some)."""

    async def get_tools(self, readonly_context: ReadonlyContext | None = None) -> list[BaseTool]:
        return [ClientTool(spec) for spec in CLIENT_TOOLS.get()]


def install_client_tools(root: BaseNode) -> None:
    """Gives every LLM agent under `root` the client toolset (once)."""
    for node in walk_nodes(root):
        if isinstance(node, LlmAgent) and not any(
            isinstance(tool, ClientToolset) for tool in node.tools
        ):
            node.tools.append(ClientToolset())
