"""A run's events over SSE as typed events, resumed with Last-Event-ID when a connection drops.

`EventStream` delivers each seq at most once and in order, and ends after the run's
terminal event. When a connection fails (a transport error, a 5xx or 429/503 answer,
or a body that ends before the terminal event) it reconnects to
`GET /v1/runs/{run_id}/events` with `Last-Event-ID` set to the last seq delivered.
Divergences from an EventSource (WHATWG HTML 9.2): the client's back-off policy
decides when to reconnect and the server's `retry:` hint is ignored; consecutive
attempts are bounded (the count resets whenever an event arrives); the POST that starts
a run is sent again only when it never reached the server (connect errors), since
sending it twice would start two runs.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from types import TracebackType
from typing import Any, get_args
from urllib.parse import quote

import httpx
from httpx_sse import ServerSentEvent, SSEError, aconnect_sse
from pydantic import ValidationError

from adkstream.client.backoff import Backoff, RetryPolicy
from adkstream.client.errors import (
    APIConnectionError,
    APIStatusError,
    InternalServerError,
    ProtocolError,
    connection_error,
    error_from_response,
)
from adkstream.errors import AdkStreamError, UnavailableError
from adkstream.events import (
    InputRequest,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunWaiting,
    StreamEvent,
    TerminalEvent,
    parse_event,
)

__all__ = ["EventStream", "decode_frame"]

logger = logging.getLogger("adkstream.client")

_KNOWN_TYPES = frozenset(
    cls.model_fields["type"].default for cls in get_args(get_args(StreamEvent)[0])
)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
"""Transport errors after which the request cannot have reached the server."""


class _EndedEarly(Exception):
    """A response body that ended before the run's terminal event."""


def decode_frame(frame: ServerSentEvent) -> StreamEvent | None:
    """The stream event an SSE frame carries; None for a frame to skip.

    Frames without data (the `retry:` hint) and events of a type this client does not
    know (a newer server's) are skipped.

    Raises:
        ProtocolError: a frame of a known type whose data is not that event.
    """
    if not frame.data:
        return None
    try:
        return parse_event(frame.data)
    except ValidationError as exc:
        if frame.event not in _KNOWN_TYPES:
            logger.debug("skipping an event of unknown type %r", frame.event)
            return None
        raise ProtocolError(f"an invalid {frame.event!r} event (id {frame.id!r})") from exc


