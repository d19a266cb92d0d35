"""The chat completions encoder as a pure function: literal events in, chunks out."""

from __future__ import annotations

import json
from typing import Any

from adkstream.api.openai_compat import ChatCompletionEncoder, model_list
from adkstream.events import StreamEvent
from tests.adapters import events as ev


def encoder(include_usage: bool = False) -> ChatCompletionEncoder:
    return ChatCompletionEncoder(
        completion_id="chatcmpl-1", model="app", created=123, include_usage=include_usage
    )


def frames(enc: ChatCompletionEncoder, events: list[StreamEvent]) -> list[Any]:
    out = [frame.decode() for event in events for frame in enc.frames(event)]
    assert out[-1] == "data: [DONE]\n\n"
    return [json.loads(frame.removeprefix("data: ")) for frame in out[:-1]]


WORKFLOW = ev.numbered(
    ev.started(),
    ev.delta(0, "m1", "Draft"),
    ev.completed(0, "m1", "Draft"),
    ev.tool_call(0, "c1", {}),
    ev.completed(0, "m2", "Final"),  # a model that did not stream
    ev.run_completed(0, "Final"),
)


def test_openai_chunks_of_a_workflow() -> None:
    chunks = frames(encoder(), WORKFLOW)
    assert chunks[0] == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 123,
        "model": "app",
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": None,
                "finish_reason": None,
            }
        ],
    }
    deltas = [c["choices"][0]["delta"] for c in chunks[1:]]
    assert deltas == [{"content": "Draft"}, {"content": "\n\nFinal"}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_openai_usage_chunk_when_asked() -> None:
    chunks = frames(encoder(include_usage=True), WORKFLOW)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


def test_openai_completion_is_the_streamed_text() -> None:
    enc = encoder()
    for event in WORKFLOW:
        enc.encode(event)
    completion = enc.completion()
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Draft\n\nFinal",
        "refusal": None,
    }
    assert completion["usage"]["total_tokens"] == 7


def test_openai_failure_and_cancel_are_error_objects() -> None:
    failed = frames(encoder(), ev.numbered(ev.started(), ev.run_failed(0)))
    assert failed[-1] == {
        "error": {
            "message": "The model failed to answer.",
            "type": "server_error",
            "param": None,
            "code": "model_error",
        }
    }
    cancelled = frames(encoder(), ev.numbered(ev.started(), ev.run_cancelled(0)))
    assert cancelled[-1]["error"]["code"] == "cancelled"


def test_openai_model_list() -> None:
    assert model_list(["a"]) == {
        "object": "list",
        "data": [{"id": "a", "object": "model", "created": 0, "owned_by": "adkstream"}],
    }
