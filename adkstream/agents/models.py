"""Which model the built-in agents use: Gemini when `GOOGLE_API_KEY` is set, else offline."""

from __future__ import annotations

import os

from google.adk.models.base_llm import BaseLlm

from adkstream.agents.offline import OfflineModel
from adkstream.settings import Settings


def default_model(settings: Settings | None = None) -> BaseLlm:
    """Gemini (`ADKSTREAM_MODEL`) with an API key, the offline streaming model without."""
    settings = settings or Settings()
    if os.environ.get("GOOGLE_API_KEY"):
        from google.adk.models.google_llm import Gemini

        return Gemini(model=settings.model)
    return OfflineModel(
        tokens_per_s=settings.offline_tokens_per_s,
        reply_tokens=settings.offline_reply_tokens,
    )


def describe_model(model: BaseLlm) -> str:
    """A short name for banners: `gemini-2.5-flash (Gemini)` or `offline (no API key)`."""
    if isinstance(model, OfflineModel):
        return "offline (set GOOGLE_API_KEY for Gemini)"
    return f"{model.model} (Gemini)"
