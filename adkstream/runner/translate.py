"""ADK Events -> stream events: a pure class, fed one ADK `Event` at a time.

What it does about ADK 2.x (see shared/ADK_NOTES.md):
- Partial events carry only the new text: each becomes a `message.delta`. The
  aggregated `partial=False` event that follows repeats the whole text: it becomes a
  `message.completed`, never more delta text (only a missing tail, if the model's
  aggregate has text the partials did not, is sent as one last delta so that the
  deltas always concatenate to the completed text).
- Partial events and their aggregate share one `event.id`: it is the message id.
- Text tapped from the model before ADK (`tapped`, see `agents.text_tap`) has no ADK
  event: its message gets an id of its own, and the final event of the same model call
  (it carries the call's `EventActions` object) completes it.
- Partial events share a mutable `EventActions` with the final event, and progressive
  streaming previews function calls in partials: actions and tool calls are read from
  non-partial events only. Nothing of the ADK event is kept after `translate` returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions

from adkstream.agents.content import parts_of, visible_text
from adkstream.agents.text_tap import ModelCall
from adkstream.events import (
    AgentCompleted,
    AgentStarted,
    AgentTransfer,
    MessageCompleted,
    MessageDelta,
    StateDelta,
    StreamEvent,
    ToolCall,
    ToolResult,
    Usage,
)

_USER_AUTHOR = "user"
AttributedT = TypeVar(
    "AttributedT",
    AgentStarted,
    AgentCompleted,
    MessageDelta,
    MessageCompleted,
    ToolCall,
    ToolResult,
    StateDelta,
)


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of `value` (state and tool results may hold anything)."""
    try:
        return json.loads(json.dumps(value, default=_fallback))
    except (TypeError, ValueError):
        return repr(value)


def _fallback(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return repr(value)


@dataclass
class _Message:
    message_id: str
    text: list[str] = field(default_factory=list)


@dataclass
class _TappedMessage(_Message):
    actions: EventActions = field(kw_only=True)
    """The model call's shared `EventActions`: its final event carries the same object."""


@dataclass
class Translator:
    """Turns the ADK events of one run into stream events (with `seq=0`, numbered later).

    Args:
        run_id: the run the events belong to.
        output_keys: agent name -> its `output_key`, to say where a final text was stored.
        clock: the time source for `ts` (unix seconds).
    """

    run_id: str
    output_keys: Mapping[str, str]
    clock: Callable[[], float]
    usage: Usage = field(default_factory=Usage)
    final_text: str = ""
    error_code: str | None = None
    _messages: dict[str, _Message] = field(default_factory=dict)
    _tapped: dict[int, _TappedMessage] = field(default_factory=dict)
    _agents: set[tuple[str, str | None]] = field(default_factory=set)

    def translate(self, event: Event) -> list[StreamEvent]:
        if event.author == _USER_AUTHOR:
            return []
        now = self.clock()
        out: list[StreamEvent] = []
        self._start_agent(event.author, event.branch, now, out)
        if event.error_code:
            self.error_code = event.error_code
        if event.partial:
            self._partial(event, now, out)
        else:
            self._final(event, now, out)
        return out

    def tapped(
        self, call: ModelCall, text: str, join: Callable[[str, str], bool] | None = None
    ) -> list[StreamEvent]:
        """A chunk of a model call's visible text that bypassed ADK (see `text_tap`).

        With `join`, text that `join(message_id, text)` adds to a delta not sent yet makes
        no event of its own (a list append instead of a delta per chunk).
        """
        now = self.clock()
        out: list[StreamEvent] = []
        self._start_agent(call.author, call.branch, now, out)
        if not text:
            return out
        message = self._tapped_for(call.actions)
        if message is None:
            message = _TappedMessage(message_id=Event.new_id(), actions=call.actions)
            self._tapped[id(call.actions)] = message
        message.text.append(text)
        if join is not None and join(message.message_id, text):
            return out
        out.append(
            self._by(
                call.author,
                call.branch,
                MessageDelta,
                now,
                message_id=message.message_id,
                text=text,
            )
        )
        return out

    def _tapped_for(self, actions: EventActions) -> _TappedMessage | None:
        """The open tapped message of the model call that holds `actions`."""
        message = self._tapped.get(id(actions))
        return message if message is not None and message.actions is actions else None

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
        text = visible_text(event)
        if not text:
            return
        self._messages.setdefault(event.id, _Message(event.id)).text.append(text)
        out.append(self._attributed(MessageDelta, event, now, message_id=event.id, text=text))

    def _streamed(self, event: Event) -> _Message | None:
        """The message a final event completes: from ADK's partials, or tapped."""
        streamed = self._messages.pop(event.id, None)
        if streamed is not None:
            return streamed
        tapped = self._tapped_for(event.actions)
        if tapped is not None:
            del self._tapped[id(event.actions)]
        return tapped

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
        text = visible_text(event)
        streamed = self._streamed(event)
        if text:
            self._complete_message(event, text, streamed, now, out)
        for part in parts_of(event):
            if (call := part.function_call) is not None:
                out.append(
                    self._attributed(
                        ToolCall,
                        event,
                        now,
                        call_id=call.id or "",
                        name=call.name or "",
                        args=json_safe(dict(call.args or {})),
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
        if actions.state_delta:
            delta = json_safe(dict(actions.state_delta))
            out.append(self._attributed(StateDelta, event, now, delta=delta))
        if (meta := event.usage_metadata) is not None:
            self.usage = self.usage + Usage(
                prompt_tokens=meta.prompt_token_count or 0,
                completion_tokens=meta.candidates_token_count or 0,
                total_tokens=meta.total_token_count or 0,
            )
        if event.is_final_response() and not event.error_code:
            output = json_safe(event.output)
            out.append(self._attributed(AgentCompleted, event, now, output=output))

    def _complete_message(
        self,
        event: Event,
        text: str,
        streamed: _Message | None,
        now: float,
        out: list[StreamEvent],
    ) -> None:
        sent = "".join(streamed.text) if streamed else ""
        message_id = streamed.message_id if streamed else event.id
        if text.startswith(sent):
            tail = text[len(sent) :]
        else:
            # The aggregate disagrees with what was streamed (a model that rewrote its
            # answer): the deltas already sent are the record, so they stand as the text.
            tail, text = "", sent
        if tail:
            out.append(self._attributed(MessageDelta, event, now, message_id=message_id, text=tail))
        key = self.output_keys.get(event.author)
        stored = key if key is not None and key in event.actions.state_delta else None
        out.append(
            self._attributed(
                MessageCompleted, event, now, message_id=message_id, text=text, output_key=stored
            )
        )
        self.final_text = text
