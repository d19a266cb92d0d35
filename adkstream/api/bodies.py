"""Request and response bodies of the HTTP API, as pydantic models (they make /openapi.json)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from google.genai import types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)

from adkstream.events import ErrorInfo, InputRequest, Usage

_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class _Body(BaseModel):
    # Unknown fields are refused: a typo (or a `user_id` trying to pick its identity)
    # gets a 422 naming it rather than being silently ignored. Strict: JSON types as
    # documented (`"background": 0` is not a boolean).
    model_config = ConfigDict(extra="forbid", strict=True)


class TextPart(_Body):
    # Described not blank: a message of blank text parts only is refused as empty
    # (`api.message_check`), and a blank part beside others says nothing.
    text: Annotated[str, WithJsonSchema({"type": "string", "pattern": r"\S"})]


class InlineData(_Body):
    mime_type: str = Field(alias="mimeType", min_length=1)
    data: str = Field(description="Base64 of the bytes.", pattern=_BASE64)


class InlinePart(_Body):
    inline_data: InlineData = Field(alias="inlineData")


class FileData(_Body):
    mime_type: str = Field(alias="mimeType", min_length=1)
    file_uri: str = Field(alias="fileUri", min_length=1)


class FilePart(_Body):
    file_data: FileData = Field(alias="fileData")


class FunctionResponse(_Body):
    id: str = Field(min_length=1, description="The id of the request it answers.")
    name: str = Field(min_length=1)
    response: dict[str, Any]


class FunctionResponsePart(_Body):
    """An answer to a waiting run's request, as ADK takes it in `new_message`."""

    function_response: FunctionResponse = Field(alias="functionResponse")


MessagePart = TextPart | InlinePart | FilePart | FunctionResponsePart


class MessageParts(_Body):
    """A message as Content parts, in genai's JSON form: text, inline bytes or a file.

    `{"parts": [{"text": "What is in this picture?"},
                {"inlineData": {"mimeType": "image/png", "data": "<base64>"}}]}`
    """

    parts: list[MessagePart] = Field(min_length=1)

    def genai_parts(self) -> list[types.Part]:
        return [_genai_part(part) for part in self.parts]


def _genai_part(part: MessagePart) -> types.Part:
    if isinstance(part, TextPart):
        return types.Part(text=part.text)
    if isinstance(part, InlinePart):
        blob = part.inline_data
        return types.Part(
            inline_data=types.Blob(mime_type=blob.mime_type, data=base64.b64decode(blob.data))
        )
    if isinstance(part, FunctionResponsePart):
        answer = part.function_response
        return types.Part(
            function_response=types.FunctionResponse(
                id=answer.id, name=answer.name, response=answer.response
            )
        )
    return types.Part(
        file_data=types.FileData(
            mime_type=part.file_data.mime_type, file_uri=part.file_data.file_uri
        )
    )


class ClientToolBody(_Body):
    """A tool the client runs: the model may call it; a call pauses the run until the
    client answers with the result (`input.requested`, kind `client_tool`)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="The JSON Schema of the tool's arguments (one that is not valid "
        "JSON Schema is a 422).",
    )


_MessageText = Annotated[
    str,
    # Described as it is checked (`api.message_check`), not validated here: a blank message
    # is refused in the same words by the native and the protocol routes.
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": r"\S"}),
]


class RunBody(_Body):
    """`POST /v1/runs`."""

    message: _MessageText | MessageParts = Field(
        # Emptiness and length are checked by `api.message_check`, one place for every route.
        description="The user's message: a string (not blank), or genai Content parts."
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
        default=None, ge=0, le=1000, description="Coalescing window in ms; 0 sends every delta."
    )
    on_disconnect: Literal["cancel", "continue", "detach"] = Field(
        default="cancel",
        description="cancel: stop the run when its client leaves; continue (or its "
        "synonym detach): keep it for detach_grace_s so that a client can rejoin.",
    )
    background: bool = Field(
        default=False, description="Answer 202 at once; read events from the events route."
    )
    thoughts: bool | None = Field(
        default=None,
        description="Stream the model's thinking (reasoning.* events); none: the server's "
        "setting (ADKSTREAM_THOUGHTS, on by default).",
    )
    tools: list[ClientToolBody] | None = Field(
        default=None,
        description="Tools the client runs (client-side tools); of two with one name, "
        "the later counts.",
    )
    if_busy: Literal["reject", "enqueue", "interrupt", "rollback"] | None = Field(
        default=None,
        description="When the session has a run in progress: reject (409 session_busy), "
        "enqueue (wait its turn: run.queued), interrupt (cancel that run first) or "
        "rollback (cancel it and take its turn out of the session); none: the server's "
        "setting (ADKSTREAM_IF_BUSY, reject by default).",
    )

    @field_validator("coalesce_ms", mode="before")
    @classmethod
    def _json_integer(cls, value: Any) -> Any:
        # An integer as JSON Schema means it: `232` or `232.0`, never `"232"` (strict).
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def disconnect_policy(self) -> Literal["cancel", "continue"]:
        """`detach` (docs/ARCHITECTURE.md's word) and `continue` (the API's) are one policy."""
        return "continue" if self.background or self.on_disconnect != "cancel" else "cancel"

    def answered_ids(self) -> list[str]:
        """The request ids its `functionResponse` parts answer (ADK's way of answering)."""
        if isinstance(self.message, str):
            return []
        return [
            p.function_response.id
            for p in self.message.parts
            if isinstance(p, FunctionResponsePart)
        ]

    def content(self) -> types.Content:
        """The message as the genai Content ADK takes."""
        if isinstance(self.message, str):
            return types.Content(role="user", parts=[types.Part(text=self.message)])
        return types.Content(role="user", parts=self.message.genai_parts())


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
    finish_reason: str | None = None
    error: ErrorInfo | None


class RunView(BaseModel):
    """`GET /v1/runs/{run_id}`."""

    run_id: str
    session_id: str
    agent: str
    status: str
    final_text: str | None
    usage: Usage | None
    finish_reason: str | None = None
    error: ErrorInfo | None
    pending: list[InputRequest] = Field(
        default_factory=list, description="What a waiting run waits for."
    )
    invocation_id: str | None = None
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
