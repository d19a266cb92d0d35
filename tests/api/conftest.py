"""An adkstream server on 127.0.0.1 for API tests: embedded default storage in tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adkstream.api import create_app
from adkstream.runner.host import Host
from adkstream.runner.log import EventLog
from adkstream.settings import Settings
from tests.servers import serve_app


@dataclass
class Api:
    """A running server: its URL, an httpx client on it, and the app (same event loop)."""

    url: str
    client: httpx.AsyncClient
    app: Starlette

    @property
    def host(self) -> Host:
        host: Host = self.app.state.host
        return host


ServerFactory = Callable[..., AbstractAsyncContextManager[Api]]


@pytest.fixture
def start_server(tmp_path: Path) -> ServerFactory:
    """`async with start_server(offline_tokens_per_s=0, ...) as api:` — settings as keywords
    (and `log=` for a log of your own, such as a EventLog)."""

    @asynccontextmanager
    async def start(*, log: EventLog | None = None, **overrides: Any) -> AsyncIterator[Api]:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "offline_tokens_per_s": 0,
            "offline_reply_tokens": 12,
        }
        values.update(overrides)
        app = create_app(Settings(**values), log=log)
        async with serve_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
            yield Api(url=url, client=client, app=app)

    return start


@pytest.fixture
async def api(start_server: ServerFactory) -> AsyncIterator[Api]:
    async with start_server() as running:
        yield running
