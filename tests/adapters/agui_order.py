"""AG-UI's ordering rules, as its clients enforce them (`verifyEvents` in @ag-ui/client):
RUN_STARTED first; a START before any CONTENT / ARGS / END of the same id and not twice
while open (text messages, tool calls, reasoning spans and reasoning messages, each
kind apart); steps started once and finished once; nothing open at RUN_FINISHED;
exactly one terminal event (RUN_FINISHED or RUN_ERROR), last.

Also ours: a tool's RESULT after its END; and a step holds its agent's work: what an
agent starts (by its `metadata` author and branch) starts inside that agent's open step
and ends before that step finishes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ag_ui.core import (
    BaseEvent,
    ReasoningEndEvent,
    ReasoningMessageContentEvent,
    ReasoningMessageEndEvent,
    ReasoningMessageStartEvent,
    ReasoningStartEvent,
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

_Agent = tuple[str, str | None]


@dataclass
class _Open:
    """What is open, by kind: id -> the agent that opened it (None when unattributed)."""

    kinds: dict[str, dict[str, _Agent | None]] = field(default_factory=dict)

    def open(self, kind: str, key: str, agent: _Agent | None, where: str) -> None:
        active = self.kinds.setdefault(kind, {})
        assert key not in active, f"{where}: {kind} {key!r} is already open"
        active[key] = agent

    def has(self, kind: str, key: str) -> bool:
        return key in self.kinds.get(kind, {})

    def close(self, kind: str, key: str, where: str) -> None:
        assert self.has(kind, key), f"{where}: {kind} {key!r} is not open"
        del self.kinds[kind][key]

    def of(self, agent: _Agent) -> list[str]:
        return [
            f"{kind} {key}"
            for kind, keys in self.kinds.items()
            for key in keys
            if keys[key] == agent
        ]

    def all(self) -> list[str]:
        return sorted(f"{kind} {key}" for kind, keys in self.kinds.items() for key in keys)


def check_order(events: Sequence[BaseEvent]) -> None:
    """Raises AssertionError naming the first event that breaks a rule."""
    assert events, "no events"
    assert isinstance(events[0], RunStartedEvent), f"first event is {events[0].type}"
    terminal = [i for i, e in enumerate(events) if isinstance(e, RunFinishedEvent | RunErrorEvent)]
    assert terminal == [len(events) - 1], f"terminal events at {terminal} of {len(events)}"
    open_ = _Open()
    ended_tools: set[str] = set()
    steps: dict[_Agent, str] = {}  # the open steps of attributed agents
    for index, event in enumerate(events):
        where = f"event {index} ({event.type.value})"
        agent = _agent_of(event)
        if agent is not None and not isinstance(event, StepStartedEvent):
            assert agent in steps, f"{where}: outside the step of {agent}"
        match event:
            case TextMessageStartEvent():
                open_.open("text", event.message_id, agent, where)
            case TextMessageContentEvent():
                assert open_.has("text", event.message_id), where
            case TextMessageEndEvent():
                open_.close("text", event.message_id, where)
            case ToolCallStartEvent():
                open_.open("tool", event.tool_call_id, agent, where)
            case ToolCallArgsEvent():
                assert open_.has("tool", event.tool_call_id), where
            case ToolCallEndEvent():
                open_.close("tool", event.tool_call_id, where)
                ended_tools.add(event.tool_call_id)
            case ToolCallResultEvent():
                assert event.tool_call_id in ended_tools, where
            case ReasoningStartEvent():
                open_.open("reasoning span", event.message_id, agent, where)
            case ReasoningEndEvent():
                open_.close("reasoning span", event.message_id, where)
            case ReasoningMessageStartEvent():
                open_.open("reasoning", event.message_id, agent, where)
            case ReasoningMessageContentEvent():
                assert open_.has("reasoning", event.message_id), where
            case ReasoningMessageEndEvent():
                open_.close("reasoning", event.message_id, where)
            case StepStartedEvent():
                assert event.step_name not in steps.values(), f"{where}: {event.step_name!r} open"
                if agent is not None:
                    assert agent not in steps, f"{where}: {agent} already has a step"
                    steps[agent] = event.step_name
            case StepFinishedEvent():
                assert agent is not None and steps.get(agent) == event.step_name, where
                del steps[agent]
                assert not open_.of(agent), f"{where}: still open: {open_.of(agent)}"
            case RunFinishedEvent():
                still_open = open_.all() + sorted(steps.values())
                assert not still_open, f"{where}: still open: {still_open}"
            case _:
                pass


def _agent_of(event: BaseEvent) -> _Agent | None:
    metadata = event.metadata or {}
    if "author" not in metadata:
        return None
    return (metadata["author"], metadata.get("branch"))
