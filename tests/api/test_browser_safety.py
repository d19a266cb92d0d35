"""What a web page on another site can make a browser do to a server on localhost with
authentication off, and what stops it: JSON routes take JSON only (a cross-origin form
or `text/plain` POST is a 415), the Host allowlist refuses a rebound name (421), and a
WebSocket from a foreign origin is refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from tests.api.conftest import Api, ServerFactory

KEYS = "key-alice=alice"
RUN = json.dumps({"message": "hello"})

# Every route that reads a JSON body (route, body; `{run}` is a finished run's id).
JSON_ROUTES = [
    pytest.param("/v1/runs", RUN, id="runs"),
    pytest.param("/v1/runs/{run}/answers", json.dumps({"answers": []}), id="answers"),
    pytest.param("/v1/sessions", json.dumps({}), id="sessions"),
    pytest.param(
        "/v1/agui/assistant",
        json.dumps(
            {
                "threadId": "t-1",
                "runId": "r-1",
                "messages": [{"id": "m-1", "role": "user", "content": "hello"}],
                "tools": [],
                "context": [],
                "state": {},
                "forwardedProps": {},
            }
        ),
        id="agui",
    ),
    pytest.param(
        "/v1/vercel/assistant",
        json.dumps(
            {
                "id": "chat-1",
                "messages": [
                    {"id": "m-1", "role": "user", "parts": [{"type": "text", "text": "hello"}]}
                ],
            }
        ),
        id="vercel",
    ),
    pytest.param(
        "/v1/chat/completions",
        json.dumps({"model": "assistant", "messages": [{"role": "user", "content": "hello"}]}),
        id="openai",
    ),
]

NOT_JSON = [
    pytest.param("text/plain", id="text-plain"),
    pytest.param("text/plain;charset=UTF-8", id="text-plain-charset"),
    pytest.param("application/x-www-form-urlencoded", id="form"),
    pytest.param("multipart/form-data; boundary=x", id="multipart"),
    pytest.param("application/jsonx", id="json-lookalike"),
    pytest.param(None, id="no-content-type"),
]


async def _finished_run(api: Api) -> str:
    response = await api.client.post(
        "/v1/runs",
        content=RUN,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def _counts(api: Api) -> tuple[int, int]:
    """(sessions, runs) of the local user: what a refused request must not have added."""
    sessions = (await api.client.get("/v1/sessions")).json()["sessions"]
    runs = 0
    for session in sessions:
        runs += len((await api.client.get(f"/v1/sessions/{session['id']}/runs")).json()["runs"])
    return len(sessions), runs


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize(("route", "body"), JSON_ROUTES)
async def test_json_routes_refuse_a_body_that_is_not_json_typed(
    api: Api, route: str, body: str, content_type: str | None
) -> None:
    async with asyncio.timeout(30):
        path = route.format(run=await _finished_run(api))
        before = await _counts(api)
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = await api.client.post(path, content=body.encode(), headers=headers)
        after = await _counts(api)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    if route == "/v1/chat/completions":  # OpenAI's error shape
        assert error["param"] == "Content-Type"
        assert error["type"] == "invalid_request_error"
    else:
        assert error["field"] == "Content-Type"
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"]
    assert after == before
    assert not api.host.runs.active


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/vnd.adkstream+json",
    ],
)
async def test_json_routes_take_json_types_with_parameters(api: Api, content_type: str) -> None:
    async with asyncio.timeout(30):
        response = await api.client.post(
            "/v1/runs",
            content=RUN,
            headers={"Content-Type": content_type, "Accept": "application/json"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"


async def test_a_session_post_without_a_body_needs_no_content_type(api: Api) -> None:
    async with asyncio.timeout(30):
        bare = await api.client.post("/v1/sessions")
        form = await api.client.post(
            "/v1/sessions", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    assert bare.status_code == 201, bare.text
    assert form.status_code == 415


async def test_artifact_uploads_keep_their_own_content_types(api: Api) -> None:
    async with asyncio.timeout(30):
        session = (await api.client.post("/v1/sessions", json={})).json()["id"]
        path = f"/v1/sessions/{session}/artifacts/notes.txt"
        uploaded = await api.client.post(
            path, content=b"plain text", headers={"Content-Type": "text/plain"}
        )
        read = await api.client.get(path)
    assert uploaded.status_code == 201, uploaded.text
    assert read.headers["content-type"].startswith("text/plain")
    assert read.content == b"plain text"


REBOUND = ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "0.0.0.0", "localhostx"]


@pytest.mark.parametrize("host", REBOUND)
async def test_auth_off_answers_loopback_names_only(api: Api, host: str) -> None:
    async with asyncio.timeout(30):
        refused = [
            await api.client.get(path, headers={"Host": host})
            for path in ("/healthz", "/v1/agents", "/", "/v1/sessions")
        ]
        posted = await api.client.post("/v1/runs", json={"message": "hi"}, headers={"Host": host})
        sessions = (await api.client.get("/v1/sessions")).json()["sessions"]
    for response in [*refused, posted]:
        assert response.status_code == 421, response.text
        assert response.json()["error"]["code"] == "host_not_allowed"
        assert response.json()["error"]["field"] == "Host"
    assert sessions == []
    assert not api.host.runs.active


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:1", "[::1]:8000", "LOCALHOST.", "[::1]"]
)
async def test_auth_off_answers_loopback_names_on_any_port(api: Api, host: str) -> None:
    async with asyncio.timeout(30):
        response = await api.client.get("/v1/agents", headers={"Host": host})
    assert response.status_code == 200, response.text


async def test_allowed_hosts_replace_the_default(start_server: ServerFactory) -> None:
    async with (
        start_server(allowed_hosts="api.example.com, *.corp.example") as api,
        asyncio.timeout(30),
    ):
        answers = {
            host: (await api.client.get("/v1/agents", headers={"Host": host})).status_code
            for host in (
                "api.example.com",
                "API.example.com:443",
                "chat.corp.example",
                "corp.example",
                "localhost",
                "example.com",
            )
        }
    assert answers == {
        "api.example.com": 200,
        "API.example.com:443": 200,
        "chat.corp.example": 200,
        "corp.example": 421,
        "localhost": 421,
        "example.com": 421,
    }


async def test_allowed_hosts_star_and_auth_on_answer_any_name(
    start_server: ServerFactory,
) -> None:
    async with start_server(allowed_hosts="*") as api, asyncio.timeout(30):
        star = await api.client.get("/v1/agents", headers={"Host": "anything.example"})
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(30):
        keyed = await api.client.get(
            "/v1/agents", headers={"Host": "anything.example", "X-API-Key": "key-alice"}
        )
        unkeyed = await api.client.get("/v1/agents", headers={"Host": "anything.example"})
    assert star.status_code == 200
    assert keyed.status_code == 200
    assert unkeyed.status_code == 401


async def _handshake(url: str, *, host: str | None = None, **headers: str) -> Any:
    """Opens the live socket of a missing session: the HTTP status and JSON body that
    refused the handshake, or the close code the socket ended with. `host` is the name in the URL
    (and so in Host) while the connection goes to the test server's address."""
    target = url
    kwargs: dict[str, Any] = {}
    if host is not None:
        address, port = url.removeprefix("ws://").split("/", 1)[0].split(":")
        target = url.replace(f"{address}:{port}", f"{host}:{port}", 1)
        kwargs = {"host": address, "port": int(port)}
    try:
        async with websockets.connect(target, additional_headers=headers, **kwargs) as socket:
            while True:
                await socket.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except websockets.InvalidStatus as refused:
        return refused.response.status_code, json.loads(refused.response.body or b"null")


