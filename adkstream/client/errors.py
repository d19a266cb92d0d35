"""What the client raises: the server's error answers and lost connections, typed.

One name per error, spelled as httpx and the openai SDK spell them:

    AdkStreamError                      (adkstream.errors: the base of everything)
    ├── APIStatusError                  an error answer: status_code, code, message, field
    │   ├── BadRequestError             400, 413, 415, any other 4xx not below    [RequestError]
    │   │   └── UnprocessableEntityError  422: an invalid field, a reused key
    │   ├── AuthenticationError         401: missing or wrong credentials         [RequestError]
    │   │   └── PermissionDeniedError   403: credentials or origin not allowed
    │   ├── NotFoundError               404: no such session, run or agent       [NotFoundError]
    │   ├── NotAcceptableError          406: nothing for that Accept     [UnsupportedMediaError]
    │   ├── ConflictError               409: not in a state that allows it       [ConflictError]
    │   ├── RateLimitError              429, with retry_after                 [UnavailableError]
    │   ├── ServiceUnavailableError     503, with retry_after                 [UnavailableError]
    │   └── InternalServerError         500 and any other 5xx
    ├── APIConnectionError              the connection failed, after the reconnect attempts
    │   └── APITimeoutError             ... because the server did not answer in time
    ├── ProtocolError                   the server answered something that is not protocol v1
    ├── FrameRejected                   a live frame refused (an `error` frame)   [RequestError]
    └── PolicyViolation                 a live socket closed with 1008            [RequestError]

In brackets: the family of `adkstream.errors` each class also belongs to, so that
`except adkstream.errors.NotFoundError` catches a 404 whether it came from the host in
process or over HTTP, and `except RequestError` every answer not to retry as it is.

Two choices differ from openai's tree, for code written against this client's earlier
names: `UnprocessableEntityError` is a `BadRequestError` (openai's are siblings), so that
`except BadRequestError` still catches 422, and `PermissionDeniedError` is an
`AuthenticationError` (`except AuthenticationError` still catches 403): catch the
subclass first to tell them apart. 503 is a `ServiceUnavailableError`, not an
`InternalServerError` as in openai: it means "try later", with `retry_after`.

Every error answer is an `APIStatusError`, with `status_code`, `code` (the stable
`error.code`), `message` and `field` taken from the body `{"error": {"code", "message",
"field"?}}`. A live socket the server refuses (an `error` frame, then the close) raises
the error the same refusal has over HTTP (`error_from_close`): an unknown session is a
`NotFoundError` with status_code 404.

Deprecated aliases, kept for one release (each is the same class as its new name, so
`except OldName` still catches): `APIError` (`APIStatusError`; unlike openai's
`APIError` it covers error answers only: catch `AdkStreamError` for everything),
`BadRequest`, `NotFound`, `Conflict`, `NotAcceptable`, `RateLimited`,
`ServiceUnavailable`, `ServerError` (`InternalServerError`), `ConnectionLost`
(`APIConnectionError`), and the attribute `status` (`status_code`).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping

import httpx

from adkstream import errors as _family
from adkstream.errors import AdkStreamError, RequestError, UnavailableError

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequest",
    "BadRequestError",
    "Conflict",
    "ConflictError",
    "ConnectionLost",
    "FrameRejected",
    "InternalServerError",
    "NotAcceptable",
    "NotAcceptableError",
    "NotFound",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyViolation",
    "ProtocolError",
    "RateLimitError",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "connection_error",
    "error_from_close",
    "error_from_response",
]


class APIStatusError(AdkStreamError):
    """An error answer of the server (status 4xx or 5xx).

    Attributes:
        status_code: the HTTP status.
        code: the stable `error.code` of the body (or one derived from the status).
        message: the body's `error.message`.
        field: the request field the error concerns, if the server named one.
        status: deprecated alias of `status_code`.
    """

    status_code: int = 0
    field: str | None = None

    def __init__(self, message: str, *, status: int, code: str, field: str | None = None) -> None:
        # Not `super().__init__`: the family bases take other keywords; this sets
        # what they would.
        AdkStreamError.__init__(self, message, code=code)
        self.status_code = status
        self.field = field

    @property
    def status(self) -> int:
        """Deprecated alias of `status_code`, kept for one release."""
        return self.status_code

    @status.setter
    def status(self, value: int) -> None:
        self.status_code = value

    def __str__(self) -> str:
        return f"{self.status_code} {self.code}: {self.message}"


class BadRequestError(APIStatusError, RequestError):
    """400, and any 4xx without a class of its own (413, 415, 421, ...)."""

    status_code = 400


class UnprocessableEntityError(BadRequestError):
    """422: a field is invalid (`invalid_field`), or the request cannot be carried out as
    it is (`idempotency_key_reused`, an answer that does not fit its request, ...).

    A `BadRequestError`, unlike openai's: `except BadRequestError` still catches it.
    """

    status_code = 422


class AuthenticationError(APIStatusError, RequestError):
    """401: the credentials are missing or wrong. Never retried."""

    code = "unauthorized"
    status_code = 401


class PermissionDeniedError(AuthenticationError):
    """403: the credentials (or the origin) are not allowed. Never retried.

    An `AuthenticationError`, unlike openai's: `except AuthenticationError` still catches it.
    """

    code = "forbidden"
    status_code = 403


class NotFoundError(APIStatusError, _family.NotFoundError):
    """404: no such session, run or agent (or not the caller's)."""

    status_code = 404


class ConflictError(APIStatusError, _family.ConflictError):
    """409: the resource is not in a state that allows it (`session_busy`, `run_ended`, ...)."""

    status_code = 409


class NotAcceptableError(APIStatusError, _family.UnsupportedMediaError):
    """406: the route has no representation for that `Accept`."""

    status_code = 406


class _Unavailable(APIStatusError, UnavailableError):
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


class RateLimitError(_Unavailable):
    """429: over a rate or concurrency limit; `retry_after` says when to try again."""

    code = "rate_limited"
    status_code = 429


class ServiceUnavailableError(_Unavailable):
    """503: the server is overloaded or shutting down; `retry_after` says when to try again."""

    status_code = 503


class InternalServerError(APIStatusError):
    """500 or another 5xx: the server failed."""

    code = "internal_error"
    status_code = 500


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


class APIConnectionError(AdkStreamError):
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


class APITimeoutError(APIConnectionError):
    """The server did not answer in time (a connect, read or opening timeout), after the
    reconnect attempts. An `APIConnectionError`, as in openai's tree; its `code` stays
    `connection_lost`."""


def connection_error(
    message: str, cause: BaseException | None, *, run_id: str | None = None, last_seq: int = 0
) -> APIConnectionError:
    """The `APIConnectionError` of a transport failure: `APITimeoutError` for a timeout."""
    timed_out = isinstance(cause, httpx.TimeoutException | TimeoutError)
    cls = APITimeoutError if timed_out else APIConnectionError
    return cls(message, run_id=run_id, last_seq=last_seq)


class ProtocolError(AdkStreamError):
    """The server answered with something that is not adkstream's protocol v1."""

    code = "protocol_error"


NORMAL, POLICY, ERROR, RESTART, TRY_AGAIN = 1000, 1008, 1011, 1012, 1013
"""The WebSocket close codes (RFC 6455 7.4.1; 1012 and 1013 from the IANA registry) the
live route uses."""

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    406: NotAcceptableError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}
_DEFAULT_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> APIStatusError:
    """The typed error of an error answer.

    Args:
        status: the HTTP status (400 or more).
        body: the answer's body, ideally `{"error": {"code", "message", "field"?}}`.
        headers: the answer's headers (for `Retry-After`).

    Returns:
        An `APIStatusError` of the class the status maps to (`InternalServerError`
        for another 5xx, `BadRequestError` for another 4xx); a body that is not the
        error shape still gives one, with a code derived from the status.
    """
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else BadRequestError)
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
        run_id, last_seq: the run and the last seq delivered, for `APIConnectionError`.

    Returns:
        1008 with a refusal: `NotFoundError` (`session_not_found`), `ConflictError`
        (`live_not_supported`) or `BadRequestError`; 1008 without one: `PolicyViolation`;
        1011: `InternalServerError`; 1013: `ServiceUnavailableError`; anything else (1000
        or 1001 without a terminal event, 1006, 1012 server restart): `APIConnectionError`.
    """
    text = message or reason or f"the live socket closed with {close_code}"
    if close_code == POLICY and code is None:
        return PolicyViolation(text, reason=reason)
    status = {POLICY: 400, ERROR: 500, TRY_AGAIN: 503}.get(close_code or 0)
    if status is None:
        return APIConnectionError(f"{text} ({close_code})", run_id=run_id, last_seq=last_seq)
    if close_code == POLICY and code is not None:
        status = _REFUSAL_STATUS.get(code, status)
    body = json.dumps({"error": {"code": code, "message": text, "field": field}})
    return error_from_response(status, body.encode(), {})


# Deprecated aliases, kept for one release: the same classes as the new names, so that
# `except OldName` still catches (see the module's docstring).
APIError = APIStatusError
BadRequest = BadRequestError
NotFound = NotFoundError
Conflict = ConflictError
NotAcceptable = NotAcceptableError
RateLimited = RateLimitError
ServiceUnavailable = ServiceUnavailableError
ServerError = InternalServerError
ConnectionLost = APIConnectionError
