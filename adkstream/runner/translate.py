"""ADK Events -> stream events: a pure class, fed one ADK `Event` at a time.

What it does about ADK 2.x (see docs/ADK_NOTES.md):
- Partial events carry only the new text: each becomes a `message.delta`. The
  aggregated `partial=False` event that follows repeats the whole text: it becomes a
  `message.completed`, never more delta text (only a missing tail, if the model's
  aggregate has text the partials did not, is sent as one last delta so that the
  deltas always concatenate to the completed text).
- Partial events and their aggregate share one `event.id`: it is the message id.
- Text tapped from the model before ADK (`tapped`, see `agents.text_tap`) has no ADK
  event: its message gets an id of its own, and the final event of the same model call
  (it carries the call's `EventActions` object) completes it.
- Thought parts are the same, as `reasoning.delta` / `reasoning.completed` (a message
  of their own, coalesced like text), unless the run withholds them (`thoughts=False`).
- Partial events share a mutable `EventActions` with the final event, and progressive
  streaming previews function calls in partials: actions, tool calls, code, files and
  sources are read from non-partial events only. Nothing of the ADK event is kept after
  `translate` returns.
- An ADK code executor replaces a model's final response with an event of its own (the
  text up to the code, and the code): that event completes its agent's oldest open
  message, and what was streamed stands as the text.
- A response the model did not end with STOP carries its finish reason: `MAX_TOKENS`
  and the content filters' reasons (ADK reports them as the event's `error_code`) end
  the message and the run normally, with `finish_reason` saying why; they are not
  failures.
- An event holding code that ADK's code executor is about to run is not the agent's
  final response (ADK's `is_final_response` says it is): the agent goes on.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.genai import types

from adkstream.agents.content import parts_of, thought_text, visible_text
from adkstream.agents.text_tap import ModelCall
from adkstream.events import (
    AgentCompleted,
    AgentEscalated,
    AgentStarted,
    AgentTransfer,
    ArtifactSaved,
    CodeCall,
    CodeResult,
    InputRequested,
    MessageCompleted,
    MessageDelta,
    MessageFile,
    MessageSources,
    ReasoningCompleted,
    ReasoningDelta,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    Usage,
)
from adkstream.runner.json_values import json_safe
from adkstream.runner.pauses import PendingRequest, pending_of
from adkstream.runner.sources import sources_of

_USER_AUTHOR = "user"
AttributedT = TypeVar(
    "AttributedT",
    AgentStarted,
    AgentCompleted,
    AgentEscalated,
    ArtifactSaved,
    CodeCall,
    CodeResult,
    InputRequested,
    MessageDelta,
    MessageCompleted,
    MessageFile,
    MessageSources,
    ReasoningDelta,
    ReasoningCompleted,
    ToolCall,
    ToolResult,
    StateDelta,
)
_FINISH_REASONS = frozenset(r.value for r in types.FinishReason) | frozenset(
    r.value for r in types.BlockedReason
)
"""The `error_code`s that are a model's finish (or block) reason, not a failure."""
_NOT_A_REASON = frozenset({"FINISH_REASON_UNSPECIFIED", "BLOCKED_REASON_UNSPECIFIED"})
_OUTCOMES = {
    "OUTCOME_OK": "ok",
    "OUTCOME_FAILED": "failed",
    "OUTCOME_DEADLINE_EXCEEDED": "deadline_exceeded",
}


@dataclass
class _Message:
    """A message (answer or thought) whose deltas went out and whose end has not."""

    message_id: str
    author: str
    branch: str | None
    thought: bool
    text: list[str] = field(default_factory=list)


def finish_reason_of(code: object) -> str | None:
    """A Gemini finish (or block) reason in our spelling: `MAX_TOKENS` -> `max_tokens`."""
    if code is None:
        return None
    value = getattr(code, "value", code)
    if not isinstance(value, str) or value not in _FINISH_REASONS or value in _NOT_A_REASON:
        return None
    return value.lower()


def artifact_url(session_id: str, name: str, version: int) -> str:
    """Where a version of a session's artifact is served (`GET`, relative to the server)."""
    session, file = quote(session_id, safe=""), quote(name, safe="")
    return f"/v1/sessions/{session}/artifacts/{file}?version={version}"


