"""Settings: one pydantic model read from `ADKSTREAM_*` environment variables and `serve` flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of ARCHITECTURE.md's table; `serve` flags override the environment."""

    model_config = SettingsConfigDict(env_prefix="ADKSTREAM_", extra="ignore")

    data_dir: Path = Path(".adkstream")
    database_url: str | None = None
    redis_url: str | None = None
    model: str = "gemini-2.5-flash"
    offline_tokens_per_s: float = Field(default=40.0, ge=0)
    offline_reply_tokens: int = Field(default=60, ge=1)
    coalesce_ms: int = Field(default=30, ge=0, le=1000)
    heartbeat_s: float = Field(default=15.0, gt=0)
    detach_grace_s: float = Field(default=300.0, ge=0)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_runs: int = Field(default=1000, ge=1)
    cors_origins: str | None = None
