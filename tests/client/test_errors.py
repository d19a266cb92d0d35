"""Error answers to typed errors: status to class, body to code/message/field, Retry-After;
the tree's names (httpx's and openai's spellings) and their deprecated aliases."""

from __future__ import annotations

import email.utils

import httpx
import pytest

import adkstream.client
from adkstream import errors as family_errors
from adkstream.client import errors as client_errors
from adkstream.client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotAcceptableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    connection_error,
    error_from_close,
    error_from_response,
    parse_retry_after,
)
from adkstream.errors import AdkStreamError, RequestError, UnavailableError


@pytest.mark.parametrize(
    ("status", "cls", "family"),
    [
        pytest.param(400, BadRequestError, RequestError, id="400"),
        pytest.param(401, AuthenticationError, RequestError, id="401"),
        pytest.param(403, PermissionDeniedError, RequestError, id="403"),
        pytest.param(404, NotFoundError, family_errors.NotFoundError, id="404"),
        pytest.param(406, NotAcceptableError, family_errors.UnsupportedMediaError, id="406"),
        pytest.param(409, ConflictError, family_errors.ConflictError, id="409"),
        pytest.param(413, BadRequestError, RequestError, id="413"),
        pytest.param(415, BadRequestError, RequestError, id="415"),
        pytest.param(421, BadRequestError, RequestError, id="421"),
        pytest.param(422, UnprocessableEntityError, RequestError, id="422"),
        pytest.param(429, RateLimitError, UnavailableError, id="429"),
        pytest.param(500, InternalServerError, AdkStreamError, id="500"),
        pytest.param(502, InternalServerError, AdkStreamError, id="502"),
        pytest.param(503, ServiceUnavailableError, UnavailableError, id="503"),
    ],
)
def test_error_from_response_maps_status_to_class(
    status: int, cls: type[APIStatusError], family: type[AdkStreamError]
) -> None:
    body = b'{"error": {"code": "some_code", "message": "what went wrong", "field": "x"}}'
    error = error_from_response(status, body, {})
    assert type(error) is cls
    assert isinstance(error, family)
    assert isinstance(error, APIStatusError)
    assert (error.status_code, error.code, error.message, error.field) == (
        status,
        "some_code",
        "what went wrong",
        "x",
    )
    assert error.status == error.status_code  # the deprecated alias
    assert str(error) == f"{status} some_code: what went wrong"


def test_each_class_names_its_own_status() -> None:
    """A class's `status_code` (before any instance) is the status that maps to it."""
    for status in (400, 401, 403, 404, 406, 409, 422, 429, 500, 503):
        cls = type(error_from_response(status, b"", {}))
        assert cls.status_code == status, cls


def test_status_is_a_settable_alias_of_status_code() -> None:
    error = error_from_response(409, b"", {})
    error.status = 410
    assert (error.status, error.status_code) == (410, 410)


def test_422_and_403_stay_catchable_by_their_earlier_classes() -> None:
    """Unlike openai's siblings: `except BadRequestError` catches 422 and `except
    AuthenticationError` catches 403, as `except BadRequest` / `AuthenticationError` did."""
    with pytest.raises(BadRequestError) as raised:
        raise error_from_response(422, b"", {})
    assert type(raised.value) is UnprocessableEntityError
    with pytest.raises(AuthenticationError) as refused:
        raise error_from_response(403, b"", {})
    assert type(refused.value) is PermissionDeniedError
    assert not isinstance(error_from_response(400, b"", {}), UnprocessableEntityError)
    assert not isinstance(error_from_response(401, b"", {}), PermissionDeniedError)
    assert not isinstance(error_from_response(503, b"", {}), InternalServerError)


DEPRECATED_ALIASES = {
    "APIError": "APIStatusError",
    "BadRequest": "BadRequestError",
    "NotFound": "NotFoundError",
    "Conflict": "ConflictError",
    "NotAcceptable": "NotAcceptableError",
    "RateLimited": "RateLimitError",
    "ServiceUnavailable": "ServiceUnavailableError",
    "ServerError": "InternalServerError",
    "ConnectionLost": "APIConnectionError",
}


