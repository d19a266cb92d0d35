"""ADK's dev UI (`adk web`), served from the installed google-adk wheel: `/dev-ui/`.

On with `adkstream web AGENTS_DIR` (or ADKSTREAM_DEV_UI=true). The UI is ADK's Angular
build in `google/adk/cli/browser`, never copied into this repository; it talks to the
ADK REST API routes (`adk_*.py`), which answer it on adkstream's runs.

As `adk web` does: `/` redirects to `/dev-ui/`, and `runtime-config.json` tells the UI
its backend is this server. adkstream's own chat page moves to `/chat`.

The UI's developer routes under `/dev/` are answered by `adk_dev.py`: the agent graph
works, empty listings where adkstream keeps nothing, and 501 for the rest.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

import google.adk.cli
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from adkstream.api.routes import adk_dev
from adkstream.api.routes.page import chat_page
from adkstream.errors import ConfigurationError

Endpoint = Callable[[Request], Awaitable[Response]]

DEV_UI_DIR = Path(google.adk.cli.__file__).resolve().parent / "browser"


async def runtime_config(request: Request) -> Response:
    """The UI's backend is this server, at its own root (the page's origin)."""
    config = {"backendUrl": request.scope.get("root_path", ""), "telemetry": False}
    return JSONResponse(config, headers={"Cache-Control": "no-store"})


async def ui_config(request: Request) -> Response:
    return JSONResponse({"logo_text": None, "logo_image_url": None})


async def to_dev_ui(request: Request) -> Response:
    return RedirectResponse(request.url_for("dev_ui", path="/"))


def _get(path: str, endpoint: Endpoint) -> Route:
    return Route(path, endpoint, methods=["GET"], include_in_schema=False)


def dev_ui_routes() -> list[BaseRoute]:
    """The UI's files and config, `/` and `/dev-ui` redirects, the chat page at `/chat`,
    and the developer routes the UI calls.

    Raises:
        ConfigurationError: the installed google-adk has no dev UI build.
    """
    if not (DEV_UI_DIR / "index.html").is_file():
        raise ConfigurationError(f"the installed google-adk has no dev UI at {DEV_UI_DIR}")
    # Some systems map .js to text/plain; browsers refuse to run modules served so.
    mimetypes.add_type("text/javascript", ".js", True)
    return [
        # Ahead of the mount, which would otherwise answer with a file of that name.
        _get("/dev-ui/assets/config/runtime-config.json", runtime_config),
        _get("/dev-ui/config", ui_config),
        _get("/", to_dev_ui),
        _get("/dev-ui", to_dev_ui),
        _get("/chat", chat_page),
        Mount("/dev-ui", app=StaticFiles(directory=DEV_UI_DIR, html=True), name="dev_ui"),
        *adk_dev.routes,
    ]
