"""Runs: start one (`POST /v1/runs`), read it, follow its events, cancel it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream import metrics
from adkstream.api.bodies import RunAccepted, RunBody, RunView
from adkstream.api.idempotency import (
    idempotency_key,
    keyed_run_id,
    request_fingerprint,
    run_of_key,
    started_meanwhile,
)
from adkstream.api.inputs import (
    StreamFormat,
    current_user,
    host_of,
    negotiate,
    read_model,
)
from adkstream.api.message_check import check_message
from adkstream.api.resume import client_tool_specs, continue_run, waiting_runs
from adkstream.api.streams import resume_point, run_headers, stream_response
from adkstream.errors import ConflictError, NotFoundError
from adkstream.runner.answers import AnswersBody, answers_message
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord, RunStatus
from adkstream.runner.runs import RunExists, RunRequest

_EVENT_FORMATS = (StreamFormat.SSE, StreamFormat.NDJSON)


async def start_run(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    fmt = negotiate(request)
    body = await read_model(request, RunBody)
    check_message(body.content(), limit=host.settings.max_message_chars)
    key = idempotency_key(request)
    run_id = fingerprint = None
    if key is not None:
        run_id, fingerprint = keyed_run_id(user, key), request_fingerprint(body)
        earlier = await run_of_key(host, run_id, fingerprint)
        if earlier is not None:  # a retry: it joins the run
            return await _answer(request, host, earlier, fmt, background=body.background)
    if body.session_id is None:
        agent = host.agents.get(body.agent)
        session = await host.sessions.create(agent=agent, user_id=user)
        session_id = session.id
    else:
        session_id = body.session_id
        found = await host.sessions.agent_of(user, session_id)
        if found is None:
            raise NotFoundError(
                f"no session {session_id!r}", code="session_not_found", field="session_id"
            )
        if body.agent is not None and body.agent != found.name:
            host.agents.get(body.agent)  # an unknown agent is 404 before a mismatch
            raise ConflictError(
                f"session {session_id!r} belongs to agent {found.name!r}",
                code="agent_mismatch",
                field="agent",
            )
        agent = found
    answered = body.answered_ids()
    if answered:
        waiting = await _waiting_for(host, user, session_id, answered)
        message = body.content()
        run = await continue_run(host, waiting, message, on_disconnect=body.disconnect_policy())
        return await _answer(request, host, run.record, fmt, background=body.background)
    coalesce_ms = host.settings.coalesce_ms if body.coalesce_ms is None else body.coalesce_ms
    run_request = RunRequest(
        agent=agent,
        user_id=user,
        session_id=session_id,
        message=body.content(),
        state_delta=body.state_delta,
        coalesce_ms=coalesce_ms,
        on_disconnect=body.disconnect_policy(),
        thoughts=host.settings.thoughts if body.thoughts is None else body.thoughts,
        client_tools=client_tool_specs(body.tools or [], field="tools"),
        if_busy=host.settings.if_busy if body.if_busy is None else body.if_busy,
        fingerprint=fingerprint,
    )
    try:
        record = (await host.runs.start(run_request, run_id=run_id)).record
    except RunExists:
        if run_id is None or fingerprint is None:
            raise
        # A request with the same key started it meanwhile: this one joins it.
        if body.session_id is None:
            await host.sessions.delete(user, session_id)  # the one made for nothing
        record = await started_meanwhile(host, run_id, fingerprint)
    return await _answer(request, host, record, fmt, background=body.background)


async def get_run(request: Request) -> Response:
    host = host_of(request)
    record = await _owned_run(host, request)
    return JSONResponse(run_view(record).model_dump(mode="json"), headers=run_headers(record))


def run_view(record: RunRecord) -> RunView:
    return RunView(
        run_id=record.run_id,
        session_id=record.session_id,
        agent=record.agent,
        status=record.status.value,
        final_text=record.final_text,
        usage=record.usage,
        finish_reason=record.finish_reason,
        error=record.error,
        pending=record.pending,
        invocation_id=record.invocation_id,
        last_seq=record.last_seq,
        created_at=record.created_at,
        ended_at=record.ended_at,
    )


async def run_events(request: Request) -> Response:
    """Replays the events after Last-Event-ID (or `?after=N`), then follows the run live."""
    host = host_of(request)
    fmt = negotiate(request, _EVENT_FORMATS)
    record = await _owned_run(host, request)
    after = resume_point(request)
    if after:
        metrics.REJOINS.inc()
    if record.finished and after >= record.last_seq:
        # 204 is the standard signal that stops an EventSource from reconnecting.
        return Response(status_code=204, headers=run_headers(record))
    return await stream_response(request, host, record, fmt, after=after)


async def _waiting_for(host: Host, user: str, session_id: str, answered: list[str]) -> RunRecord:
    """The session's waiting run that `functionResponse` parts answer.

    Raises:
        ConflictError: no run of the session waits for these ids (409), as when they
            were answered already.
    """
    for record in await waiting_runs(host, user, session_id):
        if set(answered) <= {request.request_id for request in record.pending}:
            return record
    raise ConflictError(
        f"no run of the session waits for {', '.join(answered)}",
        code="unknown_request",
        field="message.parts",
    )


async def answer_run(request: Request) -> Response:
    """Answers a waiting run's requests: a new run continues ADK's paused invocation."""
    host = host_of(request)
    fmt = negotiate(request)
    record = await _owned_run(host, request)
    body = await read_model(request, AnswersBody)
    if record.status is not RunStatus.WAITING:
        raise ConflictError(
            f"run {record.run_id!r} is {record.status.value}, not waiting for answers",
            code="run_not_waiting",
        )
    message = answers_message(record.pending, body.answers)
    run = await continue_run(host, record, message, on_disconnect=body.disconnect_policy())
    return await _answer(request, host, run.record, fmt, background=body.background)


async def _answer(
    request: Request, host: Host, record: RunRecord, fmt: StreamFormat, *, background: bool
) -> Response:
    """A started run's answer: 202 with its id (background), or its stream or result."""
    if background:
        accepted = RunAccepted(run_id=record.run_id, session_id=record.session_id)
        headers = run_headers(record) | {"Location": f"/v1/runs/{record.run_id}/events"}
        return JSONResponse(accepted.model_dump(), status_code=202, headers=headers)
    return await stream_response(request, host, record, fmt)


async def cancel_run(request: Request) -> Response:
    host = host_of(request)
    record = await _owned_run(host, request)
    if record.finished:
        raise ConflictError(f"run {record.run_id!r} has already ended", code="run_finished")
    # The log delivers the request to whichever process drives the run (this one or
    # another replica).
    await host.log.request_cancel(record.run_id, "cancelled by request")
    return JSONResponse(
        {"run_id": record.run_id, "status": "cancelling"},
        status_code=202,
        headers=run_headers(record),
    )


async def _owned_run(host: Host, request: Request) -> RunRecord:
    run_id = request.path_params["run_id"]
    record = await host.log.get_run(run_id)
    if record is None or record.user_id != current_user(request):
        raise NotFoundError(f"no run {run_id!r}", code="run_not_found")
    return record


routes = [
    Route("/v1/runs", start_run, methods=["POST"]),
    Route("/v1/runs/{run_id}", get_run, methods=["GET"]),
    Route("/v1/runs/{run_id}/events", run_events, methods=["GET"]),
    Route("/v1/runs/{run_id}/cancel", cancel_run, methods=["POST"]),
    Route("/v1/runs/{run_id}/answers", answer_run, methods=["POST"]),
]