@pytest.mark.parametrize(("old", "new"), DEPRECATED_ALIASES.items())
def test_deprecated_aliases_are_the_same_classes(old: str, new: str) -> None:
    for module in (client_errors, adkstream.client):
        assert getattr(module, old) is getattr(module, new)
        assert old in module.__all__ and new in module.__all__
    assert getattr(client_errors, new).__name__ == new


def test_an_old_name_still_catches() -> None:
    with pytest.raises(client_errors.NotFound):
        raise error_from_response(404, b"", {})
    with pytest.raises(client_errors.Conflict):
        raise error_from_response(409, b"", {})
    with pytest.raises(client_errors.BadRequest):
        raise error_from_response(422, b"", {})
    with pytest.raises(client_errors.ConnectionLost):
        raise connection_error("lost", httpx.ReadTimeout("slow"))


def test_one_name_per_error_in_the_client_namespace() -> None:
    """Each class the client exports has one canonical name: its own `__name__`."""
    exported = {name: getattr(adkstream.client, name) for name in adkstream.client.__all__}
    classes = [v for v in exported.values() if isinstance(v, type) and issubclass(v, Exception)]
    for cls in classes:
        names = {n for n, v in exported.items() if v is cls} - set(DEPRECATED_ALIASES)
        assert names == {cls.__name__}, (cls, names)


def test_client_classes_belong_to_the_family_tree() -> None:
    """`except adkstream.errors.NotFoundError` catches an HTTP 404 as it catches the host's."""
    assert issubclass(NotFoundError, family_errors.NotFoundError)
    assert issubclass(ConflictError, family_errors.ConflictError)
    assert NotFoundError is not family_errors.NotFoundError


@pytest.mark.parametrize(
    ("cause", "cls"),
    [
        pytest.param(httpx.ConnectError("refused"), APIConnectionError, id="connect"),
        pytest.param(httpx.ReadTimeout("slow"), APITimeoutError, id="read-timeout"),
        pytest.param(httpx.ConnectTimeout("slow"), APITimeoutError, id="connect-timeout"),
        pytest.param(TimeoutError(), APITimeoutError, id="timeout"),
        pytest.param(None, APIConnectionError, id="no-cause"),
    ],
)
def test_connection_errors(cause: BaseException | None, cls: type[APIConnectionError]) -> None:
    error = connection_error("lost", cause, run_id="r1", last_seq=4)
    assert type(error) is cls
    assert isinstance(error, APIConnectionError)
    assert (error.run_id, error.last_seq, error.code) == ("r1", 4, "connection_lost")
    assert not isinstance(error, APIStatusError)


def test_live_refusals_map_to_the_http_classes() -> None:
    refused = error_from_close(1008, "", code="session_not_found", message="no session")
    assert type(refused) is NotFoundError and refused.status_code == 404
    assert type(error_from_close(1011, "")) is InternalServerError
    assert type(error_from_close(1013, "", code="server_busy")) is ServiceUnavailableError
    assert type(error_from_close(1006, "")) is APIConnectionError


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
    assert isinstance(error, NotFoundError)
    assert error.code == "not_found"
    assert error.message == "the server answered HTTP 404"
    assert error.field is None
    assert error_from_response(502, body, {}).code == "internal_error"
    assert error_from_response(403, body, {}).code == "forbidden"


def test_unavailable_answers_carry_retry_after() -> None:
    body = b'{"error": {"code": "rate_limited", "message": "slow down"}}'
    limited = error_from_response(429, body, {"retry-after": "7"})
    assert isinstance(limited, RateLimitError)
    assert limited.retry_after == 7.0
    busy = error_from_response(503, b"", {})
    assert isinstance(busy, ServiceUnavailableError)
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
