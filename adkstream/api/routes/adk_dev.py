"""The developer routes ADK's dev UI calls (`/dev/apps/{app_name}/...`), as far as a host
answers them.

- The agent graph works: `build_graph` and `build_graph_image` (the root level), built by
  ADK's own serializer and plotter from the hosted agent.
- Listings of what adkstream does not keep answer as `adk web` does when it has none:
  eval sets, eval results and tests `[]`, a session's traces `[]`, the builder's YAML
  `""`. The UI then shows empty panels instead of errors.
- Everything else (creating or running evals, the agent builder's saves, tests, deploy,
  event graphs, `/agent-identity/finalize`) answers 501 with a JSON error: adkstream
  hosts agents, it does not author, evaluate or deploy them; `adk web` does.
"""

from __future__ import annotations

from typing import Any

from google.adk.apps.app import App
from google.adk.cli.utils.graph_serialization import serialize_app_info
from google.adk.cli.utils.graph_visualization import plot_workflow_graph
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adkstream.api.adk_rest_access import app_agent
from adkstream.api.errors import error_response

_APP = "/dev/apps/{app_name}"
_NOT_HOSTED = (
    "adkstream hosts agents; ADK's developer tooling ({what}) is not implemented here: "
    "use `adk web` for it"
)


def _app_info(request: Request) -> dict[str, Any]:
    agent = app_agent(request, request.path_params["app_name"], field="app_name")
    # ADK's App requires a LlmAgent-like root name; the hosted name is the app's name.
    info: dict[str, Any] = serialize_app_info(App(name=agent.name, root_agent=agent.root))
    return info


async def build_graph(request: Request) -> Response:
    return JSONResponse(_app_info(request))


async def build_graph_image(request: Request) -> Response:
    """The root level's graph as Graphviz source: `{"": {"dotSrc": ...}}`."""
    dark = request.query_params.get("dark_mode", "false").lower() in ("true", "1")
    dot = plot_workflow_graph(_app_info(request), format="dot", dark_mode=dark)
    source = dot.decode() if isinstance(dot, bytes) else dot
    return JSONResponse({"": {"dotSrc": source}} if source else {})


async def nothing_listed(request: Request) -> Response:
    app_agent(request, request.path_params["app_name"], field="app_name")
    return JSONResponse([])


async def no_builder_file(request: Request) -> Response:
    app_agent(request, request.path_params["app_name"], field="app_name")
    return PlainTextResponse("")


def _not_hosted(what: str) -> Any:
    async def answer(request: Request) -> Response:
        return error_response(501, "not_implemented", _NOT_HOSTED.format(what=what))

    return answer


def _route(path: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
    return Route(path, endpoint, methods=list(methods), include_in_schema=False)


_LISTINGS = ("eval_sets", "eval-sets", "eval_results", "eval-results", "tests")

routes: list[BaseRoute] = [
    _route(f"{_APP}/build_graph", build_graph),
    _route(f"{_APP}/build_graph_image", build_graph_image),
    _route(f"{_APP}/builder", no_builder_file),
    *(_route(f"{_APP}/{listing}", nothing_listed) for listing in _LISTINGS),
    _route(f"{_APP}/debug/trace/session/{{session_id}}", nothing_listed),
    _route(
        "/dev/{rest:path}",
        _not_hosted("evals, traces, the builder, tests, deploy"),
        ("GET", "POST", "PUT", "PATCH", "DELETE"),
    ),
    _route("/agent-identity/finalize", _not_hosted("agent identity"), ("POST",)),
]