def _live(api: Api) -> str:
    return api.url.replace("http://", "ws://") + "/v1/sessions/nope/live"


async def test_websocket_for_a_name_not_allowed_is_refused_before_the_route(api: Api) -> None:
    async with asyncio.timeout(30):
        rebound = await _handshake(_live(api), host="evil.example")
        named = await _handshake(_live(api), host="localhost")
    status, body = rebound
    assert status == 421
    assert body["error"]["code"] == "host_not_allowed"
    # An allowed name reaches the route, which closes a missing session's socket (1008).
    assert named == 1008


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://evil.example:8000",
        "null",
        "http://127.0.0.1.evil.example",
    ],
)
async def test_websocket_from_a_foreign_origin_is_refused(api: Api, origin: str) -> None:
    port = api.url.rsplit(":", 1)[1]
    async with asyncio.timeout(30):
        # The Host is the server's own, as with DNS rebinding or any page on another site.
        refused = await _handshake(_live(api), Origin=origin)
        own = await _handshake(_live(api), Origin=f"http://127.0.0.1:{port}")
        other_port = await _handshake(_live(api), Origin="http://localhost:3000")
    # Closed (1008) before the handshake completes: uvicorn answers the upgrade with 403.
    assert refused[0] == 403
    assert own == 1008  # past the gate: the route closes the missing session's socket
    assert other_port == 1008


async def test_websocket_origin_with_auth_on_is_the_servers_own_or_a_cors_origin(
    start_server: ServerFactory,
) -> None:
    async with (
        start_server(api_keys=KEYS, cors_origins="https://app.example") as api,
        asyncio.timeout(30),
    ):
        key = {"X-API-Key": "key-alice"}
        port = api.url.rsplit(":", 1)[1]
        foreign = await _handshake(_live(api), Origin="https://evil.example", **key)
        # Any Host is allowed with auth on: a rebound name is not the server's own origin
        # unless the page is on it, and then it has no key to send.
        rebound = await _handshake(
            _live(api), host="localhost", Origin="https://evil.example", **key
        )
        own = await _handshake(_live(api), Origin=f"http://127.0.0.1:{port}", **key)
        cors = await _handshake(_live(api), Origin="https://app.example", **key)
    assert foreign[0] == 403
    assert rebound[0] == 403
    assert own == 1008
    assert cors == 1008
