"""Credentials are sent, and a refusal (401, 403) is a typed error that is never retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adkstream.client import AsyncClient, AuthenticationError, PermissionDeniedError
from adkstream.errors import RequestError
from tests.client.conftest import FAST_BACKOFF, TIMEOUT_S, drain
from tests.servers import serve_app

Message = dict[str, Any]


class Refuses:
    """An ASGI app that answers every request `status` with the API's error body."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(
        self,
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((scope["method"], scope["path"], headers))
        code = "unauthorized" if self.status == 401 else "forbidden"
        body = json.dumps({"error": {"code": code, "message": "no valid key"}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


Call = Callable[[AsyncClient], Awaitable[object]]


CALLS: list[Any] = [
    pytest.param(lambda c: drain(c.stream("hello")), id="stream"),
    pytest.param(lambda c: drain(c.events("some-run", after=3)), id="events"),
    pytest.param(lambda c: c.run("hello"), id="run"),
    pytest.param(lambda c: c.get_run("some-run"), id="get_run"),
    pytest.param(lambda c: c.list_sessions(), id="list_sessions"),
    pytest.param(lambda c: c.cancel("some-run"), id="cancel"),
]


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("call", CALLS)
async def test_auth_failure_raises_authentication_error_after_one_request(
    status: int, call: Call
) -> None:
    app = Refuses(status)
    async with (
        asyncio.timeout(TIMEOUT_S),
        serve_app(app) as url,
        AsyncClient(url, api_key="the-key", token="the-token", **FAST_BACKOFF) as client,
    ):
        with pytest.raises(AuthenticationError) as raised:
            await call(client)
    assert len(app.requests) == 1
    error = raised.value
    assert isinstance(error, RequestError)  # the tree's "do not retry as it is"
    assert error.status_code == status
    assert type(error) is (AuthenticationError if status == 401 else PermissionDeniedError)
    assert error.code == ("unauthorized" if status == 401 else "forbidden")
    assert error.message == "no valid key"


async def test_client_sends_api_key_and_bearer_token() -> None:
    app = Refuses(401)
    async with asyncio.timeout(TIMEOUT_S), serve_app(app) as url:
        async with AsyncClient(url, api_key="the-key", token="the-token") as client:
            with pytest.raises(AuthenticationError):
                await client.get_session("s1")
        async with AsyncClient(url) as anonymous:
            with pytest.raises(AuthenticationError):
                await anonymous.get_session("s1")
    (_, path, headers), (_, _, anonymous_headers) = app.requests
    assert path == "/v1/sessions/s1"
    assert headers["x-api-key"] == "the-key"
    assert headers["authorization"] == "Bearer the-token"
    assert "x-api-key" not in anonymous_headers
    assert "authorization" not in anonymous_headers
