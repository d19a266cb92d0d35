"""What a run looks like so far: stream events folded into sections, one per agent at work.

`RunView` is a pure core (httpx-sse's `SSEDecoder` is the model): fed one event at a
time, it keeps the text of each message as it grows (with the files, sources and finish
reason that come with it), the model's thinking, code and its output, the tool calls
with their results, saved artifacts, escalations, what a paused run waits for
(`input.requested`), the state changes and how the run ended. The renderers in `render.py` draw it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from adkstream.events import (
    AgentCompleted,
    AgentEscalated,
    AgentStarted,
    AgentTransfer,
    ArtifactSaved,
    CodeCall,
    CodeResult,
    ErrorInfo,
    InputRequest,
    InputRequested,
    MessageCompleted,
    MessageDelta,
    MessageFile,
    MessageSources,
    ReasoningCompleted,
    ReasoningDelta,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunQueued,
    RunStarted,
    RunWaiting,
    Source,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    TurnCompleted,
    Usage,
)

__all__ = [
    "AgentOutput",
    "Artifact",
    "Code",
    "Escalation",
    "File",
    "Item",
    "Message",
    "Request",
    "RunView",
    "Section",
    "Thinking",
    "Tool",
    "Transfer",
]


@dataclass
class File:
    """A file the model made as part of a message: base64 `data`."""

    file_id: str
    mime_type: str
    data: str
    name: str | None = None


@dataclass
class Message:
    """A message's text: the deltas so far, then the completed text; the files and
    sources that came with it, and why the model stopped it when not normally."""

    message_id: str
    text: str = ""
    completed: bool = False
    output_key: str | None = None
    finish_reason: str | None = None
    files: list[File] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)


@dataclass
class Thinking:
    """A model's thinking: its text, and when its first delta and its end came (`ts`)."""

    message_id: str
    text: str = ""
    completed: bool = False
    started: float | None = None
    ended: float | None = None


@dataclass
class Code:
    """Code the model ran and, once it came, its outcome and output."""

    code_id: str
    language: str = ""
    code: str = ""
    outcome: str | None = None
    output: str = ""

    @property
    def done(self) -> bool:
        return self.outcome is not None


@dataclass
class Tool:
    """A tool call and, once it came, its result."""

    call_id: str
    name: str
    args: dict[str, Any]
    result: Any = None
    done: bool = False


@dataclass
class Request:
    """Something the run waits for (`input.requested`): a confirmation, a result, ..."""

    request_id: str
    kind: str
    name: str
    args: dict[str, Any]
    hint: str | None = None


ANSWER_FIELDS = {
    "confirmation": '{"confirmed": True}',
    "tool_result": '{"result": ...}',
    "client_tool": '{"result": ...}',
    "credential": '{"access_token": "..."}',
    "input": '{"value": ...}',
}
"""What an answer to each kind of request looks like, as a Python literal."""

# ADK's own calls that carry a pause: the request (`Request`) stands for them.
_PAUSE_CALLS = frozenset({"adk_request_confirmation", "adk_request_credential"})


@dataclass
class Transfer:
    to_agent: str


@dataclass
class AgentOutput:
    """A workflow's output (`agent.completed` with an `output`)."""

    value: Any


@dataclass
class Artifact:
    """An artifact saved in the session; `url` is relative to the server."""

    name: str
    version: int
    mime_type: str | None
    size: int | None
    url: str


@dataclass
class Escalation:
    """The agent escalated (a LoopAgent around it stops)."""

    author: str


