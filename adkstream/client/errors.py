"""What the client raises: the server's error answers and lost connections, typed.

The client's errors sit in adkstream's one tree (`adkstream.errors`), so that
`except NotFoundError` catches a 404 whether it came from the host or over HTTP:

    AdkStreamError
    ├── RequestError                  do not retry the request as it is
    │   ├── BadRequest                400, 413, 415, 422 and any other 4xx
    │   ├── FrameRejected             a live frame the server answered with an `error` frame
    │   ├── PolicyViolation           a live socket closed with 1008 (a frame flood, ...)
    │   ├── AuthenticationError       401, 403: never retried
    │   ├── NotFoundError ── NotFound 404
    │   ├── ConflictError ── Conflict 409
    │   └── UnsupportedMediaError ── NotAcceptable  406
    ├── UnavailableError              try later, after `retry_after` seconds
    │   ├── RateLimited               429
    │   └── ServiceUnavailable        503
    ├── ServerError                   500 and any other 5xx
    ├── ConnectionLost                the connection failed, after the reconnect attempts
    └── ProtocolError                 the server answered something that is not protocol v1

Every error answer is also an `APIError`, with `status`, `code`, `message` and `field`
taken from the body `{"error": {"code", "message", "field"?}}`. A live socket the server
refuses (an `error` frame, then the close) raises the `APIError` the same refusal has
over HTTP (`error_from_close`): an unknown session is a `NotFound` with status 404.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping

from adkstream.errors import (
    AdkStreamError,
    ConflictError,
    NotFoundError,
    RequestError,
    UnavailableError,
    UnsupportedMediaError,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "ConnectionLost",
    "FrameRejected",
    "NotAcceptable",
    "NotFound",
    "PolicyViolation",
    "ProtocolError",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "error_from_close",
    "error_from_response",
]


class APIError(AdkStreamError):
    """An error answer of the server (status 4xx or 5xx).

    Attributes:
        status: the HTTP status.
        code: the stable `error.code` of the body (or one derived from the status).
        message: the body's `error.message`.
        field: the request field the error concerns, if the server named one.
    """

    status: int = 0
    field: str | None = None

    def __init__(self, message: str, *, status: int, code: str, field: str | None = None) -> None:
        # Not `super().__init__`: the server-side bases take other keywords; this sets
        # what they would.
        AdkStreamError.__init__(self, message, code=code)
        self.status = status
        self.field = field

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class BadRequest(APIError, RequestError):
    status = 400


class AuthenticationError(APIError, RequestError):
    """401 or 403: the credentials are missing, wrong or not allowed. Never retried."""

    code = "unauthorized"
    status = 401


class NotFound(APIError, NotFoundError):
    pass


class Conflict(APIError, ConflictError):
    pass


class NotAcceptable(APIError, UnsupportedMediaError):
    pass


class _Unavailable(APIError, UnavailableError):
    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        field: str | None = None,
        retry_after: float = 1.0,
    ) -> None:
        super().__init__(message, status=status, code=code, field=field)
        self.retry_after = retry_after


class RateLimited(_Unavailable):
    """429: over a rate or concurrency limit; `retry_after` says when to try again."""

    code = "rate_limited"
    status = 429


class ServiceUnavailable(_Unavailable):
    """503: the server is overloaded or shutting down; `retry_after` says when to try again."""

    status = 503


class ServerError(APIError):
    """500 or another 5xx: the server failed."""

    code = "internal_error"
    status = 500


class FrameRejected(RequestError):
    """A live client frame the server refused with an `error` frame; the socket stays open.

    Raised only by a `LiveSession` opened with `raise_on_error=True` (and by its
    `turns()` / `next_turn()`); otherwise the frame arrives as a `LiveError`.

    Attributes:
        code: the frame error code (`invalid_field`, `frame_too_large`, `run_closing`, ...).
        field: the frame field concerned, if the server named one.
    """

    code = "frame_rejected"

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class PolicyViolation(RequestError):
    """The server closed a live socket with 1008 (policy) before the run's terminal event.

    Attributes:
        close_code: the WebSocket close code (1008).
        reason: the close reason the server gave (`frame rate limit exceeded`, ...).
    """

    code = "policy_violation"

    def __init__(self, message: str, *, code: str | None = None, reason: str = "") -> None:
        super().__init__(message, code=code)
        self.close_code = POLICY
        self.reason = reason


class ConnectionLost(AdkStreamError):
    """The connection failed and the reconnect attempts ran out (or none was safe).

    A run that was being followed may still be going: resume it with
    `events(run_id, after=last_seq)`.

    Attributes:
        run_id: the run being followed, if the server had named it.
        last_seq: the seq of the last event delivered (0: none).
    """

    code = "connection_lost"

    def __init__(self, message: str, *, run_id: str | None = None, last_seq: int = 0) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.last_seq = last_seq


class ProtocolError(AdkStreamError):
    """The server answered with something that is not adkstream's protocol v1."""

    code = "protocol_error"


