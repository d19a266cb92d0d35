"""The SSE encoder against a standard parser (httpx-sse): nothing can break a frame."""

from __future__ import annotations

import re

from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import given
from hypothesis import strategies as st

from adkstream.api.sse import encode_frame, event_frame
from adkstream.events import MessageDelta, parse_event


def parse(stream: bytes) -> list[ServerSentEvent]:
    """Decodes bytes as a browser would: line by line, dispatching on blank lines."""
    lines = SSELineDecoder().decode(stream.decode())
    decoder = SSEDecoder()
    events = []
    for line in lines:
        event = decoder.decode(line)
        if event is not None:
            events.append(event)
    return events


def test_event_frame_round_trips() -> None:
    event = MessageDelta(
        seq=7, run_id="r", ts=1.5, author="a", message_id="m", text="line\nbreak\r\n<b>é</b>"
    )
    (parsed,) = parse(event_frame(event))
    assert parsed.id == "7"
    assert parsed.event == "message.delta"
    assert parse_event(parsed.data) == event


def test_encode_frame_splits_data_lines() -> None:
    frame = encode_frame(data="a\nb\r\nc\rd", event="x", id="1")
    assert frame == b"id: 1\nevent: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n"


def test_encode_frame_comment_and_retry_dispatch_nothing() -> None:
    parsed = parse(encode_frame(comment="ping\ndata: injected") + encode_frame(retry_ms=2000))
    # httpx-sse surfaces a retry-only frame (to expose `retry`); a browser dispatches
    # nothing for a frame without data.
    assert all(e.data == "" for e in parsed)
    assert [e.retry for e in parsed] == [2000]


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_spiky = st.one_of(_text, st.sampled_from(["\n", "\r", "\r\n", "\x00", "\n\n", "data: x\n\n"]))
_values = st.lists(_spiky, max_size=4).map("".join)


@given(data=_values, event=_values, id=_values, comment=_values)
def test_encode_frame_cannot_be_broken_or_injected(
    data: str, event: str, id: str, comment: str
) -> None:
    frames = encode_frame(data=data, event=event, id=id, comment=comment)
    parsed = parse(frames + encode_frame(data="next", event="sentinel"))
    assert len(parsed) == 2, "one frame became several (or none)"
    first, sentinel = parsed
    assert first.data == re.sub(r"\r\n|\r", "\n", data)
    expected_event = re.split(r"\r\n|\r|\n", event, maxsplit=1)[0]
    assert first.event == (expected_event or "message")
    assert first.id == re.split(r"\r\n|\r|\n", id, maxsplit=1)[0].replace("\x00", "")
    assert sentinel.event == "sentinel" and sentinel.data == "next"
