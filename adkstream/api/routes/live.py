"""`GET /v1/sessions/{session_id}/live`: a WebSocket tied to one live run of the session.

The socket reads client frames into the run's LiveRequestQueue and writes the run's
log (stream event JSON, the same seq as every other reader) until the terminal event,
then closes: 1000 when the run completed or was cancelled by request, 1008 for a
policy breach (unknown session, an agent that cannot run live, a frame flood), 1011 when
it failed, 1013 when the server is at its run limit. A bad frame gets an `error` frame
and the socket stays open.

Divergences from ADK's `/run_live`: the queue is always closed; the user comes from
authentication, never from the URL; a client that drops the socket cancels the run
(`run.cancelled`), one that sends `{"type": "close"}` first lets it complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

from google.genai import types
from starlette.routing import WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from adkstream.api.inputs import current_user, host_of
from adkstream.api.live_frames import (
    MAX_FRAME_BYTES,
    ActivityFrame,
    ClientFrame,
    ContentFrame,
    ErrorFrame,
    FrameError,
    MessageFrame,
    RealtimeFrame,
    TokenBucket,
    parse_frame,
)
from adkstream.errors import RequestError, UnavailableError
from adkstream.events import RunCompleted, RunFailed, StreamEvent, event_json, is_terminal
from adkstream.runner import failures
from adkstream.runner.host import Host
from adkstream.runner.live import LiveRun, Modality

logger = logging.getLogger("adkstream.api.live")

NORMAL, POLICY, ERROR, TRY_AGAIN = 1000, 1008, 1011, 1013
SERVICE_RESTART = 1012
"""The code uvicorn gives the app's socket when the server shuts down."""


@dataclass(frozen=True)
class LiveConfig:
    """Limits of the live socket; set `app.state.live_config` to change them.

    Attributes:
        idle_s: no frame either way for this long ends the run (`run.completed`) and
            closes the socket (1000, "idle timeout"). Default: `Settings.live_idle_s`.
        max_frame_bytes: the largest client frame.
        frames_per_s: the sustained client frame rate; a socket over it is closed (1008).
        frame_burst: frames a client may send at once above the rate.
        drain_s: how long a closing socket goes on sending the run's last events.
    """

    idle_s: float = 300.0
    max_frame_bytes: int = MAX_FRAME_BYTES
    frames_per_s: float = 50.0
    frame_burst: float = 100.0
    drain_s: float = 5.0


def live_config(websocket: WebSocket) -> LiveConfig:
    config = getattr(websocket.app.state, "live_config", None)
    if isinstance(config, LiveConfig):
        return config
    return LiveConfig(idle_s=host_of(websocket).settings.live_idle_s)


async def live_socket(websocket: WebSocket) -> None:
    host = host_of(websocket)
    user = current_user(websocket)
    session_id = websocket.path_params["session_id"]
    modality = _modality(websocket.query_params)
    await websocket.accept()
    if modality is None:
        await _refuse(websocket, "invalid_field", "modality must be text or audio", "modality")
        return
    agent = await host.sessions.agent_of(user, session_id)
    if agent is None:
        await _refuse(websocket, "session_not_found", f"no session {session_id!r}", "session_id")
        return
    try:
        run = await host.live.start(
            agent=agent,
            user_id=user,
            session_id=session_id,
            coalesce_ms=host.settings.coalesce_ms,
            modality=modality,
        )
    except UnavailableError as exc:
        await _refuse(websocket, exc.code, exc.message, None, close_code=TRY_AGAIN)
        return
    except RequestError as exc:
        await _refuse(websocket, exc.code, exc.message, exc.field)
        return
    async with host.live.connection():
        await LiveConnection(websocket, host, run, live_config(websocket)).serve()


def _modality(query: Mapping[str, str]) -> Modality | None:
    value = query.get("modality", "text").lower()
    if value == "text":
        return "text"
    if value == "audio":
        return "audio"
    return None


async def _refuse(
    websocket: WebSocket,
    code: str,
    message: str,
    field: str | None,
    *,
    close_code: int = POLICY,
) -> None:
    """An error frame, then the close: for a socket that gets no run."""
    with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected):
        await websocket.send_text(ErrorFrame(code=code, message=message, field=field).json_text())
        await websocket.close(close_code, _reason(message))


@dataclass(frozen=True)
class Stop:
    """Why the reader stopped."""

    kind: str  # "disconnect" | "policy" | "idle"
    reason: str = ""
    code: int = 1005


