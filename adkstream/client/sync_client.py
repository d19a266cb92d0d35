"""`Client`: the blocking twin of `AsyncClient`, for scripts and threads without asyncio.

Each `Client` runs one `AsyncClient` on an event loop of its own, in a daemon thread,
and every method is a thin wrapper that waits for the async one: the reconnect logic
and error mapping exist once. Do not call a `Client` from its own loop's thread (from
inside an `on_abandon` callback, say): that would wait on itself.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar

import httpx

from adkstream.client.async_client import (
    DEFAULT_TIMEOUT,
    AsyncClient,
    IfBusy,
    Message,
    OnDisconnect,
)
from adkstream.client.live import LiveFrame, LiveSession, Modality
from adkstream.client.models import RunInfo, RunResult, Session
from adkstream.client.stream import EventStream
from adkstream.events import InputRequest, StreamEvent, TerminalEvent, TurnCompleted

__all__ = ["Client", "SyncEventStream", "SyncLiveSession"]

P = ParamSpec("P")
T = TypeVar("T")


class _LoopThread:
    """An event loop running forever in a daemon thread; `call` runs a coroutine on it."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="adkstream-client", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def call(self, fn: Callable[P, Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if threading.current_thread() is self._thread:
            raise RuntimeError("a Client cannot be called from its own event loop's thread")
        future = asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # interrupted (KeyboardInterrupt): stop the coroutine too
            raise

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()


Item = TypeVar("Item", covariant=True)


class _RunStream(Protocol[Item]):
    """What `EventStream` and `LiveSession` both are: a run's stream, read item by item."""

    @property
    def run_id(self) -> str | None: ...

    @property
    def last_seq(self) -> int: ...

    @property
    def terminal(self) -> TerminalEvent | None: ...

    def __anext__(self) -> Awaitable[Item]: ...


class _SyncRunStream(Generic[Item]):
    """A run's stream as a blocking iterator: its ids and progress forwarded, and each
    item waited for on the client's loop."""

    def __init__(self, source: _RunStream[Item], loop: _LoopThread) -> None:
        self._source = source
        self._loop = loop

    @property
    def run_id(self) -> str | None:
        return self._source.run_id

    @property
    def last_seq(self) -> int:
        return self._source.last_seq

    @property
    def terminal(self) -> TerminalEvent | None:
        return self._source.terminal

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Item:
        try:
            return self._loop.call(_next, self._source)
        except StopAsyncIteration:
            raise StopIteration from None


async def _next(source: _RunStream[T]) -> T:
    return await source.__anext__()


class SyncEventStream(_SyncRunStream[StreamEvent]):
    """The events of one run as a blocking iterator; see `EventStream`. Close it when done."""

    def __init__(self, stream: EventStream, loop: _LoopThread) -> None:
        super().__init__(stream, loop)
        self._stream = stream

    @property
    def session_id(self) -> str | None:
        return self._stream.session_id

    @property
    def pending(self) -> list[InputRequest]:
        return self._stream.pending

    def close(self) -> None:
        """Closes the connection (and cancels a run left early, as `EventStream` does)."""
        self._loop.call(self._stream.aclose)

    def __enter__(self) -> SyncEventStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SyncLiveSession(_SyncRunStream[LiveFrame]):
    """A live run as blocking calls; see `LiveSession`. Use it as a context manager."""

    def __init__(self, live: LiveSession, loop: _LoopThread) -> None:
        super().__init__(live, loop)
        self._live = live

    @property
    def session_id(self) -> str:
        return self._live.session_id

    @property
    def close_code(self) -> int | None:
        return self._live.close_code

    def __enter__(self) -> SyncLiveSession:
        self._loop.call(self._live.__aenter__)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.call(self._live.aclose)

    def send_message(self, text: str) -> None:
        """See `LiveSession.send_message`."""
        self._loop.call(self._live.send_message, text)

    def send_content(self, parts: Sequence[Mapping[str, Any]]) -> None:
        """See `LiveSession.send_content`."""
        self._loop.call(self._live.send_content, parts)

    def send_realtime(self, data: bytes, mime_type: str) -> None:
        """See `LiveSession.send_realtime`."""
        self._loop.call(self._live.send_realtime, data, mime_type)

    def activity_start(self) -> None:
        """See `LiveSession.activity_start`."""
        self._loop.call(self._live.activity_start)

    def activity_end(self) -> None:
        """See `LiveSession.activity_end`."""
        self._loop.call(self._live.activity_end)

    def close(self) -> None:
        """Sends the `close` frame; see `LiveSession.close`."""
        self._loop.call(self._live.close)

    def next_turn(self) -> TurnCompleted | None:
        """See `LiveSession.next_turn`."""
        return self._loop.call(self._live.next_turn)

    def turns(self) -> Iterator[TurnCompleted]:
        """See `LiveSession.turns`."""
        while (turn := self.next_turn()) is not None:
            yield turn


