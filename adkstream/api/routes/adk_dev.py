"""The developer routes ADK's dev UI calls (`/dev/apps/{app_name}/...`), as far as a host
answers them.

- The agent graph works: `build_graph`, and `build_graph_image` with every workflow level
  at or below a `node` path as `adk web` gives them, built by ADK's own serializer and
  plotter from the hosted agent.
- Traces work: a session's spans (the Trace tab) and the span attributes of the call
  that made an event (an event's details), from the process's recorder
  (`runner/traces.py`). With auth on, only the caller's sessions are shown.
- Listings of what adkstream does not keep answer as `adk web` does when it has none:
  eval sets, eval results and tests `[]`, the builder's YAML `""`. The UI then shows
  empty panels instead of errors.
- Everything else (creating or running evals, the agent builder's saves, tests, deploy,
  event graphs, `/agent-identity/finalize`) answers 501 with a JSON error: adkstream
  hosts agents, it does not author, evaluate or deploy them; `adk web` does.
"""

from __future__ import annotations

from typing import Any

from google.adk.cli.utils.graph_serialization import serialize_app_info
from google.adk.cli.utils.graph_visualization import plot_workflow_graph
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from adkstream.agents.client_tools import ClientToolset
from adkstream.agents.registry import HostedAgent
from adkstream.api.adk_rest_access import app_agent, find_session
from adkstream.api.errors import error_response
from adkstream.api.inputs import current_user, host_of
from adkstream.errors import NotFoundError
from adkstream.runner import traces

_APP = "/dev/apps/{app_name}"
_NOT_HOSTED = (
    "adkstream hosts agents; ADK's developer tooling ({what}) is not implemented here: "
    "use `adk web` for it"
)


def _app_info(request: Request, *, readme: bool = False) -> dict[str, Any]:
    agent = app_agent(request, request.path_params["app_name"], field="app_name")
    text = _readme(agent) if readme else None
    info: dict[str, Any] = serialize_app_info(agent.adk_app(plugins=[]), text)
    _hide_client_toolset(info["root_agent"])
    return info


def _hide_client_toolset(node: dict[str, Any]) -> None:
    """Drops the toolset adkstream gives hosted agents for a client's own tools
    (`agents/client_tools.py`): the graph shows the agent as its author wrote it."""
    tools = node.get("tools")
    if isinstance(tools, list):
        node["tools"] = [t for t in tools if t.get("name") != ClientToolset.__name__]
    for child in _children(node):
        _hide_client_toolset(child)


async def build_graph(request: Request) -> Response:
    return JSONResponse(_app_info(request, readme=True))


def _readme(agent: HostedAgent) -> str | None:
    """The agent directory's `README.md`, read on each request as `adk web` does."""
    if agent.directory is None:
        return None
    try:
        return (agent.directory / "README.md").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


async def build_graph_image(request: Request) -> Response:
    """Graphviz source of each workflow level at or below `node` (a `/`-separated path
    of node names; the root when absent), keyed by path: `{"": {"dotSrc": ...}}`."""
    dark = request.query_params.get("dark_mode", "false").lower() in ("true", "1")
    path = request.query_params.get("node") or ""
    info = _app_info(request)
    top = _node_at(info["root_agent"], path)
    if top is None:
        raise NotFoundError(f"no node {path!r} in the app", field="node")
    levels = _workflow_levels(top, path)
    levels.setdefault(path, top)  # an agent tree is plotted too
    graphs = {}
    for at, level in levels.items():
        dot = plot_workflow_graph({"root_agent": level}, format="dot", dark_mode=dark)
        source = dot.decode() if isinstance(dot, bytes) else dot
        if source:
            graphs[at] = {"dotSrc": source}
    return JSONResponse(graphs)


def _children(node: dict[str, Any]) -> list[dict[str, Any]]:
    """A serialized node's children, in the order `adk web` searches them: a workflow
    graph's nodes, then nodes, then sub-agents."""
    graph = node.get("graph") or {}
    return [*graph.get("nodes", []), *node.get("nodes", []), *node.get("sub_agents", [])]


def _node_at(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The serialized node at `path` (its first name may be the root's own)."""
    names = [name for name in path.strip("/").split("/") if name]
    if names and names[0] == root.get("name"):
        names = names[1:]
    node = root
    for name in names:
        found = next((child for child in _children(node) if child.get("name") == name), None)
        if found is None:
            return None
        node = found
    return node


def _workflow_levels(node: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    """Every node with a workflow graph at or below `node`, by path."""
    levels = {path: node} if node.get("graph") else {}
    for child in _children(node):
        if name := child.get("name"):
            levels |= _workflow_levels(child, f"{path}/{name}" if path else name)
    return levels


async def nothing_listed(request: Request) -> Response:
    app_agent(request, request.path_params["app_name"], field="app_name")
    return JSONResponse([])


async def no_builder_file(request: Request) -> Response:
    app_agent(request, request.path_params["app_name"], field="app_name")
    return PlainTextResponse("")


async def session_trace(request: Request) -> Response:
    """The session's spans with their logs (`[]` when none are kept), as `adk web`."""
    agent = app_agent(request, request.path_params["app_name"], field="app_name")
    session_id = request.path_params["session_id"]
    await _check_owner(request, agent, session_id, field="session_id")
    recorder = traces.recorder()
    return JSONResponse(recorder.session_spans(session_id) if recorder else [])


async def event_trace(request: Request) -> Response:
    """The span attributes of the model call, tool call or live send that made the event."""
    agent = app_agent(request, request.path_params["app_name"], field="app_name")
    event_id = request.path_params["event_id"]
    recorder = traces.recorder()
    kept = recorder.event(event_id) if recorder else None
    if kept is None:
        raise NotFoundError(f"no trace of event {event_id!r} is kept", field="event_id")
    session_id, attributes = kept
    await _check_owner(request, agent, session_id, field="event_id")
    return JSONResponse(attributes)


async def _check_owner(
    request: Request, agent: HostedAgent, session_id: str | None, *, field: str
) -> None:
    """With auth on, traces are shown of the caller's own sessions only (404 otherwise)."""
    if not host_of(request).settings.auth_enabled:
        return
    if session_id is None:
        raise NotFoundError("no trace of that session is kept", field=field)
    await find_session(
        request, agent, current_user(request), session_id, field=field, with_events=False
    )


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
    _route(f"{_APP}/debug/trace/session/{{session_id}}", session_trace),
    _route(f"{_APP}/debug/trace/{{event_id}}", event_trace),
    _route(
        "/dev/{rest:path}",
        _not_hosted("evals, the builder, tests, deploy"),
        ("GET", "POST", "PUT", "PATCH", "DELETE"),
    ),
    _route("/agent-identity/finalize", _not_hosted("agent identity"), ("POST",)),
]
