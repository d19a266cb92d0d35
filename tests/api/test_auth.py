"""Authentication and ownership: identity comes from credentials, and another user's
session or run does not exist for you (404 on every route)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import jwt
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import Api, ServerFactory

KEYS = "key-alice=alice,key-bob=bob"
SECRET = "test-secret-that-is-long-enough-for-hs256"


def _token(sub: str, *, key: str = SECRET, algorithm: str = "HS256", **claims: object) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + 300, **claims}
    return jwt.encode(payload, key, algorithm=algorithm)


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_auth_no_credentials_is_401_with_challenge(start_server: ServerFactory) -> None:
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(30):
        response = await api.client.get("/v1/sessions")
        health = await api.client.get("/healthz")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["x-request-id"]
    assert health.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": "Bearer key-nobody"}, id="unknown-key"),
        pytest.param({"X-API-Key": "key-alic"}, id="unknown-x-api-key"),
        pytest.param({"Authorization": "Basic a2V5LWFsaWNlOg=="}, id="wrong-scheme"),
    ],
)
async def test_auth_wrong_api_key_is_401(
    start_server: ServerFactory, headers: dict[str, str]
) -> None:
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(30):
        response = await api.client.get("/v1/sessions", headers=headers)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


async def test_auth_api_key_by_either_header(start_server: ServerFactory) -> None:
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(30):
        created = await api.client.post("/v1/sessions", json={}, headers=_as("key-alice"))
        listed = await api.client.get("/v1/sessions", headers={"X-API-Key": "key-alice"})
    assert created.status_code == 201
    assert created.json()["user_id"] == "alice"
    assert [s["id"] for s in listed.json()["sessions"]] == [created.json()["id"]]


async def test_auth_api_keys_from_a_file(start_server: ServerFactory, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# key user\nfile-key carol\n")
    async with start_server(api_keys=f"@{keys}") as api, asyncio.timeout(30):
        response = await api.client.post("/v1/sessions", json={}, headers=_as("file-key"))
    assert response.json()["user_id"] == "carol"


@pytest.mark.parametrize(
    ("token", "status"),
    [
        pytest.param(_token("dave", aud="adkstream", iss="tests"), 201, id="valid"),
        pytest.param(
            _token("dave", aud="adkstream", iss="tests", exp=int(time.time()) - 10),
            401,
            id="expired",
        ),
        pytest.param(
            _token("dave", aud="adkstream", iss="tests", nbf=int(time.time()) + 600),
            401,
            id="not-yet-valid",
        ),
        pytest.param(_token("dave", aud="other", iss="tests"), 401, id="wrong-audience"),
        pytest.param(_token("dave", aud="adkstream", iss="evil"), 401, id="wrong-issuer"),
        pytest.param(
            _token("dave", key="another-secret-that-is-long-enough", aud="adkstream", iss="tests"),
            401,
            id="wrong-signature",
        ),
    ],
)
async def test_auth_jwt_claims_are_checked(
    start_server: ServerFactory, token: str, status: int
) -> None:
    settings = {"jwt_secret": SECRET, "jwt_audience": "adkstream", "jwt_issuer": "tests"}
    async with start_server(**settings) as api, asyncio.timeout(30):
        response = await api.client.post("/v1/sessions", json={}, headers=_as(token))
    assert response.status_code == status
    if status == 201:
        assert response.json()["user_id"] == "dave"


async def test_auth_jwt_es256_with_a_public_key_file(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "pub.pem").write_bytes(public_pem)
    token = _token("erin", key=private, algorithm="ES256")  # type: ignore[arg-type]
    async with (
        start_server(jwt_public_key_file=tmp_path / "pub.pem") as api,
        asyncio.timeout(30),
    ):
        response = await api.client.post("/v1/sessions", json={}, headers=_as(token))
    assert response.status_code == 201
    assert response.json()["user_id"] == "erin"


async def test_auth_custom_authenticator(
    start_server: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_auth.py").write_text(
        "async def authenticate(headers):\n"
        "    token = headers.get('x-team-token')\n"
        "    return None if token is None else 'team-' + token\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    async with start_server(authenticator="my_auth:authenticate") as api, asyncio.timeout(30):
        allowed = await api.client.post("/v1/sessions", json={}, headers={"X-Team-Token": "7"})
        refused = await api.client.post("/v1/sessions", json={})
    sys.modules.pop("my_auth", None)
    assert allowed.json()["user_id"] == "team-7"
    assert refused.status_code == 401


async def test_auth_another_users_session_and_run_are_404_everywhere(
    start_server: ServerFactory,
) -> None:
    async with start_server(api_keys=KEYS, offline_tokens_per_s=20) as api, asyncio.timeout(60):
        alice, bob = _as("key-alice"), _as("key-bob")
        accepted = await api.client.post(
            "/v1/runs", json={"message": "mine", "background": True}, headers=alice
        )
        run_id, session_id = accepted.json()["run_id"], accepted.json()["session_id"]
        attempts = [
            ("GET", f"/v1/sessions/{session_id}", None),
            ("GET", f"/v1/sessions/{session_id}/runs", None),
            ("DELETE", f"/v1/sessions/{session_id}", None),
            ("POST", "/v1/runs", {"message": "theirs", "session_id": session_id}),
            ("GET", f"/v1/runs/{run_id}", None),
            ("GET", f"/v1/runs/{run_id}/events", None),
            ("POST", f"/v1/runs/{run_id}/cancel", None),
        ]
        for method, path, body in attempts:
            response = await api.client.request(method, path, json=body, headers=bob)
            assert response.status_code == 404, (method, path, response.text)
            assert "alice" not in response.text
        bobs_sessions = (await api.client.get("/v1/sessions", headers=bob)).json()["sessions"]
        assert bobs_sessions == []
        # Alice still sees and controls what is hers.
        assert (await api.client.get(f"/v1/runs/{run_id}", headers=alice)).status_code == 200
        cancel = await api.client.post(f"/v1/runs/{run_id}/cancel", headers=alice)
        assert cancel.status_code == 202


async def test_auth_off_means_one_local_user(api: Api) -> None:
    async with asyncio.timeout(30):
        response = await api.client.post("/v1/sessions", json={})
    assert response.json()["user_id"] == "local"


async def test_auth_request_id_is_echoed_or_created(api: Api) -> None:
    async with asyncio.timeout(30):
        echoed = await api.client.get("/v1/agents", headers={"X-Request-Id": "req-123"})
        created = await api.client.get("/v1/agents", headers={"X-Request-Id": "bad id <script>"})
    assert echoed.headers["x-request-id"] == "req-123"
    assert created.headers["x-request-id"] not in ("", "bad id <script>")


async def test_auth_cors_allow_list(start_server: ServerFactory) -> None:
    async with start_server(cors_origins="https://app.example") as api, asyncio.timeout(30):
        allowed = await api.client.options(
            "/v1/runs",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,last-event-id",
            },
        )
        other = await api.client.get("/v1/agents", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


async def test_auth_unknown_user_fields_cannot_choose_identity(
    start_server: ServerFactory,
) -> None:
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(30):
        for body in ({"user_id": "alice"}, {"user": "alice"}, {"userId": "alice"}):
            response = await api.client.post("/v1/sessions", json=body, headers=_as("key-bob"))
            assert response.status_code == 422, body
            assert response.json()["error"]["field"] == next(iter(body))


async def _ws_close_code(url: str, **headers: str) -> int | None:
    """Opens the live socket of a missing session; the close code it ends with."""
    try:
        async with websockets.connect(url, additional_headers=headers) as socket:
            await socket.recv()
            await socket.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    return None


async def test_auth_websocket_needs_credentials_and_an_allowed_origin(
    start_server: ServerFactory,
) -> None:
    async with (
        start_server(api_keys=KEYS, cors_origins="https://app.example") as api,
        asyncio.timeout(30),
    ):
        base = api.url.replace("http://", "ws://") + "/v1/sessions/nope/live"
        no_key = await _ws_close_code(base)
        evil = await _ws_close_code(
            base, Authorization="Bearer key-alice", Origin="https://evil.example"
        )
        # Past the gate, a session that is not yours closes with 1008 from the route.
        allowed = await _ws_close_code(
            base, Authorization="Bearer key-alice", Origin="https://app.example"
        )
        by_query = await _ws_close_code(base + "?access_token=key-alice")
    # Refused before the handshake completes: uvicorn answers the upgrade with 403.
    assert no_key == 403
    assert evil == 403
    assert allowed == 1008
    assert by_query == 1008


async def test_auth_sessions_are_per_user_on_the_protocol_routes(
    start_server: ServerFactory,
) -> None:
    # Bob naming Alice's session id gets a session of his own under that id (README).
    chat = {"model": "assistant", "messages": [{"role": "user", "content": "I am Alice"}]}
    ui = {
        "id": "shared",
        "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "I am Bob"}]}],
    }
    async with start_server(api_keys=KEYS) as api, asyncio.timeout(60):
        alice, bob = _as("key-alice"), _as("key-bob")
        first = await api.client.post(
            "/v1/chat/completions", json=chat, headers=alice | {"X-Session-Id": "shared"}
        )
        second = await api.client.post("/v1/vercel/assistant", json=ui, headers=bob)
        seen = [
            (await api.client.get("/v1/sessions/shared", headers=who)).json()
            for who in (alice, bob)
        ]
    assert (first.status_code, second.status_code) == (200, 200)
    said = [[m["text"] for m in s["messages"] if m["role"] == "user"] for s in seen]
    assert said == [["I am Alice"], ["I am Bob"]]
