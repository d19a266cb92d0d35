"""What a run looks like so far: stream events folded into sections, one per agent at work.

`RunView` is a pure core (httpx-sse's `SSEDecoder` is the model): fed one event at a
time, it keeps the text of each message as it grows, the tool calls with their results,
the state changes and how the run ended. The renderers in `render.py` draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    AgentTransfer,
    ErrorInfo,
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunStarted,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    TurnCompleted,
    Usage,
)

__all__ = ["AgentOutput", "Item", "Message", "RunView", "Section", "Tool", "Transfer"]


@dataclass
class Message:
    """A message's text: the deltas so far, then the completed text."""

    message_id: str
    text: str = ""
    completed: bool = False
    output_key: str | None = None


@dataclass
class Tool:
    """A tool call and, once it came, its result."""

    call_id: str
    name: str
    args: dict[str, Any]
    result: Any = None
    done: bool = False


@dataclass
class Transfer:
    to_agent: str


@dataclass
class AgentOutput:
    """A workflow's output (`agent.completed` with an `output`)."""

    value: Any


Item: TypeAlias = Message | Tool | Transfer | AgentOutput


@dataclass
class Section:
    """What one agent did, in order, under its name."""

    author: str
    branch: str | None = None
    items: list[Item] = field(default_factory=list)
    completed: bool = False


class RunView:
    """A run as it has streamed so far; `add` each event in seq order."""

    def __init__(self, *, run_id: str | None = None, session_id: str | None = None) -> None:
        self.run_id = run_id
        self.session_id = session_id
        self.agent: str | None = None
        self.status = "running"
        self.final_text = ""
        self.usage: Usage | None = None
        self.error: ErrorInfo | None = None
        self.cancel_reason: str | None = None
        self.state: dict[str, Any] = {}
        self.state_is_final = False
        self.sections: list[Section] = []
        self.last_seq = 0
        self._messages: dict[str, Message] = {}
        self._tools: dict[str, Tool] = {}

    @property
    def ended(self) -> bool:
        return self.status != "running"

    @property
    def outputs(self) -> dict[str, str]:
        """Each agent's last completed message text, by author."""
        found: dict[str, str] = {}
        for section in self.sections:
            for item in section.items:
                if isinstance(item, Message) and item.completed:
                    found[section.author] = item.text
        return found

    def set_final_state(self, state: dict[str, Any]) -> None:
        """The session's state after the run (it replaces what the deltas said)."""
        self.state = dict(state)
        self.state_is_final = True

    def add(self, event: StreamEvent) -> None:
        self.last_seq = max(self.last_seq, event.seq)
        self.run_id = self.run_id or event.run_id
        if isinstance(event, RunStarted):
            self.session_id = event.session_id
            self.agent = event.agent
        elif isinstance(event, MessageDelta):
            self._message(event.author, event.branch, event.message_id).text += event.text
        elif isinstance(event, MessageCompleted):
            message = self._message(event.author, event.branch, event.message_id)
            message.text, message.completed = event.text, True
            message.output_key = event.output_key
        elif isinstance(event, TurnCompleted) and event.message_id is not None:
            self._message(event.author, event.branch, event.message_id).completed = True
        elif isinstance(event, ToolCall | ToolResult):
            self._tool(event)
        elif isinstance(event, StateDelta):
            self.state.update(event.delta)
        elif isinstance(event, AgentStarted):
            self._section(event.author, event.branch)
        elif isinstance(event, AgentCompleted):
            self._agent_completed(event)
        elif isinstance(event, AgentTransfer):
            self._section(event.from_agent, None).items.append(Transfer(event.to_agent))
        else:
            self._terminal(event)

    def _terminal(self, event: StreamEvent) -> None:
        if isinstance(event, RunCompleted):
            self.status, self.final_text, self.usage = "completed", event.final_text, event.usage
        elif isinstance(event, RunFailed):
            self.status, self.error = "failed", event.error
        elif isinstance(event, RunCancelled):
            self.status, self.cancel_reason = "cancelled", event.reason

    def _agent_completed(self, event: AgentCompleted) -> None:
        section = self._section(event.author, event.branch)
        if event.output is not None:
            section.items.append(AgentOutput(event.output))
        section.completed = True

    def _message(self, author: str, branch: str | None, message_id: str) -> Message:
        message = self._messages.get(message_id)
        if message is None:
            message = self._messages[message_id] = Message(message_id)
            self._section(author, branch).items.append(message)
        return message

    def _tool(self, event: ToolCall | ToolResult) -> None:
        tool = self._tools.get(event.call_id)
        if tool is None:
            args = event.args if isinstance(event, ToolCall) else {}
            tool = self._tools[event.call_id] = Tool(event.call_id, event.name, args)
            self._section(event.author, event.branch).items.append(tool)
        if isinstance(event, ToolResult):
            tool.result, tool.done = event.result, True

    def _section(self, author: str, branch: str | None) -> Section:
        """The section an agent's next item goes to.

        The latest one if it is this agent's; else this agent's latest one still at
        work (agents of a fan-out stream side by side); else a new one, so that an
        agent that speaks again after another gets a heading of its own.
        """
        if self.sections and self._same(self.sections[-1], author, branch):
            return self.sections[-1]
        for section in reversed(self.sections):
            if self._same(section, author, branch) and not section.completed:
                return section
        section = Section(author, branch)
        self.sections.append(section)
        return section

    @staticmethod
    def _same(section: Section, author: str, branch: str | None) -> bool:
        return section.author == author and (branch is None or section.branch in (None, branch))
