"""A run's events as an HTTP response: SSE, NDJSON, or the JSON result once it ends.

Responses are subscribers of the run's log. While one is open the run counts it as
watched: when the last watcher of an `on_disconnect="cancel"` run goes away, the run is
cancelled (see `RunManager.watching`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from adkstream import metrics
from adkstream.api.bodies import RunResult
from adkstream.api.event_stream import EventStreamResponse
from adkstream.api.inputs import StreamFormat
from adkstream.api.sse import event_frame, retry_frame
from adkstream.events import StreamEvent
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord
from adkstream.tasks import cancel_and_wait

RETRY_MS = 2000
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


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
    headers = run_headers(record)
    if fmt is StreamFormat.JSON:
        return await _result_response(request, host, record, headers, status_code)
    if fmt is StreamFormat.NDJSON:
        return StreamingResponse(
            _ndjson(host, record.run_id, after),
            status_code=status_code,
            media_type=fmt.value,
            headers=headers | {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return EventStreamResponse(
        _sse(host, record.run_id, after),
        status_code=status_code,
        headers=headers | SSE_HEADERS,
        ping_s=host.settings.heartbeat_s,
    )


async def _sse(host: Host, run_id: str, after: int) -> AsyncIterator[bytes]:
    yield retry_frame(RETRY_MS)
    async for frame in _counted(host, run_id, after, "sse", event_frame):
        yield frame


def _ndjson_line(event: StreamEvent) -> bytes:
    return event.model_dump_json().encode() + b"\n"


async def _ndjson(host: Host, run_id: str, after: int) -> AsyncIterator[bytes]:
    async for line in _counted(host, run_id, after, "ndjson", _ndjson_line):
        yield line


async def _counted(
    host: Host, run_id: str, after: int, fmt: str, encode: Callable[[StreamEvent], bytes]
) -> AsyncIterator[bytes]:
    """The run's events encoded, as a watcher of the run, counted in the metrics.

    The events storage hands over together go out in one write (one HTTP chunk).
    """
    events_sent = metrics.EVENTS_SENT.labels(fmt)
    bytes_sent = metrics.BYTES_SENT.labels(fmt)
    metrics.STREAMS_ACTIVE.inc()
    try:
        async with host.runs.watching(run_id):
            async for batch in host.log.follow_batches(run_id, after=after):
                data = b"".join([encode(event) for event in batch])
                events_sent.inc(len(batch))
                bytes_sent.inc(len(data))
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
