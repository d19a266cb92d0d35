"""Everything a server process needs to run agents: storage, sessions, the run manager."""

from __future__ import annotations

from dataclasses import dataclass

from google.adk.artifacts.base_artifact_service import BaseArtifactService
from google.adk.sessions.base_session_service import BaseSessionService

from adkstream.agents.registry import AgentRegistry
from adkstream.runner.artifacts import open_artifact_service
from adkstream.runner.datadir import DataDirLock
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
            ConfigurationError: another server holds the embedded data directory.
        """
        lock = None
        if (session_service is None and not settings.database_url) or (
            log is None and not settings.redis_url
        ):
            lock = DataDirLock(settings.data_dir)
            lock.acquire()
        if session_service is None:
            session_service = open_session_service(
                data_dir=settings.data_dir, database_url=settings.database_url
            )
        retention = Retention.from_settings(settings)
        if log is None:
            from adkstream.runner.log_factory import open_log

            log = await open_log(
                data_dir=settings.data_dir,
                redis_url=settings.redis_url,
                redis_prefix=settings.redis_prefix,
                redis_lease_s=settings.redis_lease_s,
                retention=retention,
            )
        if artifact_service is None:
            artifact_service = open_artifact_service(
                data_dir=settings.data_dir, uri=settings.artifact_uri
            )
        runs = RunManager(
            agents=agents,
            session_service=session_service,
            log=log,
            artifact_service=artifact_service,
            max_runs=settings.max_runs,
            slots=open_slots(settings),
            turns=open_turns(settings),
            max_run_s=settings.max_run_s,
            detach_grace_s=settings.detach_grace_s,
            coalesce_max_ms=settings.coalesce_max_ms,
        )
        live = LiveRuns(
            agents=agents,
            session_service=session_service,
            log=log,
            artifact_service=artifact_service,
            max_runs=settings.max_runs,
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


def open_slots(settings: Settings) -> RunSlots:
    """Per-user run slots: in Redis with the Redis log (shared by replicas), else in memory."""
    if settings.redis_url:
        return RedisSlots(
            settings.redis_url,
            settings.max_runs_per_user,
            prefix=settings.redis_prefix,
            ttl_s=settings.max_run_s + 60,
        )
    return MemorySlots(settings.max_runs_per_user)


def open_turns(settings: Settings) -> SessionTurns:
    """Whose turn each session is: in Redis with the Redis log (shared by replicas), else
    in memory."""
    if settings.redis_url:
        return RedisTurns(
            settings.redis_url, prefix=settings.redis_prefix, ttl_s=settings.max_run_s + 60
        )
    return MemoryTurns()
