"""`AsyncClient`: the HTTP API v1 from asyncio code (sessions, runs, streams of typed events).

httpx errors are translated here and in `stream.py` (websockets errors, of the live
route, in `live.py`), nowhere else: an error answer
becomes an `APIStatusError` subclass, a transport failure an `APIConnectionError`
(`APITimeoutError` for a timeout) once the
attempts allowed are spent. Only requests that are safe to repeat are repeated: a GET
after any transport error, any request after a connect error (it never left).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeAlias, TypeVar
from urllib.parse import quote, urlencode

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from adkstream import __version__
from adkstream.client.backoff import RetryPolicy
from adkstream.client.errors import ProtocolError, connection_error, error_from_response
from adkstream.client.live import LiveSession, Modality
from adkstream.client.models import RunInfo, RunResult, Session
from adkstream.client.stream import EventStream
from adkstream.errors import AdkStreamError

__all__ = ["DEFAULT_TIMEOUT", "AsyncClient", "Message", "OnDisconnect"]

logger = logging.getLogger("adkstream.client")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, read=60.0)
"""Reads wait 60 s: four missed heartbeats (`: ping` every 15 s) mean a dead connection."""
USER_AGENT = f"adkstream/{__version__}"
ABANDON_CANCEL_S = 5.0
"""How long closing a stream early may spend asking the server to cancel its run."""

Message: TypeAlias = str | Mapping[str, Any]
"""A user message: text, or genai Content parts as `{"parts": [{"text": ...}, ...]}`."""
OnDisconnect: TypeAlias = Literal["cancel", "continue"]
IfBusy: TypeAlias = Literal["reject", "enqueue", "interrupt", "rollback"]
"""What a run does when its session has a run in progress (the server's `if_busy`)."""

ModelT = TypeVar("ModelT", bound=BaseModel)
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


class AsyncClient:
    """A client of an adkstream server.

    Args:
        base_url: the server, e.g. `http://127.0.0.1:8000`.
        api_key: sent as `X-API-Key`.
        token: sent as `Authorization: Bearer <token>` (an API key or a JWT).
        timeout: httpx timeouts (seconds, or an `httpx.Timeout`); the read timeout
            must exceed the server's heartbeat interval.
        max_reconnects: consecutive reconnect attempts after a connection drops (the
            count resets whenever an event arrives); also bounds the repeats of a
            request whose connection failed.
        backoff_base_s: the first attempt's back-off bound; it doubles per attempt.
        backoff_max_s: the largest back-off bound.
        transport: an httpx transport to send requests through (tests, proxies).
        rng: the random source of the back-off jitter.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_reconnects: int = 5,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._policy = RetryPolicy(max_reconnects, backoff_base_s, backoff_max_s)
        self._rng = rng
        self._auth = _auth_headers(api_key, token)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=self._auth | {"User-Agent": USER_AGENT},
            timeout=timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- sessions ---

    async def create_session(
        self,
        agent: str | None = None,
        state: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Creates a session of `agent` (default: the server's default agent).

        Raises:
            ConflictError: `session_id` is taken.
            NotFoundError: no such agent.
        """
        body = _without_none({"agent": agent, "state": state, "session_id": session_id})
        response = await self._send("POST", "/v1/sessions", json=body)
        return _parse(Session, response)

    async def get_session(self, session_id: str) -> Session:
        """The session with its state and messages.

        Raises:
            NotFoundError: no such session (or not the caller's).
        """
        response = await self._send("GET", f"/v1/sessions/{_segment(session_id)}")
        return _parse(Session, response)

    async def list_sessions(self) -> list[Session]:
        """The caller's sessions, without their messages."""
        response = await self._send("GET", "/v1/sessions")
        data = _json(response)
        sessions = data.get("sessions") if isinstance(data, dict) else None
        if not isinstance(sessions, list):
            raise ProtocolError("GET /v1/sessions: no `sessions` list")
        try:
            return [Session.model_validate(s) for s in sessions]
        except ValidationError as exc:
            raise ProtocolError("GET /v1/sessions: an invalid session") from exc

    async def delete_session(self, session_id: str) -> None:
        """Deletes the session.

        Raises:
            NotFoundError: no such session (or not the caller's).
        """
        await self._send("DELETE", f"/v1/sessions/{_segment(session_id)}")

    # --- runs ---

    def stream(
        self,
        message: Message,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        state_delta: Mapping[str, Any] | None = None,
        coalesce_ms: int | None = None,
        on_disconnect: OnDisconnect = "continue",
        cancel_on_close: bool = True,
        tools: Sequence[Mapping[str, Any]] | None = None,
        if_busy: IfBusy | None = None,
    ) -> EventStream:
        """Starts a run and streams its events, reconnecting when the connection drops.

        The default `on_disconnect="continue"` is what makes reconnecting useful: with
        `cancel` (the server's default for a plain POST) the server cancels the run
        the moment the connection drops, and a reconnect finds only `run.cancelled`.
        With `continue` the server keeps the run for its `detach_grace_s`, so the
        reconnect resumes the same run. In exchange, a stream closed or dropped before
        the run ends (leaving its `async with`, `aclose()`, a cancelled task, garbage
        collection) cancels the run itself when `cancel_on_close` is set, so that
        nothing is left running unwatched. A stream that fails with `APIConnectionError`
        does not: the run may still be resumed with `events(run_id, after=last_seq)`.

        Args:
            message: the user's message.
            agent: the agent; default: the session's, or the server's default agent.
            session_id: continue this session; None starts a new one.
            state_delta: state changes applied with the message.
            coalesce_ms: the server's coalescing window for this run (0: every delta).
            on_disconnect: what the server does when the connection drops.
            cancel_on_close: cancel the run when the stream is closed before its end.
            tools: tools this client runs (`{"name", "description", "parameters"}`):
                a call of one ends the run waiting; `answer` it with `{"result": ...}`.
            if_busy: when the session has a run in progress: `reject` (`ConflictError`,
                code `session_busy`), `enqueue` (the run waits its turn: `run.queued`),
                `interrupt` (that run is cancelled first) or `rollback` (cancelled and
                taken out of the session); None: the server's setting.

        Returns:
            The run's events, once each, in seq order, ending with the terminal event;
            the request is sent when iteration starts. Iterating raises the errors of
            `adkstream.client.errors`: `APIConnectionError` when the reconnects run out.
        """
        body = _run_body(message, agent, session_id, state_delta, coalesce_ms, on_disconnect)
        if tools is not None:
            body["tools"] = [dict(tool) for tool in tools]
        if if_busy is not None:
            body["if_busy"] = if_busy
        return EventStream(
            self._http,
            policy=self._policy,
            start_body=body,
            on_abandon=self._cancel_abandoned if cancel_on_close else None,
            rng=self._rng,
        )

    def answer(
        self,
        run_id: str,
        answers: Mapping[str, Mapping[str, Any]],
        *,
        on_disconnect: OnDisconnect = "continue",
        cancel_on_close: bool = True,
    ) -> EventStream:
        """Answers a waiting run's requests; streams the new run that continues it.

        Args:
            run_id: the waiting run (its terminal event was `run.waiting`).
            answers: request id -> its answer, as the request's `answer_schema` says:
                `{"confirmed": True}`, `{"result": ...}`, `{"access_token": "..."}`,
                `{"value": ...}`. Every pending request needs one.
            on_disconnect: as for `stream`.
            cancel_on_close: as for `stream`.

        Returns:
            The continuing run's events (`run.started` says which run it `resumes`).
            Iterating raises `UnprocessableEntityError` for an answer that does not fit its request,
            `ConflictError` when the run is not waiting or was answered already, `NotFoundError`
            for another user's run.
        """
        body = {
            "answers": [{"request_id": rid, **dict(fields)} for rid, fields in answers.items()],
            "on_disconnect": on_disconnect,
        }
        return EventStream(
            self._http,
            policy=self._policy,
            start_body=body,
            start_path=f"/v1/runs/{_segment(run_id)}/answers",
            on_abandon=self._cancel_abandoned if cancel_on_close else None,
            rng=self._rng,
        )

    def events(self, run_id: str, after: int = 0) -> EventStream:
        """Follows a run's events after seq `after` (replay, then live), reconnecting.

        Closing it never cancels the run.

        Returns:
            The events with seq > `after`, once each, in order, ending with the
            terminal event (at once if the run ended with nothing after `after`).
        """
        return EventStream(
            self._http, policy=self._policy, run_id=run_id, after=after, rng=self._rng
        )

    async def run(
        self,
        message: Message,
        *,
        agent: str | None = None,
        session_id: str | None = None,
        state_delta: Mapping[str, Any] | None = None,
        on_disconnect: OnDisconnect | None = None,
        max_wait_s: float | None = None,
        if_busy: IfBusy | None = None,
    ) -> RunResult:
        """Runs the agent and waits for its result (`Accept: application/json`).

        Not resumable: the answer names the run only once it has ended. A run that
        failed or was cancelled is a result (`status`, `error`), not an exception.

        Args:
            max_wait_s: how long to wait for the answer (an httpx read timeout); None
                waits as long as the run runs. The other arguments are `stream`'s.

        Raises:
            APIConnectionError: the connection failed before the answer.
        """
        body = _run_body(message, agent, session_id, state_delta, None, on_disconnect)
        if if_busy is not None:
            body["if_busy"] = if_busy
        limits = self._http.timeout
        wait = httpx.Timeout(
            connect=limits.connect, read=max_wait_s, write=limits.write, pool=limits.pool
        )
        response = await self._send("POST", "/v1/runs", json=body, timeouts=wait)
        return _parse(RunResult, response)

    async def get_run(self, run_id: str) -> RunInfo:
        """The run's status, final text, usage and error, running or not.

        Raises:
            NotFoundError: no such run (or not the caller's).
        """
        response = await self._send("GET", f"/v1/runs/{_segment(run_id)}")
        return _parse(RunInfo, response)

    async def cancel(self, run_id: str) -> None:
        """Asks the server to cancel a run; its stream then ends with `run.cancelled`.

        Raises:
            ConflictError: the run has already ended.
            NotFoundError: no such run (or not the caller's).
        """
        await self._send("POST", f"/v1/runs/{_segment(run_id)}/cancel")

    # --- live ---

    def live(
        self,
        session_id: str,
        *,
        modality: Modality = "text",
        raise_on_error: bool = False,
        open_timeout_s: float | None = None,
    ) -> LiveSession:
        """A live (bidi) run of an existing session over a WebSocket; open it with `async with`.

        The socket authenticates like every request (`Authorization: Bearer` or
        `X-API-Key`). The `transport` given to the client is not used: the socket
        connects to `base_url` directly (`ws://`, or `wss://` for `https://`).

        Args:
            session_id: the session (create one with `create_session`); its agent runs.
            modality: `text` answers, or `audio` (`media.delta` chunks and their
                transcript as text).
            raise_on_error: raise `FrameRejected` for an `error` frame instead of
                yielding it as a `LiveError`.
            open_timeout_s: how long connecting and waiting for `run.started` may take;
                default: the client's connect timeout (or 10 s).

        Returns:
            The `LiveSession`, not yet connected. Entering it raises `NotFoundError` for an
            unknown session; see `LiveSession` for the rest.
        """
        query = urlencode({"modality": modality})
        url = f"{_ws_base(self._http.base_url)}/v1/sessions/{_segment(session_id)}/live?{query}"
        connect_s = self._http.timeout.connect
        return LiveSession(
            url,
            session_id=session_id,
            headers=self._auth,
            user_agent=USER_AGENT,
            raise_on_error=raise_on_error,
            open_timeout_s=open_timeout_s or connect_s or 10.0,
        )

    # --- plumbing ---

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        timeouts: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Sends a request, repeating it after transport failures where that is safe."""
        backoff = self._policy.start(self._rng)
        extra: dict[str, Any] = {} if timeouts is None else {"timeout": timeouts}
        while True:
            try:
                response = await self._http.request(
                    method, path, json=json, headers={"Accept": "application/json"}, **extra
                )
            except httpx.TransportError as exc:
                safe = method == "GET" or isinstance(exc, _NEVER_SENT)
                delay = backoff.next_delay() if safe else None
                if delay is None:
                    raise connection_error(f"{method} {path}: {type(exc).__name__}", exc) from exc
                await asyncio.sleep(delay)
                continue
            if response.status_code >= 400:
                raise error_from_response(response.status_code, response.content, response.headers)
            return response

    async def _cancel_abandoned(self, run_id: str) -> None:
        """Best effort, bounded and shielded: the caller is leaving (or being cancelled)."""
        if self._http.is_closed:
            return
        with anyio.move_on_after(ABANDON_CANCEL_S, shield=True) as scope:
            try:
                await self.cancel(run_id)
            except AdkStreamError as exc:  # ended meanwhile (409), or unreachable
                logger.debug("run %s: cancel on close: %s", run_id, exc.code)
        if scope.cancelled_caught:
            logger.warning("run %s: cancel on close timed out after %ss", run_id, ABANDON_CANCEL_S)


def _auth_headers(api_key: str | None, token: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if api_key is not None:
        headers["X-API-Key"] = api_key
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _run_body(
    message: Message,
    agent: str | None,
    session_id: str | None,
    state_delta: Mapping[str, Any] | None,
    coalesce_ms: int | None,
    on_disconnect: OnDisconnect | None,
) -> dict[str, Any]:
    return _without_none(
        {
            "message": message if isinstance(message, str) else dict(message),
            "agent": agent,
            "session_id": session_id,
            "state_delta": None if state_delta is None else dict(state_delta),
            "coalesce_ms": coalesce_ms,
            "on_disconnect": on_disconnect,
        }
    )


def _ws_base(base_url: httpx.URL) -> str:
    """The WebSocket URL of the server, without its trailing slash."""
    scheme = "wss" if base_url.scheme == "https" else "ws"
    return str(base_url.copy_with(scheme=scheme)).rstrip("/")


def _without_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _segment(value: str) -> str:
    """An id as one path segment: a `/` or `?` in it cannot reach another route."""
    return quote(value, safe="")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ProtocolError(f"{response.request.url.path}: the answer is not JSON") from exc


def _parse(model: type[ModelT], response: httpx.Response) -> ModelT:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        path = response.request.url.path
        raise ProtocolError(f"{path}: the answer is not a {model.__name__}") from exc
