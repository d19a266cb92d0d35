"""The `/run_sse` and `/run` encoder (`api/adk_rest_frames.py`), on literal events."""

from __future__ import annotations

from adkstream.api.adk_rest_frames import run_events, sse_frames, streamed
from adkstream.events import AdkEvent, ErrorInfo, MessageDelta, RunCancelled, RunFailed

TEXT = {"author": "a", "content": {"parts": [{"text": "hi"}]}, "actions": {"artifactDelta": {}}}
SAVED = {
    "author": "a",
    "content": {"parts": [{"text": "saved"}]},
    "actions": {"stateDelta": {}, "artifactDelta": {"f.txt": 0}},
}


def _adk(seq: int, event: dict[str, object]) -> AdkEvent:
    return AdkEvent(run_id="r", seq=seq, ts=1.0, event=event)


def test_streamed_splits_content_with_an_artifact_delta_as_adk_does() -> None:
    assert streamed(TEXT) == [TEXT]
    content, artifact = streamed(SAVED)
    assert content == {
        "author": "a",
        "content": {"parts": [{"text": "saved"}]},
        "actions": {"stateDelta": {}, "artifactDelta": {}},
    }
    assert artifact == {"author": "a", "actions": {"stateDelta": {}, "artifactDelta": {"f.txt": 0}}}


def test_sse_frames_carry_the_logs_seq_on_the_last_frame() -> None:
    assert sse_frames(_adk(4, TEXT), author="a") == (
        b'id: 4\ndata: {"author":"a","content":{"parts":[{"text":"hi"}]},'
        b'"actions":{"artifactDelta":{}}}\n\n'
    )
    split = sse_frames(_adk(5, SAVED), author="a").split(b"\n\n")
    assert split[0].startswith(b"data: ") and split[1].startswith(b"id: 5\ndata: ")
    unsplit = sse_frames(_adk(5, SAVED), author="a", split=False)
    assert unsplit.count(b"data: ") == 1


def test_sse_frames_skip_our_own_events_and_end_a_failed_run_with_an_error_event() -> None:
    delta = MessageDelta(run_id="r", seq=2, ts=1.0, author="a", message_id="m", text="x")
    assert sse_frames(delta, author="a") == b""
    failed = RunFailed(run_id="r", seq=9, ts=2.0, error=ErrorInfo(code="timeout", message="late"))
    assert sse_frames(failed, author="root") == (
        b'id: 9\ndata: {"author":"root","errorCode":"timeout","errorMessage":"late",'
        b'"timestamp":2.0,"actions":{}}\n\n'
    )


def test_run_events_lists_adk_events_then_the_end_of_a_cancelled_run() -> None:
    cancelled = RunCancelled(run_id="r", seq=3, ts=2.0, reason="cancelled by request")
    events = run_events([_adk(1, TEXT), cancelled], author="a")
    assert events[0] == TEXT
    assert events[1]["errorCode"] == "CANCELLED"
    assert "cancelled by request" in events[1]["errorMessage"]
