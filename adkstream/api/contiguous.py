"""Parallel branches one after another: the order protocol encoders need.

The native stream interleaves the events of agents that run at once (a `ParallelAgent`,
a workflow fan-out) in arrival order, each carrying its `author` and `branch`. The
Vercel, OpenAI and AG-UI clients cannot show that: a Vercel step's `finish-step` ends
every open text part, and an OpenAI choice has one text. So for them the events of
one agent run (an `(author, branch)` from `agent.started` to `agent.completed`) are
made contiguous: while one agent run is current, the events of the others wait in
arrival order, and go out when it completes. Nothing is dropped, each agent's own order
is kept, and the terminal event lets everything waiting go first.
"""

from __future__ import annotations

from collections import OrderedDict

from adkstream.events import (
    AgentCompleted,
    AgentTransfer,
    StreamEvent,
    is_terminal,
)

_AgentKey = tuple[str, str | None]


class Contiguous:
    """Reorders a run's events so that each agent run's events are contiguous."""

    def __init__(self) -> None:
        self._current: _AgentKey | None = None
        self._waiting: OrderedDict[_AgentKey, list[StreamEvent]] = OrderedDict()

    def push(self, event: StreamEvent) -> list[StreamEvent]:
        """Takes one event; returns the events that may go out now, in order."""
        if is_terminal(event):
            return [*self._drain_all(), event]
        author = getattr(event, "author", None)
        if author is None:
            current = self._current
            if isinstance(event, AgentTransfer) and current and current[0] == event.from_agent:
                # The agent handed over: it will not complete, the next one goes on.
                return [event, *self._next()]
            return [event]
        key = (author, getattr(event, "branch", None))
        if self._current is None and not self._waiting:
            self._current = key
        if key != self._current:
            self._waiting.setdefault(key, []).append(event)
            return []
        if isinstance(event, AgentCompleted):
            return [event, *self._next()]
        return [event]

    def _next(self) -> list[StreamEvent]:
        """The current agent run is over: the waiting ones go, up to one still running."""
        self._current = None
        out: list[StreamEvent] = []
        while self._waiting:
            key, events = self._waiting.popitem(last=False)
            out += events
            if not isinstance(events[-1], AgentCompleted):
                self._current = key
                break
        return out

    def _drain_all(self) -> list[StreamEvent]:
        out = [event for events in self._waiting.values() for event in events]
        self._waiting.clear()
        self._current = None
        return out
