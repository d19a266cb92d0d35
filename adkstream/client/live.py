"""`LiveSession`: a live (bidi) run over `GET /v1/sessions/{session_id}/live`, typed.

    async with client.live(session_id) as live:
        await live.send_message("Hello!")
        async for event in live:
            if event.type == "message.delta":
                print(event.text, end="")
            elif event.type == "turn.completed":
                break

The socket carries the session's events (`adkstream.events`, the same models and seq
as every other transport) and `error` frames for client frames the server refused,
which arrive in the iteration as `LiveError` values (or raise `FrameRejected` when the
session is opened with `raise_on_error=True`): a refused frame does not end the run.
websockets errors are translated here, nowhere else.

Divergences from `EventStream`: a live run is never resumed, since a new socket is a new
run of the session; a dropped socket raises `APIConnectionError` (the run is then cancelled
by the server: `run.cancelled`, "client disconnected").
"""

from __future__ import annotations

import base64
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, NoReturn, TypeAlias, get_args

import anyio
import websockets
from pydantic import BaseModel, ConfigDict, ValidationError
from websockets.asyncio.client import ClientConnection, connect

from adkstream.client.errors import (
    APIConnectionError,
    APITimeoutError,
    FrameRejected,
    ProtocolError,
    error_from_close,
    error_from_response,
)
from adkstream.errors import AdkStreamError
from adkstream.events import (
    RunCancelled,
    RunCompleted,
    RunFailed,
    StreamEvent,
    TerminalEvent,
    TurnCompleted,
    parse_event,
)

__all__ = ["LiveError", "LiveFrame", "LiveSession", "Modality"]

logger = logging.getLogger("adkstream.client")

Modality: TypeAlias = Literal["text", "audio"]

CLOSE_S = 5.0
"""How long leaving a live session may wait for the server to acknowledge the close."""
MAX_SERVER_FRAME = 16 * 1024 * 1024
"""The largest server frame read (a long `message.completed`, a tool result)."""

_KNOWN_TYPES = frozenset(
    cls.model_fields["type"].default for cls in get_args(get_args(StreamEvent)[0])
)


