"""The chat page: `GET /` and its static files under `/static/`, with a strict CSP.

The page is plain HTML, CSS and ES modules (no build step, nothing from a CDN). Every
response carries `Content-Security-Policy: default-src 'self'` (plus the directives
`default-src` does not cover), so even text that slipped into the DOM as markup could
not run a script: the page's own code never builds DOM from model text with innerHTML.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # No build step means no hashed file names: revalidate (ETag) on every load, so an
    # upgraded server never runs with yesterday's script.
    "Cache-Control": "no-cache",
}


class PageFiles(StaticFiles):
    """StaticFiles whose answers carry the page's security and caching headers."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(PAGE_HEADERS)
        return response


async def chat_page(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


async def favicon(request: Request) -> Response:
    # Browsers ask for /favicon.ico whatever the page links; answer with the page's icon.
    return FileResponse(STATIC_DIR / "icon.svg", media_type="image/svg+xml", headers=PAGE_HEADERS)


routes = [
    Route("/", chat_page, methods=["GET"], include_in_schema=False),
    Route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False),
    Mount("/static", app=PageFiles(directory=STATIC_DIR), name="static"),
]
