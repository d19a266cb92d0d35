"""Resuming with Last-Event-ID: a server that cuts every stream still delivers each event once."""

from __future__ import annotations

import asyncio
import socket
from typing import Literal

import httpx
import pytest

from adkstream.client import APIConnectionError, AsyncClient, ServiceUnavailableError
from adkstream.events import MessageDelta, StreamEvent
from tests.client.conftest import (
    FAST_BACKOFF,
    TIMEOUT_S,
    AppFactory,
    assert_each_seq_once,
    completed_text,
    drain,
)
from tests.client.faults import CutStreams, FailFirstResumes
from tests.servers import serve_app


@pytest.mark.parametrize(
    ("mode", "k"),
    [
        pytest.param("end", 1, id="body-ends-after-each-frame"),
        pytest.param("end", 3, id="body-ends-after-3-frames"),
        pytest.param("abort", 2, id="connection-drops-in-the-2nd-frame"),
        pytest.param("abort", 4, id="connection-drops-in-the-4th-frame"),
    ],
)
async def test_stream_cut_every_k_frames_delivers_each_event_once(
    make_app: AppFactory, mode: Literal["end", "abort"], k: int
) -> None:
    cutter = CutStreams(make_app(offline_tokens_per_s=300, offline_reply_tokens=40), k=k, mode=mode)
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(cutter) as url,
        AsyncClient(url, **FAST_BACKOFF) as client,
    ):
        async with client.stream("cut me often", coalesce_ms=0) as stream:
            events = [event async for event in stream]
        assert cutter.cuts >= 2, "the stream was never cut: the test tests nothing"
        assert_each_seq_once(events)
        text, final = completed_text(events)
        assert text == final
        assert len(final.split()) == 40
        # The events that are never merged match the log's exactly, seq for seq.
        assert stream.run_id is not None
        async with client.events(stream.run_id) as replay:
            logged = [event async for event in replay]
        assert _unmerged(events) == _unmerged(logged)


def _unmerged(events: list[StreamEvent]) -> list[StreamEvent]:
    return [e for e in events if not isinstance(e, MessageDelta)]


async def test_events_cut_every_frame_delivers_each_event_once(make_app: AppFactory) -> None:
    cutter = CutStreams(
        make_app(offline_tokens_per_s=300, offline_reply_tokens=20), k=1, mode="end"
    )
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(cutter) as url,
        AsyncClient(url, **FAST_BACKOFF) as client,
    ):
        async with client.stream("first", coalesce_ms=0) as stream:
            live = [event async for event in stream]
        assert stream.run_id is not None
        cuts_before = cutter.cuts
        async with client.events(stream.run_id, after=2) as replay:
            replayed = [event async for event in replay]
        assert cutter.cuts > cuts_before
        assert [e.seq for e in replayed] == sorted({e.seq for e in replayed})
        assert replayed[0].seq > 2
        assert replayed[-1] == live[-1]


async def test_stream_resume_retries_unavailable_answers(make_app: AppFactory) -> None:
    flaky = FailFirstResumes(
        make_app(offline_tokens_per_s=300, offline_reply_tokens=20),
        k=2,
        n=2,
        status=503,
        retry_after="0",
    )
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(flaky) as url,
        AsyncClient(url, **FAST_BACKOFF) as client,
    ):
        async with client.stream("resume after a 503") as stream:
            events = [event async for event in stream]
        assert flaky.failed == 2
        assert flaky.resumed == 1
        assert_each_seq_once(events)
        text, final = completed_text(events)
        assert text == final


async def test_stream_resume_gives_up_after_max_reconnects(make_app: AppFactory) -> None:
    flaky = FailFirstResumes(
        make_app(offline_tokens_per_s=300, offline_reply_tokens=20),
        k=2,
        n=100,
        status=503,
        retry_after="0",
    )
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(flaky) as url,
        AsyncClient(url, max_reconnects=3, **FAST_BACKOFF) as client,
    ):
        stream = client.stream("never resumes")
        with pytest.raises(ServiceUnavailableError) as raised:
            await drain(stream)
        assert raised.value.retry_after == 0.0
        assert flaky.failed == 3
        assert stream.last_seq == 2


async def test_stream_that_never_progresses_raises_connection_lost(make_app: AppFactory) -> None:
    # Every connection drops inside its first frame: no event ever arrives.
    cutter = CutStreams(
        make_app(offline_tokens_per_s=300, offline_reply_tokens=20), k=1, mode="abort"
    )
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(cutter) as url,
        AsyncClient(url, max_reconnects=3, **FAST_BACKOFF) as client,
    ):
        stream = client.stream("no luck")
        with pytest.raises(APIConnectionError) as raised:
            await drain(stream)
        assert cutter.stream_requests == 1 + 3
        assert raised.value.run_id is not None
        assert raised.value.run_id == stream.run_id
        assert raised.value.last_seq == 0


async def test_events_from_an_unreachable_server_raises_connection_lost() -> None:
    with socket.socket() as sock:  # a port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with (
        asyncio.timeout(TIMEOUT_S),
        AsyncClient(f"http://127.0.0.1:{port}", max_reconnects=2, **FAST_BACKOFF) as client,
    ):
        with pytest.raises(APIConnectionError) as raised:
            await drain(client.events("some-run", after=7))
        assert raised.value.run_id == "some-run"
        assert raised.value.last_seq == 7
        with pytest.raises(APIConnectionError) as not_started:
            await drain(client.stream("nobody there"))  # a POST that never left: retried
        assert not_started.value.run_id is None
        with pytest.raises(APIConnectionError):
            await client.get_run("some-run")


class LoseFirstStartAnswer(httpx.AsyncBaseTransport):
    """Sends every request, but the answer to the first `POST /v1/runs` never arrives:
    the server ran it, then the connection dropped (a proxy that died, a lost packet)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.starts: list[str | None] = []
        self.lost_run_id: str | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) == ("POST", "/v1/runs"):
            self.starts.append(request.headers.get("idempotency-key"))
            if len(self.starts) == 1:
                response = await self.inner.handle_async_request(request)
                self.lost_run_id = response.headers.get("x-run-id")
                await response.aclose()
                raise httpx.ReadError("the answer was lost", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_stream_start_whose_answer_is_lost_is_sent_again_and_joins_the_run(
    make_app: AppFactory,
) -> None:
    lossy = LoseFirstStartAnswer()
    app = make_app(offline_tokens_per_s=200, offline_reply_tokens=20)
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(app) as url,
        AsyncClient(url, transport=lossy, **FAST_BACKOFF) as client,
    ):
        async with client.stream("hello") as stream:
            events = [event async for event in stream]
        assert stream.session_id is not None
        messages = (await client.get_session(stream.session_id)).messages

    assert len(lossy.starts) == 2 and lossy.starts[0] is not None
    assert lossy.starts[0] == lossy.starts[1]  # one key for both attempts
    assert stream.run_id is not None and stream.run_id == lossy.lost_run_id  # joined
    assert_each_seq_once(events)
    assert messages is not None and [m.role for m in messages] == ["user", "assistant"]
