"""A served process stopped by SIGTERM ends its live runs first: each open live socket
receives the run's terminal `run.failed` (`interrupted`) before it is closed."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import httpx
import websockets

from adkstream.events import RunFailed, RunStarted, parse_event
from tests.processes import serve_process

# A slow offline model: the run is still answering when the process is stopped.
ENV = {"ADKSTREAM_OFFLINE_TOKENS_PER_S": "10", "ADKSTREAM_OFFLINE_REPLY_TOKENS": "400"}


async def test_live_socket_gets_the_terminal_event_before_a_sigterm_closes_it(
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(60), serve_process(tmp_path, env=ENV) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            session_id = (await client.post("/v1/sessions", json={})).json()["id"]
        url = f"{server.url.replace('http://', 'ws://', 1)}/v1/sessions/{session_id}/live"
        async with websockets.connect(url) as socket:
            frames = [parse_event(await socket.recv())]
            assert isinstance(frames[0], RunStarted)
            await socket.send(json.dumps({"type": "message", "text": "tell me a story"}))
            frames.append(parse_event(await socket.recv()))  # it is answering
            server.process.send_signal(signal.SIGTERM)
            try:
                while True:
                    frames.append(parse_event(await socket.recv()))
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None

    terminal = frames[-1]
    assert isinstance(terminal, RunFailed) and terminal.error.code == "interrupted"
    assert code == 1011  # closed as a failed run, not uvicorn's bare 1012
