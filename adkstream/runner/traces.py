"""The traces ADK's dev UI shows, recorded as `adk web` records them, within bounds.

With the dev UI on (`adkstream web`), the app records while it serves (`recording()`,
in its lifespan). A span processor on the process's OpenTelemetry tracer provider
(created when none is set) and a log processor for the model calls' completion details
feed the recorder, as `adk web` does (`google/adk/cli/api_server.py`). Meanwhile every
run's telemetry follows ADK's defaults and the `OTEL_*` environment
(`runner/telemetry.py`), so the UI sees what it sees under `adk web`.

The dev UI reads two things:
- a session's spans, for its Trace tab: every span of each trace in which a span names
  the session (ADK's `gen_ai.conversation.id`, or `gcp.vertex.agent.session_id` in its
  legacy schema);
- an event's span attributes, for the event's details: the model call, tool call or
  live send that made the event (`gcp.vertex.agent.event_id`).

`adk web` keeps every span of the process. This keeps the latest `MAX_TRACES` traces and
`MAX_EVENTS` events (and ADK's log exporter its latest 1,000 records): a long-running
server keeps a bounded window, the sessions a developer is looking at.

One recorder per process, as OpenTelemetry's providers are; added to them once (they
take no removal), it keeps nothing once no app with the dev UI serves.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import _logs, trace
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from adkstream.adk_private import WebUiLogExporter, ui_telemetry_from_otel
from adkstream.runner import telemetry

logger = logging.getLogger("adkstream.traces")

P = TypeVar("P", TracerProvider, LoggerProvider)

MAX_TRACES = 2_000
"""Traces kept (about one per run), oldest dropped first."""
MAX_EVENTS = 10_000
"""Events whose span attributes are kept, oldest dropped first."""

_SESSION_KEYS = ("gen_ai.conversation.id", "gcp.vertex.agent.session_id")
_EVENT_KEY = "gcp.vertex.agent.event_id"


def _names_an_event(name: str) -> bool:
    """The spans whose attributes describe the event they made (as `adk web` picks them)."""
    named = name in ("call_llm", "send_data")
    return named or name.startswith(("execute_tool", "generate_content"))


class TraceRecorder(SpanExporter):
    """The latest traces by session and the latest events' span attributes, while on."""

    def __init__(self, *, max_traces: int = MAX_TRACES, max_events: int = MAX_EVENTS) -> None:
        self._max_traces, self._max_events = max_traces, max_events
        self._traces: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        self._trace_session: dict[int, str] = {}
        self._events: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()  # spans may end on a tool's worker thread
        self.on = False
        self.logs = WebUiLogExporter()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self.on:
            with self._lock:
                for span in spans:
                    self._keep(span)
        return SpanExportResult.SUCCESS

    def _keep(self, span: ReadableSpan) -> None:
        if span.context is None:
            return
        trace_id = span.context.trace_id
        attributes: Mapping[str, Any] = span.attributes or {}
        self._traces.setdefault(trace_id, []).append(span)
        self._traces.move_to_end(trace_id)
        session = next((attributes[k] for k in _SESSION_KEYS if attributes.get(k)), None)
        if session is not None:
            self._trace_session[trace_id] = str(session)
        while len(self._traces) > self._max_traces:
            dropped, _ = self._traces.popitem(last=False)
            self._trace_session.pop(dropped, None)
        event_id = attributes.get(_EVENT_KEY)
        if event_id and _names_an_event(span.name):
            ids = {"trace_id": trace_id, "span_id": span.context.span_id}
            self._events[str(event_id)] = (trace_id, dict(attributes) | ids)
            self._events.move_to_end(str(event_id))
            while len(self._events) > self._max_events:
                self._events.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()
            self._trace_session.clear()
            self._events.clear()
            self.logs = WebUiLogExporter()

    def session_spans(self, session_id: str) -> list[dict[str, Any]]:
        """The session's spans with their logs, as ADK's dev UI reads them."""
        with self._lock:
            traces = [t for t, s in self._trace_session.items() if s == session_id]
            spans = [span for t in traces for span in self._traces.get(t, [])]
        found = ui_telemetry_from_otel(spans, self.logs.get_finished_logs())
        return [span.model_dump(mode="json") for span in found]

    def event(self, event_id: str) -> tuple[str | None, dict[str, Any]] | None:
        """The span attributes of the call that made `event_id`, with the session of its
        trace (None: not recorded, or no longer kept)."""
        with self._lock:
            kept = self._events.get(event_id)
            if kept is None:
                return None
            trace_id, attributes = kept
            return self._trace_session.get(trace_id), attributes

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class _LogsWhileOn(LogRecordExporter):
    """Hands the model calls' log records to the recorder's log exporter while it is on."""

    def __init__(self, recorder: TraceRecorder) -> None:
        self._recorder = recorder

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        if self._recorder.on:
            return self._recorder.logs.export(batch)
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        return True


_recorder = TraceRecorder()
_installed = False
_apps = 0


def recorder() -> TraceRecorder | None:
    """The process's recorder while an app with the dev UI is serving (else None)."""
    return _recorder if _recorder.on else None


@contextmanager
def recording() -> Iterator[TraceRecorder]:
    """Records traces for the dev UI while an app serves it (the app's lifespan): its
    runs take ADK's default telemetry meanwhile; the last app to stop drops them."""
    global _apps
    _install()
    _apps += 1
    _recorder.on = True
    telemetry.follow_adk_defaults(True)
    try:
        yield _recorder
    finally:
        _apps -= 1
        if _apps == 0:
            _recorder.on = False
            telemetry.follow_adk_defaults(False)
            _recorder.clear()


def _install() -> None:
    """Adds the recorder to the process's OpenTelemetry providers, once a process."""
    global _installed
    if _installed:
        return
    _installed = True
    tracers = _sdk_provider(trace.get_tracer_provider, trace.set_tracer_provider, TracerProvider)
    loggers = _sdk_provider(_logs.get_logger_provider, _logs.set_logger_provider, LoggerProvider)
    if tracers is None or loggers is None:
        logger.warning(
            "the dev UI's traces stay empty: the process's OpenTelemetry providers "
            "(%s, %s) are not the SDK's",
            type(trace.get_tracer_provider()).__name__,
            type(_logs.get_logger_provider()).__name__,
        )
        return
    tracers.add_span_processor(SimpleSpanProcessor(_recorder))
    loggers.add_log_record_processor(SimpleLogRecordProcessor(_LogsWhileOn(_recorder)))


def _sdk_provider(get: Callable[[], Any], set_: Callable[[Any], None], sdk: type[P]) -> P | None:
    """The process's provider if it is the SDK's, else a new one set as the process's
    (None: another kind was set before, and OpenTelemetry never replaces a provider)."""
    current = get()
    if isinstance(current, sdk):
        return current
    fresh = sdk()
    set_(fresh)
    return fresh if get() is fresh else None
