"""Everything a server process needs to run agents: storage, sessions, the run manager."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy.exc
from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.sessions.base_session_service import BaseSessionService

from adkstream.agents.lean_gemini import install_lean_gemini
from adkstream.agents.registry import AgentRegistry
from adkstream.errors import ConfigurationError
from adkstream.runner.artifacts import open_artifact_service
from adkstream.runner.datadir import DataDirLock
from adkstream.runner.lifecycle import RunServices
from adkstream.runner.live import LiveRuns
from adkstream.runner.log import EventLog
from adkstream.runner.pruner import Pruner
from adkstream.runner.retention import Retention
from adkstream.runner.runs import RunManager
from adkstream.runner.session_backends import close_session_service, open_session_service
from adkstream.runner.session_retention import SessionPruner
from adkstream.runner.session_turns import MemoryTurns, RedisTurns, SessionTurns
from adkstream.runner.sessions import SessionStore
from adkstream.runner.slots import MemorySlots, RedisSlots, RunSlots
from adkstream.settings import Settings


@dataclass
class Host:
    """The agents, their sessions, the event log and the runs of one process."""

    settings: Settings
    agents: AgentRegistry
    session_service: BaseSessionService
    artifact_service: BaseArtifactService
    sessions: SessionStore
    log: EventLog
    runs: RunManager
    live: LiveRuns
    pruner: Pruner
    data_dir_lock: DataDirLock | None = None

    @classmethod
    async def open(
        cls,
        settings: Settings,
        agents: AgentRegistry,
        *,
        log: EventLog | None = None,
        session_service: BaseSessionService | None = None,
        artifact_service: BaseArtifactService | None = None,
    ) -> Host:
        """Opens storage as `settings` say (or as given), and ends runs a dead process left.

        Raises:
            ConfigurationError: another server holds the embedded data directory, or it
                cannot be written; the database URL is not one; Redis cannot be reached.
        """
        lock = None
        if (session_service is None and not settings.database_url) or (
            log is None and not settings.run_log_url
        ):
            lock = DataDirLock(settings.data_dir)
            lock.acquire()
        try:
            if session_service is None:
                session_service = _open_sessions(settings)
            retention = Retention.from_settings(settings)
            if log is None:
                log = await _open_log(settings, retention)
            if artifact_service is None:
                artifact_service = open_artifact_service(
                    data_dir=settings.data_dir, uri=settings.artifact_uri
                )
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        if settings.lean_gemini:
            for agent in agents:
                install_lean_gemini(agent.root)
        services = RunServices(agents, session_service, log, artifact_service)
        runs = RunManager(
            services,
            max_runs=settings.max_runs,
            slots=open_slots(settings),
            turns=open_turns(settings),
            max_run_s=settings.max_run_s,
            detach_grace_s=settings.detach_grace_s,
            coalesce_max_ms=settings.coalesce_max_ms,
            recent_events=settings.recent_events,
        )
        live = LiveRuns(
            services,
            max_runs=settings.max_runs,
            max_run_s=settings.max_run_s,
            recent_events=settings.recent_events,
        )
        log.on_cancel_request(runs.on_cancel_request)
        await log.recover_interrupted()
        # After recovery: a run a dead process left is ended (and then kept) first.
        app_names = [agent.name for agent in agents]
        pruner = Pruner(retention, log, SessionPruner(session_service, app_names, log))
        pruner.start()
        return cls(
            settings=settings,
            agents=agents,
            session_service=session_service,
            artifact_service=artifact_service,
            sessions=SessionStore(session_service, agents),
            log=log,
            runs=runs,
            live=live,
            pruner=pruner,
            data_dir_lock=lock,
        )

    async def close(self) -> None:
        """Ends the runs in flight (`interrupted`), flushes the log, closes storage."""
        await self.pruner.stop()
        await self.live.shutdown()
        await self.runs.shutdown()
        await self.runs.slots.close()
        await self.runs.turns.close()
        await self.log.close()
        await close_session_service(self.session_service)
        if self.data_dir_lock is not None:
            self.data_dir_lock.release()


def _open_sessions(settings: Settings) -> BaseSessionService:
    """The session service; a database URL that is none is a `ConfigurationError`."""
    try:
        return open_session_service(data_dir=settings.data_dir, database_url=settings.database_url)
    except (ValueError, ImportError, sqlalchemy.exc.ArgumentError) as exc:
        if not settings.database_url:
            raise
        raise ConfigurationError(
            f"ADKSTREAM_DATABASE_URL: {redact_url(settings.database_url)!r} is not a database "
            f"URL adkstream can open ({_first_line(exc)}); "
            "expected e.g. postgresql+asyncpg://user:password@host:5432/db"
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"ADKSTREAM_DATA_DIR: cannot write to {str(settings.data_dir)!r} "
            f"({exc.strerror or exc})"
        ) from None


async def _open_log(settings: Settings, retention: Retention) -> EventLog:
    """The event log; storage out of reach (or a URL that is none) is a
    `ConfigurationError` naming the setting."""
    from adkstream.runner.log_factory import default_log_url, open_log
    from adkstream.runner.storage import scheme

    url = settings.run_log_url
    try:
        return await open_log(
            url or default_log_url(settings.data_dir),
            prefix=settings.redis_prefix,
            lease_s=settings.redis_lease_s,
            retention=retention,
        )
    except (Exception, sqlite3.Error) as exc:  # every backend's own errors
        if url is None:
            raise ConfigurationError(
                f"ADKSTREAM_DATA_DIR: cannot open the run log in {str(settings.data_dir)!r} "
                f"({_first_line(exc)})"
            ) from None
        setting = "ADKSTREAM_LOG_URL" if settings.log_url else "ADKSTREAM_REDIS_URL"
        server = {"redis": "Redis", "postgresql": "PostgreSQL"}.get(scheme(url), "the run log")
        raise ConfigurationError(
            f"{setting}: cannot reach {server} at {redact_url(url)} ({_first_line(exc)})"
        ) from None


def redact_url(url: str) -> str:
    """`url` without its password (for messages and banners)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def open_slots(settings: Settings) -> RunSlots:
    """Per-user run slots: in Redis when limits are shared by replicas, else in memory."""
    if settings.shared_limits_url:
        return RedisSlots(
            settings.shared_limits_url,
            settings.max_runs_per_user,
            prefix=settings.redis_prefix,
            ttl_s=settings.max_run_s + 60,
        )
    return MemorySlots(settings.max_runs_per_user)


def open_turns(settings: Settings) -> SessionTurns:
    """Whose turn each session is: in Redis when limits are shared by replicas, else in
    memory."""
    if settings.shared_limits_url:
        return RedisTurns(
            settings.shared_limits_url, prefix=settings.redis_prefix, ttl_s=settings.max_run_s + 60
        )
    return MemoryTurns()
