"""Live run events: ADK live Events -> stream events, and per-turn output_key.

Split from `live.py`: the pure translator of live events (turns, interruptions, audio)
and the plugin that stores each turn's own text under the agent's `output_key`.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from google.adk.agents.invocation_context import InvocationContext
from google.adk.events.event import Event
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types

from adkstream.agents.content import parts_of, visible_text
from adkstream.events import (
    AgentCompleted,
    MediaDelta,
    MessageCompleted,
    StreamEvent,
    ToolCall,
    ToolResult,
    TurnCompleted,
    Usage,
)
from adkstream.runner.pauses import PendingRequest
from adkstream.runner.translate import Translator

logger = logging.getLogger("adkstream.live")

_USER_AUTHOR = "user"


class TurnOutputPlugin(BasePlugin):
    """Makes `output_key` hold the text of the latest turn of a live run (not all turns).

    Args:
        output_keys: agent name -> its `output_key`.
    """

    def __init__(self, output_keys: Mapping[str, str]) -> None:
        super().__init__(name="adkstream_turn_output")
        self._keys = dict(output_keys)
        self._turn_text: dict[tuple[str, str], str] = {}

    async def on_event_callback(
        self, *, invocation_context: InvocationContext, event: Event
    ) -> Event | None:
        key = self._keys.get(event.author)
        if key is None or event.partial:
            return None
        slot = (event.invocation_id, event.author)
        transcript = event.output_transcription
        text = visible_text(event)
        if transcript is not None and transcript.finished and transcript.text:
            event.actions.state_delta[key] = self._add(slot, transcript.text)
        elif text and isinstance(event.actions.state_delta.get(key), str):
            # ADK wrote its across-turns accumulation: this turn's text replaces it.
            event.actions.state_delta[key] = self._add(slot, text)
        if event.turn_complete or event.interrupted:
            self._turn_text.pop(slot, None)
        return None

    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        ended = invocation_context.invocation_id
        for slot in [s for s in self._turn_text if s[0] == ended]:
            del self._turn_text[slot]

    def _add(self, slot: tuple[str, str], text: str) -> str:
        total = self._turn_text.get(slot, "") + text
        self._turn_text[slot] = total
        return total


@dataclass
class _Open:
    """A message of the current turn whose deltas have been sent but not its completion."""

    message_id: str
    text: list[str] = field(default_factory=list)


_Key = tuple[str, str | None]


@dataclass
class LiveTranslator:
    """Turns the ADK events of one live run into stream events; see the module docstring.

    Args:
        run_id: the run the events belong to.
        output_keys: agent name -> its `output_key`.
        clock: the time source for `ts` (unix seconds).
    """

    run_id: str
    output_keys: Mapping[str, str]
    clock: Callable[[], float]
    turns: int = 0
    inner: Translator = field(init=False)
    _open: dict[_Key, _Open] = field(default_factory=dict)
    _turn_text: list[str] = field(default_factory=list)
    _turn_message: str | None = None
    _turn_output: bool = False
    _turn_key: _Key | None = None
    _after_interrupt: bool = False

    def __post_init__(self) -> None:
        self.inner = Translator(
            run_id=self.run_id, output_keys=self.output_keys, clock=self.clock, agent_runs=False
        )

    @property
    def usage(self) -> Usage:
        return self.inner.usage

    @property
    def final_text(self) -> str:
        return self.inner.final_text

    @property
    def error_code(self) -> str | None:
        return self.inner.error_code

    @property
    def finish_reason(self) -> str:
        return self.inner.finish_reason

    @property
    def pending(self) -> list[PendingRequest]:
        """A live run does not pause: its requests are answered on the socket."""
        return []

    @property
    def invocation_id(self) -> str | None:
        return self.inner.invocation_id

    def translate(self, event: Event) -> list[StreamEvent]:
        if event.author == _USER_AUTHOR:
            return []  # input transcription and the user's own content
        key: _Key = (event.author, event.branch)
        out: list[StreamEvent] = []
        media = _media_of(event)
        if media:
            self._media(event, key, media, out)
        elif event.output_transcription is not None:
            self._transcription(event, key, out)
        elif event.partial and visible_text(event):
            self._delta(event, key, out)
        else:
            self._final(event, key, out)
        if event.turn_complete or event.interrupted:
            self._end_turn(event, out, interrupted=bool(event.interrupted))
            if not event.turn_complete:
                self._after_interrupt = True
        return [e for e in out if not isinstance(e, AgentCompleted)]

    def finish(self) -> list[StreamEvent]:
        """What ends a run cut short mid-turn: open messages completed, the turn ended."""
        out: list[StreamEvent] = []
        if self._open or self._turn_output:
            for key in list(self._open):
                self._close(key, "", out)
            if self._turn_output and self._turn_key is not None:
                author, branch = self._turn_key
                self._turn_completed(out, author=author, branch=branch, interrupted=True)
        return [e for e in out if not isinstance(e, AgentCompleted)]

    def _delta(self, event: Event, key: _Key, out: list[StreamEvent]) -> None:
        opened = self._open.get(key)
        if opened is None:
            opened = self._open[key] = _Open(message_id=event.id)
        opened.text.append(visible_text(event))
        self._turn_output, self._turn_key = True, key
        out.extend(self.inner.translate(event.model_copy(update={"id": opened.message_id})))

    def _final(self, event: Event, key: _Key, out: list[StreamEvent]) -> None:
        if not visible_text(event):
            translated = self.inner.translate(event)
            if any(isinstance(e, ToolCall | ToolResult) for e in translated):
                self._turn_output, self._turn_key = True, key
            out.extend(translated)
            return
        opened = self._open.pop(key, None)
        message_id = opened.message_id if opened is not None else event.id
        self._turn_key = key
        self._completed(self.inner.translate(event.model_copy(update={"id": message_id})), out)

    def _completed(self, translated: list[StreamEvent], out: list[StreamEvent]) -> None:
        for item in translated:
            if isinstance(item, MessageCompleted):
                self._turn_text.append(item.text)
                self._turn_message = item.message_id
                self._turn_output = True
        out.extend(translated)

    def _transcription(self, event: Event, key: _Key, out: list[StreamEvent]) -> None:
        transcript = event.output_transcription
        assert transcript is not None
        text = transcript.text or ""
        if not text:
            return
        content = types.Content(role="model", parts=[types.Part(text=text)])
        as_text = event.model_copy(update={"content": content, "partial": not transcript.finished})
        if transcript.finished:
            self._final(as_text, key, out)
        else:
            self._delta(as_text, key, out)

    def _media(
        self, event: Event, key: _Key, media: list[types.Blob], out: list[StreamEvent]
    ) -> None:
        opened = self._open.get(key)
        if opened is None:
            opened = self._open[key] = _Open(message_id=event.id)
        out.extend(self.inner.translate(event))
        now = self.clock()
        for blob in media:
            out.append(
                MediaDelta(
                    run_id=self.run_id,
                    ts=now,
                    author=event.author,
                    branch=event.branch,
                    message_id=opened.message_id,
                    mime_type=blob.mime_type or "application/octet-stream",
                    data=base64.b64encode(blob.data or b"").decode("ascii"),
                )
            )
        self._turn_output, self._turn_key = True, key

    def _end_turn(self, event: Event, out: list[StreamEvent], *, interrupted: bool) -> None:
        for key in list(self._open):
            self._close(key, event.invocation_id, out)
        if event.turn_complete:
            if self._turn_output or not self._after_interrupt:
                self._turn_completed(
                    out, author=event.author, branch=event.branch, interrupted=interrupted
                )
            self._after_interrupt = False
        elif self._turn_output:
            self._turn_completed(out, author=event.author, branch=event.branch, interrupted=True)

    def _close(self, key: _Key, invocation_id: str, out: list[StreamEvent]) -> None:
        """Completes an open message from its deltas (a model that sent no aggregate)."""
        opened = self._open.pop(key)
        if not opened.text:
            return  # audio only: nothing to complete
        content = types.Content(role="model", parts=[types.Part(text="".join(opened.text))])
        whole = Event(
            id=opened.message_id,
            invocation_id=invocation_id,
            author=key[0],
            branch=key[1],
            content=content,
            partial=False,
        )
        self._completed(self.inner.translate(whole), out)

    def _turn_completed(
        self, out: list[StreamEvent], *, author: str, branch: str | None, interrupted: bool
    ) -> None:
        self.turns += 1
        out.append(
            TurnCompleted(
                run_id=self.run_id,
                ts=self.clock(),
                author=author,
                branch=branch,
                turn=self.turns,
                message_id=self._turn_message,
                text="".join(self._turn_text),
                interrupted=interrupted,
            )
        )
        self._turn_text = []
        self._turn_message = None
        self._turn_output = False


def _media_of(event: Event) -> list[types.Blob]:
    return [p.inline_data for p in parts_of(event) if p.inline_data and p.inline_data.data]
