"""One benchmark server in its own process: `python -m bench.servers KIND --port N [model flags]`.

KIND is one of `bench.apps.BUILDERS` (adkstream, raw_adk, adk_api, floor). The server
listens on 127.0.0.1 only, logs warnings only, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import cast

import uvicorn
from starlette.applications import Starlette

from adkstream.api.server import DrainingServer, tune_gc
from bench.apps import BUILDERS
from bench.model import ModelSpec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.servers")
    parser.add_argument("kind", choices=sorted(BUILDERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--model", choices=["offline", "chunks", "thinking", "gemini"], default="chunks"
    )
    parser.add_argument("--gemini-url", default=None)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--interval-ms", type=float, default=0.0)
    parser.add_argument("--record-yields", action="store_true")
    parser.add_argument("--gate", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spec = ModelSpec(
        kind=args.model,
        chunks=args.chunks,
        interval_ms=args.interval_ms,
        record_yields=args.record_yields,
        gate=args.gate,
        gemini_url=args.gemini_url,
    )
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix=f"bench-{args.kind}-"))
    logging.basicConfig(level=logging.WARNING)
    app = BUILDERS[args.kind](spec, data_dir)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        backlog=4096,
    )
    if args.kind.startswith("adkstream"):
        # As `adkstream serve` runs it: its GC settings, and runs drained on a stop signal.
        tune_gc()
        DrainingServer(config, cast(Starlette, app)).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
