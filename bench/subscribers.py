"""Subscribers that stop reading: a raw socket that reads a stream's first bytes, then nothing.

The socket's receive buffer is set small before it connects (`RCVBUF`), which also turns
off the kernel's receive-buffer autotuning (up to 32 MB per socket on this machine's
`tcp_rmem`), and it announces an Ethernet MSS (`MSS`): on loopback (MSS about 64 KB) the
server's send buffer autotunes to about 1 MB per connection, so the kernel, not the
server, would hold the backlog and the test would show nothing. What the server has
written and the client not read stays in the server's send queue (kernel memory, not in
its RSS: `send_queue_bytes` reads it) and in the server process.

After the measurement `resume` reads the rest, to check that each subscriber still gets
the whole run (its terminal event), and counts the frames it got.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from pathlib import Path

RCVBUF = 4096
MSS = 1460
RECV_BYTES = 4096
_DATA = b"\ndata:"
_TERMINAL = (b"event: run.completed", b"event: run.failed", b"event: run.cancelled")
_TAIL = 32  # longer than any marker: a marker split between two reads is still found


@dataclass
class StalledSubscriber:
    """One open `GET` of a run's events whose reader stopped after the first frame.

    Attributes:
        frames: `data:` lines received so far.
        terminal: the terminal event's line, once received.
        status: the HTTP status line.
    """

    sock: socket.socket
    frames: int = 0
    terminal: bytes | None = None
    status: bytes = b""
    _tail: bytes = field(default=b"", repr=False)

    @classmethod
    async def open(cls, port: int, path: str, *, timeout_s: float = 30.0) -> StalledSubscriber:
        """Connects, sends the request and reads until the first `data:` line, no further."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MSS)
        sock.setblocking(False)
        subscriber = cls(sock)
        try:
            async with asyncio.timeout(timeout_s):
                await loop.sock_connect(sock, ("127.0.0.1", port))
                request = (
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
                )
                await loop.sock_sendall(sock, request.encode())
                while subscriber.frames == 0:
                    data = await loop.sock_recv(sock, RECV_BYTES)
                    if not data:
                        raise ConnectionError("the server closed the stream before a frame")
                    subscriber._feed(data)
        except BaseException:
            sock.close()
            raise
        if not subscriber.status.startswith(b"HTTP/1.1 200"):
            sock.close()
            raise ConnectionError(f"subscriber got {subscriber.status!r}")
        return subscriber

    def _feed(self, data: bytes) -> None:
        if not self.status:
            self.status = data.split(b"\r\n", 1)[0]
        buffer = self._tail + data
        # Markers wholly inside the tail were counted with the previous read.
        self.frames += buffer.count(_DATA) - self._tail.count(_DATA)
        if self.terminal is None:
            for marker in _TERMINAL:
                if marker in buffer:
                    self.terminal = marker
        self._tail = buffer[-_TAIL:]

    async def resume(self, *, timeout_s: float) -> bool:
        """Reads to the end of the stream (bounded); True if the terminal event came."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                while data := await loop.sock_recv(self.sock, 65536):
                    self._feed(data)
        except (TimeoutError, OSError):
            return False
        finally:
            self.close()
        return self.terminal is not None

    def close(self) -> None:
        self.sock.close()


def send_queue_bytes(port: int) -> int:
    """Bytes queued in the kernel by the sockets of the server on `port` (/proc/net/tcp)."""
    total = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        # Not the listening socket (state 0A), whose tx_queue is its backlog limit.
        if fields[3] != "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            total += int(fields[4].split(":", 1)[0], 16)
    return total
