"""The Starlette application: routes, error handlers, and the host's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from adkstream.agents import AgentRegistry, builtin_agents
from adkstream.api.auth import authenticators
from adkstream.api.errors import EXCEPTION_HANDLERS
from adkstream.api.hosts import AllowedHosts, HostGuard
from adkstream.api.middleware import GateMiddleware
from adkstream.api.ratelimit import RequestRate
from adkstream.api.routes import (
    adk_artifacts,
    adk_live,
    adk_meta,
    adk_rest,
    adk_sessions,
    agui,
    artifacts,
    dev_ui,
    live,
    meta,
    openai,
    page,
    runs,
    sessions,
    vercel,
)
from adkstream.runner import traces
from adkstream.runner.host import Host
from adkstream.runner.log import EventLog
from adkstream.settings import Settings

logger = logging.getLogger("adkstream.api")


def create_app(
    settings: Settings | None = None,
    agents: AgentRegistry | None = None,
    *,
    log: EventLog | None = None,
) -> Starlette:
    """The adkstream app; storage opens at start-up and closes at shutdown.

    Args:
        settings: the settings (default: from the environment).
        agents: the agents to host (default: the built-in ones).
        log: an event log to use instead of the one the settings choose.
    """
    settings = settings or Settings()
    agents = agents or builtin_agents(settings)

    # With auth off every request is the one local user (you, on loopback): limiting
    # that user only gets in the way of a script or a notebook, unless asked for.
    rate = (
        RequestRate(
            settings.rate_limit, redis_url=settings.shared_limits_url, prefix=settings.redis_prefix
        )
        if settings.auth_enabled or settings.rate_limit_local
        else None
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        host = app.state.opened_host or await Host.open(settings, agents, log=log)
        app.state.opened_host = None
        app.state.host = host
        try:
            with traces.recording() if settings.dev_ui else nullcontext():
                yield
        finally:
            await host.close()
            if rate is not None:
                await rate.close()

    hosts = AllowedHosts.from_setting(settings.allowed_hosts, auth_enabled=settings.auth_enabled)
    middleware = [
        Middleware(
            GateMiddleware,
            schemes=authenticators(settings),
            rate=rate,
            allowed_origins=settings.cors_origin_list(),
            hosts=hosts,
        )
    ]
    if settings.cors_origins:
        # Outermost, so that preflights and refusals carry the CORS headers too.
        middleware.insert(
            0,
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origin_list(),
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-API-Key"],
                expose_headers=["X-Run-Id", "X-Session-Id", "Content-Location", "Location"],
            ),
        )
    # Outermost of all: a request for a name not allowed meets nothing else.
    middleware.insert(0, Middleware(HostGuard, hosts=hosts))
    handlers: dict[Any, Any] = dict(EXCEPTION_HANDLERS)
    app = Starlette(
        routes=[
            *(dev_ui.dev_ui_routes() if settings.dev_ui else []),  # its `/` first
            *meta.routes,
            *sessions.routes,
            *artifacts.routes,
            *runs.routes,
            *agui.routes,
            *vercel.routes,
            *openai.routes,
            *page.routes,
            *live.routes,
            *adk_meta.routes,  # ADK's own REST API (issue 24)
            *adk_sessions.routes,
            *adk_artifacts.routes,
            *adk_rest.routes,
            *adk_live.routes,
        ],
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=lifespan,
    )

    async def open_host() -> None:
        """Opens storage ahead of the lifespan, which then uses it: a server calls it
        before it serves, so that a start-up error is reported before anything else.

        Raises:
            ConfigurationError: storage cannot be opened as the settings say.
        """
        app.state.opened_host = await Host.open(settings, agents, log=log)

    app.state.opened_host = None
    app.state.open_host = open_host
    return app
