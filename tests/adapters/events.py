"""Literal stream events for the encoder tests (seq and ts as the log would set them)."""

from __future__ import annotations

from typing import Any

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
    RunStarted,
    RunWaiting,
    Source,
    SourceSpan,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    Usage,
)

RUN = "run-1"
TS = 1_700_000_000.25


def _common(seq: int) -> dict[str, Any]:
    return {"run_id": RUN, "seq": seq, "ts": TS + seq}


def started(seq: int = 1) -> RunStarted:
    return RunStarted(**_common(seq), session_id="s-1", user_id="u", app="app", agent="app")


def agent(seq: int, author: str, branch: str | None = None) -> AgentStarted:
    return AgentStarted(**_common(seq), author=author, branch=branch)


def agent_done(seq: int, author: str, branch: str | None = None) -> AgentCompleted:
    return AgentCompleted(**_common(seq), author=author, branch=branch)


def delta(seq: int, message_id: str, text: str, author: str = "a") -> MessageDelta:
    return MessageDelta(**_common(seq), author=author, message_id=message_id, text=text)


def completed(seq: int, message_id: str, text: str, author: str = "a") -> MessageCompleted:
    return MessageCompleted(**_common(seq), author=author, message_id=message_id, text=text)


def tool_call(
    seq: int, call_id: str, args: dict[str, Any], author: str = "a", *, long_running: bool = False
) -> ToolCall:
    return ToolCall(
        **_common(seq),
        author=author,
        call_id=call_id,
        name="clock",
        args=args,
        long_running=long_running,
    )


def tool_result(seq: int, call_id: str, result: Any, author: str = "a") -> ToolResult:
    return ToolResult(**_common(seq), author=author, call_id=call_id, name="clock", result=result)


def state(seq: int, change: dict[str, Any], author: str = "a") -> StateDelta:
    return StateDelta(**_common(seq), author=author, delta=change)


def cut(seq: int, message_id: str, text: str, reason: str, author: str = "a") -> MessageCompleted:
    """A message the model did not end normally (`max_tokens`, `safety`, ...)."""
    return MessageCompleted(
        **_common(seq), author=author, message_id=message_id, text=text, finish_reason=reason
    )


def thinking(seq: int, message_id: str, text: str, author: str = "a") -> ReasoningDelta:
    return ReasoningDelta(**_common(seq), author=author, message_id=message_id, text=text)


def thought(seq: int, message_id: str, text: str, author: str = "a") -> ReasoningCompleted:
    return ReasoningCompleted(**_common(seq), author=author, message_id=message_id, text=text)


def code(seq: int, code_id: str, source: str, author: str = "a") -> CodeCall:
    return CodeCall(**_common(seq), author=author, code_id=code_id, language="python", code=source)


def code_result(seq: int, code_id: str, output: str, author: str = "a") -> CodeResult:
    return CodeResult(**_common(seq), author=author, code_id=code_id, outcome="ok", output=output)


def sources(seq: int, message_id: str, author: str = "a") -> MessageSources:
    """Two web sources; the first supports characters 0-5 of the message."""
    return MessageSources(
        **_common(seq),
        author=author,
        message_id=message_id,
        sources=[
            Source(id="s1", url="https://example.com/a", title="A"),
            Source(id="s2", url="https://example.com/b", title="B"),
        ],
        spans=[SourceSpan(start=0, end=5, text="Hello", source_ids=["s1"])],
        queries=["hello"],
    )


PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)
"""A 1x1 PNG, base64."""


def image(seq: int, message_id: str, author: str = "a") -> MessageFile:
    return MessageFile(
        **_common(seq),
        author=author,
        message_id=message_id,
        file_id=f"{message_id}-file-0",
        mime_type="image/png",
        data=PNG_1PX,
    )


def artifact(
    seq: int, name: str = "report.txt", version: int = 0, author: str = "a"
) -> ArtifactSaved:
    return ArtifactSaved(
        **_common(seq),
        author=author,
        name=name,
        version=version,
        mime_type="text/plain",
        size=12,
        url=f"/v1/sessions/s-1/artifacts/{name}?version={version}",
    )


def escalated(seq: int, author: str = "a") -> AgentEscalated:
    return AgentEscalated(**_common(seq), author=author)


def transfer(seq: int, from_agent: str, to_agent: str) -> AgentTransfer:
    return AgentTransfer(**_common(seq), from_agent=from_agent, to_agent=to_agent)


