"""The Starlette app: routes, request bodies, encoders (SSE, NDJSON, JSON) and errors."""

from __future__ import annotations

from adkstream.api.app import create_app

__all__ = ["create_app"]
