"""ADK's `/run_live` WebSocket: adkstream's answers as ADK's own server gives them, and
its refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.adk_rest.conftest import adk_server, adkstream_server
from tests.adk_rest.wire import stable

TIMEOUT_S = 20
USER = "u1"


def _ws_url(client: httpx.AsyncClient, **query: str) -> str:
    params = {"app_name": "live", "user_id": USER, **query}
    url = client.base_url.copy_with(scheme="ws", path="/run_live", params=params)
    return str(url) + "&modalities=TEXT"


async def _closed(socket: websockets.ClientConnection) -> websockets.frames.Close:
    """Reads until the server closes the socket; its close frame."""
    frame = None
    try:
        while True:
            await socket.recv()
    except websockets.ConnectionClosed as closed:
        frame = closed.rcvd
    assert frame is not None
    return frame


async def _session(client: httpx.AsyncClient) -> str:
    response = await client.post(f"/apps/live/users/{USER}/sessions", json={})
    assert response.status_code == 200, response.text
    session_id: str = response.json()["id"]
    return session_id


async def _one_turn(client: httpx.AsyncClient, text: str) -> list[dict[str, Any]]:
    """Sends one user turn, reads ADK's events up to the turn's end, then closes."""
    session_id = await _session(client)
    content = {"role": "user", "parts": [{"text": text}]}
    frames: list[dict[str, Any]] = []
    async with websockets.connect(_ws_url(client, session_id=session_id)) as socket:
        await socket.send(json.dumps({"content": content}))
        while not frames or not frames[-1].get("turnComplete"):
            frames.append(json.loads(await socket.recv()))
    return frames


async def test_adk_run_live_sends_adks_events(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        async with adk_server(tmp_path / "adk") as adk:
            theirs = await _one_turn(adk, "hello live")
        async with adkstream_server(tmp_path / "ours") as ours:
            mine = await _one_turn(ours, "hello live")
    assert [stable(f) for f in mine] == [stable(f) for f in theirs]
    assert any(f.get("partial") for f in mine)


async def test_adk_run_live_close_request_ends_the_run_and_its_session_keeps_it(
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(TIMEOUT_S), adkstream_server(tmp_path) as client:
        session_id = await _session(client)
        content = {"role": "user", "parts": [{"text": "remember me"}]}
        async with websockets.connect(_ws_url(client, session_id=session_id)) as socket:
            await socket.send(json.dumps({"content": content}))
            while not json.loads(await socket.recv()).get("turnComplete"):
                pass
            await socket.send(json.dumps({"close": True}))
            closed = await _closed(socket)
        session = (await client.get(f"/apps/live/users/{USER}/sessions/{session_id}")).json()
    assert closed.code == 1000
    authors = [event["author"] for event in session["events"]]
    assert authors[0] == "user" and "live" in authors
    assert session["state"]["answer"]


@pytest.mark.parametrize(
    ("query", "code", "reason"),
    [
        pytest.param({"session_id": "nope"}, 1002, "Session not found: nope", id="session"),
        pytest.param({"app_name": "nobody"}, 1008, "no app named 'nobody'", id="app"),
        pytest.param(
            {"app_name": "workflow"}, 1008, "agent 'workflow' is a workflow", id="workflow"
        ),
        pytest.param({"user_id": ""}, 1008, "user_id must not be empty", id="user"),
    ],
)
async def test_adk_run_live_refusals_close_with_a_reason(
    tmp_path: Path, query: dict[str, str], code: int, reason: str
) -> None:
    async with asyncio.timeout(TIMEOUT_S), adkstream_server(tmp_path) as client:
        app = query.get("app_name", "live")
        created = await client.post(f"/apps/{app}/users/{USER}/sessions", json={})
        query = {"session_id": created.json().get("id", ""), **query}
        async with websockets.connect(_ws_url(client, **query)) as socket:
            closed = await _closed(socket)
    assert closed.code == code
    assert closed.reason.startswith(reason)


async def test_adk_run_live_bad_frame_closes_naming_the_field(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S), adkstream_server(tmp_path) as client:
        session_id = await _session(client)
        async with websockets.connect(_ws_url(client, session_id=session_id)) as socket:
            await socket.send(json.dumps({"content": {"parts": "not a list"}}))
            closed = await _closed(socket)
    assert closed.code == 1008
    assert closed.reason == "not a LiveRequest: content.parts"


async def test_adk_run_live_with_auth_refuses_another_users_name_as_an_unknown_session(
    tmp_path: Path,
) -> None:
    keys = "key-a=alice,key-b=bob"
    alice = {"X-API-Key": "key-a"}
    async with asyncio.timeout(TIMEOUT_S), adkstream_server(tmp_path, api_keys=keys) as client:
        created = await client.post("/apps/live/users/alice/sessions", json={}, headers=alice)
        session_id = created.json()["id"]
        as_bob = _ws_url(client, session_id=session_id, user_id="bob")
        async with websockets.connect(as_bob, additional_headers=alice) as socket:
            refused = await _closed(socket)
        as_alice = _ws_url(client, session_id=session_id, user_id="alice")
        with pytest.raises(websockets.InvalidStatus) as anonymous:
            await websockets.connect(as_alice)
    assert (refused.code, refused.reason) == (1002, f"Session not found: {session_id}")
    assert anonymous.value.response.status_code == 403  # a socket refused before it opens