def run_completed(seq: int, final_text: str = "", finish_reason: str = "stop") -> RunCompleted:
    usage = Usage(
        prompt_tokens=3, completion_tokens=4, total_tokens=12, thought_tokens=5, cached_tokens=2
    )
    return RunCompleted(
        **_common(seq), usage=usage, final_text=final_text, finish_reason=finish_reason
    )


def run_failed(seq: int) -> RunFailed:
    error = ErrorInfo(code="model_error", message="The model failed to answer.")
    return RunFailed(**_common(seq), error=error)


def run_cancelled(seq: int) -> RunCancelled:
    return RunCancelled(**_common(seq), reason="cancelled by request")


def numbered(*events: StreamEvent) -> list[StreamEvent]:
    """The events with seq 1, 2, 3 ... in order (whatever they were built with)."""
    return [e.model_copy(update={"seq": i, "ts": TS + i}) for i, e in enumerate(events, 1)]


def confirmation(seq: int, request_id: str, call_id: str, author: str = "a") -> InputRequested:
    """ADK asks a person to approve the call `call_id` of `transfer`."""
    return InputRequested(
        **_common(seq),
        author=author,
        request_id=request_id,
        kind="confirmation",
        name="transfer",
        args={"amount": 5},
        call_id=call_id,
        hint="Approve the transfer?",
        answer_schema={"type": "object", "required": ["confirmed"]},
    )


def client_tool(seq: int, request_id: str, author: str = "a") -> InputRequested:
    """A call of the client's tool `get_location`: the client runs it."""
    return InputRequested(
        **_common(seq),
        author=author,
        request_id=request_id,
        kind="client_tool",
        name="get_location",
        args={"precision": "city"},
        answer_schema={"type": "object", "required": ["result"]},
    )


def waiting(seq: int, *requests: InputRequested) -> RunWaiting:
    fields = set(InputRequest.model_fields)
    pending = [InputRequest(**r.model_dump(include=fields)) for r in requests]
    return RunWaiting(**_common(seq), pending=pending, invocation_id="inv-1")


def on_branch(branch: str, event: StreamEvent) -> StreamEvent:
    return event.model_copy(update={"branch": branch})


def branch_events(name: str) -> list[StreamEvent]:
    """One parallel branch's agent run: reasoning, text, a tool call and its result."""
    branch = f"par.{name}"
    return [
        agent(0, name, branch=branch),
        on_branch(branch, thinking(0, f"{name}-t", "hm", author=name)),
        on_branch(branch, delta(0, f"{name}-m", "Hel", author=name)),
        on_branch(branch, tool_call(0, f"{name}-c", {}, author=name)),
        on_branch(branch, delta(0, f"{name}-m", "lo", author=name)),
        on_branch(branch, tool_result(0, f"{name}-c", "ok", author=name)),
        on_branch(branch, completed(0, f"{name}-m", "Hello", author=name)),
        agent_done(0, name, branch=branch),
    ]


def loop_iteration(n: int) -> list[StreamEvent]:
    """One turn of a loop of a writer and a critic, each agent started."""
    return [
        agent(0, "writer"),
        delta(0, f"w{n}", "draft", author="writer"),
        completed(0, f"w{n}", "draft", author="writer"),
        agent_done(0, "writer"),
        agent(0, "critic"),
        completed(0, f"c{n}", "better", author="critic"),
        agent_done(0, "critic"),
    ]


def planner_turn() -> list[StreamEvent]:
    """An agent run that thinks (streamed, then not), answers, cites, draws, runs code,
    saves an artifact and changes state: every kind of content in one step."""
    who = {"author": "planner"}
    return [
        agent(0, "planner"),
        thinking(0, "t1", "Let me ", **who),
        thinking(0, "t1", "think.", **who),
        thought(0, "t1", "Let me think.", **who),
        thought(0, "t2", "Unstreamed thought.", **who),
        delta(0, "p1", "Hello", **who),
        completed(0, "p1", "Hello", **who),
        sources(0, "p1", **who),
        image(0, "p1", **who),
        code(0, "x1", "print(1 + 1)", **who),
        code_result(0, "x1", "2\n", **who),
        artifact(0, **who),
        state(0, {"plan": "ok"}, **who),
        agent_done(0, "planner"),
    ]
