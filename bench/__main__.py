"""`python -m bench [--quick] [--only NAME,...]`: run the scenarios, print tables, save JSON.

Results go to `bench/results/<UTC time>-<full|quick>.json` (git-ignored) and `latest.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import bench.scenarios  # noqa: F401  (registers the scenarios)
from bench.registry import Context, ordered
from bench.report import Table, write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = [s.name for s in ordered()]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller counts")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {names}")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="the stream reader"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the server logs")
    args = parser.parse_args(argv)
    unknown = {n for n in args.only.split(",") if n} - set(names)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {names}")
    return args


def _meta(args: argparse.Namespace, elapsed_s: float) -> dict[str, Any]:
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "stream reader": args.client,
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "elapsed_s": round(elapsed_s, 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "google-adk": metadata.version("google-adk"),
        "starlette": metadata.version("starlette"),
        "uvicorn": metadata.version("uvicorn"),
        "platform": platform.platform(),
    }


async def run(args: argparse.Namespace, log_dir: Path) -> list[Table]:
    ctx = Context(quick=args.quick, log_dir=log_dir, reader=args.client)
    only = {n for n in args.only.split(",") if n}
    tables: list[Table] = []
    for item in ordered():
        if only and item.name not in only:
            continue
        print(f"\n== {item.name}: {item.title}", flush=True)
        started, load_before = time.monotonic(), os.getloadavg()[0]
        for table in await item.run(ctx):
            # Wall-clock figures mean little on a busy machine: say how busy it was.
            table.notes.append(
                f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} "
                f"after, on {os.cpu_count()} CPUs"
            )
            print("\n" + table.render(), flush=True)
            tables.append(table)
        print(f"  ({item.name} took {time.monotonic() - started:.0f} s)", flush=True)
    return tables


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.list:
        for item in ordered():
            print(f"{item.name:12} {item.title}")
        return
    log_dir = Path(tempfile.mkdtemp(prefix="adkstream-bench-"))
    started = time.monotonic()
    try:
        tables = asyncio.run(run(args, log_dir))
    finally:
        if args.keep_logs:
            print(f"server logs: {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
    meta = _meta(args, time.monotonic() - started)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{stamp}-{meta['mode']}.json"
    write_json(path, meta=meta, tables=tables)
    write_json(RESULTS_DIR / "latest.json", meta=meta, tables=tables)
    print(f"\n{len(tables)} tables in {meta['elapsed_s']:.0f} s; written to {path}")


if __name__ == "__main__":
    main()
