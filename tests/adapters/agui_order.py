"""AG-UI's ordering rules, as its clients enforce them (`verifyEvents` in @ag-ui/client):
RUN_STARTED first; a START before any CONTENT / ARGS / END of the same id and not twice
while open; steps started once and finished once; nothing open at RUN_FINISHED; exactly
one terminal event (RUN_FINISHED or RUN_ERROR), last. Also: a tool's RESULT after its END."""

from __future__ import annotations

from collections.abc import Sequence

from ag_ui.core import (
    BaseEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)


def check_order(events: Sequence[BaseEvent]) -> None:
    """Raises AssertionError naming the first event that breaks a rule."""
    assert events, "no events"
    assert isinstance(events[0], RunStartedEvent), f"first event is {events[0].type}"
    terminal = [i for i, e in enumerate(events) if isinstance(e, RunFinishedEvent | RunErrorEvent)]
    assert terminal == [len(events) - 1], f"terminal events at {terminal} of {len(events)}"
    messages: set[str] = set()
    tools: set[str] = set()
    ended_tools: set[str] = set()
    steps: set[str] = set()
    for index, event in enumerate(events):
        where = f"event {index} ({event.type.value})"
        match event:
            case TextMessageStartEvent():
                _open(messages, event.message_id, where)
            case TextMessageContentEvent():
                assert event.message_id in messages, where
            case TextMessageEndEvent():
                _close(messages, event.message_id, where)
            case ToolCallStartEvent():
                _open(tools, event.tool_call_id, where)
            case ToolCallArgsEvent():
                assert event.tool_call_id in tools, where
            case ToolCallEndEvent():
                _close(tools, event.tool_call_id, where)
                ended_tools.add(event.tool_call_id)
            case ToolCallResultEvent():
                assert event.tool_call_id in ended_tools, where
            case StepStartedEvent():
                _open(steps, event.step_name, where)
            case StepFinishedEvent():
                _close(steps, event.step_name, where)
            case RunFinishedEvent():
                still_open = messages | tools | steps
                assert not still_open, f"{where}: still open: {sorted(still_open)}"
            case _:
                pass


def _open(active: set[str], key: str, where: str) -> None:
    assert key not in active, f"{where}: {key!r} is already open"
    active.add(key)


def _close(active: set[str], key: str, where: str) -> None:
    assert key in active, f"{where}: {key!r} is not open"
    active.remove(key)
