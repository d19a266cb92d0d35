"""The frames of the live WebSocket that are not stream events: client frames and `error`.

Client frames are JSON text objects discriminated on `type` (README, "Live (WebSocket)").
`parse_frame` validates one and raises `FrameError` naming the problem (the socket
answers with an `error` frame and stays open). `TokenBucket` is the per-socket frame
rate: a pure core fed the time.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal, TypeAlias

from google.genai import types
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from adkstream.api.json_depth import JsonTooDeep, parse_json

MAX_FRAME_BYTES = 256 * 1024
"""The largest client frame (UTF-8 bytes of its JSON text)."""

FRAME_TYPES = ("message", "content", "realtime", "activity_start", "activity_end", "close")


class FrameError(Exception):
    """A client frame the server refuses; it becomes an `error` frame.

    Args:
        code: a stable machine code (`invalid_json`, `unknown_type`, ...).
        message: what is wrong, for people.
        field: the frame field concerned, if one is.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ErrorFrame(BaseModel):
    """`{"type": "error", "code", "message", "field"?}`: not a stream event, never logged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["error"] = "error"
    code: str
    message: str
    field: str | None = None

    @classmethod
    def of(cls, error: FrameError) -> ErrorFrame:
        return cls(code=error.code, message=error.message, field=error.field)

    def json_text(self) -> str:
        return self.model_dump_json(exclude_none=True)


def _base64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise PydanticCustomError("invalid_base64", "data must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("invalid_base64", "data is not valid base64") from None


class _Frame(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MessageFrame(_Frame):
    """A user turn as text."""

    type: Literal["message"]
    text: str = Field(min_length=1)


class ContentFrame(_Frame):
    """A user turn as genai Content parts (text, inline data, function responses)."""

    type: Literal["content"]
    parts: list[dict[str, Any]] = Field(min_length=1)

    @field_validator("parts")
    @classmethod
    def _valid_parts(cls, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for part in parts:
            # ADK raises on function calls from the user inside its send task, which
            # then dies silently and the run hangs: refuse them here.
            if types.Part.model_validate(part).function_call is not None:
                raise ValueError("a user turn cannot contain function calls")
        return parts

    def content(self) -> types.Content:
        return types.Content(role="user", parts=[types.Part.model_validate(p) for p in self.parts])


class RealtimeFrame(_Frame):
    """A chunk of audio, video or an image, for the model to take in as it streams."""

    type: Literal["realtime"]
    mime_type: str = Field(min_length=1, max_length=200)
    data: Annotated[bytes, BeforeValidator(_base64)]

    def blob(self) -> types.Blob:
        return types.Blob(mime_type=self.mime_type, data=self.data)


class ActivityFrame(_Frame):
    """The user starts or stops speaking (client-side voice activity detection)."""

    type: Literal["activity_start", "activity_end"]


class CloseFrame(_Frame):
    """The client is done: the run ends normally once the model stops."""

    type: Literal["close"]


ClientFrame: TypeAlias = Annotated[
    MessageFrame | ContentFrame | RealtimeFrame | ActivityFrame | CloseFrame,
    Field(discriminator="type"),
]
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


def parse_frame(text: str, *, max_bytes: int = MAX_FRAME_BYTES) -> ClientFrame:
    """One client frame from its JSON text.

    Raises:
        FrameError: `frame_too_large`, `invalid_json`, `invalid_frame`, `unknown_type`,
            `invalid_base64` or `invalid_field` (with the field).
    """
    # A str holds at most 4 UTF-8 bytes per character: encode only when it matters.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise FrameError("frame_too_large", f"the frame is over the limit of {max_bytes} bytes")
    try:
        data = parse_json(text)
    except JsonTooDeep as exc:
        raise FrameError("invalid_json", f"the frame is not valid: {exc}") from None
    except ValueError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "a frame must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameError("invalid_frame", "the frame has no type", field="type")
    if kind not in FRAME_TYPES:
        known = ", ".join(FRAME_TYPES)
        raise FrameError(
            "unknown_type", f"unknown frame type {kind!r}; known: {known}", field="type"
        )
    try:
        return _client_frame.validate_python(data)
    except ValidationError as exc:
        raise _field_error(exc) from None


def _field_error(exc: ValidationError) -> FrameError:
    error = exc.errors(include_url=False)[0]
    # The first item of `loc` is the union member (the frame type), not a field.
    path = [str(p) for p in error["loc"][1:]]
    field = ".".join(path) or None
    if error["type"] == "invalid_base64":
        return FrameError("invalid_base64", error["msg"], field=field)
    message = str(error["msg"]).removeprefix("Value error, ")
    return FrameError("invalid_field", f"{field or 'frame'}: {message}", field=field)


class TokenBucket:
    """A frame rate: `rate` frames per second on average, bursts of up to `burst`.

    Args:
        rate: tokens added per second.
        burst: the most tokens held (and the size of the first burst).
        now: the time of creation, on the clock later passed to `take`.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._updated = now

    def take(self, now: float) -> bool:
        """Takes one token at time `now`; False when there is none (over the rate)."""
        elapsed = max(now - self._updated, 0.0)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = now
        if self._tokens >= 1 - 1e-9:  # float refill: 50 * 0.02 may be 0.9999...
            self._tokens = max(self._tokens - 1, 0.0)
            return True
        return False
