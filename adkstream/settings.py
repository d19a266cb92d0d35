"""Settings: one pydantic model read from `ADKSTREAM_*` environment variables and `serve` flags.

Each field's description is also its flag's `--help` text (cli.py): one text serves both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]

HISTORY_EVENTS = 45
"""The default `history_events`: 15 plain chat turns (a turn is 3 session events: the
message, the answer and the resumable app's end-of-agent marker; one with a tool call is
5). Sessions up to that long reach the model byte-for-byte as before; longer ones cost a
run what a 15-turn session does. The bound is issue 23's: a run at 1,000 earlier turns
costs at most 2x a run in a new session. Measured (`python -m bench --only history`,
60-word answers): 1.2x on the fake-model path, 1.95x on the real Gemini path, where
google-genai converts and re-validates every content of every request (about 0.2 ms an
event, `genai_private.StreamRequest.build`); 150 events (50 turns) would cost about 4x
there (1.7x on the fake path), what a 50-turn session costs without a limit. A cheaper
request build would let this grow."""


class Settings(BaseSettings):
    """Every setting (the README's Configuration table lists them); `serve` flags override
    the environment."""

    model_config = SettingsConfigDict(env_prefix="ADKSTREAM_", extra="ignore")

    host: str = Field(
        default="127.0.0.1",
        description="the address to listen on (0.0.0.0: every interface; beyond loopback "
        "authentication must be on, or --allow-unauthenticated given)",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="the TCP port to listen on")
    log_level: LogLevel = Field(
        default="info",
        description="log level of the JSON lines on stderr: critical, error, warning, info, "
        "debug or trace",
    )
    data_dir: Path = Field(
        default=Path(".adkstream"),
        description="embedded storage: SQLite sessions and run log",
    )
    database_url: str | None = Field(
        default=None,
        description="ADK sessions in a database (postgresql+asyncpg://…); unset: SQLite in "
        "the data dir",
    )
    log_url: str | None = Field(
        default=None,
        description="the run log: redis://…, postgresql://user@host/db, sqlite:///path or "
        "memory://; unset: the Redis URL if set, else SQLite in the data dir",
    )
    limits_url: str | None = Field(
        default=None,
        description="per-user run slots, session turns and rate limits shared by replicas "
        "(redis://…); unset: the Redis URL if set, else in each process's memory",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for both the run log and the limits (redis://…), where "
        "ADKSTREAM_LOG_URL or ADKSTREAM_LIMITS_URL do not say otherwise",
    )
    redis_prefix: str = Field(
        default="adkstream",
        description="key prefix in Redis, table prefix in PostgreSQL (deployments sharing "
        "one server)",
    )
    redis_lease_s: float = Field(
        default=5.0,
        ge=0.5,
        description="a replica's lease in the shared run log (Redis or PostgreSQL): the "
        "runs of a replica that died end this long after its last renewal",
    )
    artifact_uri: str | None = Field(
        default=None,
        description="artifact store, as ADK's --artifact_service_uri (gs://bucket, "
        "file:///path, memory://); unset: files under the data dir",
    )
    dev_ui: bool = Field(
        default=False,
        description="serve ADK's dev UI (adk web) at /dev-ui/ from the installed google-adk; "
        "/ redirects there and the chat page moves to /chat",
    )
    thoughts: bool = Field(
        default=True, description="stream the model's thinking (reasoning.* events)"
    )
    pause_expiry_s: float | None = Field(
        default=None,
        gt=0,
        description="how long a waiting run takes answers (unset: no limit)",
    )
    run_retention_s: float = Field(
        default=7 * 24 * 3600.0,
        ge=0,
        description="how long a finished run's events and record are kept (0: for ever)",
    )
    """How long a finished run's log is kept (0: for ever); see runner/retention.py."""
    session_retention_s: float = Field(
        default=0.0,
        ge=0,
        description="sessions not updated for this long are deleted (0: never)",
    )
    """Sessions not updated for this long are deleted (0, the default: never)."""
    model: str = Field(
        default="gemini-2.5-flash",
        description="model of the built-in agents when GOOGLE_API_KEY is set",
    )
    lean_gemini: bool = Field(
        default=True,
        description="read Gemini's plain text stream chunks without google-genai's per-chunk "
        "model building (agents on ADK's Gemini class; everything else goes through genai)",
    )
    offline_tokens_per_s: float = Field(
        default=40.0, ge=0, description="offline model speed (0: no delay)"
    )
    offline_reply_tokens: int = Field(default=60, ge=1, description="offline model answer length")
    coalesce_ms: int = Field(
        default=30, ge=0, le=1000, description="coalescing window in ms (0: off)"
    )
    coalesce_max_ms: int = Field(
        default=1000,
        ge=0,
        le=10_000,
        description="the widest the coalescing window grows while the server is overloaded",
    )
    heartbeat_s: float = Field(default=15.0, gt=0, description="SSE ping interval")
    detach_grace_s: float = Field(
        default=300.0, ge=0, description="how long an unwatched `continue` run may go on"
    )
    if_busy: Literal["reject", "enqueue", "interrupt", "rollback"] = Field(
        default="reject",
        description="what a run does when its session has one in progress: reject, enqueue, "
        "interrupt or rollback",
    )
    max_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="request body limit (413 over it)"
    )
    max_runs: int = Field(
        default=1000, ge=1, description="concurrent runs per process (503 over it)"
    )
    max_runs_per_user: int = Field(
        default=8, ge=1, description="concurrent runs per user (429 over it)"
    )
    max_run_s: float = Field(
        default=600.0, gt=0, description="longest run; then run.failed with code timeout"
    )
    history_events: int = Field(
        default=HISTORY_EVENTS,
        ge=0,
        description="how many of a session's latest events a run loads for the model "
        "(0: all of them); the session keeps every event",
    )
    """Without a bound every run reloads, re-validates and sends the whole session, so a
    run's CPU grows with the conversation (issue 23); see `HISTORY_EVENTS` for the default."""
    max_message_chars: int = Field(
        default=32_000, ge=1, description="message length limit (422 over it)"
    )
    rate_limit: str = Field(
        default="60/minute", description="requests per user (limits syntax; 429 over it)"
    )
    rate_limit_local: bool = Field(
        default=False,
        description="rate-limit the single local user too (auth off); by default only "
        "authenticated users are limited",
    )
    cors_origins: str | None = Field(
        default=None, description="allowed browser origins, comma-separated"
    )
    allowed_hosts: str | None = Field(
        default=None,
        description="host names the server answers to, comma-separated (*.example.com, *); "
        "others get 421",
    )
    api_keys: str | None = Field(
        default=None, description="KEY=USER,KEY=USER or @FILE; set: authentication on"
    )
    jwt_secret: str | None = Field(default=None, description="JWT bearer auth with HS256")
    jwt_public_key_file: Path | None = Field(
        default=None, description="JWT bearer auth with RS256 / ES256 (a PEM file)"
    )
    jwt_audience: str | None = Field(default=None, description="required JWT `aud` claim")
    jwt_issuer: str | None = Field(default=None, description="required JWT `iss` claim")
    authenticator: str | None = Field(
        default=None, description="module:attr, your own authenticator"
    )
    live_idle_s: float = Field(
        default=300.0, gt=0, description="a live socket with no frame for this long is closed"
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="time a client has to send each request's headers, else the connection "
        "is closed",
    )
    keep_alive_s: int = Field(
        default=5,
        ge=1,
        description="an idle kept-alive connection is closed after this many seconds",
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        description="open connections per process (503 past it)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def recent_events(self) -> int | None:
        """How many of a session's latest events ADK loads for a run; None: all of them
        (`history_events` 0: ADK's `num_recent_events=0` would load none)."""
        return self.history_events or None

    @property
    def run_log_url(self) -> str | None:
        """The run log's storage URL; None: the embedded default in the data dir."""
        return self.log_url or self.redis_url

    @property
    def shared_limits_url(self) -> str | None:
        """Where replicas share limits (Redis); None: each process keeps its own."""
        return self.limits_url or self.redis_url

    @property
    def auth_enabled(self) -> bool:
        return bool(
            self.api_keys or self.jwt_secret or self.jwt_public_key_file or self.authenticator
        )

    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]