NORMAL, POLICY, ERROR, RESTART, TRY_AGAIN = 1000, 1008, 1011, 1012, 1013
"""The WebSocket close codes (RFC 6455 7.4.1; 1012 and 1013 from the IANA registry) the
live route uses."""

_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFound,
    406: NotAcceptable,
    409: Conflict,
    429: RateLimited,
    503: ServiceUnavailable,
}
_DEFAULT_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> APIError:
    """The typed error of an error answer.

    Args:
        status: the HTTP status (400 or more).
        body: the answer's body, ideally `{"error": {"code", "message", "field"?}}`.
        headers: the answer's headers (for `Retry-After`).

    Returns:
        An `APIError` of the class the status maps to; a body that is not the
        error shape still gives one, with a code derived from the status.
    """
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequest)
    code, message, field = _read_error_body(body)
    code = code or _DEFAULT_CODES.get(status) or cls.code
    message = message or f"the server answered HTTP {status}"
    if issubclass(cls, _Unavailable):
        retry_after = parse_retry_after(headers.get("retry-after"))
        return cls(message, status=status, code=code, field=field, retry_after=retry_after)
    return cls(message, status=status, code=code, field=field)


def _read_error_body(body: bytes) -> tuple[str | None, str | None, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        return None, None, None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, None, None
    values = (error.get("code"), error.get("message"), error.get("field"))
    code, message, field = (v if isinstance(v, str) else None for v in values)
    return code, message, field


def parse_retry_after(value: str | None, *, now: float | None = None) -> float:
    """Seconds to wait from a `Retry-After` value (RFC 9110 10.2.3): delay-seconds or a date.

    Missing or unreadable values give 1 second.
    """
    if value is None:
        return 1.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


# The HTTP status of a live refusal: the same one the HTTP routes answer for that code.
_REFUSAL_STATUS = {"session_not_found": 404, "live_not_supported": 409}


def error_from_close(
    close_code: int | None,
    reason: str,
    *,
    code: str | None = None,
    message: str | None = None,
    field: str | None = None,
    run_id: str | None = None,
    last_seq: int = 0,
) -> AdkStreamError:
    """The typed error of a live socket that closed before its run's terminal event.

    Args:
        close_code: the close code the server sent (None: no close frame, the
            connection dropped).
        reason: the close reason.
        code, message, field: the `error` frame the server sent just before closing,
            if it did (a refusal: the socket never got a run).
        run_id, last_seq: the run and the last seq delivered, for `ConnectionLost`.

    Returns:
        1008 with a refusal: `NotFound` (`session_not_found`), `Conflict`
        (`live_not_supported`) or `BadRequest`; 1008 without one: `PolicyViolation`;
        1011: `ServerError`; 1013: `ServiceUnavailable`; anything else (1000 or 1001
        without a terminal event, 1006, 1012 server restart): `ConnectionLost`.
    """
    text = message or reason or f"the live socket closed with {close_code}"
    if close_code == POLICY and code is None:
        return PolicyViolation(text, reason=reason)
    status = {POLICY: 400, ERROR: 500, TRY_AGAIN: 503}.get(close_code or 0)
    if status is None:
        return ConnectionLost(f"{text} ({close_code})", run_id=run_id, last_seq=last_seq)
    if close_code == POLICY and code is not None:
        status = _REFUSAL_STATUS.get(code, status)
    body = json.dumps({"error": {"code": code, "message": text, "field": field}})
    return error_from_response(status, body.encode(), {})
