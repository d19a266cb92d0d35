"""The embedded SQLite session store loads a session's latest events through an index
(issue 23): runs load only `history_events` of them, and without the index SQLite reads
and sorts every event of the session to find them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from google.adk.events.event import Event
from google.adk.sessions.base_session_service import GetSessionConfig
from google.genai import types

from adkstream.runner.session_backends import EmbeddedSqliteSessionService

# ADK 2.13's query (sessions/sqlite_session_service.py, `get_session`) with a limit.
ADK_LATEST_EVENTS = (
    "SELECT event_data FROM events WHERE app_name=? AND user_id=? AND session_id=? "
    "ORDER BY timestamp DESC, rowid DESC LIMIT ?"
)


async def test_the_latest_events_come_in_order_through_the_index(tmp_path: Path) -> None:
    service = EmbeddedSqliteSessionService(str(tmp_path / "sessions.db"))
    try:
        session = await service.create_session(app_name="a", user_id="u")
        for n in range(10):
            text = types.Content(role="user", parts=[types.Part(text=f"m{n}")])
            await service.append_event(
                session, Event(invocation_id=f"i{n}", author="user", content=text)
            )
        latest = await service.get_session(
            app_name="a",
            user_id="u",
            session_id=session.id,
            config=GetSessionConfig(num_recent_events=3),
        )
    finally:
        await service.close()
    assert latest is not None
    assert [e.content.parts[0].text for e in latest.events if e.content and e.content.parts] == [
        "m7",
        "m8",
        "m9",
    ]
    db = sqlite3.connect(tmp_path / "sessions.db")
    try:
        plan = db.execute(f"EXPLAIN QUERY PLAN {ADK_LATEST_EVENTS}", ("a", "u", session.id, 3))
        steps = [row[3] for row in plan]
    finally:
        db.close()
    assert any("adkstream_events_by_session_time" in step for step in steps), steps
    assert not any("TEMP B-TREE" in step for step in steps), steps
