"""A run's events as an HTTP response: a stream (`run_stream`: native SSE and NDJSON, and
every protocol's encoder), or the JSON result once the run ends.

Responses are subscribers of the run's log. While one is open the run counts it as
watched: when the last watcher of an `on_disconnect="cancel"` run goes away, the run is
cancelled (see `RunManager.watching`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adkstream import metrics
from adkstream.api.bodies import RunResult
from adkstream.api.encoder import RETRY_MS as RETRY_MS  # re-exported: routes use them
from adkstream.api.encoder import SSE_HEADERS as SSE_HEADERS
from adkstream.api.encoder import NdjsonEncoder, SseEncoder, StreamEncoder
from adkstream.api.event_stream import FrameStreamResponse
from adkstream.api.inputs import StreamFormat
from adkstream.errors import RequestError
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord
from adkstream.tasks import cancel_and_wait


def run_headers(record: RunRecord) -> dict[str, str]:
    return {
        "X-Run-Id": record.run_id,
        "X-Session-Id": record.session_id,
        "Content-Location": f"/v1/runs/{record.run_id}",
    }


async def stream_response(
    request: Request,
    host: Host,
    record: RunRecord,
    fmt: StreamFormat,
    *,
    after: int = 0,
    status_code: int = 200,
) -> Response:
    """The run's events after `after` in the negotiated format."""
    if fmt is StreamFormat.JSON:
        headers = run_headers(record)
        return await _result_response(request, host, record, headers, status_code)
    encoder = NdjsonEncoder() if fmt is StreamFormat.NDJSON else SseEncoder()
    return run_stream(host, record, encoder, after=after, status_code=status_code)


def run_stream(
    host: Host,
    record: RunRecord,
    encoder: StreamEncoder,
    *,
    after: int = 0,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> FrameStreamResponse:
    """The run's events after `after`, as `encoder` frames them: the one way out.

    Every stream of a run goes this way (native SSE and NDJSON, AG-UI, Vercel, OpenAI,
    ADK's `/run_sse`),
    so all of them count what they send in the metrics (`format`: the encoder's),
    heartbeat while silent, catch a slow reader up with merged deltas (the log's
    `follow_batches`), and watch the run while open: when the client leaves, the run's
    disconnect policy applies (`cancel` stops it, `continue` gives it `detach_grace_s`).

    Args:
        host: the server's host (log, runs, settings).
        record: the run; its id and session id also go out as headers (`run_headers`).
        encoder: a fresh encoder for this response.
        after: the seq to stream after (0: from the start).
        status_code: the response's status.
        headers: response headers besides the run's and the encoder's.
    """
    framing = encoder.framing
    return FrameStreamResponse(
        _frames(host, record.run_id, encoder, after),
        media_type=framing.media_type,
        heartbeat=framing.heartbeat,
        ping_s=host.settings.heartbeat_s,
        on_sent=metrics.BYTES_SENT.labels(framing.format).inc,
        status_code=status_code,
        headers=run_headers(record) | dict(framing.headers) | dict(headers or {}),
    )


async def _frames(
    host: Host, run_id: str, encoder: StreamEncoder, after: int
) -> AsyncIterator[bytes]:
    """The run's frames, as a watcher of the run; events counted in the metrics.

    The frames of the events storage hands over together go out in one write (one
    HTTP chunk); an encoder may have nothing to say for some events.
    """
    events_sent = metrics.EVENTS_SENT.labels(encoder.framing.format)
    metrics.STREAMS_ACTIVE.inc()
    try:
        if opening := encoder.framing.opening:
            yield opening
        async with host.runs.watching(run_id):
            async for batch in host.log.follow_batches(run_id, after=after):
                data = b"".join([frame for event in batch for frame in encoder.frames(event)])
                events_sent.inc(len(batch))
                if data:
                    yield data
    finally:
        metrics.STREAMS_ACTIVE.dec()


async def _result_response(
    request: Request, host: Host, record: RunRecord, headers: dict[str, str], status_code: int
) -> Response:
    """Waits for the run to end; a client that leaves meanwhile counts as gone."""
    run_id = record.run_id
    async with host.runs.watching(run_id):
        ended = asyncio.ensure_future(_until_terminal(host, run_id))
        gone = asyncio.ensure_future(_until_disconnect(request))
        try:
            await asyncio.wait({ended, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(ended, gone)
    final = await host.log.get_run(run_id) or record
    result = RunResult(
        run_id=final.run_id,
        session_id=final.session_id,
        status=final.status.value,
        final_text=final.final_text,
        usage=final.usage,
        finish_reason=final.finish_reason,
        error=final.error,
    )
    return JSONResponse(result.model_dump(mode="json"), status_code=status_code, headers=headers)


async def _until_terminal(host: Host, run_id: str) -> None:
    run = host.runs.active.get(run_id)
    if run is not None:
        await run.done.wait()
        return
    # A run another process drives: follow it from where it is now to its end.
    record = await host.log.get_run(run_id)
    after = record.last_seq if record is not None else 0
    async for _ in host.log.follow(run_id, after=after):
        pass


async def _until_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def resume_point(request: Request) -> int:
    """Where a reader resumes: `Last-Event-ID`, else `?after=`, else the start."""
    raw = request.headers.get("last-event-id")
    field = "Last-Event-ID"
    if raw is None:
        raw, field = request.query_params.get("after"), "after"
    if raw is None or raw == "":
        return 0
    if not raw.isdigit():
        raise RequestError(f"{field} must be a non-negative integer", field=field)
    return int(raw)
