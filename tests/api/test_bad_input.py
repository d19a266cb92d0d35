"""Hostile input gets a 4xx, never a 500: JSON nested past any sane depth on every JSON
route, JWTs whose time claims are not numbers, and two credentials that disagree."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest
import websockets

from tests.api.conftest import Api, ServerFactory

KEYS = "key-alice=alice,key-bob=bob"
SECRET = "test-secret-that-is-long-enough-for-hs256"


def _nested(levels: int) -> str:
    """JSON text of `levels` arrays, one inside the other."""
    return "[" * levels + "]" * levels


def _with_deep(levels: int, body: dict[str, Any], key: str) -> str:
    """`body` as JSON text with `key` holding a value nested `levels` deep."""
    text = json.dumps({**body, key: "DEEP"})
    return text.replace('"DEEP"', _nested(levels))


# (route, a valid body, the field that takes any JSON value)
ROUTES = [
    pytest.param("/v1/runs", {"message": "hi"}, "state_delta", id="runs"),
    pytest.param("/v1/sessions", {}, "state", id="sessions"),
    pytest.param("/v1/runs/{run}/answers", {}, "answers", id="answers"),
    pytest.param(
        "/v1/agui/assistant",
        {
            "threadId": "t-1",
            "runId": "r-1",
            "messages": [{"id": "m-1", "role": "user", "content": "hello"}],
            "tools": [],
            "context": [],
            "forwardedProps": {},
        },
        "state",
        id="agui",
    ),
    pytest.param(
        "/v1/vercel/assistant",
        {"id": "chat-1", "messages": []},
        "metadata",
        id="vercel",
    ),
    pytest.param(
        "/v1/chat/completions",
        {"model": "assistant", "messages": [{"role": "user", "content": "hello"}]},
        "metadata",
        id="openai",
    ),
]


@pytest.mark.parametrize("levels", [101, 1_000, 100_000])
@pytest.mark.parametrize(("route", "body", "key"), ROUTES)
async def test_deeply_nested_json_is_a_400_on_every_json_route(
    api: Api, route: str, body: dict[str, Any], key: str, levels: int
) -> None:
    async with asyncio.timeout(30):
        finished = await api.client.post(
            "/v1/runs", json={"message": "hi"}, headers={"Accept": "application/json"}
        )
        path = route.format(run=finished.json()["run_id"])
        for text in (_with_deep(levels, body, key), _nested(levels)):
            response = await api.client.post(
                path, content=text, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 400, response.text[:300]
            error = response.json()["error"]
            assert error["code"] == "json_too_deep"
            assert "100 levels" in error["message"]
        sessions = (await api.client.get("/v1/sessions")).json()["sessions"]
    assert len(sessions) == 1  # the finished run's: nothing else was created
    assert not api.host.runs.active


async def test_json_nested_within_the_limit_is_taken(api: Api) -> None:
    # 100 levels in all: the body, `state`, and 98 arrays.
    state = json.loads(_nested(98).replace("[]", '["deep"]', 1))
    async with asyncio.timeout(30):
        created = await api.client.post("/v1/sessions", json={"state": {"tree": state}})
        read = await api.client.get(f"/v1/sessions/{created.json()['id']}")
    assert created.status_code == 201, created.text
    assert read.json()["state"]["tree"] == state


def _token(**claims: Any) -> str:
    payload = {"sub": "dave", "exp": int(time.time()) + 300, **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_token(exp=str(int(time.time()) + 300)), id="exp-string"),
        pytest.param(_token(exp="soon"), id="exp-word"),
        pytest.param(_token(exp=True), id="exp-true"),
        pytest.param(_token(exp=[int(time.time()) + 300]), id="exp-list"),
        pytest.param(_token(exp={"at": 1}), id="exp-object"),
        pytest.param(_token(exp=float("inf")), id="exp-infinity"),
        pytest.param(_token(exp=float("nan")), id="exp-nan"),
        pytest.param(_token(nbf="0"), id="nbf-string"),
        pytest.param(_token(nbf=[0]), id="nbf-list"),
        pytest.param(_token(iat="0"), id="iat-string"),
        pytest.param(_token(iat={"t": 0}), id="iat-object"),
        pytest.param(
            f"{_b64(_nested(5_000).encode())}.{_b64(b'{}')}.{_b64(b'x')}",
            id="header-nested-deep",
        ),
    ],
)
async def test_jwt_with_time_claims_that_are_not_numbers_is_401(
    start_server: ServerFactory, token: str
) -> None:
    async with start_server(jwt_secret=SECRET) as api, asyncio.timeout(30):
        response = await api.client.post(
            "/v1/sessions", json={}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_jwt_with_numeric_time_claims_is_taken(start_server: ServerFactory) -> None:
    now = time.time()
    token = _token(exp=now + 300.5, nbf=now - 10, iat=int(now) - 10)
    async with start_server(jwt_secret=SECRET) as api, asyncio.timeout(30):
        response = await api.client.post(
            "/v1/sessions", json={}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 201, response.text
    assert response.json()["user_id"] == "dave"


@pytest.mark.parametrize(
    ("headers", "status", "user"),
    [
        pytest.param(
            {"X-API-Key": "key-alice", "Authorization": "Bearer key-bob"}, 401, None, id="two-keys"
        ),
        pytest.param(
            {"X-API-Key": "key-bob", "Authorization": f"Bearer {_token(sub='alice')}"},
            401,
            None,
            id="key-and-token-of-two-users",
        ),
        pytest.param(
            {"X-API-Key": "key-alice", "Authorization": "Bearer key-nobody"},
            401,
            None,
            id="one-key-not-valid",
        ),
        pytest.param(
            {"X-API-Key": "key-alice", "Authorization": "Bearer key-alice"},
            201,
            "alice",
            id="one-key-twice",
        ),
        pytest.param(
            {"X-API-Key": "key-alice", "Authorization": f"Bearer {_token(sub='alice')}"},
            201,
            "alice",
            id="key-and-token-of-one-user",
        ),
    ],
)
async def test_conflicting_credentials_are_401(
    start_server: ServerFactory, headers: dict[str, str], status: int, user: str | None
) -> None:
    async with start_server(api_keys=KEYS, jwt_secret=SECRET) as api, asyncio.timeout(30):
        response = await api.client.post("/v1/sessions", json={}, headers=headers)
        sessions = [
            (await api.client.get("/v1/sessions", headers={"X-API-Key": key})).json()["sessions"]
            for key in ("key-alice", "key-bob")
        ]
    assert response.status_code == status, response.text
    if user is None:
        assert sessions == [[], []]
    else:
        assert response.json()["user_id"] == user


async def _live_outcome(url: str, **headers: str) -> int | None:
    """The HTTP status that refused the handshake, or the code the socket closed with."""
    try:
        async with websockets.connect(url, additional_headers=headers) as socket:
            while True:
                await socket.recv()
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def test_conflicting_credentials_on_a_websocket_are_refused(
    start_server: ServerFactory,
) -> None:
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(30):
        url = api.url.replace("http://", "ws://") + "/v1/sessions/nope/live?access_token=key-bob"
        both = await _live_outcome(url, **{"X-API-Key": "key-alice"})
        one = await _live_outcome(url)
    assert both == 403  # closed (1008) before the handshake: uvicorn answers 403
    assert one == 1008  # past the gate: the route closes the missing session's socket
