"""Error answers to typed errors: status to class, body to code/message/field, Retry-After."""

from __future__ import annotations

import email.utils

import pytest

from adkstream.client.errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    Conflict,
    NotAcceptable,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    error_from_response,
    parse_retry_after,
)
from adkstream.errors import (
    AdkStreamError,
    ConflictError,
    NotFoundError,
    RequestError,
    UnavailableError,
    UnsupportedMediaError,
)


@pytest.mark.parametrize(
    ("status", "cls", "family"),
    [
        pytest.param(400, BadRequest, RequestError, id="400"),
        pytest.param(401, AuthenticationError, RequestError, id="401"),
        pytest.param(403, AuthenticationError, RequestError, id="403"),
        pytest.param(404, NotFound, NotFoundError, id="404"),
        pytest.param(406, NotAcceptable, UnsupportedMediaError, id="406"),
        pytest.param(409, Conflict, ConflictError, id="409"),
        pytest.param(413, BadRequest, RequestError, id="413"),
        pytest.param(422, BadRequest, RequestError, id="422"),
        pytest.param(429, RateLimited, UnavailableError, id="429"),
        pytest.param(500, ServerError, AdkStreamError, id="500"),
        pytest.param(502, ServerError, AdkStreamError, id="502"),
        pytest.param(503, ServiceUnavailable, UnavailableError, id="503"),
    ],
)
def test_error_from_response_maps_status_to_class(
    status: int, cls: type[APIError], family: type[AdkStreamError]
) -> None:
    body = b'{"error": {"code": "some_code", "message": "what went wrong", "field": "x"}}'
    error = error_from_response(status, body, {})
    assert type(error) is cls
    assert isinstance(error, family)
    assert isinstance(error, APIError)
    assert (error.status, error.code, error.message, error.field) == (
        status,
        "some_code",
        "what went wrong",
        "x",
    )
    assert str(error) == f"{status} some_code: what went wrong"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<html>bad gateway</html>", id="html"),
        pytest.param(b'{"detail": "x"}', id="other-json"),
        pytest.param(b'{"error": {"code": 7}}', id="wrong-types"),
        pytest.param(b"[1]", id="json-array"),
    ],
)
def test_error_from_response_without_the_error_body_derives_the_code(body: bytes) -> None:
    error = error_from_response(404, body, {})
    assert isinstance(error, NotFound)
    assert error.code == "not_found"
    assert error.message == "the server answered HTTP 404"
    assert error.field is None
    assert error_from_response(502, body, {}).code == "internal_error"
    assert error_from_response(403, body, {}).code == "forbidden"


def test_unavailable_answers_carry_retry_after() -> None:
    body = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
    limited = error_from_response(429, body, {"retry-after": "7"})
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 7.0
    busy = error_from_response(503, b"", {})
    assert isinstance(busy, ServiceUnavailable)
    assert busy.retry_after == 1.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(None, 1.0, id="missing"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param(" 120 ", 120.0, id="seconds"),
        pytest.param("soon", 1.0, id="unreadable"),
        pytest.param("-3", 1.0, id="negative"),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float) -> None:
    assert parse_retry_after(value) == seconds


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 30, usegmt=True)
    earlier = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    assert parse_retry_after(earlier, now=now) == 0.0
