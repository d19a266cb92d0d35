"""Every member of the event union, through every display: the notebook's view, the
printer of `adkstream run` and the chat page. Whether each shows it is pinned, so a new
event type fails here until each display's handling of it is decided (showing nothing
is a decision too, written down as False)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adkstream.cli import print_stream
from adkstream.events import StreamEvent
from adkstream.notebook.render import render_html, render_text
from adkstream.notebook.view import RunView
from tests.adapters.test_event_coverage import SAMPLES, event_types, preface

STATIC = Path(__file__).parents[2] / "adkstream" / "api" / "static"
CHAT_PAGE = ("chat.js", "transcript.js")
"""The chat page's modules that take stream events (chat.js hands most to transcript.js)."""

SHOWN: dict[str, dict[str, bool]] = {
    "adk.event": {"notebook": False, "cli": False},
    "agent.completed": {"notebook": False, "cli": False},
    "agent.escalated": {"notebook": True, "cli": True},
    "agent.started": {"notebook": True, "cli": True},
    "agent.transfer": {"notebook": True, "cli": True},
    "artifact.saved": {"notebook": True, "cli": True},
    "code.call": {"notebook": True, "cli": True},
    "code.result": {"notebook": True, "cli": True},
    "input.requested": {"notebook": True, "cli": True},
    "media.delta": {"notebook": False, "cli": False},
    "message.completed": {"notebook": True, "cli": True},
    "message.delta": {"notebook": True, "cli": True},
    "message.file": {"notebook": True, "cli": True},
    "message.sources": {"notebook": True, "cli": True},
    "reasoning.completed": {"notebook": True, "cli": True},
    "reasoning.delta": {"notebook": True, "cli": True},
    "run.cancelled": {"notebook": True, "cli": True},
    "run.completed": {"notebook": True, "cli": True},
    "run.failed": {"notebook": True, "cli": True},
    "run.queued": {"notebook": True, "cli": True},
    "run.started": {"notebook": True, "cli": False},
    "run.waiting": {"notebook": True, "cli": True},
    "state.delta": {"notebook": True, "cli": False},
    "tool.call": {"notebook": True, "cli": True},
    "tool.result": {"notebook": True, "cli": True},
    "turn.completed": {"notebook": False, "cli": False},
}


def _notebook(events: list[StreamEvent]) -> tuple[str, str]:
    view = RunView()
    for event in events:
        view.add(event)
    return render_html(view), render_text(view)


async def _printed(events: list[StreamEvent]) -> str:
    async def stream() -> AsyncIterator[StreamEvent]:
        for event in events:
            yield event

    out = io.StringIO()
    await print_stream(stream(), out)
    return out.getvalue()


def test_every_event_type_is_pinned() -> None:
    assert set(SHOWN) == event_types()


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_the_notebook_shows_what_is_pinned(event_type: str) -> None:
    before = preface(event_type)
    shown = _notebook(before) != _notebook([*before, SAMPLES[event_type]])
    assert shown == SHOWN[event_type]["notebook"]


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
async def test_adkstream_run_prints_what_is_pinned(event_type: str) -> None:
    before = preface(event_type)
    printed = await _printed(before) != await _printed([*before, SAMPLES[event_type]])
    assert printed == SHOWN[event_type]["cli"]


def test_the_chat_page_names_every_event_type() -> None:
    """Each type is named by the page: handled, or a `case` listed as not drawn on purpose."""
    source = "\n".join((STATIC / name).read_text() for name in CHAT_PAGE)
    named = set(re.findall(r'"([a-z]+\.[a-z]+)"', source))
    assert event_types() - named == set()
