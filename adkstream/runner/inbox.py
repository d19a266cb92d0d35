"""A run's inbox: what the run's task writes to the log, in the order ADK and the tap made it.

Two producers feed it: the pump (ADK's events, translated) and the text tap (a model's
streamed text, translated as it comes, see `agents.text_tap`). The run's task reads it.
Tapped text that arrives while the previous piece of the same message is still unread
joins that piece instead of queueing behind it: the reader is woken once per piece it
can take, not once per model chunk, and a loaded process (a reader that runs late)
writes fewer, larger deltas without holding any text back. A reader that holds a
message's delta back anyway (the coalescing window) says so (`get(holding=...)`): more
text of that message then waits in the inbox without waking it before its deadline, so
a chunk inside the window costs a list append, not a wakeup of the run's task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from adkstream.events import DELTA_TYPES, StreamEvent
from adkstream.wakeup import Wakeup

ItemT = TypeVar("ItemT")


class _Text:
    """Translated events that end with a delta, plus the text that joined that delta since."""

    __slots__ = ("events", "key", "more")

    def __init__(self, key: object, events: list[StreamEvent]) -> None:
        self.key = key
        self.events = events
        self.more: list[str] = []

    def taken(self) -> list[StreamEvent]:
        if not self.more:
            return self.events
        *head, delta = self.events
        assert isinstance(delta, DELTA_TYPES)
        text = delta.text + "".join(self.more)
        return [*head, delta.model_copy(update={"text": text})]


class Inbox(Generic[ItemT]):
    """A FIFO of translated events (or the pump's end, an `ItemT`) with text merging."""

    def __init__(self) -> None:
        self._items: deque[list[StreamEvent] | ItemT | _Text] = deque()
        self._text_tail: _Text | None = None
        self._holding: object = None  # the message whose text does not wake the reader
        self._wakeup = Wakeup()

    def put(self, item: list[StreamEvent] | ItemT) -> None:
        self._items.append(item)
        self._text_tail = None
        self._wakeup.wake()

    def put_text(self, key: object, events: list[StreamEvent]) -> None:
        """Events ending with a delta of message `key`; text may join it while it is unread."""
        text = _Text(key, events)
        self._items.append(text)
        self._text_tail = text
        if key != self._holding:
            self._wakeup.wake()

    def join_text(self, key: object, text: str) -> bool:
        """Adds `text` to the unread delta of message `key`; False if there is none."""
        tail = self._text_tail
        if tail is None or tail.key != key:
            return False
        tail.more.append(text)
        return True

    async def get(
        self, *, until: float | None = None, holding: object = None
    ) -> list[StreamEvent] | ItemT | None:
        """The next item; None if there is none by `until` (the loop's clock; None: wait on).

        A deadline costs a timer, not a timeout scope, and nothing when an item is there.
        With `holding` (a message key; only with `until`), text of that message that
        arrives during the wait does not end it: the caller takes it at `until`.
        """
        while not self._items:
            loop = asyncio.get_running_loop()
            if until is not None and loop.time() >= until:
                return None
            self._holding = holding if until is not None else None
            try:
                await self._wakeup.wait(until)
            finally:
                self._holding = None
        item = self._items.popleft()
        if isinstance(item, _Text):
            if item is self._text_tail:
                self._text_tail = None
            return item.taken()
        return item