@dataclass
class Translator:
    """Turns the ADK events of one run into stream events (with `seq=0`, numbered later).

    Args:
        run_id: the run the events belong to.
        output_keys: agent name -> its `output_key`, to say where a final text was stored.
        clock: the time source for `ts` (unix seconds).
        session_id: the run's session (artifact URLs name it).
        thoughts: whether the model's thinking is sent (`reasoning.*`); False withholds it.
        client_tools: the names of the run's client-side tools (their calls pause the run).
    """

    run_id: str
    output_keys: Mapping[str, str]
    clock: Callable[[], float]
    session_id: str = ""
    thoughts: bool = True
    client_tools: frozenset[str] = frozenset()
    agent_runs: bool = True
    """An agent that completed and then does more starts again (a loop's next iteration);
    a live run's agent is one agent run for the whole session (False)."""
    usage: Usage = field(default_factory=Usage)
    pending: list[PendingRequest] = field(default_factory=list)
    """What the run waits for: requests of its pausing events (ADK's long-running calls)."""
    invocation_id: str | None = None
    final_text: str = ""
    finish_reason: str = "stop"
    error_code: str | None = None
    _open: dict[tuple[str, bool], _Message] = field(default_factory=dict)
    """Messages whose deltas went out, by (ADK event id or model call, thought)."""
    _tapped_actions: dict[int, EventActions] = field(default_factory=dict)
    _agents: set[tuple[str, str | None]] = field(default_factory=set)
    _code: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)
    """Code ids that ran or will run and have no result yet, per agent."""

    def translate(self, event: Event) -> list[StreamEvent]:
        if event.author == _USER_AUTHOR:
            return []
        self.invocation_id = event.invocation_id or self.invocation_id
        if _bookkeeping(event):
            return []
        now = self.clock()
        out: list[StreamEvent] = []
        self._start_agent(event.author, event.branch, now, out)
        if event.partial:
            self._partial(event, now, out)
        else:
            self._final(event, now, out)
        return out

    def unfinished_texts(self) -> list[tuple[str, str | None, str]]:
        """(author, branch, text so far) of each answer whose deltas went out and whose
        end did not: what a stopped run had said, that ADK never stored."""
        return [
            (message.author, message.branch, "".join(message.text))
            for message in self._open.values()
            if not message.thought and message.text
        ]

    def tapped(
        self,
        call: ModelCall,
        text: str,
        join: Callable[[str, str], bool] | None = None,
        *,
        thought: bool = False,
    ) -> list[StreamEvent]:
        """A chunk of a model call's text (`thought`: its thinking) that bypassed ADK.

        See `text_tap`. With `join`, text that `join(message_id, text)` adds to a delta
        not sent yet makes no event of its own (a list append instead of a delta per chunk).
        """
        now = self.clock()
        out: list[StreamEvent] = []
        self._start_agent(call.author, call.branch, now, out)
        if not text or (thought and not self.thoughts):
            return out
        key = (f"call:{id(call.actions)}", thought)
        message = self._open.get(key)
        if message is None or self._tapped_actions.get(id(call.actions)) is not call.actions:
            self._tapped_actions[id(call.actions)] = call.actions
            message = _Message(Event.new_id(), call.author, call.branch, thought)
            self._open[key] = message
        message.text.append(text)
        if join is not None and join(message.message_id, text):
            return out
        mid = message.message_id
        if thought:
            out.append(
                self._by(call.author, call.branch, ReasoningDelta, now, message_id=mid, text=text)
            )
        else:
            out.append(
                self._by(call.author, call.branch, MessageDelta, now, message_id=mid, text=text)
            )
        return out

    def _start_agent(
        self, author: str, branch: str | None, now: float, out: list[StreamEvent]
    ) -> None:
        if (author, branch) not in self._agents:
            self._agents.add((author, branch))
            out.append(self._by(author, branch, AgentStarted, now))

    def _attributed(
        self, kind: type[AttributedT], event: Event, now: float, **payload: Any
    ) -> AttributedT:
        """An event of `kind` for this run, attributed to the ADK event's author and branch."""
        return self._by(event.author, event.branch, kind, now, **payload)

    def _by(
        self, author: str, branch: str | None, kind: type[AttributedT], now: float, **payload: Any
    ) -> AttributedT:
        """An event of `kind` for this run, attributed to `author` on `branch`."""
        return kind(run_id=self.run_id, ts=now, author=author, branch=branch, **payload)

    def _partial(self, event: Event, now: float, out: list[StreamEvent]) -> None:
        for part in parts_of(event):
            if not part.text:
                continue
            thought = bool(part.thought)
            if thought and not self.thoughts:
                continue
            key = (event.id, thought)
            message = self._open.get(key)
            if message is None:
                message_id = f"{event.id}-thought" if thought else event.id
                message = _Message(message_id, event.author, event.branch, thought)
                self._open[key] = message
            message.text.append(part.text)
            mid, text = message.message_id, part.text
            if thought:
                out.append(self._attributed(ReasoningDelta, event, now, message_id=mid, text=text))
            else:
                out.append(self._attributed(MessageDelta, event, now, message_id=mid, text=text))

    def _streamed(self, event: Event, thought: bool) -> _Message | None:
        """The open message of this kind that a final event completes: from ADK's
        partials, or tapped from its model call; for the event a code executor makes of
        a model's response (it holds the code), its agent's oldest open one."""
        message = self._open.pop((event.id, thought), None)
        if message is not None:
            return message
        call_key = f"call:{id(event.actions)}"
        if self._tapped_actions.get(id(event.actions)) is event.actions:
            message = self._open.pop((call_key, thought), None)
            if message is not None:
                return message
        if not any(p.executable_code for p in parts_of(event)):
            return None
        for key, open_message in self._open.items():
            if (
                open_message.thought == thought
                and open_message.author == event.author
                and open_message.branch == event.branch
            ):
                del self._open[key]
                return open_message
        return None

    def _final(self, event: Event, now: float, out: list[StreamEvent]) -> None:
        actions = event.actions
        if actions.transfer_to_agent:
            out.append(
                AgentTransfer(
                    run_id=self.run_id,
                    ts=now,
                    from_agent=event.author,
                    to_agent=actions.transfer_to_agent,
                )
            )
        reason = self._finish(event)
        thinking = thought_text(event)
        streamed_thought = self._streamed(event, thought=True)
        if self.thoughts and (thinking or streamed_thought):
            self._complete(event, thinking, streamed_thought, now, out, thought=True)
        text = visible_text(event)
        streamed = self._streamed(event, thought=False)
        message_id = streamed.message_id if streamed else event.id
        if text or streamed:
            message_id = self._complete(event, text, streamed, now, out, reason=reason)
        self._parts(event, message_id, now, out)
        for request in pending_of(event, client_tools=self.client_tools):
            self.pending.append(request)
            fields = request.model_dump()
            out.append(InputRequested(run_id=self.run_id, ts=now, **fields))
        if (sources := sources_of(event)) is not None:
            found, spans, queries = sources
            out.append(
                self._attributed(
                    MessageSources,
                    event,
                    now,
                    message_id=message_id,
                    sources=found,
                    spans=spans,
                    queries=queries,
                )
            )
        if actions.state_delta:
            delta = json_safe(dict(actions.state_delta))
            out.append(self._attributed(StateDelta, event, now, delta=delta))
        for name, version in actions.artifact_delta.items():
            url = artifact_url(self.session_id, name, version)
            out.append(
                self._attributed(ArtifactSaved, event, now, name=name, version=version, url=url)
            )
        if (meta := event.usage_metadata) is not None:
            self.usage = self.usage + _usage(meta)
        if actions.escalate:
            out.append(self._attributed(AgentEscalated, event, now))
        if self._agent_done(event):
            if self.agent_runs:
                self._agents.discard((event.author, event.branch))
            output = json_safe(event.output)
            out.append(self._attributed(AgentCompleted, event, now, output=output))

    def _finish(self, event: Event) -> str | None:
        """The event's finish reason when not `stop`; an error code that is none is kept."""
        reason = finish_reason_of(event.finish_reason)
        if event.error_code:
            as_reason = finish_reason_of(event.error_code)
            if as_reason is None:
                self.error_code = event.error_code
            reason = as_reason or reason
        if reason is None or reason == "stop":
            return None
        self.finish_reason = reason
        return reason

    def _agent_done(self, event: Event) -> bool:
        if not event.is_final_response() or self.error_code is not None:
            return False
        if event.long_running_tool_ids:
            # A pause, final by ADK's rule: the agent waits (it completes, if at all, in
            # the run that continues it), and ADK's stand-in results still follow.
            return False
        if event.content is None and event.output is None and not _ends_by_itself(event):
            # An event of ADK's bookkeeping (a code executor's, before the model's
            # response it processed): final by ADK's rule, but the agent goes on.
            return False
        parts = parts_of(event)
        # Code ADK's executor is about to run: the agent goes on with its result.
        code = any(p.executable_code for p in parts)
        return not code or any(p.code_execution_result for p in parts)

    def _parts(self, event: Event, message_id: str, now: float, out: list[StreamEvent]) -> None:
        """Tool calls and results, code and its results, files: one event per part."""
        agent = (event.author, event.branch)
        long_running = set(event.long_running_tool_ids or ())
        for index, part in enumerate(parts_of(event)):
            if (call := part.function_call) is not None:
                out.append(
                    self._attributed(
                        ToolCall,
                        event,
                        now,
                        call_id=call.id or "",
                        name=call.name or "",
                        args=json_safe(dict(call.args or {})),
                        long_running=bool(call.id and call.id in long_running),
                    )
                )
            if (response := part.function_response) is not None:
                out.append(
                    self._attributed(
                        ToolResult,
                        event,
                        now,
                        call_id=response.id or "",
                        name=response.name or "",
                        result=json_safe(response.response),
                    )
                )
            if (code := part.executable_code) is not None:
                code_id = code.id or f"{event.id}-code-{index}"
                self._code.setdefault(agent, []).append(code_id)
                language = (code.language or types.Language.PYTHON).value.lower()
                out.append(
                    self._attributed(
                        CodeCall,
                        event,
                        now,
                        code_id=code_id,
                        language=language,
                        code=code.code or "",
                    )
                )
            if (result := part.code_execution_result) is not None:
                pending = self._code.get(agent, [])
                code_id = result.id or (pending.pop(0) if pending else f"{event.id}-code-{index}")
                if result.id and result.id in pending:
                    pending.remove(result.id)
                outcome = _OUTCOMES.get(result.outcome.value if result.outcome else "", "ok")
                out.append(
                    self._attributed(
                        CodeResult,
                        event,
                        now,
                        code_id=code_id,
                        outcome=outcome,
                        output=result.output or "",
                    )
                )
            if (blob := part.inline_data) is not None and blob.data and not part.thought:
                out.append(
                    self._attributed(
                        MessageFile,
                        event,
                        now,
                        message_id=message_id,
                        file_id=f"{message_id}-file-{index}",
                        mime_type=blob.mime_type or "application/octet-stream",
                        data=base64.b64encode(blob.data).decode(),
                        name=blob.display_name,
                    )
                )

    def _complete(
        self,
        event: Event,
        text: str,
        streamed: _Message | None,
        now: float,
        out: list[StreamEvent],
        *,
        thought: bool = False,
        reason: str | None = None,
    ) -> str:
        """Sends what the deltas lacked and the completed message; returns its id."""
        sent = "".join(streamed.text) if streamed else ""
        default_id = f"{event.id}-thought" if thought else event.id
        message_id = streamed.message_id if streamed else default_id
        if text.startswith(sent):
            tail = text[len(sent) :]
        else:
            # The aggregate disagrees with what was streamed (a model that rewrote its
            # answer, a code executor that cut it at the code): the deltas already sent
            # are the record, so they stand as the text.
            tail, text = "", sent
        if thought:
            if tail:
                out.append(
                    self._attributed(ReasoningDelta, event, now, message_id=message_id, text=tail)
                )
            out.append(
                self._attributed(ReasoningCompleted, event, now, message_id=message_id, text=text)
            )
            return message_id
        if tail:
            out.append(self._attributed(MessageDelta, event, now, message_id=message_id, text=tail))
        key = self.output_keys.get(event.author)
        stored = key if key is not None and key in event.actions.state_delta else None
        out.append(
            self._attributed(
                MessageCompleted,
                event,
                now,
                message_id=message_id,
                text=text,
                output_key=stored,
                finish_reason=reason,
            )
        )
        self.final_text = text
        return message_id


