"""A stopped run's answer stays in its session, marked stopped.

ADK stores a model's answer only when the model finishes it: a run cancelled (or cut by
a shutdown) mid-answer leaves the user's message in the session and nothing after it,
although its client saw the answer so far. So the run adds that text itself, as events
of its own invocation with `custom_metadata["adkstream_stopped"]` (the reason); the model
reads it on the next turn like any answer. A run stopped before it said anything adds a
marker without content (the model never sees it), so that the history still shows the
turn's answer as stopped.
"""

from __future__ import annotations

from google.adk.events.event import Event
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig
from google.genai import types

STOPPED_KEY = "adkstream_stopped"
_NO_EVENTS = GetSessionConfig(num_recent_events=0)


async def keep(
    service: BaseSessionService,
    *,
    app_name: str,
    user_id: str,
    session_id: str,
    invocation_id: str,
    author: str,
    texts: list[tuple[str, str | None, str]],
    reason: str,
) -> None:
    """Appends the stopped answer: each (author, branch, text) of `texts`, or, when
    empty, a marker by `author`."""
    session = await service.get_session(
        app_name=app_name, user_id=user_id, session_id=session_id, config=_NO_EVENTS
    )
    if session is None:
        return  # deleted meanwhile
    marked = {STOPPED_KEY: reason}
    events = [
        Event(
            invocation_id=invocation_id,
            author=who,
            branch=branch,
            content=types.Content(role="model", parts=[types.Part(text=text)]),
            custom_metadata=marked,
        )
        for who, branch, text in texts
    ] or [Event(invocation_id=invocation_id, author=author, custom_metadata=marked)]
    for event in events:
        await service.append_event(session, event)


def stopped_reason(event: Event) -> str | None:
    """Why `event` is a stopped answer, or None if it is not one."""
    reason = (event.custom_metadata or {}).get(STOPPED_KEY)
    return reason if isinstance(reason, str) else None
