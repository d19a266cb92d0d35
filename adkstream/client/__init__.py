"""The Python client of adkstream's HTTP API v1: `AsyncClient` (asyncio) and `Client` (blocking).

    async with AsyncClient("http://127.0.0.1:8000") as client:
        async with client.stream("hello") as events:
            async for event in events:
                if event.type == "message.delta":
                    print(event.text, end="")

Streams are typed events (`adkstream.events`), resumed with Last-Event-ID when the
connection drops. Errors are `adkstream.client.errors`' tree (`NotFoundError`,
`ConflictError`, `RateLimitError`, ... with `status_code` and `code`), spelled as
httpx and the openai SDK spell them; the earlier names are deprecated aliases.
`client.live(session_id)` opens a live (bidi) run over the session's WebSocket
(`LiveSession`). Importing this package never imports ADK or Starlette.
"""

from __future__ import annotations

from adkstream.client.async_client import DEFAULT_TIMEOUT, AsyncClient, Message, OnDisconnect
from adkstream.client.backoff import Backoff, RetryPolicy
from adkstream.client.errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequest,
    BadRequestError,
    Conflict,
    ConflictError,
    ConnectionLost,
    FrameRejected,
    InternalServerError,
    NotAcceptable,
    NotAcceptableError,
    NotFound,
    NotFoundError,
    PermissionDeniedError,
    PolicyViolation,
    ProtocolError,
    RateLimited,
    RateLimitError,
    ServerError,
    ServiceUnavailable,
    ServiceUnavailableError,
    UnprocessableEntityError,
)
from adkstream.client.live import LiveError, LiveFrame, LiveSession
from adkstream.client.models import RunInfo, RunResult, Session, SessionMessage
from adkstream.client.stream import EventStream
from adkstream.client.sync_client import Client, SyncEventStream, SyncLiveSession
from adkstream.errors import AdkStreamError
from adkstream.events import StreamEvent, is_terminal

__all__ = [
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AdkStreamError",
    "AsyncClient",
    "AuthenticationError",
    "Backoff",
    "BadRequest",
    "BadRequestError",
    "Client",
    "Conflict",
    "ConflictError",
    "ConnectionLost",
    "EventStream",
    "FrameRejected",
    "InternalServerError",
    "LiveError",
    "LiveFrame",
    "LiveSession",
    "Message",
    "NotAcceptable",
    "NotAcceptableError",
    "NotFound",
    "NotFoundError",
    "OnDisconnect",
    "PermissionDeniedError",
    "PolicyViolation",
    "ProtocolError",
    "RateLimitError",
    "RateLimited",
    "RetryPolicy",
    "RunInfo",
    "RunResult",
    "ServerError",
    "ServiceUnavailable",
    "ServiceUnavailableError",
    "Session",
    "SessionMessage",
    "StreamEvent",
    "SyncEventStream",
    "SyncLiveSession",
    "UnprocessableEntityError",
    "is_terminal",
]
