"""Request and response bodies of the HTTP API, as pydantic models (they make /openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from google.genai import types
from pydantic import BaseModel, ConfigDict, Field, field_validator

from adkstream.events import ErrorInfo, Usage

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class _Body(BaseModel):
    # Unknown fields are refused: a typo (or a `user_id` trying to pick its identity)
    # gets a 422 naming it rather than being silently ignored.
    model_config = ConfigDict(extra="forbid")


class MessageParts(_Body):
    """A message as genai Content parts: `{"parts": [{"text": "..."}]}`."""

    parts: list[dict[str, Any]] = Field(min_length=1)

    @field_validator("parts")
    @classmethod
    def _valid_parts(cls, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for part in parts:
            types.Part.model_validate(part)
        return parts


class RunBody(_Body):
    """`POST /v1/runs`."""

    message: str | MessageParts = Field(
        description="The user's message: a string, or genai Content parts."
    )
    agent: str | None = Field(default=None, description="Agent name; default: the first agent.")
    session_id: str | None = Field(
        default=None,
        pattern=_ID_PATTERN,
        description="Continue this session; none starts a new session.",
    )
    state_delta: dict[str, Any] | None = Field(
        default=None, description="State changes applied with the new message."
    )
    coalesce_ms: int | None = Field(
        default=None, ge=0, le=1000, description="Coalescing window; 0 sends every delta."
    )
    on_disconnect: Literal["cancel", "continue"] = Field(
        default="cancel",
        description="cancel: stop the run when its client leaves; continue: keep it for "
        "detach_grace_s so that a client can rejoin.",
    )
    background: bool = Field(
        default=False, description="Answer 202 at once; read events from the events route."
    )

    @field_validator("message")
    @classmethod
    def _not_empty(cls, message: str | MessageParts) -> str | MessageParts:
        if isinstance(message, str) and not message.strip():
            raise ValueError("the message is empty")
        return message

    def text_length(self) -> int:
        """Characters of text in the message (what `max_message_chars` limits)."""
        if isinstance(self.message, str):
            return len(self.message)
        return sum(len(str(p.get("text") or "")) for p in self.message.parts)

    def content(self) -> types.Content:
        """The message as the genai Content ADK takes."""
        if isinstance(self.message, str):
            return types.Content(role="user", parts=[types.Part(text=self.message)])
        parts = [types.Part.model_validate(p) for p in self.message.parts]
        return types.Content(role="user", parts=parts)


class SessionBody(_Body):
    """`POST /v1/sessions`."""

    agent: str | None = None
    session_id: str | None = Field(default=None, pattern=_ID_PATTERN)
    state: dict[str, Any] | None = None


class RunAccepted(BaseModel):
    """The 202 answer of a background run."""

    run_id: str
    session_id: str


class RunResult(BaseModel):
    """The `application/json` answer of `POST /v1/runs`: the run's result."""

    run_id: str
    session_id: str
    status: str
    final_text: str | None
    usage: Usage | None
    error: ErrorInfo | None


class RunView(BaseModel):
    """`GET /v1/runs/{run_id}`."""

    run_id: str
    session_id: str
    agent: str
    status: str
    final_text: str | None
    usage: Usage | None
    error: ErrorInfo | None
    last_seq: int
    created_at: float
    ended_at: float | None


class AgentInfo(BaseModel):
    name: str
    description: str
    default: bool


class AgentList(BaseModel):
    agents: list[AgentInfo]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
