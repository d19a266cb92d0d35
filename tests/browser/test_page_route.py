"""`GET /` and `/static/*`: the page, its modules, and the headers that keep it safe."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser.conftest import ServeChat


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        pytest.param("/", "text/html", id="page"),
        pytest.param("/static/chat.js", "text/javascript", id="script"),
        pytest.param("/static/chat.css", "text/css", id="style"),
        pytest.param("/favicon.ico", "image/svg+xml", id="icon"),
    ],
)
async def test_page_serves_with_strict_headers(
    serve_chat: ServeChat, path: str, media_type: str
) -> None:
    async with asyncio.timeout(30), serve_chat() as server:
        response = await server.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'self';")
    assert "unsafe" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert "etag" in response.headers


async def test_page_uses_no_external_resources(serve_chat: ServeChat) -> None:
    async with asyncio.timeout(30), serve_chat() as server:
        html = (await server.client.get("/")).text
        for name in (
            "chat.js",
            "api.js",
            "sse.js",
            "markdown.js",
            "transcript.js",
            "requests.js",
            "attachments.js",
            "chat.css",
        ):
            body = (await server.client.get(f"/static/{name}")).text
            assert "http://" not in body and "https://" not in body, name
            assert "innerHTML" not in body and "insertAdjacentHTML" not in body, name
    assert "http" not in html.replace('name="viewport"', "")
    assert "<script>" not in html  # only `<script type="module" src=...>`


async def test_page_static_unknown_file_is_404(serve_chat: ServeChat) -> None:
    async with asyncio.timeout(30), serve_chat() as server:
        missing = await server.client.get("/static/nope.js")
    assert missing.status_code == 404
