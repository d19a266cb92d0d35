"""AG-UI answers to a waiting run: `RunAgentInput.resume[]` entries and tool messages.

A waiting run ends with `RUN_FINISHED` and the `interrupt` outcome, one interrupt per
pending request (its `id` is our request id). The client answers on its next run: a
`resume[]` entry per interrupt (`status: "resolved"` with a `payload`, or `"cancelled"`),
and, for a tool the client ran, a tool message with the call's id (what CopilotKit and
@ag-ui/client send). Each answer takes the shape its request asks for:
- a confirmation: `resolved` approves (a payload `{"confirmed": false}`, or `false`,
  denies), `cancelled` denies;
- a client tool's result: the tool message's content (JSON if it parses), or the payload;
- a long-running tool's result: the payload only (a tool message with its call's id is
  the tool's first, stand-in result, which the client keeps in its thread and sends back);
- a credential: the payload (`{"access_token": ...}`); input: the payload as the value.
"""

from __future__ import annotations

from typing import Any

from ag_ui.core import RunAgentInput, ToolMessage

from adkstream.api.json_depth import parse_json
from adkstream.events import InputRequest
from adkstream.runner.answers import Answer

_RESULT_KINDS = ("tool_result", "client_tool")


def agui_answers(body: RunAgentInput, pending: list[InputRequest]) -> list[Answer]:
    """The answers `body` gives to `pending` (those it does not answer are left out)."""
    resumed = {entry.interrupt_id: entry for entry in body.resume or []}
    results = {m.tool_call_id: _content(m) for m in body.messages if isinstance(m, ToolMessage)}
    answers = []
    for request in pending:
        entry = resumed.get(request.request_id)
        if request.kind == "client_tool" and request.request_id in results:
            fields: dict[str, Any] | None = {"result": results[request.request_id]}
        elif entry is None:
            fields = None
        elif entry.status == "cancelled":
            fields = _cancelled(request)
        else:
            fields = _resolved(request, entry.payload)
        if fields is not None:
            answers.append(Answer.model_validate({"request_id": request.request_id, **fields}))
    return answers


def _resolved(request: InputRequest, payload: Any) -> dict[str, Any]:
    if request.kind == "confirmation":
        if isinstance(payload, dict):
            return payload if "confirmed" in payload else {"confirmed": True, "payload": payload}
        return {"confirmed": payload is not False}
    if request.kind in _RESULT_KINDS:
        return payload if isinstance(payload, dict) and "result" in payload else {"result": payload}
    if request.kind == "input":
        return payload if isinstance(payload, dict) and "value" in payload else {"value": payload}
    return payload if isinstance(payload, dict) else {}  # a credential: checked as it is


def _cancelled(request: InputRequest) -> dict[str, Any]:
    if request.kind == "confirmation":
        return {"confirmed": False}
    if request.kind in _RESULT_KINDS:
        return {"result": {"error": "cancelled by the user"}}
    return {"value": None} if request.kind == "input" else {}


def _content(message: ToolMessage) -> Any:
    content = message.content
    if not isinstance(content, str):
        content = "".join(getattr(part, "text", "") or "" for part in content)
    try:
        return parse_json(content)
    except ValueError:
        return content
