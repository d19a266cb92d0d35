"""Shared helpers of the client tests: a real app on loopback and checks of a run's events."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from adkstream.api import create_app
from adkstream.client import EventStream
from adkstream.events import MessageDelta, RunCompleted, StreamEvent, is_terminal
from adkstream.runner import EventLog
from adkstream.settings import Settings

TIMEOUT_S = 30.0
FAST_BACKOFF: dict[str, Any] = {"backoff_base_s": 0.005, "backoff_max_s": 0.05}

AppFactory = Callable[..., Starlette]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Builds the real app on a memory log; keyword arguments are settings."""

    def make(**settings: Any) -> Starlette:
        settings.setdefault("offline_tokens_per_s", 0)
        settings.setdefault("offline_reply_tokens", 20)
        return create_app(Settings(data_dir=tmp_path, **settings), log=EventLog.in_memory())

    return make


async def drain(stream: EventStream) -> list[StreamEvent]:
    """Every event of a stream, which is closed afterwards."""
    async with stream:
        return [event async for event in stream]


def assert_each_seq_once(events: Sequence[StreamEvent]) -> None:
    """Seqs rise from 1 with no repeat, one terminal event comes last, and every gap is
    a `message.delta`: the server merges a backlog's adjacent deltas into one event that
    carries the last merged seq (docs/ARCHITECTURE.md, Coalescing)."""
    assert events, "no events"
    assert events[0].seq == 1
    previous = 0
    for event in events:
        assert event.seq > previous, f"seq {event.seq} after {previous}"
        if event.seq != previous + 1:
            assert isinstance(event, MessageDelta), f"seqs {previous + 1}..{event.seq - 1} lost"
        previous = event.seq
    assert is_terminal(events[-1])
    assert sum(is_terminal(e) for e in events) == 1


def completed_text(events: Sequence[StreamEvent]) -> tuple[str, str]:
    """The deltas' text joined, and run.completed's final_text."""
    final = events[-1]
    assert isinstance(final, RunCompleted), final
    text = "".join(e.text for e in events if isinstance(e, MessageDelta))
    return text, final.final_text
