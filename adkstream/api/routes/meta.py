"""Liveness and readiness, the agent list and the API description."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.api.bodies import AgentInfo, AgentList
from adkstream.api.errors import error_body
from adkstream.api.inputs import host_of
from adkstream.api.openapi import openapi_document
from adkstream.metrics import exposition
from adkstream.runner.readiness import check_storage, ready

READY_RETRY_AFTER_S = 5


async def healthz(request: Request) -> Response:
    """Liveness: the process serves HTTP (storage is never asked: see `readyz`)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: 200 while every store answers, else 503 naming the ones that do not."""
    checks = await check_storage(host_of(request))
    headers = {"Cache-Control": "no-store"}
    if ready(checks):
        return JSONResponse({"status": "ready", "checks": checks}, headers=headers)
    failed = ", ".join(name for name, state in checks.items() if state not in ("ok", "unchecked"))
    body = error_body("storage_unavailable", f"storage does not answer: {failed}")
    return JSONResponse(
        {"status": "unavailable", "checks": checks, **body},
        status_code=503,
        headers=headers | {"Retry-After": str(READY_RETRY_AFTER_S)},
    )


async def list_agents(request: Request) -> Response:
    agents = host_of(request).agents
    default = agents.default.name
    listing = AgentList(
        agents=[
            AgentInfo(name=a.name, description=a.description, default=a.name == default)
            for a in agents
        ]
    )
    return JSONResponse(listing.model_dump())


async def prometheus(request: Request) -> Response:
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/v1/agents", list_agents, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    Route("/metrics", prometheus, methods=["GET"], include_in_schema=False),
]
