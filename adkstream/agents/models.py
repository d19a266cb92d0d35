"""Which model the built-in agents use: Gemini when `GOOGLE_API_KEY` is set, else offline."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from google.adk.models.base_llm import BaseLlm
from google.adk.workflow import BaseNode

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


CREDENTIALS_HINT = (
    "set GOOGLE_API_KEY (or GEMINI_API_KEY), or GOOGLE_GENAI_USE_VERTEXAI=true with "
    "GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION"
)
"""What to set for ADK's Gemini to have credentials (one text for the log and the docs)."""


def has_gemini_credentials(environ: Mapping[str, str] | None = None) -> bool:
    """Whether google-genai finds credentials in the environment: an API key, or Vertex
    AI (whose credentials, Application Default Credentials, are not checked here)."""
    env = os.environ if environ is None else environ
    if env.get("GOOGLE_API_KEY", "").strip() or env.get("GEMINI_API_KEY", "").strip():
        return True
    return env.get("GOOGLE_GENAI_USE_VERTEXAI", "").strip().lower() in ("true", "1")


def models_without_credentials(root: BaseNode) -> Iterator[tuple[str, str]]:
    """(agent name, model name) of each LLM agent under `root` whose model is ADK's
    Gemini with no credentials: no client or API key of its own, none in the environment.
    Its runs would fail (`model_auth_error`) on their first model call."""
    from google.adk.models.google_llm import Gemini

    from adkstream.agents.lean_gemini import LeanGemini
    from adkstream.agents.registry import llm_agent_models

    if has_gemini_credentials():
        return
    for node, model in llm_agent_models(root):
        if not isinstance(model, Gemini) or type(model).api_client not in (
            Gemini.api_client,
            LeanGemini.api_client,
        ):
            continue  # another model, or a Gemini that makes its client its own way
        kwargs = getattr(model, "client_kwargs", None) or {}
        if model.client is not None or kwargs.get("api_key") or kwargs.get("vertexai"):
            continue
        yield node.name, model.model
