"""Serving the app with uvicorn, draining runs on SIGTERM/SIGINT.

Connections are bounded (settings): a client has `header_timeout_s` to send each
request's head (`header_timeout.py`), an idle kept-alive connection closes after
`keep_alive_s`, and past `max_connections` open connections (or requests in progress)
a new request gets uvicorn's 503 instead of a socket the process cannot serve.

On a stop signal uvicorn stops accepting connections and waits for the open ones to
close. Open streams follow their runs, so the runs are ended first: each gets its
terminal `run.failed` (code `interrupted`) in the log, every open stream receives it
and closes, and a client that rejoins after a restart finds the run ended instead of
waiting on it forever.

Storage opens before uvicorn starts (`app.state.open_host`, see app.py): a start-up
error (a data directory another server holds, Redis out of reach, a bad database URL)
is a `ConfigurationError` that `run_server` raises, which the command line prints as
one line, instead of a traceback in uvicorn's lifespan log.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from adkstream.api.header_timeout import header_timeout_protocol
from adkstream.errors import ConfigurationError
from adkstream.runner.host import Host
from adkstream.settings import Settings

logger = logging.getLogger("adkstream.server")

GC_GEN0_THRESHOLD = 50_000
GRACEFUL_SHUTDOWN_S = 10
"""The longest uvicorn waits for connections after the runs ended."""


class DrainingServer(uvicorn.Server):
    """A uvicorn server that ends the app's runs as soon as a stop signal arrives."""

    def __init__(
        self,
        config: uvicorn.Config,
        app: Starlette,
        *,
        on_listening: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self._app = app
        self._draining: asyncio.Task[None] | None = None
        self._on_listening = on_listening
        self.startup_error: ConfigurationError | None = None
        """Why the server did not start, if it did not (`run_server` raises it)."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Opens the app's storage first, on the server's loop (its lifespan then uses
        it): a start-up error ends the server before uvicorn says a word."""
        open_host = getattr(self._app.state, "open_host", None)
        if open_host is not None:
            try:
                await open_host()
            except ConfigurationError as exc:
                self.startup_error = exc
                return
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        except SystemExit:  # uvicorn's way out: it logged why (the app, or the address)
            self.should_exit = True
            if self.lifespan.should_exit:
                self.startup_error = ConfigurationError("the application failed to start")
            else:
                host, port = self.config.host, self.config.port
                self.startup_error = ConfigurationError(
                    f"cannot listen on {host}:{port} (in use, or not an address of this "
                    "machine): set ADKSTREAM_PORT / --port or ADKSTREAM_HOST / --host"
                )
            return
        if self.started and self._on_listening is not None:
            self._on_listening()
        # Everything loaded so far (ADK, the agents, pydantic's schemas) lives for the
        # whole process: out of the collector's way, so that full collections under load
        # only walk what runs allocate.
        gc.collect()
        gc.freeze()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        host = getattr(self._app.state, "host", None)
        if host is None or self._draining is not None:
            return
        runs = len(host.runs.active) + len(host.live.active)
        logger.info("stopping: ending %d runs in flight", runs)
        self._draining = asyncio.get_running_loop().create_task(self._end_runs(host))

    async def _end_runs(self, host: Host) -> None:
        await asyncio.gather(
            host.runs.shutdown(), host.live.shutdown(sockets_s=GRACEFUL_SHUTDOWN_S)
        )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Lets the runs' ends reach their clients before uvicorn closes the connections
        (it closes a WebSocket with 1012 at once: the terminal frame would be lost)."""
        if self._draining is not None:  # `wait` neither cancels it nor raises its error
            await asyncio.wait([self._draining], timeout=GRACEFUL_SHUTDOWN_S)
        await super().shutdown(sockets)


def tune_gc() -> None:
    """Collects less often, and never walks what start-up made.

    Every partial event makes many short-lived pydantic objects: the young generation
    is collected less often (the default, 700 allocations, runs it thousands of times a
    second under load). The app, once built, holds about 200,000 objects (modules,
    pydantic schemas, ADK's agents) that live as long as the process: `gc.freeze()`
    moves them out of the collector's sight (a full collection of them took 140 ms).
    Call it once the app is built.
    """
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 20)
    gc.collect()
    gc.freeze()


def server_config(app: Starlette, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration for the app: the settings' address, log level and
    connection bounds; its log lines go through adkstream's JSON lines (`logs.configure`)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # no handlers of its own: `logs.configure` gives it ours
        access_log=False,  # the gate middleware logs each request as JSON
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        http=header_timeout_protocol(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_s,
        limit_concurrency=settings.max_connections,
    )


def run_server(
    app: Starlette, settings: Settings, *, on_listening: Callable[[], None] | None = None
) -> None:
    """Serves `app` until a stop signal; `on_listening` is called once the socket listens.

    Raises:
        ConfigurationError: the server could not start (storage, or the address).
    """
    tune_gc()
    server = DrainingServer(server_config(app, settings), app, on_listening=on_listening)
    server.run()
    if server.startup_error is not None:
        raise server.startup_error
