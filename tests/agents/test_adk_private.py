"""Pins every private ADK API adkstream uses (adkstream/adk_private.py): when an ADK
upgrade moves or changes one, a test here fails and says what to fix."""

from __future__ import annotations

import inspect

from google.adk.agents import LlmAgent
from google.adk.sessions.sqlite_session_service import SqliteSessionService
from google.adk.tools import FunctionTool
from google.adk.tools.base_tool import BaseTool

from adkstream import adk_private
from adkstream.agents.client_tools import ClientTool, ClientToolSpec
from adkstream.runner.session_backends import EmbeddedSqliteSessionService

FIX = "ADK changed a private API: update adkstream/adk_private.py"


def get_time(timezone: str) -> str:
    """The time in a timezone."""
    return f"noon in {timezone}"


def test_static_children_are_an_agents_sub_agents() -> None:
    first, second = LlmAgent(name="first"), LlmAgent(name="second")
    root = LlmAgent(name="root", sub_agents=[first, second])
    assert hasattr(root, "_iter_static_children"), f"{FIX}: BaseNode._iter_static_children"
    assert list(adk_private.static_children(root)) == [first, second], FIX


def test_tool_declaration_is_what_adk_sends_the_model() -> None:
    assert hasattr(BaseTool, adk_private.TOOL_DECLARATION_METHOD), (
        f"{FIX}: BaseTool.{adk_private.TOOL_DECLARATION_METHOD}"
    )
    declaration = adk_private.tool_declaration(FunctionTool(get_time))
    assert declaration is not None, FIX
    assert declaration.name == "get_time", FIX
    assert declaration.parameters_json_schema or declaration.parameters, FIX


def test_a_client_tool_overrides_the_method_adk_calls() -> None:
    spec = ClientToolSpec(name="pick_color", description="Ask the user", parameters={})
    declaration = adk_private.tool_declaration(ClientTool(spec))
    assert declaration is not None
    assert declaration.name == "pick_color", f"{FIX}: ClientTool must override the method"


def test_the_session_service_overrides_adks_connection_method() -> None:
    name = adk_private.SESSION_CONNECTION_METHOD
    original = getattr(SqliteSessionService, name, None)
    assert original is not None, f"{FIX}: SqliteSessionService.{name} is gone"
    assert list(inspect.signature(original).parameters) == ["self"], (
        f"{FIX}: SqliteSessionService.{name} takes other arguments now"
    )
    assert getattr(EmbeddedSqliteSessionService, name) is not original


def test_streaming_mode_has_the_modes_runs_use() -> None:
    assert {mode.name for mode in adk_private.StreamingMode} >= {"NONE", "SSE", "BIDI"}, FIX


def test_event_json_is_what_adks_rest_api_sends() -> None:
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions
    from google.genai import types as genai_types

    event = Event(
        author="a",
        invocation_id="i1",
        content=genai_types.Content(role="model", parts=[genai_types.Part(text="hi")]),
        actions=EventActions(state_delta={"k": 1}),
        custom_metadata={"__adk_internal_restored_event": True, "mine": 1},
    )
    dumped = adk_private.event_json(event)
    assert dumped["invocationId"] == "i1", f"{FIX}: event_json (camelCase aliases)"
    assert dumped["actions"]["stateDelta"] == {"k": 1}, FIX
    assert "errorCode" not in dumped, f"{FIX}: event_json (None fields dropped)"
    assert dumped["customMetadata"] == {"mine": 1}, f"{FIX}: event_json (ADK-internal keys)"


async def test_session_json_is_what_adks_rest_api_sends() -> None:
    from google.adk.sessions import InMemorySessionService

    service = InMemorySessionService()
    session = await service.create_session(app_name="app", user_id="u", state={"k": 1})
    dumped = adk_private.session_json(session)
    assert (dumped["appName"], dumped["userId"], dumped["state"]) == ("app", "u", {"k": 1}), FIX


def test_the_web_ui_trace_helpers_take_spans_and_logs() -> None:
    """`ui_telemetry_from_otel(spans, logs)` gives the dev UI's span models (`name`,
    `span_id`, `parent_span_id`, `logs`, ...); `WebUiLogExporter` keeps exported logs."""
    params = list(inspect.signature(adk_private.ui_telemetry_from_otel).parameters)
    assert params == ["spans", "logs"], f"{FIX}: google.adk.telemetry._web_ui"
    assert adk_private.ui_telemetry_from_otel([], []) == [], FIX
    exporter = adk_private.WebUiLogExporter()
    assert exporter.get_finished_logs() == (), f"{FIX}: WebUiLogExporter.get_finished_logs"
    assert hasattr(exporter, "export"), FIX
