"""Errors before the first byte: a status and `{"error": {"code", "message", "field"?}}`.

Exception text and tracebacks go to the log, never to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Send

from adkstream.errors import RequestError, UnavailableError
from adkstream.runner import failures

logger = logging.getLogger("adkstream.api")

_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


async def send_json(
    send: Send,
    status: int,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
) -> None:
    """A JSON answer from ASGI middleware, before any route; `prefix="websocket."` answers
    a WebSocket handshake (ASGI's `websocket.http.response` extension)."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    header_list = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(raw)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": f"{prefix}http.response.start", "status": status, "headers": header_list})
    await send({"type": f"{prefix}http.response.body", "body": raw})


async def on_request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return error_response(exc.status, exc.code, exc.message, field=exc.field)


async def on_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UnavailableError)
    headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    return error_response(exc.status, exc.code, exc.message, headers=headers)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def on_storage_error(request: Request, exc: Exception) -> Response:
    """The database or Redis is down or saturated: the request may succeed later."""
    logger.exception("storage failed on %s %s", request.method, request.url.path)
    return error_response(
        503,
        "storage_unavailable",
        "The server's storage is unavailable; try again shortly.",
        headers={"Retry-After": "2"},
    )


async def on_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "The server failed to handle the request.")


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    RequestError: on_request_error,
    UnavailableError: on_unavailable,
    HTTPException: on_http_exception,
    **dict.fromkeys(failures.STORAGE_ERRORS, on_storage_error),
    Exception: on_unexpected,
}
