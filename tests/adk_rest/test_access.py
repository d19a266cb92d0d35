"""ADK's REST API on adkstream: auth and bad input. With auth on, a user named in a path
or a body who is not the caller is 404; bad input is a 4xx naming the field."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.adk_rest.conftest import adkstream_server
from tests.adk_rest.wire import data_frames

KEYS = {"alice": "key-a", "bob": "key-b"}


def _run_body(session_id: str, *, user: str = "alice", app: str = "text") -> dict[str, Any]:
    return {
        "appName": app,
        "userId": user,
        "sessionId": session_id,
        "newMessage": {"role": "user", "parts": [{"text": "hi"}]},
    }


async def test_adk_rest_with_auth_hides_other_users(tmp_path: Path) -> None:
    keys = ",".join(f"{key}={user}" for user, key in KEYS.items())
    async with asyncio.timeout(30), adkstream_server(tmp_path, api_keys=keys) as client:
        alice = {"X-API-Key": KEYS["alice"]}
        assert (await client.get("/health")).json() == {"status": "ok"}  # public, as /healthz
        assert (await client.get("/apps/text/users/alice/sessions")).status_code == 401
        created = await client.post("/apps/text/users/alice/sessions", json={}, headers=alice)
        assert created.status_code == 200
        sid = created.json()["id"]
        bobs = await client.get(f"/apps/text/users/bob/sessions/{sid}", headers=alice)
        assert bobs.status_code == 404
        assert bobs.json()["error"]["field"] == "user_id"
        as_bob = await client.post("/run_sse", json=_run_body(sid, user="bob"), headers=alice)
        assert as_bob.status_code == 404
        assert as_bob.json()["error"]["field"] == "userId"
        ran = await client.post("/run_sse", json=_run_body(sid), headers=alice)
        assert ran.status_code == 200
        assert data_frames(ran.text)[-1]["turnComplete"] is True
        run_id = ran.headers["x-run-id"]
        bob = {"X-API-Key": KEYS["bob"]}
        assert (await client.get(f"/run_sse/{run_id}", headers=bob)).status_code == 404
        assert (await client.get("/apps/text/users/bob/sessions", headers=bob)).json() == []


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        pytest.param({"sessionId": None}, 422, "sessionId", id="no-session-id"),
        pytest.param({"appName": "nope"}, 404, "appName", id="unknown-app"),
        pytest.param({"appName": None}, 422, "appName", id="no-app"),
        pytest.param({"sessionId": "missing"}, 404, "sessionId", id="unknown-session"),
        pytest.param({"newMessage": None}, 422, "newMessage", id="no-message"),
        pytest.param({"newMessage": {"parts": "x"}}, 422, "newMessage.parts", id="bad-parts"),
    ],
)
async def test_adk_rest_bad_run_names_the_field(
    tmp_path: Path, change: dict[str, Any], status: int, field: str
) -> None:
    async with asyncio.timeout(30), adkstream_server(tmp_path) as client:
        created = await client.post("/apps/text/users/alice/sessions", json={})
        body = _run_body(created.json()["id"]) | change
        body = {k: v for k, v in body.items() if v is not None}
        for route in ("/run", "/run_sse"):
            response = await client.post(route, json=body)
            assert response.status_code == status, response.text
            assert response.json()["error"]["field"] == field


async def test_adk_rest_bad_session_requests_name_the_field(tmp_path: Path) -> None:
    async with asyncio.timeout(30), adkstream_server(tmp_path) as client:
        base = "/apps/text/users/alice/sessions"
        created = await client.post(base, json={"sessionId": "s1", "state": {"a": 1}})
        assert created.json()["state"] == {"a": 1}
        again = await client.post(base, json={"session_id": "s1"})
        assert (again.status_code, again.json()["error"]["field"]) == (409, "session_id")
        events = await client.post(base, json={"events": [{"author": "user"}]})
        assert (events.status_code, events.json()["error"]["field"]) == (422, "events")
        patch = await client.patch(f"{base}/s1", json={"state": {}})
        assert patch.status_code == 422
        assert "stateDelta" in patch.json()["error"]["field"] or "state_delta" in patch.text
        form = await client.post(base, content=b"a=1", headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        with_id = await client.post(f"{base}/s2", json={"b": 2})
        assert with_id.json()["state"] == {"b": 2}
        unknown = await client.get("/apps/nope/users/alice/sessions")
        assert (unknown.status_code, unknown.json()["error"]["field"]) == (404, "app_name")
