"""Health, the agent list and the API description."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.api.bodies import AgentInfo, AgentList
from adkstream.api.inputs import host_of
from adkstream.api.openapi import openapi_document
from adkstream.metrics import exposition


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


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
    Route("/v1/agents", list_agents, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    Route("/metrics", prometheus, methods=["GET"], include_in_schema=False),
]
