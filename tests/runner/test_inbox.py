"""The run's inbox: events in order; tapped text joins its message's unread delta."""

from __future__ import annotations

import asyncio
import contextlib

from adkstream.events import AgentStarted, MessageDelta, StreamEvent
from adkstream.runner.inbox import Inbox

NOW = 1_700_000_000.0


def _delta(text: str, message_id: str = "m1") -> MessageDelta:
    return MessageDelta(
        run_id="r", ts=NOW, author="bot", branch=None, message_id=message_id, text=text
    )


def _texts(events: list[StreamEvent] | str) -> list[str]:
    assert isinstance(events, list)
    return [e.text for e in events if isinstance(e, MessageDelta)]


async def test_inbox_text_joins_the_unread_delta_of_its_message() -> None:
    inbox: Inbox[str] = Inbox()
    started = AgentStarted(run_id="r", ts=NOW, author="bot", branch=None)
    inbox.put_text("m1", [started, _delta("Hel")])

    assert inbox.join_text("m1", "lo")
    assert not inbox.join_text("m2", "other message")
    first = await inbox.get()
    assert isinstance(first, list) and first[0] == started
    assert _texts(first) == ["Hello"]
    assert not inbox.join_text("m1", " world")  # read: the next piece is a delta of its own


async def test_inbox_other_items_keep_text_from_joining_across_them() -> None:
    inbox: Inbox[str] = Inbox()
    inbox.put_text("m1", [_delta("a")])
    inbox.put([_delta("b", "m2")])

    assert not inbox.join_text("m1", "c")  # joining would move "c" before "b"
    assert _texts(await inbox.get()) == ["a"]
    assert _texts(await inbox.get()) == ["b"]


async def test_inbox_get_waits_for_an_item() -> None:
    inbox: Inbox[str] = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put("end")
    async with asyncio.timeout(5):
        assert await reader == "end"


async def test_inbox_get_until_a_deadline_returns_none_then_serves_on() -> None:
    inbox: Inbox[str] = Inbox()
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        assert await inbox.get(until=loop.time()) is None  # already due: no wait
        assert await inbox.get(until=loop.time() + 0.01) is None  # the timer ends the wait
        waiting = asyncio.ensure_future(inbox.get(until=loop.time() + 60))
        await asyncio.sleep(0)
        inbox.put("end")
        assert await waiting == "end"


async def test_inbox_get_cancelled_while_waiting_leaves_it_usable() -> None:
    inbox: Inbox[str] = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    inbox.put("end")
    async with asyncio.timeout(5):
        assert await inbox.get() == "end"


async def _waiting_reader(
    inbox: Inbox[str], *, hold_s: float | None = None
) -> asyncio.Future[list[StreamEvent] | str | None]:
    """A reader of `inbox` that is waiting; with `hold_s`, holding message "m1" that long."""
    if hold_s is None:
        reader = asyncio.ensure_future(inbox.get())
    else:
        until = asyncio.get_running_loop().time() + hold_s
        reader = asyncio.ensure_future(inbox.get(until=until, holding="m1"))
    await asyncio.sleep(0)  # one step: the reader is now waiting
    return reader


async def test_inbox_held_message_text_waits_for_the_deadline_and_joins() -> None:
    inbox: Inbox[str] = Inbox()
    async with asyncio.timeout(5):
        reader = await _waiting_reader(inbox, hold_s=0.05)
        inbox.put_text("m1", [_delta("a")])
        await asyncio.sleep(0)
        assert not reader.done()  # text of the held message does not wake the reader
        assert inbox.join_text("m1", "b")  # later chunks join it, still unread
        assert _texts(await reader) == ["ab"]  # taken at the deadline


async def test_inbox_held_wait_ends_for_another_message_or_item() -> None:
    inbox: Inbox[str] = Inbox()
    async with asyncio.timeout(5):
        reader = await _waiting_reader(inbox, hold_s=60)
        inbox.put_text("m2", [_delta("x", "m2")])
        assert _texts(await reader) == ["x"]
        reader = await _waiting_reader(inbox, hold_s=60)
        inbox.put("end")
        assert await reader == "end"
        # The hold lasts one wait: text of m1 wakes a reader that holds nothing.
        reader = await _waiting_reader(inbox)
        inbox.put_text("m1", [_delta("c")])
        assert _texts(await reader) == ["c"]
