"""Every private ADK API adkstream uses, in one place (checked against google-adk 2.13).

ADK keeps these underscored, so an upgrade may move or change them without notice. Each
is reached only through this module, and `tests/agents/test_adk_private.py` pins each
one with a message naming what to fix here when ADK changes:

- `BaseNode._iter_static_children()`: the sub-agents and workflow nodes below a node
  (ADK's agent tree walk; there is no public equivalent for workflow nodes).
- `BaseTool._get_declaration()`: the function declaration a tool sends to the model.
  ADK also *calls* it on tools: a tool of ours that declares itself overrides it
  (`agents/client_tools.py`).
- `SqliteSessionService._get_db_connection()`: the connection ADK's SQLite session
  service opens per operation; `runner/session_backends.py` overrides it to keep one.
- `StreamingMode`: defined in the private `google.adk.agents._streaming_mode`, and
  re-exported (untyped) by `google.adk.agents.run_config`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from google.adk.agents.run_config import StreamingMode  # type: ignore[attr-defined]

if TYPE_CHECKING:
    from google.adk.tools.base_tool import BaseTool
    from google.adk.workflow import BaseNode
    from google.genai import types

__all__ = [
    "SESSION_CONNECTION_METHOD",
    "TOOL_DECLARATION_METHOD",
    "StreamingMode",
    "static_children",
    "tool_declaration",
]

TOOL_DECLARATION_METHOD = "_get_declaration"
"""The method ADK calls on a tool for its declaration (a tool of ours overrides it)."""
SESSION_CONNECTION_METHOD = "_get_db_connection"
"""The method of ADK's SQLite session service that yields its connection."""


def static_children(node: BaseNode) -> Iterator[BaseNode]:
    """The nodes directly below `node`: sub-agents, a workflow's nodes."""
    return node._iter_static_children()


def tool_declaration(tool: BaseTool) -> types.FunctionDeclaration | None:
    """The function declaration `tool` sends to the model (None: it declares none)."""
    return tool._get_declaration()
