"""The live route over a real WebSocket on 127.0.0.1: turns, realtime input, closing, limits."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import defaultdict
from typing import Any

import pytest
import websockets

from adkstream.api.routes.live import LiveConfig
from adkstream.events import (
    MediaDelta,
    MessageCompleted,
    MessageDelta,
    RunCancelled,
    RunCompleted,
    StreamEvent,
    TurnCompleted,
    parse_event,
)
from tests.live.conftest import (
    TIMEOUT_S,
    Api,
    LiveSocket,
    ServerFactory,
    live_runs,
    open_live,
    ws_url,
)


async def new_session(api: Api, **body: Any) -> str:
    response = await api.client.post("/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    session_id: str = response.json()["id"]
    return session_id


def message(text: str) -> dict[str, str]:
    return {"type": "message", "text": text}


def assert_messages_whole(events: list[StreamEvent]) -> None:
    """Each message's deltas concatenate to its completed text (docs/ARCHITECTURE.md rules)."""
    deltas: dict[str, list[str]] = defaultdict(list)
    completed = 0
    for event in events:
        if isinstance(event, MessageDelta):
            deltas[event.message_id].append(event.text)
        elif isinstance(event, MessageCompleted):
            assert "".join(deltas.pop(event.message_id, [])) == event.text
            completed += 1
    assert not deltas, f"deltas of messages never completed: {list(deltas)}"
    assert completed


def only(events: list[Any], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


async def test_live_two_turns_stream_deltas_and_complete_each_turn(
    start_server: ServerFactory,
) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            await live.send(message("what is adkstream"))
            first = await live.until_type("turn.completed")
            await live.send(message("and what about live runs"))
            second = await live.until_type("turn.completed")
            state = (await api.client.get(f"/v1/sessions/{session_id}")).json()["state"]
            await live.send({"type": "close"})
            code, reason = await live.until_closed()

        assert (code, reason) == (1000, "run completed")
        for turn, asked in ((first, "what is adkstream"), (second, "and what about live runs")):
            assert_messages_whole(turn)
            (completed,) = only(turn, MessageCompleted)
            assert completed.text.startswith(f"You said: {asked}.")
            assert completed.output_key == "last_answer"
            ended = turn[-1]
            assert isinstance(ended, TurnCompleted)
            assert (ended.text, ended.message_id) == (completed.text, completed.message_id)
            assert not ended.interrupted
        assert [t[-1].turn for t in (first, second)] == [1, 2]
        # output_key holds the latest turn's text, not every turn's (ADK's live default).
        assert state["last_answer"] == second[-1].text

        events = live.events
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs)) and seqs[0] == 1
        assert events[0].type == "run.started" and events[0].session_id == session_id
        terminal = events[-1]
        assert isinstance(terminal, RunCompleted) and terminal.final_text == second[-1].text

        run = (await api.client.get(f"/v1/runs/{terminal.run_id}")).json()
        assert run["status"] == "completed" and run["last_seq"] == terminal.seq
        assert run["final_text"] == second[-1].text
        replay = await api.client.get(
            f"/v1/runs/{terminal.run_id}/events", headers={"Accept": "application/x-ndjson"}
        )
        logged = [parse_event(line) for line in replay.text.splitlines() if line]
        # A replay merges a backlog's adjacent deltas; every other event keeps its seq.
        assert logged[-1] == terminal
        assert_messages_whole(logged)
        whole = [(e.seq, e.type) for e in events if not isinstance(e, MessageDelta)]
        assert [(e.seq, e.type) for e in logged if not isinstance(e, MessageDelta)] == whole


