"""AsyncClient.live and Client.live against a real server on 127.0.0.1: turns, realtime
input, error frames, refusals as typed errors, and how a session ends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections import defaultdict
from collections.abc import Sequence

import pytest

from adkstream import errors as family_errors
from adkstream.client import (
    APIConnectionError,
    AsyncClient,
    BadRequestError,
    Client,
    ConflictError,
    FrameRejected,
    InternalServerError,
    LiveError,
    LiveFrame,
    LiveSession,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolation,
    RateLimitError,
    ServiceUnavailableError,
)
from adkstream.client.errors import error_from_close
from adkstream.errors import RequestError
from adkstream.events import (
    MediaDelta,
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    RunStarted,
    TurnCompleted,
)
from tests.client.conftest import TIMEOUT_S, AppFactory, drain
from tests.servers import serve_app


async def read_turn(live: LiveSession) -> list[LiveFrame]:
    """The frames up to and including the next `turn.completed`."""
    frames: list[LiveFrame] = []
    async for frame in live:
        frames.append(frame)
        if isinstance(frame, TurnCompleted):
            break
    return frames


def assert_turn_whole(frames: Sequence[LiveFrame], asked: str) -> TurnCompleted:
    """Deltas concatenate to the completed text, and the turn ends with that text."""
    deltas: dict[str, list[str]] = defaultdict(list)
    completed = []
    for frame in frames:
        if isinstance(frame, MessageDelta):
            deltas[frame.message_id].append(frame.text)
        elif isinstance(frame, MessageCompleted):
            assert "".join(deltas.pop(frame.message_id)) == frame.text
            completed.append(frame)
    assert not deltas
    (message,) = completed
    turn = frames[-1]
    assert isinstance(turn, TurnCompleted)
    assert (turn.text, turn.message_id) == (message.text, message.message_id)
    assert turn.text.startswith(f"You said: {asked}.")
    return turn


async def test_live_client_two_turns_then_close_completes_the_run(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app(offline_tokens_per_s=400)) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id) as live:
            assert live.run_id is not None
            await live.send_message("what is adkstream")
            first = await read_turn(live)
            await live.send_message("and what about live runs")
            second = await read_turn(live)
            await live.close()
            tail = [frame async for frame in live]
        state = (await client.get_session(session.id)).state
        run = await client.get_run(live.run_id)

    started = first[0]
    assert isinstance(started, RunStarted) and started.session_id == session.id
    turns = [assert_turn_whole(first, "what is adkstream")]
    turns.append(assert_turn_whole(second, "and what about live runs"))
    assert [t.turn for t in turns] == [1, 2]
    terminal = tail[-1]
    assert isinstance(terminal, RunCompleted) and terminal.final_text == turns[1].text
    assert live.terminal == terminal and live.last_seq == terminal.seq
    assert (live.close_code, live.close_reason) == (1000, "run completed")
    assert state["last_answer"] == turns[1].text
    assert (run.status, run.final_text) == ("completed", turns[1].text)


async def test_live_client_realtime_chunk_is_answered(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id) as live:
            await live.send_realtime(bytes(2400), "audio/pcm;rate=16000")
            first = await live.next_turn()
            await live.activity_start()
            await live.send_realtime(b"\xff\xd8\xff", "image/jpeg")
            await live.activity_end()
            second = await live.next_turn()
    assert first is not None and first.text == "Received 2400 bytes of audio/pcm;rate=16000."
    assert second is not None and second.text == "Received 3 bytes of image/jpeg."


async def test_live_client_content_parts_reach_the_model(make_app: AppFactory) -> None:
    image = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(b"hello").decode()}}
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id) as live:
            await live.send_content([image])
            turn = await live.next_turn()
    assert turn is not None and turn.text == "Received 5 bytes of image/png."


async def test_live_client_error_frame_is_yielded_and_the_session_goes_on(
    make_app: AppFactory,
) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id) as live:
            await live.send_message("")
            frames = []
            async for frame in live:
                frames.append(frame)
                if isinstance(frame, LiveError):
                    break
            await live.send_message("still there")
            turn = assert_turn_whole(await read_turn(live), "still there")
    error = frames[-1]
    assert isinstance(error, LiveError)
    assert (error.type, error.code, error.field) == ("error", "invalid_field", "text")
    assert error.message and turn.turn == 1


async def test_live_client_error_frame_raises_when_asked(make_app: AppFactory) -> None:
    call = [{"function_call": {"name": "get_current_time"}}]
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id, raise_on_error=True) as live:
            await live.send_content(call)
            with pytest.raises(FrameRejected) as raised:
                async for _ in live:
                    pass
            await live.send_message("")
            with pytest.raises(FrameRejected) as in_turns:
                await live.next_turn()  # raises whatever raise_on_error says
            await live.send_message("after the errors")
            turn = await live.next_turn()
    assert (raised.value.code, raised.value.field) == ("invalid_field", "parts")
    assert isinstance(raised.value, RequestError)
    assert in_turns.value.code == "invalid_field"
    assert turn is not None and turn.text.startswith("You said: after the errors.")


async def test_live_client_unknown_session_is_not_found(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        live = client.live("no-such-session")
        with pytest.raises(NotFoundError) as raised:
            async with live:
                pytest.fail("a refused session opened")
    assert isinstance(raised.value, family_errors.NotFoundError)  # the family, host or HTTP
    assert (raised.value.status_code, raised.value.code) == (404, "session_not_found")
    assert raised.value.field == "session_id"
    assert live.close_code == 1008 and live.run_id is None


async def test_live_client_workflow_agent_is_a_conflict(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session(agent="pipeline")
        with pytest.raises(ConflictError) as raised:
            async with client.live(session.id):
                pytest.fail("a workflow ran live")
    assert raised.value.code == "live_not_supported"


async def test_live_client_authenticates_like_http(make_app: AppFactory) -> None:
    app = make_app(api_keys="key-a=alice,key-b=bob")
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url:
        async with AsyncClient(url, token="key-a") as alice:
            session = await alice.create_session()
            async with alice.live(session.id) as live:
                started = await anext(live)
        async with AsyncClient(url, api_key="key-b") as bob:
            with pytest.raises(NotFoundError):
                async with bob.live(session.id):
                    pytest.fail("bob opened alice's session")
        async with AsyncClient(url, token="wrong") as nobody:
            with pytest.raises(PermissionDeniedError) as refused:
                async with nobody.live(session.id):
                    pytest.fail("a wrong key opened a session")
    assert isinstance(started, RunStarted) and started.user_id == "alice"
    assert refused.value.status_code == 403


async def test_live_client_leaving_without_close_cancels_the_run(make_app: AppFactory) -> None:
    app = make_app(offline_tokens_per_s=20, offline_reply_tokens=400)
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(app) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id) as live:
            await live.send_message("talk for a long time")
            async for frame in live:
                if isinstance(frame, MessageDelta):
                    break
        assert live.run_id is not None
        events = await drain(client.events(live.run_id))
    terminal = events[-1]
    assert isinstance(terminal, RunCancelled) and terminal.reason == "client disconnected"
    with pytest.raises(RuntimeError):
        await live.send_message("too late")


async def test_live_client_close_then_leave_lets_the_run_complete(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id) as live:
            await live.send_message("one turn only")
            await live.next_turn()
            await live.close()
        assert live.run_id is not None
        events = await drain(client.events(live.run_id))
    assert isinstance(events[-1], RunCompleted)
    assert events[-1].final_text.startswith("You said: one turn only.")


async def test_live_client_audio_modality_streams_media(make_app: AppFactory) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(make_app()) as url,
        AsyncClient(url) as client,
    ):
        session = await client.create_session()
        async with client.live(session.id, modality="audio") as live:
            await live.send_message("say it out loud")
            frames = await read_turn(live)
    media = [f for f in frames if isinstance(f, MediaDelta)]
    turn = assert_turn_whole(frames, "say it out loud")
    assert len(media) == len(turn.text.split())
    assert {len(base64.b64decode(m.data)) for m in media} == {960}


async def test_live_client_server_shutdown_is_connection_lost(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), contextlib.AsyncExitStack() as stack:
        async with serve_app(make_app()) as url:
            client = await stack.enter_async_context(AsyncClient(url))
            session = await client.create_session()
            live = await stack.enter_async_context(client.live(session.id))
            started = await anext(live)
        # The server stopped with the socket open.
        with pytest.raises(APIConnectionError) as raised:
            await anext(live)
    assert isinstance(started, RunStarted)
    assert raised.value.run_id == started.run_id and raised.value.last_seq == 1
    assert live.close_code == 1012


async def test_live_client_unreachable_server_is_connection_lost() -> None:
    async with asyncio.timeout(TIMEOUT_S), AsyncClient("http://127.0.0.1:9") as client:
        with pytest.raises(APIConnectionError):
            async with client.live("any"):
                pytest.fail("connected to nothing")


def _sync_scenario(url: str) -> tuple[list[TurnCompleted], RunCompleted | None]:
    with Client(url, timeout=TIMEOUT_S) as client:
        session = client.create_session()
        with client.live(session.id) as live:
            turns = []
            for text in ("sync one", "sync two"):
                live.send_message(text)
                turn = live.next_turn()
                assert turn is not None
                turns.append(turn)
            live.close()
            tail = list(live)
        with pytest.raises(NotFoundError), client.live("missing"):
            pytest.fail("a refused session opened")
    terminal = tail[-1] if tail else None
    return turns, terminal if isinstance(terminal, RunCompleted) else None


async def test_live_sync_client_two_turns(make_app: AppFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), serve_app(make_app()) as url:
        turns, terminal = await asyncio.to_thread(_sync_scenario, url)
    assert [t.turn for t in turns] == [1, 2]
    assert turns[0].text.startswith("You said: sync one.")
    assert terminal is not None and terminal.final_text == turns[1].text


@pytest.mark.parametrize(
    ("close", "frame_code", "expected", "code"),
    [
        pytest.param(
            1008, "session_not_found", NotFoundError, "session_not_found", id="no-session"
        ),
        pytest.param(
            1008, "live_not_supported", ConflictError, "live_not_supported", id="workflow"
        ),
        pytest.param(1008, "invalid_field", BadRequestError, "invalid_field", id="bad-modality"),
        pytest.param(1008, None, PolicyViolation, "policy_violation", id="flood"),
        pytest.param(1011, None, InternalServerError, "internal_error", id="error"),
        pytest.param(1013, "server_busy", ServiceUnavailableError, "server_busy", id="busy"),
        pytest.param(1012, None, APIConnectionError, "connection_lost", id="restart"),
        pytest.param(1000, None, APIConnectionError, "connection_lost", id="normal-but-early"),
        pytest.param(None, None, APIConnectionError, "connection_lost", id="dropped"),
    ],
)
def test_error_from_close_maps_close_codes(
    close: int | None, frame_code: str | None, expected: type[Exception], code: str
) -> None:
    message = "what the frame said" if frame_code else None
    error = error_from_close(
        close, "the reason", code=frame_code, message=message, run_id="r", last_seq=3
    )
    assert type(error) is expected
    assert error.code == code
    assert not isinstance(error, RateLimitError)
    if isinstance(error, APIConnectionError):
        assert (error.run_id, error.last_seq) == ("r", 3)
    if isinstance(error, PolicyViolation):
        assert (error.close_code, error.reason, error.message) == (1008, "the reason", "the reason")
