"""POST /v1/runs over a real server: SSE framing, NDJSON and JSON, errors, disconnects."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from google.adk.events.event import Event

from adkstream.events import (
    MessageDelta,
    RunCancelled,
    RunCompleted,
    StreamEvent,
    is_terminal,
    parse_event,
)
from tests.api.conftest import Api, ServerFactory
from tests.api.sse_reading import post_sse, texts_by_message


async def test_runs_sse_frames_parse_in_order(api: Api) -> None:
    async with asyncio.timeout(30):
        response, frames = await post_sse(api.client, {"message": "hello there"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    run_id = response.headers["x-run-id"]
    assert response.headers["content-location"] == f"/v1/runs/{run_id}"
    ids = [int(frame_id) for frame_id, _, _ in frames]
    assert ids == list(range(1, len(frames) + 1))
    for frame_id, name, event in frames:
        assert name == event.type
        assert event.seq == int(frame_id)
        assert event.run_id == run_id
    events = [event for _, _, event in frames]
    assert events[0].type == "run.started"
    assert [e for e in events if is_terminal(e)] == [events[-1]]
    deltas, completed = texts_by_message(events)
    assert completed and deltas == completed
    final = events[-1]
    assert isinstance(final, RunCompleted)
    session = await api.client.get(f"/v1/sessions/{response.headers['x-session-id']}")
    assert session.json()["state"]["last_answer"] == final.final_text
    assert final.final_text.startswith("You said: hello there.")


async def test_runs_sse_starts_with_retry_hint(api: Api) -> None:
    async with (
        asyncio.timeout(30),
        api.client.stream("POST", "/v1/runs", json={"message": "hi"}) as response,
    ):
        body = (await response.aread()).decode()
    first_frame = body.split("\n\n", 1)[0]
    assert first_frame.startswith("retry: ")
    assert "data:" not in first_frame


async def test_runs_sse_pings_while_the_model_is_silent(start_server: ServerFactory) -> None:
    # Two words a second: half a second of silence between deltas, pings every 0.1 s.
    async with start_server(heartbeat_s=0.1, offline_tokens_per_s=2, offline_reply_tokens=3) as api:
        lines: list[str] = []
        async with (
            asyncio.timeout(30),
            api.client.stream("POST", "/v1/runs", json={"message": "x"}) as response,
        ):
            async for line in response.aiter_lines():
                lines.append(line)
    ping_at = [i for i, line in enumerate(lines) if line == ": ping"]
    first_delta = next(i for i, line in enumerate(lines) if line == "event: message.delta")
    assert ping_at, "no ping comment arrived"
    assert any(i > first_delta for i in ping_at), "no ping between deltas"


async def test_runs_ndjson_and_json_agree_with_sse(api: Api) -> None:
    body = {"message": "same words", "coalesce_ms": 0}
    async with asyncio.timeout(30):
        _, frames = await post_sse(api.client, body)
        ndjson: list[StreamEvent] = []
        async with api.client.stream(
            "POST", "/v1/runs", json=body, headers={"Accept": "application/x-ndjson"}
        ) as response:
            assert response.headers["content-type"].startswith("application/x-ndjson")
            async for line in response.aiter_lines():
                if line:
                    ndjson.append(parse_event(line))
        result = await api.client.post(
            "/v1/runs", json=body, headers={"Accept": "application/json"}
        )
    sse_events = [event for _, _, event in frames]
    # A reader that falls behind gets adjacent deltas merged, so compare the shapes.
    assert _shape(ndjson) == _shape(sse_events)
    assert texts_by_message(ndjson)[0] == texts_by_message(ndjson)[1]
    sse_final = sse_events[-1]
    ndjson_final = ndjson[-1]
    assert isinstance(sse_final, RunCompleted) and isinstance(ndjson_final, RunCompleted)
    assert ndjson_final.final_text == sse_final.final_text
    assert result.status_code == 200
    data = result.json()
    assert set(data) == {
        "run_id",
        "session_id",
        "status",
        "final_text",
        "usage",
        "finish_reason",
        "error",
    }
    assert data["status"] == "completed"
    assert data["finish_reason"] == sse_final.finish_reason == "stop"
    assert data["final_text"] == sse_final.final_text
    assert data["usage"] == sse_final.usage.model_dump()
    assert data["error"] is None


def _shape(events: list[StreamEvent]) -> list[str]:
    shape: list[str] = []
    for event in events:
        if not (shape and shape[-1] == event.type == "message.delta"):
            shape.append(event.type)
    return shape


async def test_runs_continue_a_session(api: Api) -> None:
    async with asyncio.timeout(30):
        first = await api.client.post(
            "/v1/runs", json={"message": "one"}, headers={"Accept": "application/json"}
        )
        session_id = first.json()["session_id"]
        second = await api.client.post(
            "/v1/runs",
            json={"message": "two", "session_id": session_id},
            headers={"Accept": "application/json"},
        )
        session = (await api.client.get(f"/v1/sessions/{session_id}")).json()
    assert second.json()["session_id"] == session_id
    assert [m["text"] for m in session["messages"] if m["role"] == "user"] == ["one", "two"]
    assert session["state"]["last_answer"] == second.json()["final_text"]


BAD_INPUTS = [
    pytest.param(b"{not json", {}, 400, "malformed_json", None, id="malformed-json"),
    pytest.param(b"", {}, 400, "missing_body", None, id="empty-body"),
    pytest.param(b"[1, 2]", {}, 400, "invalid_body", None, id="not-an-object"),
    pytest.param(b"{}", {}, 422, "invalid_field", "message", id="missing-message"),
    pytest.param(b'{"message": "  "}', {}, 422, "invalid_field", "message", id="empty-message"),
    pytest.param(b'{"message": 3}', {}, 422, "invalid_field", "message", id="message-wrong-type"),
    pytest.param(
        b'{"message": {"parts": []}}', {}, 422, "invalid_field", "message.parts", id="no-parts"
    ),
    pytest.param(
        b'{"message": "x", "coalesce_ms": 5000}',
        {},
        422,
        "invalid_field",
        "coalesce_ms",
        id="coalesce-out-of-range",
    ),
    pytest.param(
        b'{"message": "x", "on_disconnect": "later"}',
        {},
        422,
        "invalid_field",
        "on_disconnect",
        id="bad-disconnect-policy",
    ),
    pytest.param(
        b'{"message": "x", "user_id": "mallory"}',
        {},
        422,
        "invalid_field",
        "user_id",
        id="body-names-a-user",
    ),
    pytest.param(
        b'{"message": "x", "agent": "nobody"}',
        {},
        404,
        "unknown_agent",
        "agent",
        id="unknown-agent",
    ),
    pytest.param(
        b'{"message": "x", "session_id": "missing"}',
        {},
        404,
        "session_not_found",
        "session_id",
        id="unknown-session",
    ),
    pytest.param(
        b'{"message": "x"}',
        {"Accept": "text/html"},
        406,
        "not_acceptable",
        "accept",
        id="unsupported-accept",
    ),
]


@pytest.mark.parametrize(("body", "headers", "status", "code", "field"), BAD_INPUTS)
async def test_runs_bad_input_gets_a_json_error(
    api: Api, body: bytes, headers: dict[str, str], status: int, code: str, field: str | None
) -> None:
    async with asyncio.timeout(30):
        response = await api.client.post(
            "/v1/runs", content=body, headers={"Content-Type": "application/json", **headers}
        )
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error.get("field") == field
    assert error["message"]
    assert "Traceback" not in response.text
    assert not api.host.runs.active


EMPTY_MESSAGES = [
    pytest.param("/v1/runs", {"message": ""}, "message", id="native-empty"),
    pytest.param("/v1/runs", {"message": " \n\t"}, "message", id="native-blank"),
    pytest.param(
        "/v1/runs", {"message": {"parts": [{"text": "  "}]}}, "message", id="native-blank-parts"
    ),
    pytest.param(
        "/v1/chat/completions",
        {"model": "assistant", "messages": [{"role": "user", "content": "  "}]},
        "messages",
        id="openai-blank",
    ),
    pytest.param(
        "/v1/agui/assistant",
        {
            "threadId": "t-empty",
            "runId": "r-1",
            "state": {},
            "messages": [{"id": "u-1", "role": "user", "content": " "}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        },
        "messages",
        id="agui-blank",
    ),
    pytest.param(
        "/v1/vercel/assistant",
        {"id": "c-empty", "messages": [{"id": "u-1", "role": "user", "parts": []}]},
        "messages",
        id="vercel-no-parts",
    ),
]


@pytest.mark.parametrize(("path", "body", "field"), EMPTY_MESSAGES)
async def test_runs_an_empty_message_is_422_in_the_same_words(
    api: Api, path: str, body: dict[str, object], field: str
) -> None:
    response = await api.client.post(path, json=body)
    assert response.status_code == 422
    error = response.json()["error"]  # OpenAI's route answers in OpenAI's error shape
    assert error["message"] == f"{field}: the message is empty"
    assert error["code"] == "invalid_field"
    assert error.get("field", error.get("param")) == field
    # Refused before anything ran (AG-UI and Vercel name their session first: it may exist).
    for session in (await api.client.get("/v1/sessions")).json()["sessions"]:
        runs = await api.client.get(f"/v1/sessions/{session['id']}/runs")
        assert runs.json()["runs"] == []


async def test_runs_body_over_the_limit_is_413(api: Api) -> None:
    big = json.dumps({"message": "x" * (1 << 20)}).encode()
    async with asyncio.timeout(30):
        response = await api.client.post(
            "/v1/runs", content=big, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_runs_client_disconnect_cancels_the_run(start_server: ServerFactory) -> None:
    async with start_server(offline_tokens_per_s=20, offline_reply_tokens=400) as api:
        tasks_before = {t for t in asyncio.all_tasks() if not t.done()}
        async with asyncio.timeout(30):
            async with api.client.stream("POST", "/v1/runs", json={"message": "long"}) as response:
                run_id = response.headers["x-run-id"]
                session_id = response.headers["x-session-id"]
                run = api.host.runs.active[run_id]
                async for line in response.aiter_lines():
                    if line == "event: message.delta":
                        break
            assert run.task is not None
            async with asyncio.timeout(1.0):  # the disconnect cancels it within a second
                await run.done.wait()
            await asyncio.wait({run.task})  # then the task frees its slot and ends
            status = (await api.client.get(f"/v1/runs/{run_id}")).json()
            assert status["status"] == "cancelled"
            await api.host.log.flushed(run_id)
            session = await api.host.session_service.get_session(
                app_name="assistant", user_id="local", session_id=session_id
            )
        assert session is not None
        assert any(_is_abort_marker(e) for e in session.events)
        leftover = {t for t in asyncio.all_tasks() if not t.done()} - tasks_before
        assert not [t for t in leftover if run_id in t.get_name() or _runs_adk(t)]
        assert not api.host.runs.active


def _runs_adk(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and "google/adk" in code.co_filename


def _is_abort_marker(event: Event) -> bool:
    return event.error_code == "INVOCATION_ABORTED"


async def test_runs_background_answers_202_and_events_replay(api: Api) -> None:
    async with asyncio.timeout(30):
        accepted = await api.client.post("/v1/runs", json={"message": "bg", "background": True})
        assert accepted.status_code == 202
        run_id = accepted.json()["run_id"]
        assert accepted.headers["location"] == f"/v1/runs/{run_id}/events"
        events = await _read_events(api.client, f"/v1/runs/{run_id}/events", {})
        assert events[-1].type == "run.completed"
        last = events[-1].seq
        # Resume in the middle: exactly the events after the id.
        tail = await _read_events(api.client, f"/v1/runs/{run_id}/events", {"Last-Event-ID": "3"})
        assert tail[0].seq == 4 and tail[-1].seq == last
        at_end = await api.client.get(
            f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(last)}
        )
        assert at_end.status_code == 204
        cancel_finished = await api.client.post(f"/v1/runs/{run_id}/cancel")
        assert cancel_finished.status_code == 409


async def test_runs_cancel_route_ends_the_run(start_server: ServerFactory) -> None:
    async with start_server(offline_tokens_per_s=20, offline_reply_tokens=400) as api:
        async with asyncio.timeout(30):
            accepted = await api.client.post("/v1/runs", json={"message": "bg", "background": True})
            run_id = accepted.json()["run_id"]
            cancel = await api.client.post(f"/v1/runs/{run_id}/cancel")
            assert cancel.status_code == 202
            events = await _read_events(api.client, f"/v1/runs/{run_id}/events", {})
        assert isinstance(events[-1], RunCancelled)
        assert (await api.client.get(f"/v1/runs/{run_id}")).json()["status"] == "cancelled"


async def test_runs_unknown_run_is_404(api: Api) -> None:
    async with asyncio.timeout(30):
        for method, path in [
            ("GET", "/v1/runs/nope"),
            ("GET", "/v1/runs/nope/events"),
            ("POST", "/v1/runs/nope/cancel"),
        ]:
            response = await api.client.request(method, path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "run_not_found"


async def _read_events(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    async with client.stream(
        "GET", path, headers={"Accept": "application/x-ndjson", **headers}
    ) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                events.append(parse_event(line))
    return events


async def test_runs_coalescing_merges_fast_deltas(api: Api) -> None:
    body_off = {"message": "x", "coalesce_ms": 0}
    body_on = {"message": "x", "coalesce_ms": 1000}
    async with asyncio.timeout(30):
        off, _ = await post_sse(api.client, body_off)
        on, _ = await post_sse(api.client, body_on)
        # The log, not the stream: a reader that falls behind gets backlogs merged.
        logged_off = await api.host.log.read(off.headers["x-run-id"], after=0)
        logged_on = await api.host.log.read(on.headers["x-run-id"], after=0)
    deltas_off = [e for e in logged_off if isinstance(e, MessageDelta)]
    deltas_on = [e for e in logged_on if isinstance(e, MessageDelta)]
    # 12 words without delay: every word a delta without coalescing; with a 1 s window
    # what the model said meanwhile goes in one or two merged deltas.
    assert len(deltas_off) == 12
    assert 1 <= len(deltas_on) <= 2
    assert "".join(d.text for d in deltas_on) == "".join(d.text for d in deltas_off)


async def test_runs_storage_down_is_503_with_retry_after(start_server: ServerFactory) -> None:
    # Nothing listens on port 1: the session store cannot connect.
    unreachable = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    async with start_server(database_url=unreachable) as api, asyncio.timeout(30):
        response = await api.client.post("/v1/runs", json={"message": "x"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert "Connect call failed" not in response.text
