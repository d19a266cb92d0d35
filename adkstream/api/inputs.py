"""Reading requests: JSON bodies within a size limit, validated; content negotiation.

A JSON body must come as JSON (`Content-Type: application/json` or `application/*+json`,
415 otherwise): an HTML form on any web site can POST `text/plain` or form data to a
server on localhost without the browser asking first (a CORS "simple" request), but
not JSON. Only a body-less POST to a route whose body is optional needs no type.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request

from adkstream.api.auth import LOCAL_USER
from adkstream.api.json_depth import JsonTooDeep, parse_json
from adkstream.errors import RequestError, UnsupportedMediaError
from adkstream.runner.host import Host

ModelT = TypeVar("ModelT", bound=BaseModel)


class BodyTooLarge(RequestError):
    code = "body_too_large"
    status = 413


class NotJson(RequestError):
    """A body sent without a JSON content type."""

    code = "unsupported_media_type"
    status = 415


class InvalidBody(RequestError):
    """A body that fails its model: carries the pydantic error for the 422 answer."""

    code = "invalid_field"
    status = 422

    def __init__(self, error: ValidationError) -> None:
        # With a union (`message: str | MessageParts`) pydantic reports one error per
        # member: the one reaching deepest names the field best.
        found = [
            ([str(p) for p in e["loc"] if not _is_union_tag(p)], e["msg"])
            for e in error.errors(include_url=False)
        ]
        path, message = max(found, key=lambda item: len(item[0]))
        message = message.removeprefix("Value error, ")
        field = ".".join(path) or None
        super().__init__(f"{field or 'body'}: {message}", field=field)


def _not_json() -> NotJson:
    return NotJson(
        "the body must be JSON: send Content-Type: application/json", field="Content-Type"
    )


def _is_union_tag(loc: int | str) -> bool:
    """Pydantic names the union member it tried in `loc` (`str`, `MessageParts`): not a field."""
    return isinstance(loc, str) and (
        loc in ("str", "int", "float", "bool", "constrained-str") or loc[:1].isupper()
    )


def host_of(connection: HTTPConnection) -> Host:
    host: Host = connection.app.state.host
    return host


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def is_json_type(content_type: str) -> bool:
    """`application/json` or `application/<anything>+json`, with any parameters."""
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_model(request: Request, model: type[ModelT], *, allow_empty: bool = False) -> ModelT:
    """The body parsed as JSON and validated against `model`: 400, 413, 415 or 422 otherwise.

    Args:
        allow_empty: no body at all stands for `{}` (then no content type is needed).
    """
    content_type = request.headers.get("content-type")
    if content_type is not None and not is_json_type(content_type):
        raise _not_json()
    raw = await read_body(request, host_of(request).settings.max_body_bytes)
    if not raw.strip():
        if allow_empty:
            return model()
        raise RequestError("the request has no JSON body", code="missing_body")
    if content_type is None:
        raise _not_json()
    try:
        data = parse_json(raw)
    except JsonTooDeep as exc:
        raise RequestError(str(exc), code="json_too_deep") from None
    except ValueError:  # UnicodeDecodeError included
        raise RequestError("the body is not valid JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise RequestError("the body must be a JSON object", code="invalid_body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody(exc) from None


class StreamFormat(StrEnum):
    SSE = "text/event-stream"
    NDJSON = "application/x-ndjson"
    JSON = "application/json"


def negotiate(
    request: Request, offered: tuple[StreamFormat, ...] = tuple(StreamFormat)
) -> StreamFormat:
    """The first offered format the Accept header takes (highest q wins); 406 if none.

    No Accept header, or `*/*`, means the first offered (SSE for runs).
    """
    header = request.headers.get("accept", "").strip()
    if not header:
        return offered[0]
    ranges: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        media, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        ranges.append((q, index, media.strip().lower()))
    for q, _, media in sorted(ranges, key=lambda r: (-r[0], r[1])):
        if q <= 0:
            continue
        for fmt in offered:
            if media in (fmt.value, "*/*") or (
                media.endswith("/*") and fmt.value.startswith(media[:-1])
            ):
                return fmt
    raise UnsupportedMediaError(
        f"cannot answer with {header!r}; offered: {', '.join(f.value for f in offered)}",
        field="accept",
    )


def current_user(connection: HTTPConnection) -> str:
    """The authenticated user (an HTTP request or a WebSocket); with auth off, the local user."""
    user: str = getattr(connection.state, "user", None) or LOCAL_USER
    return user
