"""ADK's REST API about the server: `/list-apps`, `/apps/{app_name}/app-info`, `/health`,
`/version`, `GET|POST /config/telemetry`.

Divergence: the telemetry consent is kept by this process (ADK writes it to a file in
the user's home); `/version` also names adkstream's version.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as package_version

from google.adk import __version__ as adk_version
from google.adk.agents.llm_agent import LlmAgent
from google.adk.cli.api_server import AppInfo, ListAppsResponse
from google.adk.utils.agent_info import get_agents_dict
from pydantic import BaseModel, StrictBool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adkstream.agents.registry import HostedAgent
from adkstream.api.adk_rest_access import app_agent
from adkstream.api.inputs import host_of, read_model
from adkstream.api.routes import resource
from adkstream.errors import RequestError

TELEMETRY_HEADER = "x-adk-telemetry-request"


class TelemetryConsent(BaseModel):
    telemetry: StrictBool


async def list_apps(request: Request) -> Response:
    """The hosted agents' names; `?detailed=true`: `{"apps": [AppInfo]}`."""
    agents = list(host_of(request).agents)
    if request.query_params.get("detailed", "false").lower() not in ("true", "1"):
        return JSONResponse([agent.name for agent in agents])
    listing = ListAppsResponse(apps=[_summary(agent) for agent in agents])
    return JSONResponse(listing.model_dump(mode="json", exclude_none=True, by_alias=True))


async def app_info(request: Request) -> Response:
    agent = app_agent(request, request.path_params["app_name"], field="app_name")
    if not isinstance(agent.root, LlmAgent):
        raise RequestError("Root agent is not an LlmAgent", field="app_name")
    info = _summary(agent).model_copy(update={"agents": await get_agents_dict(agent.root)})
    return JSONResponse(info.model_dump(mode="json", exclude_none=True, by_alias=True))


def _summary(agent: HostedAgent) -> AppInfo:
    return AppInfo(
        name=agent.name,
        root_agent_name=agent.root.name,
        description=agent.root.description,
        language="python",
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def version(request: Request) -> Response:
    info = sys.version_info
    return JSONResponse(
        {
            "version": adk_version,
            "language": "python",
            "language_version": f"{info.major}.{info.minor}.{info.micro}",
            "adkstream": package_version("adkstream"),
        }
    )


async def get_telemetry(request: Request) -> Response:
    consent: bool = getattr(request.app.state, "adk_telemetry_consent", False)
    return JSONResponse({"telemetry": consent})


async def set_telemetry(request: Request) -> Response:
    """Needs `X-ADK-Telemetry-Request: true`, as ADK's does (a cross-site form cannot send it)."""
    if request.headers.get(TELEMETRY_HEADER) != "true":
        raise RequestError(
            "the X-ADK-Telemetry-Request: true header is required",
            field="X-ADK-Telemetry-Request",
        )
    body = await read_model(request, TelemetryConsent)
    request.app.state.adk_telemetry_consent = body.telemetry
    return JSONResponse({"telemetry": body.telemetry})


routes = [
    Route("/list-apps", list_apps, methods=["GET"]),
    Route("/apps/{app_name}/app-info", app_info, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
    Route("/version", version, methods=["GET"]),
    resource("/config/telemetry", GET=get_telemetry, POST=set_telemetry),
]
