"""Settings: one pydantic model read from `ADKSTREAM_*` environment variables and `serve` flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting (the README's Configuration table lists them); `serve` flags override
    the environment."""

    model_config = SettingsConfigDict(env_prefix="ADKSTREAM_", extra="ignore")

    data_dir: Path = Path(".adkstream")
    database_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "adkstream"
    redis_lease_s: float = Field(default=5.0, ge=0.5)
    artifact_uri: str | None = None
    thoughts: bool = True
    pause_expiry_s: float | None = Field(default=None, gt=0)
    run_retention_s: float = Field(default=7 * 24 * 3600.0, ge=0)
    """How long a finished run's log is kept (0: for ever); see runner/retention.py."""
    session_retention_s: float = Field(default=0.0, ge=0)
    """Sessions not updated for this long are deleted (0, the default: never)."""
    model: str = "gemini-2.5-flash"
    offline_tokens_per_s: float = Field(default=40.0, ge=0)
    offline_reply_tokens: int = Field(default=60, ge=1)
    coalesce_ms: int = Field(default=30, ge=0, le=1000)
    coalesce_max_ms: int = Field(default=1000, ge=0, le=10_000)
    heartbeat_s: float = Field(default=15.0, gt=0)
    detach_grace_s: float = Field(default=300.0, ge=0)
    if_busy: Literal["reject", "enqueue", "interrupt", "rollback"] = "reject"
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_runs: int = Field(default=1000, ge=1)
    max_runs_per_user: int = Field(default=8, ge=1)
    max_run_s: float = Field(default=600.0, gt=0)
    max_message_chars: int = Field(default=32_000, ge=1)
    rate_limit: str = "60/minute"
    cors_origins: str | None = None
    allowed_hosts: str | None = None
    api_keys: str | None = None
    jwt_secret: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    authenticator: str | None = None
    live_idle_s: float = Field(default=300.0, gt=0)
    header_timeout_s: float = Field(default=10.0, gt=0)
    keep_alive_s: int = Field(default=5, ge=1)
    max_connections: int = Field(default=2048, ge=1)

    @property
    def auth_enabled(self) -> bool:
        return bool(
            self.api_keys or self.jwt_secret or self.jwt_public_key_file or self.authenticator
        )

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]
