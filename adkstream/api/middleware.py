"""The gate every request passes: request id, authentication, rate limit, access log.

A pure ASGI middleware (no per-chunk work: streamed bodies pass through untouched).
- `X-Request-Id`: echoed when the client sends a sane one, else created; on every answer
  and every access-log line.
- Authentication (when configured): the user goes to `scope["state"]["user"]`, where
  `current_user` finds it. No credentials: 401 with `WWW-Authenticate`; bad ones: 401.
  A WebSocket without valid credentials, or from an origin not allowed (`hosts.py`:
  neither a CORS origin nor a page on an allowed host), is closed with 1008 before it
  is accepted; since a browser cannot set headers on a WebSocket, a token may come as
  `?access_token=` there (WebSockets only; the access log never records query strings).
- The per-user request rate: 429 with `Retry-After`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adkstream import metrics
from adkstream.api.auth import LOCAL_USER, AuthenticationFailed, Authenticator, identify
from adkstream.api.errors import error_body, send_json
from adkstream.api.hosts import AllowedHosts, origin_allowed
from adkstream.api.ratelimit import RequestRate

access_log = logging.getLogger("adkstream.access")

PUBLIC_PATHS = frozenset(
    {
        "/",
        "/healthz",
        "/health",
        "/readyz",
        "/openapi.json",
        "/metrics",
        "/favicon.ico",
        "/chat",
        "/dev-ui",
    }
)
PUBLIC_PREFIXES = ("/static/", "/dev-ui/")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CHALLENGE = 'Bearer realm="adkstream"'


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class GateMiddleware:
    """See the module docstring.

    Args:
        app: the app behind the gate.
        schemes: the authentication schemes; empty means auth is off (one local user).
        rate: the per-user request rate, or None for no limit.
        allowed_origins: the CORS origins (`ADKSTREAM_CORS_ORIGINS`), allowed to open
            WebSockets.
        hosts: the Host allowlist: pages served from these names may open WebSockets.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        schemes: list[Authenticator],
        rate: RequestRate | None,
        allowed_origins: list[str],
        hosts: AllowedHosts,
    ) -> None:
        self.app = app
        self.schemes = schemes
        self.rate = rate
        self.allowed_origins = frozenset(allowed_origins)
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, headers)
            return
        started = time.perf_counter()
        status = 500
        user = "-"

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            refusal = await self._admit(scope, headers)
            user = state.get("user", "-")
            if refusal is not None:
                await send_json(send_with_id, *refusal)
                return
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "user": user,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )

    async def _admit(
        self, scope: Scope, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """None to let the request in, else (status, body, headers) to refuse it with."""
        path: str = scope["path"]
        if is_public(path) or scope.get("method") == "OPTIONS":
            return None
        try:
            user = await self._user(headers)
        except AuthenticationFailed:
            metrics.REJECTED.labels("unauthenticated").inc()
            body = error_body("unauthorized", "the credentials are not valid")
            return 401, body, {"WWW-Authenticate": _CHALLENGE + ', error="invalid_token"'}
        if user is None:
            metrics.REJECTED.labels("unauthenticated").inc()
            body = error_body(
                "unauthorized", "credentials required: Authorization: Bearer <key or token>"
            )
            return 401, body, {"WWW-Authenticate": _CHALLENGE}
        scope["state"]["user"] = user
        if self.rate is not None:
            wait_s = await self.rate.hit(user)
            if wait_s is not None:
                metrics.REJECTED.labels("rate_limited").inc()
                body = error_body("rate_limited", "too many requests; slow down")
                return 429, body, {"Retry-After": str(int(wait_s))}
        return None

    async def _user(self, headers: Mapping[str, str]) -> str | None:
        if not self.schemes:
            return LOCAL_USER
        return await identify(self.schemes, headers)

    async def _websocket(
        self, scope: Scope, receive: Receive, send: Send, headers: Mapping[str, str]
    ) -> None:
        origin = headers.get("origin")
        if origin is not None and not origin_allowed(
            origin,
            host=headers.get("host", ""),
            hosts=self.hosts,
            cors_origins=self.allowed_origins,
        ):
            await send({"type": "websocket.close", "code": 1008, "reason": "origin not allowed"})
            return
        token = _query_token(scope)
        if token is not None and "authorization" not in headers:
            # A browser cannot set headers on a WebSocket: `?access_token=` stands in.
            headers = {**headers, "authorization": f"Bearer {token}"}
        try:
            user = await self._user(headers)
        except AuthenticationFailed:
            user = None
        if user is None:
            await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
            return
        scope["state"]["user"] = user
        await self.app(scope, receive, send)


def _query_token(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("access_token")
    return values[0] if values else None