def _bookkeeping(event: Event) -> bool:
    """An event that carries nothing a client sees: ADK's own records (a resumable
    agent's state and end-of-agent markers), which must not start an agent either."""
    actions = event.actions
    return (
        not event.partial
        and event.content is None
        and event.output is None
        and event.usage_metadata is None
        and not event.error_code
        and not event.grounding_metadata
        and not (actions.state_delta or actions.artifact_delta)
        and not (actions.transfer_to_agent or actions.escalate)
    )


def _ends_by_itself(event: Event) -> bool:
    """A content-less event that does end its agent's turn."""
    actions = event.actions
    return bool(
        event.error_code
        or event.long_running_tool_ids
        or actions.escalate
        or actions.skip_summarization
        or actions.state_delta
        or actions.transfer_to_agent
    )


def _usage(meta: types.GenerateContentResponseUsageMetadata) -> Usage:
    prompt = meta.prompt_token_count or 0
    completion = meta.candidates_token_count or 0
    thoughts = meta.thoughts_token_count or 0
    tool_use = meta.tool_use_prompt_token_count or 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=meta.total_token_count or prompt + completion + thoughts + tool_use,
        thought_tokens=thoughts,
        cached_tokens=meta.cached_content_token_count or 0,
        tool_use_prompt_tokens=tool_use,
    )
