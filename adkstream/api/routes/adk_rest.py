"""ADK's REST API runs (`POST /run`, `POST /run_sse`) on adkstream's runs, plus resume and cancel.

Same paths, bodies (ADK's own `RunAgentRequest`: camelCase or snake_case) and wire format
as `adk api_server`. How the ADK Event stream gets through adkstream's run machinery:
adkstream's runs translate ADK events into stream events and coalesce them, and a
translated event cannot be turned back into ADK's. So a run started here sets
`RunRequest.adk_events`: the run's pump, besides translating, writes each ADK event
into the run's log as an `adk.event` (ADK's JSON of it, made on arrival), and ADK's
partial events reach ADK as the model makes them (no text tap, no merging window).
Everything else is the run every route gets: `RunManager` (slots, one run per session,
cancel, timeout, the terminal event), the durable log (seq ids, replay across replicas),
auth and rate limits. These routes read the log and send only the `adk.event`s, plus a
terminal error frame (`api/adk_rest_frames.py`).

Additions an ADK client ignores: `id:` lines and `GET /run_sse/{run_id}` to resume
(Last-Event-ID), `: ping` heartbeats, an Event-shaped error frame (`errorCode`,
`errorMessage`, no internals), `POST /run_sse/{run_id}/cancel`. Divergences: a `/run_sse`
run goes on when its client drops (`on_disconnect` "continue" for `detach_grace_s`, so
that a resume finds it; `?on_disconnect=cancel` for ADK's behaviour); `/run` lists the
error event of a failed run instead of answering 500; `newMessage` is required;
`customMetadata` and `serviceTier` are not applied.
"""

from __future__ import annotations

import asyncio
from typing import get_args

from google.adk.cli.api_server import RunAgentRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.agents.registry import HostedAgent
from adkstream.api.adk_rest_access import app_agent, checked_user, find_session
from adkstream.api.adk_rest_frames import AdkSseEncoder, run_events
from adkstream.api.inputs import current_user, host_of, read_model
from adkstream.api.message_check import check_message
from adkstream.api.streams import resume_point, run_headers, run_stream
from adkstream.errors import ConflictError, NotFoundError, RequestError
from adkstream.events import StreamEvent
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord
from adkstream.runner.runs import DisconnectPolicy, RunRequest
from adkstream.tasks import cancel_and_wait


async def run_sse(request: Request) -> Response:
    """`POST /run_sse`: ADK Events as SSE, partial and aggregate as ADK sends them."""
    host = host_of(request)
    body = await read_model(request, RunAgentRequest)
    policy = _disconnect_policy(request, default="continue")
    record, agent = await _start(request, body, streaming=body.streaming, on_disconnect=policy)
    split = not body.function_call_event_id
    return _stream(host, record, agent, after=0, split=split)


async def resume_sse(request: Request) -> Response:
    """`GET /run_sse/{run_id}`: the frames after Last-Event-ID (or `?after=N`), then live."""
    host = host_of(request)
    record = await _owned_run(request)
    after = resume_point(request)
    if record.finished and after >= record.last_seq:
        return Response(status_code=204, headers=run_headers(record))  # stops an EventSource
    agent = host.agents.get(record.agent) if record.agent in host.agents else None
    return _stream(host, record, agent, after=after, split=True)


async def run(request: Request) -> Response:
    """`POST /run`: waits for the run, answers its ADK Events as one JSON array."""
    host = host_of(request)
    body = await read_model(request, RunAgentRequest)
    record, agent = await _start(request, body, streaming=False, on_disconnect="cancel")
    collecting = asyncio.ensure_future(_collect(host, record.run_id))
    gone = asyncio.ensure_future(_until_disconnect(request))
    try:
        async with host.runs.watching(record.run_id):
            await asyncio.wait({collecting, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(gone)
    if not collecting.done():
        await cancel_and_wait(collecting)
        return Response(status_code=499)  # the client is gone (what ADK answers too)
    events = run_events(collecting.result(), author=agent.root.name)
    return JSONResponse(events, headers=run_headers(record))


async def cancel(request: Request) -> Response:
    """`POST /run_sse/{run_id}/cancel`: 202; the stream ends with a `CANCELLED` error frame."""
    host = host_of(request)
    record = await _owned_run(request)
    if record.finished:
        raise ConflictError(f"run {record.run_id!r} has already ended", code="run_finished")
    await host.log.request_cancel(record.run_id, "cancelled by request")
    body = {"run_id": record.run_id, "status": "cancelling"}
    return JSONResponse(body, status_code=202, headers=run_headers(record))


async def _start(
    request: Request, body: RunAgentRequest, *, streaming: bool, on_disconnect: DisconnectPolicy
) -> tuple[RunRecord, HostedAgent]:
    host = host_of(request)
    agent = app_agent(request, body.app_name, field="appName")
    user = checked_user(request, body.user_id, field="userId")
    if body.new_message is None:
        raise RequestError(
            "newMessage is required", code="invalid_field", field="newMessage", status=422
        )
    check_message(body.new_message, limit=host.settings.max_message_chars)
    await find_session(request, agent, user, body.session_id, field="sessionId", with_events=False)
    run_request = RunRequest(
        agent=agent,
        user_id=user,
        session_id=body.session_id,
        message=body.new_message,
        state_delta=body.state_delta,
        coalesce_ms=0,
        on_disconnect=on_disconnect,
        invocation_id=body.invocation_id,
        if_busy=host.settings.if_busy,
        adk_events=True,
        streaming=streaming,
    )
    run_ = await host.runs.start(run_request)
    return run_.record, agent


def _stream(
    host: Host, record: RunRecord, agent: HostedAgent | None, *, after: int, split: bool
) -> Response:
    author = agent.root.name if agent is not None else record.agent
    return run_stream(host, record, AdkSseEncoder(author=author, split=split), after=after)


async def _collect(host: Host, run_id: str) -> list[StreamEvent]:
    return [event async for event in host.log.follow(run_id, merge_over=None)]


async def _until_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _owned_run(request: Request) -> RunRecord:
    run_id = request.path_params["run_id"]
    record = await host_of(request).log.get_run(run_id)
    auth = host_of(request).settings.auth_enabled
    if record is None or (auth and record.user_id != current_user(request)):
        raise NotFoundError(f"no run {run_id!r}", code="run_not_found")
    return record


def _disconnect_policy(request: Request, *, default: DisconnectPolicy) -> DisconnectPolicy:
    raw = request.query_params.get("on_disconnect", default)
    for policy in get_args(DisconnectPolicy):
        if raw == policy:
            return policy  # type: ignore[no-any-return]
    allowed = ", ".join(get_args(DisconnectPolicy))
    raise RequestError(f"on_disconnect must be one of {allowed}", field="on_disconnect")


routes = [
    Route("/run", run, methods=["POST"]),
    Route("/run_sse", run_sse, methods=["POST"]),
    Route("/run_sse/{run_id}", resume_sse, methods=["GET"]),
    Route("/run_sse/{run_id}/cancel", cancel, methods=["POST"]),
]
