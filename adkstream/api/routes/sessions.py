"""Sessions: create, list, read (with messages and state), delete; a session's runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.api.bodies import SessionBody
from adkstream.api.inputs import current_user, host_of, read_model
from adkstream.api.resume import waiting_runs
from adkstream.api.routes import resource
from adkstream.api.routes.runs import run_view
from adkstream.runner.sessions import WaitingRun


async def create_session(request: Request) -> Response:
    host = host_of(request)
    body = await read_model(request, SessionBody, allow_empty=True)
    agent = host.agents.get(body.agent)
    view = await host.sessions.create(
        agent=agent, user_id=current_user(request), session_id=body.session_id, state=body.state
    )
    return JSONResponse(
        view.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/v1/sessions/{view.id}"},
    )


async def list_sessions(request: Request) -> Response:
    views = await host_of(request).sessions.list(current_user(request))
    return JSONResponse(
        {"sessions": [v.model_dump(mode="json", exclude={"messages"}) for v in views]}
    )


async def get_session(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    view = await host.sessions.get(user, request.path_params["session_id"])
    records = reversed(await waiting_runs(host, user, view.id))  # oldest first
    waiting = [WaitingRun(run_id=r.run_id, pending=r.pending) for r in records]
    return JSONResponse(view.model_copy(update={"waiting": waiting}).model_dump(mode="json"))


async def delete_session(request: Request) -> Response:
    host = host_of(request)
    await host.sessions.delete(current_user(request), request.path_params["session_id"])
    return Response(status_code=204)


async def session_runs(request: Request) -> Response:
    host = host_of(request)
    user = current_user(request)
    session_id = request.path_params["session_id"]
    await host.sessions.get(user, session_id, with_messages=False)
    records = await host.log.list_runs(session_id)
    return JSONResponse(
        {"runs": [run_view(r).model_dump(mode="json") for r in records if r.user_id == user]}
    )


routes = [
    resource("/v1/sessions", POST=create_session, GET=list_sessions),
    resource("/v1/sessions/{session_id}", GET=get_session, DELETE=delete_session),
    Route("/v1/sessions/{session_id}/runs", session_runs, methods=["GET"]),
]
