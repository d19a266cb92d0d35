"""Answers to a waiting run (the body of `POST /v1/runs/{run_id}/answers`, and what every
other surface turns its answers into), checked against
what each pending request asked for, and turned into the message ADK resumes with.

Every pending request must be answered at once, each exactly once: ADK resumes the
paused invocation with all of them (a run with a confirmation and a long-running tool
pending gets both answers in one call).
"""

from __future__ import annotations

from typing import Any, Literal

import jsonschema
from google.genai import types
from pydantic import BaseModel, ConfigDict, Field

from adkstream.errors import RequestError
from adkstream.events import InputRequest
from adkstream.runner.pauses import answer_part


class Answer(BaseModel):
    """One answer: `request_id`, and the fields the request's `answer_schema` names
    (`{"confirmed": true}`, `{"result": ...}`, `{"access_token": "..."}`, `{"value": ...}`)."""

    model_config = ConfigDict(extra="allow")

    request_id: str = Field(min_length=1)

    def fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class AnswersBody(BaseModel):
    """`POST /v1/runs/{run_id}/answers`."""

    model_config = ConfigDict(extra="forbid")

    answers: list[Answer] = Field(min_length=1)
    on_disconnect: Literal["cancel", "continue", "detach"] = "cancel"
    background: bool = False

    def disconnect_policy(self) -> Literal["cancel", "continue"]:
        return "continue" if self.background or self.on_disconnect != "cancel" else "cancel"


def answers_message(pending: list[InputRequest], answers: list[Answer]) -> types.Content:
    """The user message that answers `pending`, ADK's `FunctionResponse` parts.

    Raises:
        RequestError: (422) an answer names no pending request, answers one twice, does
            not match the request's `answer_schema`, or a request is left unanswered.
    """
    by_id = {request.request_id: request for request in pending}
    parts: list[types.Part] = []
    seen: set[str] = set()
    for index, answer in enumerate(answers):
        field = f"answers.{index}"
        request = by_id.get(answer.request_id)
        if request is None:
            known = ", ".join(by_id) or "none"
            raise _invalid(
                f"no pending request {answer.request_id!r} (pending: {known})",
                f"{field}.request_id",
                code="unknown_request",
            )
        if answer.request_id in seen:
            raise _invalid("this request is answered twice", f"{field}.request_id")
        seen.add(answer.request_id)
        _check(request, answer.fields(), field)
        parts.append(answer_part(request, answer.fields()))
    missing = [request_id for request_id in by_id if request_id not in seen]
    if missing:
        raise _invalid(
            f"every pending request needs an answer; missing: {', '.join(missing)}",
            "answers",
            code="missing_answers",
        )
    return types.Content(role="user", parts=parts)


def _check(request: InputRequest, answer: dict[str, Any], field: str) -> None:
    validator = jsonschema.Draft202012Validator(request.answer_schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(answer))
    if error is None:
        return
    path = ".".join(str(p) for p in error.absolute_path)
    where = f"{field}.{path}" if path else field
    raise _invalid(f"{where}: {error.message} (a {request.kind} answer)", where)


def _invalid(message: str, field: str, *, code: str = "invalid_answer") -> RequestError:
    return RequestError(message, code=code, field=field, status=422)
