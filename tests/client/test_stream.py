"""AsyncClient.stream and events against a real server: typed events, cancel, replay."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest
from httpx_sse import ServerSentEvent

from adkstream.client import AsyncClient, ConflictError, NotFoundError, ProtocolError
from adkstream.client.stream import decode_frame
from adkstream.events import (
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunStarted,
    StreamEvent,
)
from tests.client.conftest import (
    FAST_BACKOFF,
    TIMEOUT_S,
    AppFactory,
    assert_each_seq_once,
    completed_text,
    drain,
)
from tests.servers import serve_app


async def test_stream_delivers_each_event_in_order_and_text_equals_final(
    make_app: AppFactory,
) -> None:
    app = make_app(offline_tokens_per_s=400, offline_reply_tokens=30)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        async with client.stream("hello there", coalesce_ms=0) as stream:
            events = [event async for event in stream]
        assert_each_seq_once(events)
        assert isinstance(events[0], RunStarted)
        text, final = completed_text(events)
        assert text == final
        assert final.startswith("You said: hello there.")
        assert len(final.split()) == 30
        completed = [e for e in events if isinstance(e, MessageCompleted)]
        assert [c.text for c in completed] == [final]
        assert stream.run_id == events[0].run_id
        assert stream.session_id == events[0].session_id
        assert stream.terminal is events[-1]
        assert stream.last_seq == events[-1].seq


async def test_stream_in_an_existing_session_with_state_delta(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url, AsyncClient(url) as client:
        session = await client.create_session(state={"topic": "tides"})
        async with client.stream(
            "again", session_id=session.id, state_delta={"mood": "calm"}
        ) as stream:
            events = [event async for event in stream]
        started = events[0]
        assert isinstance(started, RunStarted)
        assert started.session_id == session.id == stream.session_id
        state = (await client.get_session(session.id)).state
        assert state["topic"] == "tides"
        assert state["mood"] == "calm"


async def test_cancel_ends_a_slow_run_with_run_cancelled(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=60)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        events: list[StreamEvent] = []
        async with client.stream("take your time") as stream:
            async for event in stream:
                if isinstance(event, MessageDelta) and not any(
                    isinstance(e, MessageDelta) for e in events
                ):
                    await client.cancel(event.run_id)
                events.append(event)
        assert_each_seq_once(events)
        final = events[-1]
        assert isinstance(final, RunCancelled)
        assert final.reason == "cancelled by request"
        assert stream.run_id is not None
        info = await client.get_run(stream.run_id)
        assert info.status == "cancelled"
        assert info.last_seq == final.seq
        with pytest.raises(ConflictError) as raised:
            await client.cancel(stream.run_id)
        assert raised.value.status_code == 409
        assert raised.value.code == "run_finished"


async def test_stream_closed_early_cancels_its_run(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=60)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        async with client.stream("stop soon") as stream:
            async for event in stream:
                if isinstance(event, MessageDelta):
                    break
        assert stream.run_id is not None
        async with client.events(stream.run_id, after=stream.last_seq) as rest:
            tail = [event async for event in rest]
        assert isinstance(tail[-1], RunCancelled)
        assert tail[-1].reason == "cancelled by request"


async def test_stream_dropped_unclosed_cancels_its_run_cleanly(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=60)
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    try:
        async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
            stream = client.stream("forget me")
            async for event in stream:
                if isinstance(event, MessageDelta):
                    break
            run_id, last_seq = stream.run_id, stream.last_seq
            assert run_id is not None
            del stream  # never closed: the generator's finalizer closes it
            gc.collect()
            tail = await drain(client.events(run_id, after=last_seq))
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert isinstance(tail[-1], RunCancelled)
    assert tail[-1].reason == "cancelled by request"
    assert loop_errors == []


async def test_stream_closed_early_without_cancel_on_close_keeps_the_run(
    make_app: AppFactory,
) -> None:
    app = make_app(offline_tokens_per_s=200, offline_reply_tokens=40)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url, AsyncClient(url) as client:
        async with client.stream("keep going", cancel_on_close=False, coalesce_ms=0) as stream:
            head = []
            async for event in stream:
                head.append(event)
                if isinstance(event, MessageDelta):
                    break
        assert stream.run_id is not None
        async with client.events(stream.run_id, after=stream.last_seq) as rest:
            tail = [event async for event in rest]
        events = head + tail
        assert_each_seq_once(events)
        text, final = completed_text(events)
        assert text == final


async def test_events_replays_a_finished_run_and_ends_at_once_after_its_end(
    make_app: AppFactory,
) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url, AsyncClient(url) as client:
        async with client.stream("replay me") as stream:
            live = [event async for event in stream]
        assert stream.run_id is not None
        async with client.events(stream.run_id) as replay:
            replayed = [event async for event in replay]
        assert_each_seq_once(replayed)
        assert replayed[-1] == live[-1]
        async with client.events(stream.run_id, after=live[-1].seq) as after_end:
            assert [event async for event in after_end] == []
        assert after_end.ended
        assert after_end.terminal is None


async def test_events_of_an_unknown_run_raises_not_found(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url, **FAST_BACKOFF) as client,
    ):
        with pytest.raises(NotFoundError) as raised:
            await drain(client.events("no-such-run"))
        assert raised.value.code == "run_not_found"


async def test_stream_answered_with_json_raises_protocol_error() -> None:
    requests: list[str] = []

    async def not_sse(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        requests.append(scope["path"])
        headers = [(b"content-type", b"application/json"), (b"x-run-id", b"r1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})

    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(not_sse) as url,
        AsyncClient(url, **FAST_BACKOFF) as client,
    ):
        with pytest.raises(ProtocolError, match="text/event-stream"):
            await drain(client.stream("hello"))
    assert requests == ["/v1/runs"]


# --- decode_frame: the pure core -------------------------------------------------------


def test_decode_frame_skips_frames_without_data() -> None:
    assert decode_frame(ServerSentEvent(event="message", data="", retry=2000)) is None


def test_decode_frame_reads_a_typed_event() -> None:
    data = (
        '{"seq":4,"run_id":"r","ts":1.0,"type":"message.delta",'
        '"author":"a","message_id":"m","text":"hi"}'
    )
    event = decode_frame(ServerSentEvent(event="message.delta", data=data, id="4"))
    assert isinstance(event, MessageDelta)
    assert (event.seq, event.text, event.message_id) == (4, "hi", "m")


def test_decode_frame_skips_an_event_type_it_does_not_know() -> None:
    data = '{"seq":5,"run_id":"r","ts":1.0,"type":"tool.progress","pct":50}'
    assert decode_frame(ServerSentEvent(event="tool.progress", data=data, id="5")) is None


def test_decode_frame_refuses_a_broken_known_event() -> None:
    with pytest.raises(ProtocolError, match=r"message\.delta"):
        decode_frame(ServerSentEvent(event="message.delta", data='{"type":"message.delta"}'))
