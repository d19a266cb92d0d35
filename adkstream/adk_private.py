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
- `public_event`, `public_session` (`google.adk.events._internal_metadata`) and
  `_redact_credential_secrets` (`google.adk.auth.auth_credential`): how ADK's REST API
  shows an event or a session to a client (ADK-internal metadata dropped, credential
  secrets stripped); `event_json` and `session_json` do the same for ours.
- `WebUiLogExporter` and `ui_telemetry_from_otel` (`google.adk.telemetry._web_ui`): the
  model calls' log records `adk web` keeps, and the spans and logs in the shape its dev
  UI's trace view reads (`runner/traces.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from google.adk.agents.run_config import StreamingMode  # type: ignore[attr-defined]
from google.adk.auth.auth_credential import _redact_credential_secrets
from google.adk.events._internal_metadata import public_event, public_session
from google.adk.telemetry._web_ui import WebUiLogExporter, ui_telemetry_from_otel

if TYPE_CHECKING:
    from google.adk.events.event import Event
    from google.adk.sessions.session import Session
    from google.adk.tools.base_tool import BaseTool
    from google.adk.workflow import BaseNode
    from google.genai import types

__all__ = [
    "SESSION_CONNECTION_METHOD",
    "TOOL_DECLARATION_METHOD",
    "StreamingMode",
    "WebUiLogExporter",
    "event_json",
    "session_json",
    "static_children",
    "tool_declaration",
    "ui_telemetry_from_otel",
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


def event_json(event: Event) -> dict[str, Any]:
    """`event` as ADK's `/run` and `/run_sse` send it: camelCase JSON without None fields,
    ADK-internal metadata dropped and credential secrets stripped."""
    dumped = public_event(event).model_dump(exclude_none=True, by_alias=True, mode="json")
    redacted: dict[str, Any] = _redact_credential_secrets(dumped)
    return redacted


def session_json(session: Session) -> dict[str, Any]:
    """`session` as ADK's session routes answer it (the same treatment as `event_json`)."""
    dumped = public_session(session).model_dump(exclude_none=True, by_alias=True, mode="json")
    redacted: dict[str, Any] = _redact_credential_secrets(dumped)
    return redacted