class EventStream:
    """The events of one run, typed, as an async iterator; close it when done.

    Use it as `async with client.stream(...) as events: async for event in events`.
    Iteration ends after the terminal event (`run.completed`, `run.waiting`,
    `run.failed` or `run.cancelled`, also kept as `terminal`); a waiting run's requests
    are then in `pending`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        policy: RetryPolicy,
        run_id: str | None = None,
        after: int = 0,
        start_body: dict[str, Any] | None = None,
        start_path: str = "/v1/runs",
        on_abandon: Callable[[str], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if run_id is None and start_body is None:
            raise ValueError("a stream needs a run id or a run to start")
        # The generator holds the follower, never this object: no reference cycle, so
        # a stream dropped unclosed finalizes its outer generator first, which closes
        # the inner ones in order (a cycle would finalize all of them at once).
        self._follower = _Follower(http, policy, run_id, after, start_body, on_abandon, rng)
        self._follower.start_path = start_path
        self._events: AsyncGenerator[StreamEvent, None] | None = None

    @property
    def run_id(self) -> str | None:
        """The run, once the server has named it."""
        return self._follower.run_id

    @property
    def session_id(self) -> str | None:
        """The run's session, once the server has named it."""
        return self._follower.session_id

    @property
    def last_seq(self) -> int:
        """The seq of the last event delivered (or skipped)."""
        return self._follower.last_seq

    @property
    def terminal(self) -> TerminalEvent | None:
        """The terminal event, once delivered."""
        return self._follower.terminal

    @property
    def pending(self) -> list[InputRequest]:
        """What the run waits for, once it ended waiting (`run.waiting`); else []."""
        terminal = self._follower.terminal
        return list(terminal.pending) if isinstance(terminal, RunWaiting) else []

    @property
    def ended(self) -> bool:
        """Whether the run's end has been seen (its terminal event, or a 204)."""
        return self._follower.ended

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._events is None:
            self._events = self._follower.follow()
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Closes the connection; a run left before its end is handled by `on_abandon`."""
        if self._events is not None:
            await self._events.aclose()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Follower:
    """The state of a followed run (the cursor) and the generators that follow it."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        policy: RetryPolicy,
        run_id: str | None,
        after: int,
        start_body: dict[str, Any] | None,
        on_abandon: Callable[[str], Awaitable[None]] | None,
        rng: random.Random | None,
    ) -> None:
        self.run_id = run_id
        self.session_id: str | None = None
        self.last_seq = after
        self.terminal: TerminalEvent | None = None
        self.nothing_follows = False
        self._http = http
        self._policy = policy
        self._start_body = start_body
        self.start_path = "/v1/runs"
        # One key for every attempt of this stream's start: a start whose answer was
        # lost on the way is sent again and joins the run it started (Idempotency-Key).
        self._start_key = uuid.uuid4().hex
        self._on_abandon = on_abandon
        self._rng = rng

    @property
    def ended(self) -> bool:
        return self.terminal is not None or self.nothing_follows

    async def follow(self) -> AsyncGenerator[StreamEvent, None]:
        try:
            async with aclosing(self._reconnecting()) as events:
                async for event in events:
                    yield event
        except AdkStreamError:
            raise  # our own failure: the run may go on, for `events(run_id, after=...)`
        except BaseException:
            # Closed early (GeneratorExit) or cancelled: the caller left the run.
            if not self.ended and self.run_id is not None and self._on_abandon is not None:
                await self._on_abandon(self.run_id)
            raise

    async def _reconnecting(self) -> AsyncGenerator[StreamEvent, None]:
        backoff = self._policy.start(self._rng)
        while True:
            failure: Exception | None = None
            async with aclosing(self._connection()) as events:
                while True:
                    try:
                        event = await anext(events)
                    except StopAsyncIteration:
                        failure = None if self.ended else _EndedEarly()
                        break
                    except (httpx.TransportError, InternalServerError, UnavailableError) as exc:
                        failure = exc
                        break
                    backoff.reset()
                    # Outside the `try`: nothing the caller does at this yield is ours to catch.
                    yield event
            if failure is None:
                return
            await self._before_retry(backoff, failure)

    @property
    def _idempotent_start(self) -> bool:
        """Whether the start may be sent again (a new run's, keyed); answers may not."""
        return self.start_path == "/v1/runs"

    async def _before_retry(self, backoff: Backoff, failure: Exception) -> None:
        """Waits before the next attempt, or raises when there is none to make."""
        resendable = isinstance(failure, _NEVER_SENT) or (
            self._idempotent_start and not isinstance(failure, APIStatusError)
        )
        if self.run_id is None and not resendable:
            if isinstance(failure, APIStatusError):
                raise failure  # the server refused to start the run: nothing to resume
            raise self._lost(f"the run's start failed ({type(failure).__name__})", failure)
        delay = backoff.next_delay()
        if delay is None:
            if isinstance(failure, APIStatusError):
                raise failure
            attempts = self._policy.max_attempts
            raise self._lost(f"{type(failure).__name__} after {attempts} reconnects", failure)
        if isinstance(failure, UnavailableError):
            delay = max(delay, failure.retry_after)
        logger.info(
            "run %s: connection failed (%s); attempt %d in %.2fs from seq %d",
            self.run_id,
            type(failure).__name__,
            backoff.attempts,
            delay,
            self.last_seq,
        )
        await asyncio.sleep(delay)

    def _lost(self, message: str, cause: Exception) -> APIConnectionError:
        lost = connection_error(message, cause, run_id=self.run_id, last_seq=self.last_seq)
        lost.__cause__ = cause
        return lost

    async def _connection(self) -> AsyncGenerator[StreamEvent, None]:
        """One request and its response's events, new ones only; ends at the terminal one."""
        if self.run_id is None:
            method, url, body = "POST", self.start_path, self._start_body
            headers: dict[str, str] = {}
            if self._idempotent_start:
                headers["Idempotency-Key"] = self._start_key
        else:
            method, url, body = "GET", f"/v1/runs/{quote(self.run_id, safe='')}/events", None
            headers = {"Last-Event-ID": str(self.last_seq)}
        async with aconnect_sse(self._http, method, url, json=body, headers=headers) as source:
            response = source.response
            if response.status_code >= 400:
                await response.aread()
                raise error_from_response(response.status_code, response.content, response.headers)
            self.run_id = self.run_id or response.headers.get("x-run-id")
            self.session_id = self.session_id or response.headers.get("x-session-id")
            if response.status_code == 204:
                self.nothing_follows = True  # the run ended and nothing follows last_seq
                return
            try:
                async with aclosing(source.aiter_sse()) as frames:
                    async for frame in frames:
                        event = decode_frame(frame)
                        if event is None:
                            self._skip(frame)
                        elif event.seq > self.last_seq:
                            self._note(event)
                            yield event
                            if self.terminal is not None:
                                return
            except SSEError as exc:  # an httpx.TransportError, but not one to retry
                raise ProtocolError(f"not an event stream: {exc}") from exc

    def _note(self, event: StreamEvent) -> None:
        self.last_seq = event.seq
        self.run_id = self.run_id or event.run_id
        if isinstance(event, RunCompleted | RunWaiting | RunFailed | RunCancelled):
            self.terminal = event

    def _skip(self, frame: ServerSentEvent) -> None:
        # A skipped event still moves the cursor: a resume must not ask for it again.
        if frame.id.isdigit() and int(frame.id) > self.last_seq:
            self.last_seq = int(frame.id)