class Client:
    """A blocking client of an adkstream server; the arguments are `AsyncClient`'s."""

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
        self._loop = _LoopThread()

        async def make() -> AsyncClient:  # built on its loop, which its pool belongs to
            return AsyncClient(
                base_url,
                api_key=api_key,
                token=token,
                timeout=timeout,
                max_reconnects=max_reconnects,
                backoff_base_s=backoff_base_s,
                backoff_max_s=backoff_max_s,
                transport=transport,
                rng=rng,
            )

        self._async = self._loop.call(make)

    def close(self) -> None:
        """Closes the connection pool and stops the client's thread."""
        try:
            self._loop.call(self._async.aclose)
        finally:
            self._loop.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def create_session(
        self,
        agent: str | None = None,
        state: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """See `AsyncClient.create_session`."""
        return self._loop.call(self._async.create_session, agent, state, session_id)

    def get_session(self, session_id: str) -> Session:
        """See `AsyncClient.get_session`."""
        return self._loop.call(self._async.get_session, session_id)

    def list_sessions(self) -> list[Session]:
        """See `AsyncClient.list_sessions`."""
        return self._loop.call(self._async.list_sessions)

    def delete_session(self, session_id: str) -> None:
        """See `AsyncClient.delete_session`."""
        self._loop.call(self._async.delete_session, session_id)

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
    ) -> SyncEventStream:
        """See `AsyncClient.stream`."""
        stream = self._async.stream(
            message,
            agent=agent,
            session_id=session_id,
            state_delta=state_delta,
            coalesce_ms=coalesce_ms,
            on_disconnect=on_disconnect,
            cancel_on_close=cancel_on_close,
            tools=tools,
            if_busy=if_busy,
        )
        return SyncEventStream(stream, self._loop)

    def answer(
        self,
        run_id: str,
        answers: Mapping[str, Mapping[str, Any]],
        *,
        on_disconnect: OnDisconnect = "continue",
        cancel_on_close: bool = True,
    ) -> SyncEventStream:
        """See `AsyncClient.answer`."""
        stream = self._async.answer(
            run_id, answers, on_disconnect=on_disconnect, cancel_on_close=cancel_on_close
        )
        return SyncEventStream(stream, self._loop)

    def events(self, run_id: str, after: int = 0) -> SyncEventStream:
        """See `AsyncClient.events`."""
        return SyncEventStream(self._async.events(run_id, after=after), self._loop)

    def run(
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
        """See `AsyncClient.run`."""
        return self._loop.call(
            self._async.run,
            message,
            agent=agent,
            session_id=session_id,
            state_delta=state_delta,
            on_disconnect=on_disconnect,
            max_wait_s=max_wait_s,
            if_busy=if_busy,
        )

    def get_run(self, run_id: str) -> RunInfo:
        """See `AsyncClient.get_run`."""
        return self._loop.call(self._async.get_run, run_id)

    def cancel(self, run_id: str) -> None:
        """See `AsyncClient.cancel`."""
        self._loop.call(self._async.cancel, run_id)

    def live(
        self,
        session_id: str,
        *,
        modality: Modality = "text",
        raise_on_error: bool = False,
        open_timeout_s: float | None = None,
    ) -> SyncLiveSession:
        """See `AsyncClient.live`; open the session with `with`."""
        live = self._async.live(
            session_id,
            modality=modality,
            raise_on_error=raise_on_error,
            open_timeout_s=open_timeout_s,
        )
        return SyncLiveSession(live, self._loop)