Item: TypeAlias = (
    Message | Thinking | Code | Tool | Request | Transfer | AgentOutput | Artifact | Escalation
)


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
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.error: ErrorInfo | None = None
        self.cancel_reason: str | None = None
        self.queued_behind: str | None = None
        """The session's run in progress this one waits for (`run.queued`), until it runs."""
        self.pending: list[InputRequest] = []
        self.state: dict[str, Any] = {}
        self.state_is_final = False
        self.sections: list[Section] = []
        self.last_seq = 0
        self._messages: dict[str, Message] = {}
        self._thinking: dict[str, Thinking] = {}
        self._code: dict[str, Code] = {}
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
                if isinstance(item, Message) and item.completed and item.text:
                    found[section.author] = item.text
        return found

    def set_final_state(self, state: dict[str, Any]) -> None:
        """The session's state after the run (it replaces what the deltas said)."""
        self.state = dict(state)
        self.state_is_final = True

    def add(self, event: StreamEvent) -> None:
        self.last_seq = max(self.last_seq, event.seq)
        self.run_id = self.run_id or event.run_id
        if not isinstance(event, RunStarted | RunQueued):
            self.queued_behind = None  # its turn came
        match event:
            case RunStarted():
                self.session_id = event.session_id
                self.agent = event.agent
            case RunQueued():
                self.queued_behind = event.behind
            case MessageDelta():
                self._message(event.author, event.branch, event.message_id).text += event.text
            case MessageCompleted():
                message = self._message(event.author, event.branch, event.message_id)
                message.text, message.completed = event.text, True
                message.output_key = event.output_key
                message.finish_reason = event.finish_reason
            case MessageFile():
                message = self._message(event.author, event.branch, event.message_id, whole=True)
                file = File(event.file_id, event.mime_type, event.data, event.name)
                message.files.append(file)
            case MessageSources():
                message = self._message(event.author, event.branch, event.message_id, whole=True)
                message.sources, message.queries = list(event.sources), list(event.queries)
            case ReasoningDelta() | ReasoningCompleted():
                self._reasoning(event)
            case CodeCall() | CodeResult():
                self._code_event(event)
            case TurnCompleted() if event.message_id is not None:
                self._message(event.author, event.branch, event.message_id).completed = True
            case ToolCall() | ToolResult() if event.name not in _PAUSE_CALLS:
                self._tool(event)
            case ToolCall() | ToolResult():
                pass
            case InputRequested():
                request = Request(event.request_id, event.kind, event.name, event.args, event.hint)
                self._section(event.author, event.branch).items.append(request)
            case StateDelta():
                self.state.update(event.delta)
            case ArtifactSaved():
                artifact = Artifact(
                    event.name, event.version, event.mime_type, event.size, event.url
                )
                self._section(event.author, event.branch).items.append(artifact)
            case AgentEscalated():
                self._section(event.author, event.branch).items.append(Escalation(event.author))
            case AgentStarted():
                self._section(event.author, event.branch)
            case AgentCompleted():
                self._agent_completed(event)
            case AgentTransfer():
                self._section(event.from_agent, None).items.append(Transfer(event.to_agent))
            case _:
                self._terminal(event)

    def _terminal(self, event: StreamEvent) -> None:
        if isinstance(event, RunCompleted):
            self.status, self.final_text, self.usage = "completed", event.final_text, event.usage
            self.finish_reason = event.finish_reason
        elif isinstance(event, RunFailed):
            self.status, self.error = "failed", event.error
        elif isinstance(event, RunCancelled):
            self.status, self.cancel_reason = "cancelled", event.reason
        elif isinstance(event, RunWaiting):
            self.status, self.pending, self.usage = "waiting", list(event.pending), event.usage
            self.final_text = event.final_text

    @property
    def last_message(self) -> Message | None:
        """The latest message of the run (the one a run's finish reason is about)."""
        return next(reversed(self._messages.values()), None)

    def _reasoning(self, event: ReasoningDelta | ReasoningCompleted) -> None:
        thinking = self._thinking.get(event.message_id)
        if thinking is None:
            thinking = self._thinking[event.message_id] = Thinking(event.message_id)
            self._section(event.author, event.branch).items.append(thinking)
        if isinstance(event, ReasoningDelta):
            thinking.text += event.text
            if thinking.started is None:
                thinking.started = event.ts
        else:
            thinking.text, thinking.completed, thinking.ended = event.text, True, event.ts

    def _code_event(self, event: CodeCall | CodeResult) -> None:
        code = self._code.get(event.code_id)
        if code is None:
            code = self._code[event.code_id] = Code(event.code_id)
            self._section(event.author, event.branch).items.append(code)
        if isinstance(event, CodeCall):
            code.language, code.code = event.language, event.code
        else:
            code.outcome, code.output = event.outcome, event.output

    def _agent_completed(self, event: AgentCompleted) -> None:
        section = self._section(event.author, event.branch)
        if event.output is not None:
            section.items.append(AgentOutput(event.output))
        section.completed = True

    def _message(
        self, author: str, branch: str | None, message_id: str, *, whole: bool = False
    ) -> Message:
        """The message `message_id`; a new one is `whole` when only a file or its
        sources make it (no text will come)."""
        message = self._messages.get(message_id)
        if message is None:
            message = self._messages[message_id] = Message(message_id, completed=whole)
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
