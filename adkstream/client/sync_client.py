"""`Client`: the blocking twin of `AsyncClient`, for scripts and threads without asyncio.

Each `Client` runs one `AsyncClient` on an event loop of its own, in a daemon thread,
and every method is a thin wrapper that waits for the async one: the reconnect logic
and error mapping exist once. Do not call a `Client` from its own loop's thread (from
inside an `on_abandon` callback, say): that would wait on itself.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import random
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar

import httpx

from adkstream.client.async_client import (
    DEFAULT_TIMEOUT,
    AsyncClient,
)
from adkstream.client.live import LiveFrame, LiveSession
from adkstream.client.stream import EventStream
from adkstream.events import InputRequest, StreamEvent, TerminalEvent, TurnCompleted

__all__ = ["Client", "SyncEventStream", "SyncLiveSession"]

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")
W = TypeVar("W")
F = TypeVar("F", bound=Callable[..., Any])


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


def _like(call: F, method: Callable[..., Any], returns: str | None = None) -> F:
    """`call` with `method`'s name, docstring and signature (what `help` shows), in this
    module; `returns` replaces the signature's return type."""
    functools.update_wrapper(call, method)
    call.__module__ = __name__
    signature = inspect.signature(method)
    if returns is not None:
        signature = signature.replace(return_annotation=returns)
    call.__signature__ = signature  # type: ignore[attr-defined]
    return call


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Client, P], T]:
    """`AsyncClient`'s method as `Client`'s: the same arguments and answer, blocking."""

    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._loop.call(lambda: method(self._async, *args, **kwargs))

    return _like(call, method)


def _wrapping(
    wrap: Callable[[S, _LoopThread], W], method: Callable[Concatenate[AsyncClient, P], S]
) -> Callable[Concatenate[Client, P], W]:
    """`AsyncClient`'s method that opens a stream as `Client`'s: the same arguments, its
    stream wrapped for blocking iteration (`SyncEventStream`, `SyncLiveSession`)."""

    def call(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> W:
        return wrap(method(self._async, *args, **kwargs), self._loop)

    return _like(call, method, returns=getattr(wrap, "__name__", None))


class Client:
    """A blocking client of an adkstream server: `AsyncClient`'s arguments and methods,
    each blocking until its answer (streams iterate with `for`)."""

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

    create_session = _blocking(AsyncClient.create_session)
    get_session = _blocking(AsyncClient.get_session)
    list_sessions = _blocking(AsyncClient.list_sessions)
    delete_session = _blocking(AsyncClient.delete_session)
    stream = _wrapping(SyncEventStream, AsyncClient.stream)
    answer = _wrapping(SyncEventStream, AsyncClient.answer)
    events = _wrapping(SyncEventStream, AsyncClient.events)
    run = _blocking(AsyncClient.run)
    get_run = _blocking(AsyncClient.get_run)
    cancel = _blocking(AsyncClient.cancel)
    live = _wrapping(SyncLiveSession, AsyncClient.live)
