"""adkstream: run Google ADK agents and stream what they do, live, to browsers and programs."""

from __future__ import annotations

__version__ = "0.1.0"
