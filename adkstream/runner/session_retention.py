"""Session retention: deletes the sessions nobody updated for `Retention.sessions_s`.

Sessions go through ADK's session service (`delete_session`: the session's events go
with it; user and app state stay, they are not the session's), unless a run of the
session still needs it (`Retention.session_in_use`: it runs, or waits for answers it can
still take). The embedded SQLite service is asked for idle sessions by one indexed
query, of whichever agent; any other service (PostgreSQL, one of your own) has each
hosted agent's sessions listed, since ADK has no query by age: a sweep then reads every
session of those agents, state included. Artifacts are not deleted (nor are they by
`DELETE /v1/sessions/{id}`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from google.adk.sessions.base_session_service import BaseSessionService

from adkstream.runner.log import EventLog
from adkstream.runner.retention import Retention
from adkstream.runner.run_record import RunStatus
from adkstream.runner.session_backends import EmbeddedSqliteSessionService

PAGE = 100
"""Idle sessions looked at per query of the embedded service."""


class SessionPruner:
    """Deletes idle sessions; see the module docstring.

    Args:
        service: ADK's session service.
        app_names: the hosted agents (a session's app is its agent).
        log: the run log, asked whether a session's runs still need it.
    """

    def __init__(
        self, service: BaseSessionService, app_names: Sequence[str], log: EventLog
    ) -> None:
        self.service = service
        self.app_names = tuple(app_names)
        self.log = log

    async def prune(self, retention: Retention, *, now: float) -> int:
        """Deletes the sessions idle since before `now - retention.sessions_s`.

        Returns:
            How many it deleted.
        """
        before = retention.sessions_idle_before(now)
        if before is None:
            return 0
        if isinstance(self.service, EmbeddedSqliteSessionService):
            return await self._prune_embedded(self.service, before, retention, now)
        deleted = 0
        for app_name in self.app_names:
            listed = await self.service.list_sessions(app_name=app_name)
            for session in listed.sessions:
                if session.last_update_time >= before:
                    continue
                if await self._delete_unless_in_use(
                    app_name, session.user_id, session.id, retention, now
                ):
                    deleted += 1
        return deleted

    async def _prune_embedded(
        self, service: EmbeddedSqliteSessionService, before: float, retention: Retention, now: float
    ) -> int:
        deleted = kept = 0
        while True:
            page = await service.idle_sessions(before=before, limit=PAGE, offset=kept)
            for app_name, user_id, session_id in page:
                if await self._delete_unless_in_use(app_name, user_id, session_id, retention, now):
                    deleted += 1
                else:
                    kept += 1  # skipped by the next page's offset
            if len(page) < PAGE:
                return deleted
            await asyncio.sleep(0)  # a page at a time: the loop's streams go on in between

    async def _delete_unless_in_use(
        self, app_name: str, user_id: str, session_id: str, retention: Retention, now: float
    ) -> bool:
        for record in await self.log.list_runs(session_id):
            answered = (
                record.status is RunStatus.WAITING
                and await self.log.answered_by(record.run_id) is not None
            )
            if retention.session_in_use(record, answered=answered, now=now):
                return False
        await self.service.delete_session(app_name=app_name, user_id=user_id, session_id=session_id)
        return True
