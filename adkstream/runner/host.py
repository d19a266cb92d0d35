"""Everything a server process needs to run agents: storage, sessions, the run manager."""

from __future__ import annotations

from dataclasses import dataclass

from google.adk.sessions.base_session_service import BaseSessionService

from adkstream.agents.registry import AgentRegistry
from adkstream.runner.log import EventLog
from adkstream.runner.runs import RunManager
from adkstream.runner.session_backends import close_session_service, open_session_service
from adkstream.runner.sessions import SessionStore
from adkstream.settings import Settings


@dataclass
class Host:
    """The agents, their sessions, the event log and the runs of one process."""

    settings: Settings
    agents: AgentRegistry
    session_service: BaseSessionService
    sessions: SessionStore
    log: EventLog
    runs: RunManager

    @classmethod
    async def open(
        cls,
        settings: Settings,
        agents: AgentRegistry,
        *,
        log: EventLog | None = None,
        session_service: BaseSessionService | None = None,
    ) -> Host:
        """Opens storage as `settings` say (or as given), and ends runs a dead process left."""
        if session_service is None:
            session_service = open_session_service(
                data_dir=settings.data_dir, database_url=settings.database_url
            )
        if log is None:
            from adkstream.runner.log_factory import open_log

            log = await open_log(data_dir=settings.data_dir, redis_url=settings.redis_url)
        runs = RunManager(
            agents=agents,
            session_service=session_service,
            log=log,
            max_runs=settings.max_runs,
            detach_grace_s=settings.detach_grace_s,
        )
        log.on_cancel_request(runs.on_cancel_request)
        await log.recover_interrupted()
        return cls(
            settings=settings,
            agents=agents,
            session_service=session_service,
            sessions=SessionStore(session_service, agents),
            log=log,
            runs=runs,
        )

    async def close(self) -> None:
        """Ends the runs in flight (`interrupted`), flushes the log, closes storage."""
        await self.runs.shutdown()
        await self.log.close()
        await close_session_service(self.session_service)

    def storage_description(self) -> str:
        sessions = "PostgreSQL" if self.settings.database_url else "SQLite"
        log = "Redis" if self.settings.redis_url else "SQLite"
        where = (
            f" under {self.settings.data_dir}/"
            if not (self.settings.database_url and self.settings.redis_url)
            else ""
        )
        return f"sessions: {sessions}, run log: {log}{where}"
