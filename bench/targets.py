"""What the load generator calls: a server kind plus the request that starts one stream.

adkstream and ADK's api server get a fresh session per stream, created before the
stream's clock starts (a conversation's later turns reuse theirs); the raw ADK endpoint
creates an in-memory session inside its request, as such an endpoint would.

A target also says how to read its stream cheaply: byte markers for the first model
delta, the normal end and an error, checked line by line on the raw SSE bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.apps import APP_NAME, USER_ID

PROMPT = "Tell me a long story, please."


def wire_delta_text(event: dict[str, Any]) -> str | None:
    """The new text of an adkstream (or floor) `message.delta` event."""
    return event.get("text") if event.get("type") == "message.delta" else None


def adk_delta_text(event: dict[str, Any]) -> str | None:
    """The text of a partial ADK event, in either of ADK's JSON spellings."""
    if not event.get("partial"):
        return None
    parts = (event.get("content") or {}).get("parts") or []
    return "".join(part.get("text") or "" for part in parts)


@dataclass(frozen=True)
class Target:
    """One column of the tables.

    Attributes:
        name: the label in the tables.
        server: the `bench.servers` kind that serves it.
        path: the route that starts a stream.
        body: the JSON body, completed by `prepare`.
        session_route: where to create the session of each stream first (its `id`
            goes into the body as `session_id`); None: the route creates its own.
        delta: a line containing this is a model delta.
        done: a line containing this means the run ended normally.
        errors: a line containing one of these reports an error inside the stream.
        delta_text: the model text a decoded `data:` event carries, if it is a delta.
    """

    name: str
    server: str
    path: str
    body: dict[str, Any] = field(default_factory=dict)
    delta: bytes = b""
    done: bytes = b""
    errors: tuple[bytes, ...] = ()
    delta_text: Callable[[dict[str, Any]], str | None] = wire_delta_text
    session_route: str | None = None

    async def prepare(self, client: httpx.AsyncClient, base_url: str) -> dict[str, Any]:
        """The body of one stream request, with a new session where the target takes one."""
        if self.session_route is None:
            return self.body
        response = await client.post(base_url + self.session_route, json={})
        response.raise_for_status()
        return self.body | {"session_id": response.json()["id"]}


def adkstream(coalesce_ms: int | None = None) -> Target:
    """adkstream's `POST /v1/runs` in a new session; `coalesce_ms` None: the server default."""
    body: dict[str, Any] = {"message": PROMPT}
    if coalesce_ms is not None:
        body["coalesce_ms"] = coalesce_ms
    label = "adkstream" if coalesce_ms is None else f"adkstream coalesce={coalesce_ms}ms"
    return Target(
        name=label,
        server="adkstream",
        path="/v1/runs",
        body=body,
        delta=b"event: message.delta",
        done=b"event: run.completed",
        errors=(b"event: run.failed",),
        session_route="/v1/sessions",
    )


RAW_ADK = Target(
    name="raw ADK endpoint",
    server="raw_adk",
    path="/run",
    body={"message": PROMPT},
    delta=b'"partial":true',
    done=b'"turn_complete":true',
    errors=(b'"error_code":"',),
    delta_text=adk_delta_text,
)

ADK_API = Target(
    name="ADK api server",
    server="adk_api",
    path="/run_sse",
    body={
        "app_name": APP_NAME,
        "user_id": USER_ID,
        "new_message": {"role": "user", "parts": [{"text": PROMPT}]},
        "streaming": True,
    },
    delta=b'"partial":true',
    done=b'"turnComplete":true',
    errors=(b'data: {"error"', b'"errorCode":"'),
    delta_text=adk_delta_text,
    session_route=f"/apps/{APP_NAME}/users/{USER_ID}/sessions",
)

ADKSTREAM_ADK = dataclasses.replace(ADK_API, name="adkstream, ADK's /run_sse", server="adkstream")
"""The same requests as ADK's api server gets, to adkstream's ADK REST API."""

FLOOR = Target(
    name="floor (no ADK)",
    server="floor",
    path="/run",
    body={"message": PROMPT},
    delta=b'"message.delta"',
    done=b'"message.completed"',
    errors=(b'"error"',),
)