@pytest.mark.parametrize(
    ("frames", "answer"),
    [
        pytest.param(
            [{"type": "realtime", "mime_type": "audio/pcm;rate=16000", "data": "AAAA" * 800}],
            "Received 2400 bytes of audio/pcm;rate=16000.",
            id="chunk-answered-at-once",
        ),
        pytest.param(
            [
                {"type": "activity_start"},
                {"type": "realtime", "mime_type": "audio/pcm", "data": "AAAA" * 250},
                {"type": "realtime", "mime_type": "audio/pcm", "data": "AAAA" * 100},
                {"type": "realtime", "mime_type": "image/jpeg", "data": "/9j/"},
                {"type": "activity_end"},
            ],
            "Received 1050 bytes of audio/pcm and 3 bytes of image/jpeg.",
            id="chunks-answered-at-activity-end",
        ),
    ],
)
async def test_live_realtime_chunks_reach_the_model(
    start_server: ServerFactory, frames: list[dict[str, str]], answer: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            for frame in frames:
                await live.send(frame)
            turn = await live.until_type("turn.completed")
        assert turn[-1].text == answer
        assert_messages_whole(turn)


async def test_live_closing_mid_turn_closes_the_queue_and_leaves_no_task(
    start_server: ServerFactory,
) -> None:
    async with (
        asyncio.timeout(TIMEOUT_S),
        # ~20 s of answer: the socket closes long before the turn could end.
        start_server(offline_tokens_per_s=20, offline_reply_tokens=400) as api,
    ):
        assert not _live_tasks()
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            await live.send(message("talk for a long time"))
            await live.until_type("message.delta")
            (run,) = live_runs(api).active.values()
            assert not run.queue.closed
        # The client closed the socket mid-turn.
        assert run.task is not None
        await run.task
        assert run.queue.closed
        assert run.run_id not in live_runs(api).active
        assert not _live_tasks()
        assert run.pump is not None and run.pump.done()
        record = (await api.client.get(f"/v1/runs/{run.run_id}")).json()
        assert record["status"] == "cancelled"
        (tail,) = await api.host.log.read(run.run_id, after=record["last_seq"] - 1)
        assert isinstance(tail, RunCancelled) and tail.reason == "client disconnected"


def _live_tasks() -> list[asyncio.Task[Any]]:
    """Unfinished tasks of live runs: ours (named adkstream-live-*) and ADK's."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        if not task.done() and (
            task.get_name().startswith("adkstream-live") or "google/adk" in filename
        ):
            found.append(task)
    return found


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        pytest.param("this is not json", "invalid_json", None, id="invalid-json"),
        pytest.param("[1, 2]", "invalid_frame", None, id="not-an-object"),
        pytest.param("[" * 5000 + "]" * 5000, "invalid_json", None, id="nested-past-recursion"),
        pytest.param(
            '{"type": "message", "text": "hi", "x": ' + "[" * 100 + "]" * 100 + "}",
            "invalid_json",
            None,
            id="nested-too-deep",
        ),
        pytest.param({"text": "hi"}, "invalid_frame", "type", id="no-type"),
        pytest.param({"type": "dance"}, "unknown_type", "type", id="unknown-type"),
        pytest.param({"type": "message"}, "invalid_field", "text", id="missing-field"),
        pytest.param(
            {"type": "message", "text": "hi", "user_id": "eve"},
            "invalid_field",
            "user_id",
            id="extra-field",
        ),
        pytest.param(
            {"type": "realtime", "mime_type": "audio/pcm", "data": "not base64!"},
            "invalid_base64",
            "data",
            id="bad-base64",
        ),
        pytest.param(
            {"type": "content", "parts": [{"function_call": {"name": "get_current_time"}}]},
            "invalid_field",
            "parts",
            id="user-function-call",
        ),
        pytest.param(
            {"type": "message", "text": "a" * (256 * 1024)}, "frame_too_large", None, id="too-large"
        ),
        pytest.param(b"\x00\x01binary", "binary_frame", None, id="binary"),
    ],
)
async def test_live_bad_frame_gets_an_error_frame_and_the_socket_stays_open(
    start_server: ServerFactory, frame: dict[str, Any] | str | bytes, code: str, field: str | None
) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            await live.until_type("run.started")
            if isinstance(frame, bytes):
                await live.ws.send(frame)
            else:
                await live.send(frame)
            (error,) = await live.until_type("error")
            await live.send({"type": "content", "parts": [{"text": "still there?"}]})
            turn = await live.until_type("turn.completed")
        assert error["code"] == code
        assert error.get("field") == field
        assert error["message"] and "Traceback" not in error["message"]
        assert set(error) <= {"type", "code", "message", "field"}
        assert turn[-1].text.startswith("You said: still there?")


async def test_live_frame_flood_closes_with_1008(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        api.app.state.live_config = LiveConfig(frames_per_s=50, frame_burst=20)
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            await live.until_type("run.started")
            frame = json.dumps({"type": "activity_start"})
            try:
                for _ in range(1000):
                    await live.ws.send(frame)
            except websockets.ConnectionClosed:
                pass  # the server closed it while we were still sending
            code, reason = await live.until_closed()
        assert (code, reason) == (1008, "frame rate limit exceeded")
        terminal = live.events[-1]
        assert isinstance(terminal, RunCancelled) and terminal.reason == "frame rate limit exceeded"


async def test_live_unknown_session_closes_with_1008(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        async with open_live(api, "no-such-session") as live:
            code, reason = await live.until_closed()
        assert code == 1008 and "no session" in reason
        assert [e["code"] for e in live.errors] == ["session_not_found"]
        assert not live.events


async def test_live_another_users_session_closes_with_1008(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server(api_keys="key-a=alice,key-b=bob") as api:
        response = await api.client.post(
            "/v1/sessions", json={}, headers={"Authorization": "Bearer key-a"}
        )
        session_id = response.json()["id"]
        bob = {"Authorization": "Bearer key-b"}
        async with open_live(api, session_id, headers=bob) as live:
            code, _ = await live.until_closed()
        assert code == 1008
        assert [e["code"] for e in live.errors] == ["session_not_found"]
        alice = {"Authorization": "Bearer key-a"}
        async with open_live(api, session_id, headers=alice) as live:
            started = await live.until_type("run.started")
        assert started[-1].user_id == "alice"


async def test_live_workflow_agent_is_refused_with_1008(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api, agent="pipeline")
        async with open_live(api, session_id) as live:
            code, _ = await live.until_closed()
        assert code == 1008
        assert [e["code"] for e in live.errors] == ["live_not_supported"]


async def test_live_idle_socket_completes_the_run_and_closes(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        api.app.state.live_config = LiveConfig(idle_s=0.3)
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            await live.send(message("hello"))
            await live.until_type("turn.completed")
            code, reason = await live.until_closed()
        assert (code, reason) == (1000, "idle timeout")
        assert isinstance(live.events[-1], RunCompleted)


async def test_live_cancel_request_ends_the_socket(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            (started,) = await live.until_type("run.started")
            response = await api.client.post(f"/v1/runs/{started.run_id}/cancel")
            assert response.status_code == 202
            code, reason = await live.until_closed()
        assert (code, reason) == (1000, "run cancelled")
        terminal = live.events[-1]
        assert isinstance(terminal, RunCancelled) and terminal.reason == "cancelled by request"


async def test_live_server_shutdown_fails_the_run_as_interrupted(
    start_server: ServerFactory,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        async with start_server() as api:
            session_id = await new_session(api)
            live = LiveSocket(await websockets.connect(ws_url(api, session_id)))
            (started,) = await live.until_type("run.started")
        # The server stopped with the socket open.
        code, _ = await live.until_closed()
        assert code == 1012
        async with start_server() as api:
            record = (await api.client.get(f"/v1/runs/{started.run_id}")).json()
        assert record["status"] == "failed" and record["error"]["code"] == "interrupted"


async def test_live_audio_answers_as_media_deltas_with_a_transcript(
    start_server: ServerFactory,
) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id, query="?modality=audio") as live:
            await live.send(message("say it out loud"))
            turn = await live.until_type("turn.completed")
        state = (await api.client.get(f"/v1/sessions/{session_id}")).json()["state"]
        media = only(turn, MediaDelta)
        (completed,) = only(turn, MessageCompleted)
        assert len(media) == len(completed.text.split())
        assert {m.mime_type for m in media} == {"audio/pcm;rate=24000"}
        assert {len(base64.b64decode(m.data)) for m in media} == {960}
        assert {m.message_id for m in media} == {completed.message_id}
        assert_messages_whole(turn)
        assert completed.text.startswith("You said: say it out loud.")
        assert turn[-1].text == completed.text == state["last_answer"]


async def test_live_bad_modality_closes_with_1008(start_server: ServerFactory) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id, query="?modality=smell") as live:
            code, _ = await live.until_closed()
        assert code == 1008
        assert [(e["code"], e["field"]) for e in live.errors] == [("invalid_field", "modality")]


async def test_live_content_frame_with_inline_data_reaches_the_model(
    start_server: ServerFactory,
) -> None:
    image = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(b"hello").decode()}}
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        async with open_live(api, session_id) as live:
            await live.send({"type": "content", "parts": [image]})
            turn = await live.until_type("turn.completed")
    assert turn[-1].text == "Received 5 bytes of image/png."


async def test_live_second_socket_continues_the_session_as_a_new_run(
    start_server: ServerFactory,
) -> None:
    async with asyncio.timeout(TIMEOUT_S), start_server() as api:
        session_id = await new_session(api)
        run_ids = []
        for text in ("first socket", "second socket"):
            async with open_live(api, session_id) as live:
                await live.send(message(text))
                await live.until_type("turn.completed")
                await live.send({"type": "close"})
                code, _ = await live.until_closed()
            assert code == 1000 and live.events[0].seq == 1
            run_ids.append(live.events[0].run_id)
        session = (await api.client.get(f"/v1/sessions/{session_id}")).json()
        runs = (await api.client.get(f"/v1/sessions/{session_id}/runs")).json()["runs"]
    said = [m["text"] for m in session["messages"] if m["role"] == "user"]
    assert said == ["first socket", "second socket"]
    assert session["state"]["last_answer"].startswith("You said: second socket.")
    assert [r["run_id"] for r in runs] == run_ids
    assert {r["status"] for r in runs} == {"completed"}