class LiveConnection:
    """One socket and its live run: a reader and a writer side by side."""

    def __init__(self, websocket: WebSocket, host: Host, run: LiveRun, config: LiveConfig) -> None:
        self.websocket = websocket
        self.host = host
        self.run = run
        self.config = config
        self._send_lock = asyncio.Lock()
        self._active_at = asyncio.get_running_loop().time()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        run_id = self.run.run_id
        reader = loop.create_task(self._read(), name=f"adkstream-live-read-{run_id}")
        writer = loop.create_task(self._write(), name=f"adkstream-live-write-{run_id}")
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer.done():
                terminal = writer.result()
                if terminal is None:
                    self._client_gone(None)
                else:
                    await self._close(*_close_for(terminal))
            else:
                await self._stopped(reader.result(), writer)
        except Exception:
            logger.exception("live socket of run %s failed", run_id)
            self.run.fail(failures.INTERNAL)
            await self._close(ERROR, "internal error")
        finally:
            await self._end(reader, writer)

    async def _stopped(self, stop: Stop, writer: asyncio.Task[StreamEvent | None]) -> None:
        if stop.kind == "disconnect":
            self._client_gone(stop.code)
            return
        if stop.kind == "policy":
            self.run.cancel(stop.reason)
        else:
            self.run.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.drain_s):
                await asyncio.shield(writer)
        await self._close(POLICY if stop.kind == "policy" else NORMAL, stop.reason)

    def _client_gone(self, code: int | None) -> None:
        if code == SERVICE_RESTART:
            self.run.fail(failures.INTERRUPTED)
        elif not self.run.closing:
            # A client that sent `close` first does not wait for the tail: the run
            # still completes.
            self.run.cancel("client disconnected")

    async def _end(self, *tasks: asyncio.Task[Any]) -> None:
        """Stops the reader and writer; the run ends before the socket handler does."""
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not self.run.done.is_set():
            current = asyncio.current_task()
            cancelled = current is not None and current.cancelling() > 0
            if cancelled:
                self.run.fail(failures.INTERRUPTED)
            elif not self.run.closing:
                self.run.cancel("connection closed")
            # A client that sent `close` first lets its run complete (bounded below).
        if self.run.task is not None and not self.run.task.done():
            # `wait` neither cancels the run's task nor is stopped by it.
            await asyncio.wait({self.run.task}, timeout=self.config.drain_s * 2)

    # --- reading: client frames into the queue ---

    async def _read(self) -> Stop:
        loop = asyncio.get_running_loop()
        bucket = TokenBucket(self.config.frames_per_s, self.config.frame_burst, loop.time())
        while True:
            message = await self._receive(loop)
            if message is None:
                return Stop("idle", "idle timeout")
            if message["type"] == "websocket.disconnect":
                return Stop("disconnect", code=int(message.get("code") or 1005))
            now = loop.time()
            self._active_at = now
            if not bucket.take(now):
                return Stop("policy", "frame rate limit exceeded")
            if stop := await self._take(message):
                return stop

    async def _receive(self, loop: asyncio.AbstractEventLoop) -> Message | None:
        """The next ASGI message, or None after `idle_s` with no frame either way."""
        while True:
            deadline = self._active_at + self.config.idle_s
            if loop.time() >= deadline:
                return None
            try:
                async with asyncio.timeout_at(deadline):
                    return await self.websocket.receive()
            except TimeoutError:
                continue  # the writer may have been active meanwhile

    async def _take(self, message: Message) -> Stop | None:
        """Puts a client frame into the run's queue; a bad one gets an error frame (a
        subclass may stop the socket instead)."""
        try:
            self._dispatch(self._parse(message))
        except FrameError as exc:
            await self._send(ErrorFrame.of(exc).json_text())
        return None

    def _parse(self, message: Message) -> ClientFrame:
        text = message.get("text")
        if text is None:
            raise FrameError("binary_frame", "frames are JSON text; binary frames are refused")
        frame = parse_frame(text, max_bytes=self.config.max_frame_bytes)
        limit = self.host.settings.max_message_chars
        if isinstance(frame, MessageFrame) and len(frame.text) > limit:
            raise FrameError(
                "message_too_long",
                f"the text is over the limit of {limit} characters",
                field="text",
            )
        if self.run.closing:
            raise FrameError("run_closing", "the live run is closing and takes no more input")
        return frame

    def _dispatch(self, frame: ClientFrame) -> None:
        run = self.run
        match frame:
            case MessageFrame():
                run.send_content(types.Content(role="user", parts=[types.Part(text=frame.text)]))
            case ContentFrame():
                run.send_content(frame.content())
            case RealtimeFrame():
                run.send_realtime(frame.blob())
            case ActivityFrame(type="activity_start"):
                run.send_activity_start()
            case ActivityFrame():
                run.send_activity_end()
            case _:
                run.close()

    # --- writing: the run's log to the socket ---

    async def _write(self) -> StreamEvent | None:
        """Sends the run's events; returns the terminal one (None if the client is gone)."""
        loop = asyncio.get_running_loop()
        # `follow` is an async generator (typed as an iterator): close it when we stop.
        follow = cast(AsyncGenerator[StreamEvent, None], self.host.log.follow(self.run.run_id))
        async with aclosing(follow) as events:
            async for event in events:
                text = self._event_text(event)
                if text is not None and not await self._send(text):
                    return None
                self._active_at = loop.time()
                if is_terminal(event):
                    return event
        return None

    def _event_text(self, event: StreamEvent) -> str | None:
        """The frame that carries `event` (None: the event is not sent)."""
        return event_json(event)

    async def _send(self, text: str) -> bool:
        async with self._send_lock:
            try:
                await self.websocket.send_text(text)
            except (WebSocketDisconnect, WebSocketDisconnected):
                return False
        return True

    async def _close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            with contextlib.suppress(WebSocketDisconnect, WebSocketDisconnected, RuntimeError):
                await self.websocket.close(code, _reason(reason))


def _reason(text: str) -> str:
    """A close reason within the 123 bytes RFC 6455 allows."""
    return text.encode()[:123].decode(errors="ignore")


def _close_for(terminal: StreamEvent) -> tuple[int, str]:
    if isinstance(terminal, RunCompleted):
        return NORMAL, "run completed"
    if isinstance(terminal, RunFailed):
        return ERROR, f"run failed: {terminal.error.code}"
    return NORMAL, "run cancelled"


routes = [WebSocketRoute("/v1/sessions/{session_id}/live", live_socket)]
