"""Runs that wait: ADK's pauses as typed pending requests, and answers as ADK takes them.

Every ADK 2.x pause has one wire shape (`google.adk.events._interrupts`): a function
call whose id is in the event's `long_running_tool_ids`. What the call is says what the
run waits for (`kind`):
- `confirmation`: `adk_request_confirmation`, for a tool with `require_confirmation`;
  its args hold the original call and ADK's `toolConfirmation` (hint, payload).
- `credential`: `adk_request_credential`, a tool asking for OAuth; its args hold the
  original call's id and the `authConfig` to complete.
- `input`: `adk_request_input`, a workflow's `RequestInput` (message, payload, schema).
- `client_tool`: a call of a tool the client declared for the run (it runs it).
- `tool_result`: any other long-running tool (`LongRunningFunctionTool`): its final
  result comes later, from whoever does the work.
An answer is a `FunctionResponse` with the request's id, whose `response` ADK reads as
each kind needs (`answer_part`). Answers are checked against `answer_schema` first, so
that a malformed one is a 422 naming the field, not a failure inside ADK.
"""

from __future__ import annotations

from typing import Any, Literal

from google.adk.events.event import Event
from google.genai import types

from adkstream.events import InputRequest
from adkstream.runner.json_values import json_safe

CONFIRMATION = "adk_request_confirmation"
CREDENTIAL = "adk_request_credential"
INPUT = "adk_request_input"

RequestKind = Literal["confirmation", "credential", "input", "client_tool", "tool_result"]

_ANY_OBJECT: dict[str, Any] = {"type": "object"}
ANSWER_SCHEMAS: dict[str, dict[str, Any]] = {
    "confirmation": {
        "type": "object",
        "properties": {"confirmed": {"type": "boolean"}, "payload": {}},
        "required": ["confirmed"],
    },
    "credential": {
        "type": "object",
        "properties": {
            "access_token": {"type": "string", "minLength": 1},
            "auth_config": _ANY_OBJECT,
        },
        "anyOf": [{"required": ["access_token"]}, {"required": ["auth_config"]}],
    },
    "input": {"type": "object", "properties": {"value": {}}, "required": ["value"]},
    "client_tool": {"type": "object", "properties": {"result": {}}, "required": ["result"]},
    "tool_result": {"type": "object", "properties": {"result": {}}, "required": ["result"]},
}
"""What an answer to each kind of request looks like (JSON Schema)."""


PendingRequest = InputRequest
"""One thing a paused run waits for (see `adkstream.events.InputRequest`)."""


def pending_of(event: Event, *, client_tools: frozenset[str] = frozenset()) -> list[PendingRequest]:
    """The requests an ADK event pauses on (none for most events)."""
    ids = set(event.long_running_tool_ids or ())
    out: list[PendingRequest] = []
    for call in event.get_function_calls():
        if call.id is None:
            continue
        if call.id not in ids and call.name not in (CREDENTIAL, INPUT):
            continue
        request = _request(call, client_tools)
        out.append(request.model_copy(update={"author": event.author, "branch": event.branch}))
    return out


def _request(call: types.FunctionCall, client_tools: frozenset[str]) -> PendingRequest:
    args: dict[str, Any] = json_safe(dict(call.args or {}))
    request_id, name = call.id or "", call.name or ""
    if name == CONFIRMATION:
        original = _camel(args, "originalFunctionCall", "original_function_call")
        confirmation = _camel(args, "toolConfirmation", "tool_confirmation")
        return PendingRequest(
            request_id=request_id,
            kind="confirmation",
            name=str(original.get("name", "")),
            args=dict(original.get("args") or {}),
            call_id=original.get("id"),
            hint=confirmation.get("hint") or None,
            payload=confirmation.get("payload"),
            answer_schema=ANSWER_SCHEMAS["confirmation"],
        )
    if name == CREDENTIAL:
        return PendingRequest(
            request_id=request_id,
            kind="credential",
            name=name,
            call_id=args.get("functionCallId", args.get("function_call_id")),
            hint=args.get("message"),
            payload=_camel(args, "authConfig", "auth_config"),
            answer_schema=ANSWER_SCHEMAS["credential"],
        )
    if name == INPUT:
        schema = args.get("response_schema") or args.get("responseSchema")
        return PendingRequest(
            request_id=request_id,
            kind="input",
            name=name,
            hint=args.get("message"),
            payload=args.get("payload"),
            answer_schema={
                "type": "object",
                "properties": {"value": schema if isinstance(schema, dict) else {}},
                "required": ["value"],
            },
        )
    kind: RequestKind = "client_tool" if name in client_tools else "tool_result"
    return PendingRequest(
        request_id=request_id,
        kind=kind,
        name=name,
        args=args,
        answer_schema=ANSWER_SCHEMAS[kind],
    )


def _camel(args: dict[str, Any], camel: str, snake: str) -> dict[str, Any]:
    value = args.get(camel, args.get(snake))
    return value if isinstance(value, dict) else {}


def answer_part(request: PendingRequest, answer: dict[str, Any]) -> types.Part:
    """The `FunctionResponse` part that answers `request` (the answer already checked)."""
    response: dict[str, Any]
    if request.kind == "confirmation":
        response = {"confirmed": bool(answer["confirmed"]), "payload": answer.get("payload")}
    elif request.kind == "credential":
        response = _auth_config(request, answer)
    elif request.kind == "input":
        response = {"result": answer["value"]}
    else:
        result = answer["result"]
        response = result if isinstance(result, dict) else {"result": result}
    name = CONFIRMATION if request.kind == "confirmation" else request.name
    return types.Part(
        function_response=types.FunctionResponse(
            id=request.request_id, name=name, response=response
        )
    )


def _auth_config(request: PendingRequest, answer: dict[str, Any]) -> dict[str, Any]:
    """The authConfig ADK asked for, completed: the client's own, or with its token."""
    given = answer.get("auth_config")
    if isinstance(given, dict):
        return given
    config = dict(request.payload) if isinstance(request.payload, dict) else {}
    exchanged = dict(config.get("exchangedAuthCredential") or {})
    exchanged.setdefault("authType", "oauth2")
    oauth2 = dict(exchanged.get("oauth2") or {})
    oauth2["accessToken"] = answer["access_token"]
    exchanged["oauth2"] = oauth2
    config["exchangedAuthCredential"] = exchanged
    return config
