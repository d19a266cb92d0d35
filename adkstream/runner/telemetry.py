"""The one `RunConfig` every run shares, with ADK's telemetry as cheap as it can be.

ADK builds a fresh `TelemetryConfig()` for every model chunk when `RunConfig.telemetry`
is None (20-25% of the runner's CPU, measured): one prebuilt config avoids that. And
with no OpenTelemetry configured (no `OTEL_*` variable), ADK would still convert every
response into span attributes and log bodies for exporters that do not exist (its
experimental semconv path: about 15% of the CPU of a run, measured with cProfile): then
the stable semconv without message content, which skips the conversion. With `OTEL_*`
set, ADK reads its settings from the environment as usual.
"""

from __future__ import annotations

import os

from google.adk.agents.run_config import RunConfig
from google.adk.telemetry.context import ContentCapturingMode, TelemetryConfig

from adkstream.adk_private import StreamingMode


def telemetry_config() -> TelemetryConfig:
    if any(name.startswith("OTEL_") for name in os.environ):
        return TelemetryConfig()
    return TelemetryConfig(
        genai_semconv_stability_opt_in="stable",
        capture_message_content=ContentCapturingMode.NO_CONTENT,
    )


def streaming_run_config() -> RunConfig:
    """Server-sent-events streaming (partial events), with the telemetry above."""
    return RunConfig(streaming_mode=StreamingMode.SSE, telemetry=telemetry_config())
