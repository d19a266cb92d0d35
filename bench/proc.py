"""Server subprocesses: start one on a free loopback port, wait until ready, read CPU and memory.

CPU is utime + stime of every thread (/proc/<pid>/stat, clock ticks); memory is VmRSS
and the peak VmHWM (/proc/<pid>/status), whose peak is reset between measurements by
writing 5 to /proc/<pid>/clear_refs (Linux >= 4.0). Linux only, like the target machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.model import ModelSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One running server process."""

    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far (all threads)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def _status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def rss_kb(self) -> int:
        return self._status_kb("VmRSS")

    def peak_rss_kb(self) -> int:
        return self._status_kb("VmHWM")

    def reset_peak(self) -> None:
        """Sets the peak (VmHWM) to the current RSS."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _spawn(
    kind: str, spec: ModelSpec, log_dir: Path, extra_env: Mapping[str, str] | None = None
) -> Server:
    port = free_port()
    log_path = log_dir / f"{kind}-{port}.log"
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-", dir=log_dir))
    command = [sys.executable, "-m", "bench.servers", kind, "--port", str(port), *spec.args()]
    command += ["--data-dir", str(data_dir)]
    # Same servers whatever the shell says: no ADKSTREAM_* overrides, no Gemini key; a
    # scenario passes the settings it measures (PostgreSQL, Redis) in `extra_env`.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADKSTREAM_", "GOOGLE_API"))}
    env |= {"PYTHONWARNINGS": "ignore", "PYTHONPATH": str(REPO_ROOT)}
    env |= dict(extra_env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return Server(kind=kind, port=port, process=process, log_path=log_path, data_dir=data_dir)


async def _wait_ready(server: Server) -> None:
    """Polls /healthz (bounded: READY_TIMEOUT_S); a benchmark may poll, a test may not."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(server.base_url + "/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{server.kind} did not become ready:\n{server.log_tail()}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@contextlib.asynccontextmanager
async def running(
    kinds: list[str], spec: ModelSpec, log_dir: Path, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[dict[str, Server]]:
    """Starts one server per kind (in parallel), waits until all are ready, stops them after."""
    servers: dict[str, Server] = {}
    try:
        for kind in dict.fromkeys(kinds):
            servers[kind] = _spawn(kind, spec, log_dir, env)
        await asyncio.gather(*(_wait_ready(s) for s in servers.values()))
        yield servers
    finally:
        for server in servers.values():
            _stop(server)


@contextlib.asynccontextmanager
async def replicas(
    kind: str, count: int, spec: ModelSpec, log_dir: Path, *, env: Mapping[str, str]
) -> AsyncIterator[list[Server]]:
    """`count` servers of one kind on their own ports, sharing what `env` points them at."""
    servers: list[Server] = []
    try:
        for _ in range(count):
            servers.append(_spawn(kind, spec, log_dir, env))
        await asyncio.gather(*(_wait_ready(s) for s in servers))
        yield servers
    finally:
        for server in servers:
            _stop(server)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all CPUs (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) / _TICKS, total / _TICKS


def processes_cpu(names: tuple[str, ...]) -> dict[int, float]:
    """CPU seconds so far of every process whose command name is in `names`, by pid.

    Used for PostgreSQL and Redis, whose processes belong to another user: their
    /proc/<pid>/stat is world-readable. A process that ends in between is missed.
    """
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if name in names:
            fields = stat[stat.rindex(")") + 2 :].split()
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / _TICKS
    return found


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes of `after` spent since `before` (new ones from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
