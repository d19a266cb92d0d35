"""A pending request as a tool call the client answers, and the client's tool result as
the answer: how protocols whose clients answer only with tool results (OpenAI's tool
loop, the Vercel AI SDK's `addToolOutput`) carry every kind of pause.

- A client tool, a long-running tool: the tool's own call; its result is the tool's.
- A confirmation: a call of `adk_request_confirmation` (ADK's name) with the tool and
  its arguments, ADK's hint and payload; the result is `true` / `false` or
  `{"confirmed": ...}`.
- A credential: a call of `adk_request_credential` with the auth config to complete;
  the result is the access token (a string) or `{"access_token": ...}` /
  `{"auth_config": ...}`.
- Input: a call of `adk_request_input` with ADK's message, payload and the schema
  of the value; the result is the value.
"""

from __future__ import annotations

from typing import Any

from adkstream.events import InputRequest, InputRequested
from adkstream.runner.answers import Answer
from adkstream.runner.pauses import CONFIRMATION, CREDENTIAL, INPUT


def client_call(request: InputRequest | InputRequested) -> tuple[str, dict[str, Any]]:
    """(tool name, arguments) of the call that asks the client for `request`'s answer."""
    match request.kind:
        case "client_tool" | "tool_result":
            return request.name, request.args
        case "confirmation":
            args = {"tool": request.name, "args": request.args, "hint": request.hint}
            return CONFIRMATION, _present(args | {"payload": request.payload})
        case "credential":
            args = {"hint": request.hint, "auth_config": request.payload}
            return CREDENTIAL, _present(args | {"function_call_id": request.call_id})
        case _:
            schema = request.answer_schema.get("properties", {}).get("value")
            args = {"hint": request.hint, "payload": request.payload}
            return INPUT, _present(args | {"response_schema": schema or None})


def answer_of(request: InputRequest, output: Any) -> Answer:
    """The answer a client's tool result (`output`, parsed JSON when it was JSON) gives
    `request`; checked against the request's `answer_schema` later, like any answer."""
    match request.kind:
        case "confirmation":
            fields = output if isinstance(output, dict) else {"confirmed": output}
        case "credential":
            fields = {"access_token": output} if isinstance(output, str) else output
        case "input":
            fields = {"value": output}
        case _:
            fields = {"result": output}
    if not isinstance(fields, dict):
        fields = {"answer": fields}  # refused by the schema, naming what it expected
    return Answer.model_validate({**fields, "request_id": request.request_id})


def _present(args: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in args.items() if value is not None}
