"""ADK's own api server and adkstream's ADK REST API routes, fed the same agents and the
same requests, answer the same: the same ADK Event sequence from `/run` and `/run_sse`
(streaming or not), and the same session answers, ids and timestamps aside. The one
documented difference compared here: the end frame of a failed run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adk_rest.agents import SECRET
from tests.adk_rest.conftest import adk_server, adkstream_server
from tests.adk_rest.wire import data_frames, is_error_frame, stable

USER = "u1"
CASES = [
    pytest.param("text", "hello there", None, id="text"),
    pytest.param("tool", "what does get_time say", None, id="tool"),
    pytest.param("state", "remember this", {"mood": "good"}, id="state"),
    pytest.param("transfer", "help me", None, id="transfer"),
    pytest.param("workflow", "draft it", None, id="workflow"),
    pytest.param("error", "hi", None, id="error"),
]
ROUTES = [
    pytest.param("/run_sse", True, id="run_sse-streaming"),
    pytest.param("/run_sse", False, id="run_sse"),
    pytest.param("/run", False, id="run"),
]


async def _session(client: httpx.AsyncClient, app: str) -> dict[str, Any]:
    response = await client.post(f"/apps/{app}/users/{USER}/sessions", json={"state": {"n": 1}})
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def _run(
    client: httpx.AsyncClient,
    route: str,
    *,
    app: str,
    session_id: str,
    message: str,
    streaming: bool,
    state_delta: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    body: dict[str, Any] = {
        "appName": app,
        "userId": USER,
        "sessionId": session_id,
        "newMessage": {"role": "user", "parts": [{"text": message}]},
        "streaming": streaming,
    }
    if state_delta is not None:
        body["stateDelta"] = state_delta
    response = await client.post(route, json=body)
    if route == "/run":
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()
        return events
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return data_frames(response.text)


async def _conversation(
    client: httpx.AsyncClient,
    route: str,
    app: str,
    message: str,
    streaming: bool,
    state_delta: dict[str, Any] | None,
) -> dict[str, Any]:
    """One session's life: create, run, read, patch, list, delete, read again."""
    created = await _session(client, app)
    sid = created["id"]
    events = await _run(
        client,
        route,
        app=app,
        session_id=sid,
        message=message,
        streaming=streaming,
        state_delta=state_delta,
    )
    session = (await client.get(f"/apps/{app}/users/{USER}/sessions/{sid}")).json()
    patched = await client.patch(
        f"/apps/{app}/users/{USER}/sessions/{sid}", json={"stateDelta": {"n": 2}}
    )
    listed = (await client.get(f"/apps/{app}/users/{USER}/sessions")).json()
    deleted = await client.delete(f"/apps/{app}/users/{USER}/sessions/{sid}")
    gone = await client.get(f"/apps/{app}/users/{USER}/sessions/{sid}")
    return {
        "created": created,
        "events": events,
        "session": session,
        "patched": (patched.status_code, patched.json()),
        "listed": listed,
        "deleted": (deleted.status_code, deleted.json()),
        "gone": gone.status_code,
    }


@pytest.mark.parametrize(("route", "streaming"), ROUTES)
@pytest.mark.parametrize(("app", "message", "state_delta"), CASES)
async def test_adk_rest_answers_as_adk_does(
    tmp_path: Path,
    app: str,
    message: str,
    state_delta: dict[str, Any] | None,
    route: str,
    streaming: bool,
) -> None:
    async with asyncio.timeout(60):
        # ADK's /run answers a failed run with a bare 500; we answer its events and the
        # error frame, as /run_sse does: compared with ADK's /run_sse (not streaming).
        their_route = "/run_sse" if (app, route) == ("error", "/run") else route
        async with adk_server(tmp_path) as adk:
            theirs = await _conversation(adk, their_route, app, message, streaming, state_delta)
        async with adkstream_server(tmp_path) as ours_client:
            ours = await _conversation(ours_client, route, app, message, streaming, state_delta)
    their_events, our_events = theirs.pop("events"), ours.pop("events")
    if app == "error":
        assert is_error_frame(their_events[-1]) and is_error_frame(our_events[-1])
        ending = our_events.pop()
        their_events.pop()
        assert ending["errorCode"] == "model_error"
        assert SECRET not in str(our_events) + str(ending)
        # ADK's error event carries the exception's text; ours a message without it.
        [our_error] = [e for e in our_events if "errorCode" in e]
        assert our_error.pop("errorMessage") == "The model failed to answer."
        [their_error] = [e for e in their_events if "errorCode" in e]
        assert SECRET in their_error.pop("errorMessage")
    assert not any(is_error_frame(e) for e in our_events)
    assert our_events, "a run sends events"
    assert stable(our_events) == stable(their_events)
    assert stable(ours) == stable(theirs)


async def _server_facts(client: httpx.AsyncClient) -> dict[str, Any]:
    """The app list, an app's info, health, and the artifact routes' answers."""
    base = f"/apps/tool/users/{USER}/sessions/s1/artifacts"
    await client.post(f"/apps/tool/users/{USER}/sessions", json={"sessionId": "s1"})
    part = {"inlineData": {"mimeType": "text/plain", "data": "aGk="}}
    saved = [
        (await client.post(base, json={"filename": "a/b.txt", "artifact": part})).json()
        for _ in range(2)
    ]
    return {
        "apps": (await client.get("/list-apps?relative_path=./")).json(),
        "info": (await client.get("/apps/tool/app-info")).json(),
        "health": (await client.get("/health")).json(),
        "version": (await client.get("/version")).json()["version"],
        "saved": saved,
        "names": (await client.get(base)).json(),
        "latest": (await client.get(f"{base}/a/b.txt")).json(),
        "first": (await client.get(f"{base}/a/b.txt/versions/0")).json(),
        "versions": (await client.get(f"{base}/a/b.txt/versions")).json(),
        "metadata": (await client.get(f"{base}/a/b.txt/versions/metadata")).json(),
        "one": (await client.get(f"{base}/a/b.txt/versions/1/metadata")).json(),
        "deleted": (await client.delete(f"{base}/a/b.txt")).status_code,
        "gone": (await client.get(f"{base}/a/b.txt")).status_code,
    }


# ADK's own app-info route warns that it is experimental (an error under this suite).
@pytest.mark.filterwarnings(r"ignore:\[EXPERIMENTAL\]:UserWarning")
async def test_adk_rest_server_and_artifact_routes_answer_as_adk_does(tmp_path: Path) -> None:
    async with asyncio.timeout(60):
        async with adk_server(tmp_path) as adk:
            theirs = await _server_facts(adk)
        async with adkstream_server(tmp_path) as ours_client:
            ours = await _server_facts(ours_client)
    assert ours["versions"] == [0, 1]
    assert stable(_where_kept(ours)) == stable(_where_kept(theirs))


def _where_kept(value: Any) -> Any:
    """Artifact metadata without where each service keeps it and when it was made."""
    if isinstance(value, dict):
        return {
            k: _where_kept(v) for k, v in value.items() if k not in ("canonicalUri", "createTime")
        }
    if isinstance(value, list):
        return [_where_kept(v) for v in value]
    return value
