"""The one telemetry config every run shares, with ADK's telemetry as cheap as it can be.

ADK builds a fresh `TelemetryConfig()` for every model chunk when `RunConfig.telemetry`
is None (20-25% of the runner's CPU, measured): one prebuilt config avoids that. And
with no OpenTelemetry configured (no `OTEL_*` variable), ADK would still convert every
response into span attributes and log bodies for exporters that do not exist (its
experimental semconv path: about 15% of the CPU of a run, measured with cProfile): then
the stable semconv without message content, which skips the conversion. With `OTEL_*`
set, ADK reads its settings from the environment as usual; and so it does once the dev
UI records traces (`runner/traces.py`), which then look as they do under `adk web`.
"""

from __future__ import annotations

import functools
import os

from google.adk.telemetry.context import ContentCapturingMode, TelemetryConfig

_follow_adk = False


def follow_adk_defaults(follow: bool) -> None:
    """Whether runs take ADK's default telemetry (while the dev UI records their traces)."""
    global _follow_adk
    _follow_adk = follow


def telemetry_config() -> TelemetryConfig:
    """The config every run shares (built once for each state of `follow_adk_defaults`)."""
    return _config(_follow_adk)


@functools.cache
def _config(follow_adk: bool) -> TelemetryConfig:
    if follow_adk or any(name.startswith("OTEL_") for name in os.environ):
        return TelemetryConfig()
    return TelemetryConfig(
        genai_semconv_stability_opt_in="stable",
        capture_message_content=ContentCapturingMode.NO_CONTENT,
    )
