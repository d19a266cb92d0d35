"""A bound on the time a client takes to send a request's head (slowloris).

uvicorn times out idle keep-alive connections (`timeout_keep_alive`, armed once a
response is complete) but nothing else before a request is read: a connection that
never sends a byte, or one that trickles its headers a byte at a time (each byte
disarms the keep-alive timer), holds its socket and its slot under
`limit_concurrency` forever, and a few hundred of them lock everyone else out.

`header_timeout_protocol(s)` is uvicorn's httptools protocol (the one it picks when
httptools is installed, a dependency of adkstream) with one more timer: armed when a
connection opens and when the first byte of each next request arrives, disarmed once
that request's headers are complete. When it fires the connection is closed: there is
no request yet to answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import ClassVar, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

logger = logging.getLogger("adkstream.server")


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's head."""

    header_timeout_s: ClassVar[float] = 10.0

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(  # type: ignore[override]  # as uvicorn's own
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._arm()  # a new connection owes its first request's head

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()  # the first byte of the next request on a kept-alive connection

    def on_headers_complete(self) -> None:
        self._disarm()  # before a WebSocket upgrade hands the transport on, too
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout_s, self._timed_out)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
            logger.info(
                "closed a connection that sent no complete request head in %g s",
                self.header_timeout_s,
                extra={"client": client},
            )
            self.transport.close()


def header_timeout_protocol(timeout_s: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class with this deadline (uvicorn instantiates it per connection)."""
    attributes = {"header_timeout_s": timeout_s}
    return cast(
        type[HeaderTimeoutProtocol],
        type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), attributes),
    )