class LiveError(BaseModel):
    """An `error` frame: the server refused a client frame; the socket stays open.

    Not a stream event: it has no `seq` and is not logged. `type` is always `"error"`,
    so that `match event.type` covers it beside the events.

    Attributes:
        code: `invalid_json`, `invalid_frame`, `unknown_type`, `invalid_field`,
            `invalid_base64`, `frame_too_large`, `binary_frame`, `message_too_long`,
            `run_closing` (README, "Live (WebSocket)").
        message: what was wrong, for people.
        field: the frame field concerned, if any.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    type: Literal["error"] = "error"
    code: str
    message: str
    field: str | None = None

    def exception(self) -> FrameRejected:
        """This refusal as the exception `raise_on_error=True` raises."""
        return FrameRejected(self.message, code=self.code, field=self.field)


LiveFrame: TypeAlias = StreamEvent | LiveError
"""What iterating a `LiveSession` yields."""


def decode_live_frame(raw: str | bytes) -> LiveFrame | None:
    """A server frame of the live socket; None for an event of a type this client
    does not know (a newer server's), which is skipped.

    Raises:
        ProtocolError: a frame that is neither a known event nor an `error` frame.
    """
    try:
        return parse_event(raw)
    except ValidationError:
        pass  # error frames are rare: try them second
    try:
        return LiveError.model_validate_json(raw)
    except ValidationError:
        pass
    try:
        kind = json.loads(raw).get("type")
    except (ValueError, AttributeError):
        kind = None
    if isinstance(kind, str) and kind not in _KNOWN_TYPES and kind != "error":
        logger.debug("skipping a live frame of unknown type %r", kind)
        return None
    raise ProtocolError(f"an invalid live frame of type {kind!r}")


class LiveSession:
    """One live run of a session over a WebSocket; `AsyncClient.live` makes one.

    Open it with `async with`: that connects and waits for `run.started`, so a socket
    the server refuses raises there. Iterate it for the run's events (and `LiveError`
    values); iteration ends after the terminal event, and a `break` leaves the socket
    open, so one `async for` per turn works. Leaving the block closes the socket: a run
    still going is then cancelled, unless `close()` was sent first (the client then waits
    up to CLOSE_S for the run to complete).

    Attributes:
        session_id: the session.
        run_id: the live run, known once the session is open.
        last_seq: the seq of the last event delivered.
        terminal: the run's terminal event, once delivered.
        close_code, close_reason: what the server closed the socket with, once it has.

    Raises (entering):
        NotFoundError: no such session, or not the caller's.
        ConflictError: the session's agent cannot run live (`live_not_supported`).
        BadRequestError: the server refused the socket's parameters (`modality`).
        AuthenticationError: the upgrade request was refused (credentials, origin).
        ServiceUnavailableError: the server is at its live run limit.
        APIConnectionError: the server cannot be reached, or did not answer in time.
    """

    def __init__(
        self,
        url: str,
        *,
        session_id: str,
        headers: Mapping[str, str],
        user_agent: str,
        raise_on_error: bool = False,
        open_timeout_s: float | None = 10.0,
    ) -> None:
        self.session_id = session_id
        self.run_id: str | None = None
        self.last_seq = 0
        self.terminal: TerminalEvent | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._url = url
        self._headers = dict(headers)
        self._user_agent = user_agent
        self._raise_on_error = raise_on_error
        self._open_timeout_s = open_timeout_s
        self._ws: ClientConnection | None = None
        self._closed = False
        self._close_sent = False
        self._pending: deque[LiveFrame] = deque()

    # --- opening and closing ---

    async def __aenter__(self) -> LiveSession:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _open(self) -> None:
        if self._ws is not None or self._closed:
            raise RuntimeError("a live session opens once; open another for a new run")
        try:
            with anyio.fail_after(self._open_timeout_s):
                self._ws = await self._connect()
                first = await self._receive()
        except BaseException as exc:
            await self.aclose()
            if isinstance(exc, TimeoutError):
                message = f"the live socket did not open within {self._open_timeout_s}s"
                raise APITimeoutError(message) from None
            raise
        if isinstance(first, LiveError):
            await self._refused(first)
        self._pending.append(first)

    async def _connect(self) -> ClientConnection:
        try:
            return await connect(
                self._url,
                additional_headers=self._headers,
                user_agent_header=self._user_agent,
                open_timeout=None,  # the whole opening is bounded in `_open`
                max_size=MAX_SERVER_FRAME,
            )
        except websockets.InvalidStatus as exc:
            response = exc.response
            raise error_from_response(
                response.status_code, response.body or b"", response.headers
            ) from None
        except websockets.InvalidMessage as exc:
            raise APIConnectionError(f"the live socket's handshake failed: {exc}") from exc
        except (websockets.InvalidHandshake, websockets.InvalidURI) as exc:
            raise ProtocolError(f"not a live socket: {exc}") from exc
        except OSError as exc:
            raise APIConnectionError(f"cannot reach the server: {type(exc).__name__}") from exc

    async def _refused(self, error: LiveError) -> NoReturn:
        """The server refused the socket: an `error` frame, then the close."""
        ws = self._socket()
        try:
            await ws.recv()
        except websockets.ConnectionClosed as closed:
            self._note_close(closed)
        await self.aclose()
        raise error_from_close(
            self.close_code,
            self.close_reason,
            code=error.code,
            message=error.message,
            field=error.field,
        )

    async def aclose(self) -> None:
        """Closes the socket (1000), bounded and shielded; closing twice does nothing.

        After `close()`, it first waits (up to CLOSE_S, dropping what arrives) for the
        run's terminal event, so that the run completes; otherwise a run that has not
        ended is cancelled by the server (`run.cancelled`, "client disconnected").
        """
        ws = self._ws
        self._closed = True
        if ws is None:
            return
        with anyio.move_on_after(CLOSE_S, shield=True) as scope:
            if self._close_sent and self.terminal is None:
                await self._drain(ws)
            await ws.close()
        if scope.cancelled_caught:
            logger.warning("live run %s: closing the socket timed out", self.run_id)
        if self.close_code is None and ws.close_code is not None:
            self.close_code, self.close_reason = ws.close_code, ws.close_reason or ""

    async def _drain(self, ws: ClientConnection) -> None:
        """Reads (and drops) frames up to the terminal event or the server's close."""
        try:
            while self.terminal is None:
                frame = decode_live_frame(await ws.recv())
                if frame is not None and not isinstance(frame, LiveError):
                    self._note(frame)
        except websockets.ConnectionClosed as closed:
            self._note_close(closed)
        except ProtocolError:
            return

    # --- client frames ---

    async def send_message(self, text: str) -> None:
        """Sends a user turn as text (`{"type": "message", "text"}`)."""
        await self._send({"type": "message", "text": text})

    async def send_content(self, parts: Sequence[Mapping[str, Any]]) -> None:
        """Sends a user turn as genai Content parts, e.g. `[{"text": "..."}, {"inlineData":
        {"mimeType": "image/png", "data": "<base64>"}}]` (for a `types.Part`:
        `part.model_dump(mode="json", exclude_none=True)`). No function calls."""
        await self._send({"type": "content", "parts": [dict(part) for part in parts]})

    async def send_realtime(self, data: bytes, mime_type: str) -> None:
        """Streams a chunk of audio, video or an image to the model (`realtime` frame).

        Args:
            data: the raw bytes (sent base64-encoded).
            mime_type: e.g. `audio/pcm;rate=16000`, `image/jpeg`.
        """
        encoded = base64.b64encode(data).decode("ascii")
        await self._send({"type": "realtime", "mime_type": mime_type, "data": encoded})

    async def activity_start(self) -> None:
        """The user starts speaking (client-side voice activity detection)."""
        await self._send({"type": "activity_start"})

    async def activity_end(self) -> None:
        """The user stops speaking: the model answers what came since `activity_start`."""
        await self._send({"type": "activity_end"})

    async def close(self) -> None:
        """Sends the `close` frame: the run ends with `run.completed` once the model
        stops, then the server closes the socket (1000). Iterate on to see the end."""
        await self._send({"type": "close"})
        self._close_sent = True

    async def _send(self, frame: dict[str, Any]) -> None:
        ws = self._socket()
        try:
            await ws.send(json.dumps(frame, separators=(",", ":")))
        except websockets.ConnectionClosed as closed:
            self._note_close(closed)
            raise self._closed_error() from None

    # --- server frames ---

    def __aiter__(self) -> LiveSession:
        return self

    async def __anext__(self) -> LiveFrame:
        """The next event or `LiveError`; StopAsyncIteration after the terminal event.

        Raises:
            FrameRejected: an `error` frame, with `raise_on_error=True`.
            PolicyViolation, InternalServerError, ServiceUnavailableError, APIConnectionError: the
                socket closed before the run's terminal event (`error_from_close`).
        """
        if self._pending:
            frame = self._pending.popleft()
        elif self.terminal is not None:
            raise StopAsyncIteration
        else:
            frame = await self._receive()
        if isinstance(frame, LiveError) and self._raise_on_error:
            raise frame.exception()
        return frame

    async def _receive(self) -> LiveFrame:
        ws = self._socket()
        while True:
            try:
                raw = await ws.recv()
            except websockets.ConnectionClosed as closed:
                self._note_close(closed)
                raise self._closed_error() from None
            frame = decode_live_frame(raw)
            if frame is None:
                continue
            if not isinstance(frame, LiveError):
                self._note(frame)
            return frame

    async def turns(self) -> AsyncIterator[TurnCompleted]:
        """Each `turn.completed` (the turn's whole text in `.text`) until the run ends.

        The other events are read and dropped.

        Raises:
            FrameRejected: an `error` frame (whatever `raise_on_error` says: nothing
                else would show it).
        """
        while (turn := await self.next_turn()) is not None:
            yield turn

    async def next_turn(self) -> TurnCompleted | None:
        """Reads up to the next `turn.completed` and returns it; None if the run ended
        first. The events before it are dropped.

        Raises:
            FrameRejected: an `error` frame (whatever `raise_on_error` says).
        """
        async for frame in self:
            if isinstance(frame, LiveError):
                raise frame.exception()
            if isinstance(frame, TurnCompleted):
                return frame
        return None

    # --- plumbing ---

    def _socket(self) -> ClientConnection:
        if self._closed:
            raise RuntimeError("this live session is closed; open another for a new run")
        if self._ws is None:
            raise RuntimeError("open the live session first: `async with client.live(...)`")
        return self._ws

    def _note(self, event: StreamEvent) -> None:
        self.last_seq = event.seq
        self.run_id = self.run_id or event.run_id
        if isinstance(event, RunCompleted | RunFailed | RunCancelled):
            self.terminal = event

    def _note_close(self, closed: websockets.ConnectionClosed) -> None:
        if closed.rcvd is not None:
            self.close_code, self.close_reason = closed.rcvd.code, closed.rcvd.reason

    def _closed_error(self) -> AdkStreamError:
        if self.terminal is not None:
            return APIConnectionError(
                f"the live run ended ({self.terminal.type}) and its socket is closed",
                run_id=self.run_id,
                last_seq=self.last_seq,
            )
        return error_from_close(
            self.close_code, self.close_reason, run_id=self.run_id, last_seq=self.last_seq
        )
