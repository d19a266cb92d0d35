"""Client frames of the live socket, and its frame rate: pure cores, literal cases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adkstream.api.live_frames import (
    ActivityFrame,
    CloseFrame,
    ContentFrame,
    ErrorFrame,
    FrameError,
    MessageFrame,
    RealtimeFrame,
    TokenBucket,
    parse_frame,
)


def frame_text(data: dict[str, Any]) -> str:
    return json.dumps(data)


def test_parse_frame_reads_each_type() -> None:
    assert parse_frame(frame_text({"type": "message", "text": "hi"})) == MessageFrame(
        type="message", text="hi"
    )
    content = parse_frame(
        frame_text(
            {
                "type": "content",
                "parts": [
                    {"text": "look"},
                    {"inlineData": {"mimeType": "image/png", "data": "aGVsbG8="}},
                ],
            }
        )
    )
    assert isinstance(content, ContentFrame)
    parts = content.content().parts or []
    assert content.content().role == "user"
    assert parts[0].text == "look"
    assert parts[1].inline_data is not None and parts[1].inline_data.data == b"hello"
    realtime = parse_frame(
        frame_text({"type": "realtime", "mime_type": "audio/pcm", "data": "AAECAw=="})
    )
    assert isinstance(realtime, RealtimeFrame)
    assert realtime.blob().data == b"\x00\x01\x02\x03"
    assert realtime.blob().mime_type == "audio/pcm"
    assert parse_frame('{"type": "activity_start"}') == ActivityFrame(type="activity_start")
    assert parse_frame('{"type": "activity_end"}') == ActivityFrame(type="activity_end")
    assert parse_frame('{"type": "close"}') == CloseFrame(type="close")


@pytest.mark.parametrize(
    ("text", "code", "field"),
    [
        pytest.param("{", "invalid_json", None, id="truncated-json"),
        pytest.param('"message"', "invalid_frame", None, id="a-string"),
        pytest.param('{"type": 3}', "invalid_frame", "type", id="type-not-a-string"),
        pytest.param('{"type": "Message"}', "unknown_type", "type", id="type-case-matters"),
        pytest.param('{"type": "message", "text": ""}', "invalid_field", "text", id="empty-text"),
        pytest.param('{"type": "content", "parts": []}', "invalid_field", "parts", id="no-parts"),
        pytest.param(
            '{"type": "content", "parts": [{"colour": "red"}]}',
            "invalid_field",
            "parts.colour",
            id="not-a-part",
        ),
        pytest.param(
            '{"type": "realtime", "mime_type": "audio/pcm", "data": "AAA"}',
            "invalid_base64",
            "data",
            id="base64-bad-padding",
        ),
        pytest.param(
            '{"type": "realtime", "mime_type": "audio/pcm", "data": 12}',
            "invalid_base64",
            "data",
            id="base64-not-a-string",
        ),
        pytest.param(
            '{"type": "realtime", "mime_type": "", "data": "AAAA"}',
            "invalid_field",
            "mime_type",
            id="empty-mime-type",
        ),
        pytest.param('{"type": "close", "now": true}', "invalid_field", "now", id="extra-field"),
    ],
)
def test_parse_frame_names_the_problem(text: str, code: str, field: str | None) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(text)
    assert (caught.value.code, caught.value.field) == (code, field)
    if field is not None and code == "invalid_field":
        assert caught.value.message.startswith(f"{field}: ")


def test_parse_frame_limits_size_in_utf8_bytes() -> None:
    ascii_frame = frame_text({"type": "message", "text": "a" * 100})
    assert isinstance(parse_frame(ascii_frame, max_bytes=len(ascii_frame)), MessageFrame)
    with pytest.raises(FrameError) as caught:
        parse_frame(ascii_frame, max_bytes=len(ascii_frame) - 1)
    assert caught.value.code == "frame_too_large"
    wide = json.dumps({"type": "message", "text": "é" * 100}, ensure_ascii=False)
    with pytest.raises(FrameError) as caught:
        parse_frame(wide, max_bytes=len(wide) + 50)  # 100 more bytes than characters
    assert caught.value.code == "frame_too_large"


def test_error_frame_json_leaves_out_a_missing_field() -> None:
    error = FrameError("invalid_json", "the frame is not valid JSON")
    assert json.loads(ErrorFrame.of(error).json_text()) == {
        "type": "error",
        "code": "invalid_json",
        "message": "the frame is not valid JSON",
    }
    with_field = ErrorFrame.of(FrameError("invalid_base64", "bad", field="data"))
    assert json.loads(with_field.json_text())["field"] == "data"


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.05) is False  # half a token
    assert bucket.take(0.1) is True  # one token after 1/rate
    assert bucket.take(0.1) is False
    assert [bucket.take(10.0) for _ in range(4)] == [True, True, True, False]  # capped at burst


def test_token_bucket_sustains_exactly_its_rate() -> None:
    bucket = TokenBucket(rate=50, burst=1, now=0.0)
    assert all(bucket.take(i / 50) for i in range(500))
    assert not bucket.take(499 / 50)
