"""Connection hygiene of `adkstream serve`: a client that never finishes its request head
(slowloris) is cut off after the header timeout, an idle kept-alive connection after the
keep-alive timeout, and past the connection cap new requests get 503 rather than piling
up; a request that is merely slow, or a stream that runs long, is untouched."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.processes import ServerProcess, serve_process

HEADER_TIMEOUT_S = 0.5
KEEP_ALIVE_S = 1
MARGIN_S = 3.0
"""Slack for a loaded machine; a connection the server does not close waits forever."""


def _address(server: ServerProcess) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


@asynccontextmanager
async def _connection(
    server: ServerProcess,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection(*_address(server))
    try:
        yield reader, writer
    finally:
        writer.close()


async def _closed_after(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    data = await reader.read()
    return data, time.monotonic() - started


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length: its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    return int(lines[0].split()[1]), await reader.readexactly(length)


def _get(path: str, server: ServerProcess) -> bytes:
    host, port = _address(server)
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


SETTINGS = {
    "ADKSTREAM_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    "ADKSTREAM_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
}


async def test_slowloris_is_cut_off_after_the_header_timeout(tmp_path: Path) -> None:
    flags = ("--header-timeout-s", str(HEADER_TIMEOUT_S))  # the flag of the setting
    async with asyncio.timeout(90), serve_process(tmp_path, args=flags) as server:
        # A partial head, then a header line trickled in a byte at a time.
        async with _connection(server) as (reader, writer):
            writer.write(b"GET /v1/agents HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.monotonic()
            closed = asyncio.ensure_future(reader.read())
            for byte in b"X-Slow: " + b"a" * 1000:
                done, _ = await asyncio.wait({closed}, timeout=0.05)
                if done:
                    break
                writer.write(bytes([byte]))
            data = await closed
            trickled_s = time.monotonic() - started
        # A connection that never sends a byte.
        async with _connection(server) as (reader, _):
            silent_data, silent_s = await _closed_after(reader)
        # Heads are timed one by one: a kept-alive connection serves request after request.
        async with _connection(server) as (reader, writer):
            statuses = []
            for _ in range(3):
                writer.write(_get("/healthz", server))
                statuses.append((await _response(reader))[0])
    assert data == b""  # closed without an answer: there is no request to answer
    assert HEADER_TIMEOUT_S * 0.9 <= trickled_s < HEADER_TIMEOUT_S + MARGIN_S
    assert silent_data == b""
    assert HEADER_TIMEOUT_S * 0.9 <= silent_s < HEADER_TIMEOUT_S + MARGIN_S
    assert statuses == [200, 200, 200]


async def test_a_head_sent_in_pieces_within_the_timeout_is_served(tmp_path: Path) -> None:
    env = {**SETTINGS, "ADKSTREAM_HEADER_TIMEOUT_S": "5"}
    async with (
        asyncio.timeout(60),
        serve_process(tmp_path, env=env) as server,
        _connection(server) as (reader, writer),
    ):
        request = _get("/healthz", server)
        for piece in (request[:10], request[10:20], request[20:]):
            writer.write(piece)
            await writer.drain()
        status, _ = await _response(reader)
    assert status == 200


async def test_an_idle_kept_alive_connection_is_closed(tmp_path: Path) -> None:
    async with (
        asyncio.timeout(60),
        serve_process(tmp_path, env=SETTINGS) as server,
        _connection(server) as (reader, writer),
    ):
        writer.write(_get("/healthz", server))
        status, _ = await _response(reader)
        rest, idle_s = await _closed_after(reader)
    assert status == 200
    assert rest == b""
    assert KEEP_ALIVE_S * 0.9 <= idle_s < KEEP_ALIVE_S + MARGIN_S


async def test_a_stream_longer_than_the_timeouts_runs_to_its_end(tmp_path: Path) -> None:
    env = {
        **SETTINGS,
        "ADKSTREAM_OFFLINE_TOKENS_PER_S": "20",
        "ADKSTREAM_OFFLINE_REPLY_TOKENS": "40",  # about 2 s: past both timeouts
    }
    async with (
        asyncio.timeout(60),
        serve_process(tmp_path, env=env) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        started = time.monotonic()
        async with client.stream("POST", "/v1/runs", json={"message": "a long one"}) as response:
            lines = [line async for line in response.aiter_lines()]
        took_s = time.monotonic() - started
    assert response.status_code == 200
    assert took_s > HEADER_TIMEOUT_S + KEEP_ALIVE_S
    assert "event: run.completed" in lines


async def test_past_the_connection_cap_a_request_gets_503(tmp_path: Path) -> None:
    env = {"ADKSTREAM_MAX_CONNECTIONS": "3", "ADKSTREAM_KEEP_ALIVE_S": "60"}
    async with (
        asyncio.timeout(60),
        serve_process(tmp_path, env=env) as server,
        _connection(server) as (first, first_writer),
        _connection(server) as (second, second_writer),
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        # Two connections the server has served and keeps open (keep-alive)...
        first_writer.write(_get("/healthz", server))
        second_writer.write(_get("/healthz", server))
        held = [(await _response(first))[0], (await _response(second))[0]]
        # ...and a third makes the cap.
        over = await client.get("/healthz")
    assert held == [200, 200]
    assert over.status_code == 503


async def test_serving_beyond_loopback_without_auth_answers_loopback_names_only(
    tmp_path: Path,
) -> None:
    args = ("--host", "0.0.0.0", "--allow-unauthenticated")
    async with asyncio.timeout(90):
        async with (
            serve_process(tmp_path / "a", args=args) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):
            loopback = await client.get("/healthz")
            lan = await client.get("/healthz", headers={"Host": "192.168.1.20:8000"})
        env = {"ADKSTREAM_ALLOWED_HOSTS": "192.168.1.20,localhost,127.0.0.1"}
        async with (
            serve_process(tmp_path / "b", args=args, env=env) as listed,
            httpx.AsyncClient(base_url=listed.url, timeout=30) as client,
        ):
            named = await client.get("/healthz", headers={"Host": "192.168.1.20:8000"})
    warnings = [line for line in server.output if "ADKSTREAM_ALLOWED_HOSTS unset" in line]
    assert loopback.status_code == 200
    assert lan.status_code == 421
    assert lan.json()["error"]["code"] == "host_not_allowed"
    assert len(warnings) == 1 and '"level": "warning"' in warnings[0]
    assert named.status_code == 200
    assert not any("ADKSTREAM_ALLOWED_HOSTS" in line for line in listed.output)
