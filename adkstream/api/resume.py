"""Continuing a waiting run, whichever route the answers come by (native, ADK-style
`functionResponse` parts, AG-UI, Vercel, OpenAI): find the session's waiting run, claim
it (one answer wins across replicas), and start the run that continues ADK's paused
invocation with the answers. Also the client-side tools a run declares, checked."""

from __future__ import annotations

import time

import jsonschema
from google.genai import types

from adkstream.agents.client_tools import ClientToolSpec
from adkstream.api.bodies import ClientToolBody
from adkstream.errors import ConflictError, RequestError
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord, RunStatus
from adkstream.runner.runs import DisconnectPolicy, Run, RunRequest, new_run_id


async def waiting_runs(host: Host, user: str, session_id: str) -> list[RunRecord]:
    """The user's runs of the session that wait and were not answered, newest first."""
    records = await host.log.list_runs(session_id)
    found = []
    for record in reversed(records):
        if record.user_id != user or record.status is not RunStatus.WAITING:
            continue
        if await host.log.answered_by(record.run_id) is None:
            found.append(record)
    return found


async def continue_run(
    host: Host,
    record: RunRecord,
    message: types.Content,
    *,
    on_disconnect: DisconnectPolicy = "cancel",
    client_tools: tuple[ClientToolSpec, ...] | None = None,
) -> Run:
    """Claims waiting run `record` and starts the run that continues it with `message`.

    Args:
        client_tools: the tools the client declares now; None: those the run declared.

    Raises:
        ConflictError: another answer claimed the run first (409, `already_answered`),
            or the run waited longer than `pause_expiry_s` (409, `run_expired`).
    """
    expiry = host.settings.pause_expiry_s
    ended = record.ended_at
    if expiry is not None and ended is not None and time.time() > ended + expiry:
        raise ConflictError(
            f"run {record.run_id!r} waited longer than {expiry:g} s; its answers expired",
            code="run_expired",
        )
    run_id = new_run_id()
    holder = await host.log.claim_answer(record.run_id, by=run_id)
    if holder != run_id:
        raise ConflictError(
            f"run {record.run_id!r} was answered already; run {holder!r} continues it",
            code="already_answered",
        )
    if client_tools is None:
        client_tools = tuple(ClientToolSpec(**tool) for tool in record.client_tools)
    return await host.runs.start(
        RunRequest(
            agent=host.agents.get(record.agent),
            user_id=record.user_id,
            session_id=record.session_id,
            message=message,
            coalesce_ms=host.settings.coalesce_ms,
            on_disconnect=on_disconnect,
            thoughts=host.settings.thoughts,
            invocation_id=record.invocation_id,
            resumes=record.run_id,
            client_tools=client_tools,
            if_busy=host.settings.if_busy,
        ),
        run_id=run_id,
    )


def client_tool_specs(tools: list[ClientToolBody], *, field: str) -> tuple[ClientToolSpec, ...]:
    """The declared client tools, their parameters checked as JSON Schema (422 if not)."""
    specs = []
    for index, tool in enumerate(tools):
        try:
            jsonschema.Draft202012Validator.check_schema(tool.parameters)
        except jsonschema.SchemaError as exc:
            raise RequestError(
                f"{field}.{index}.parameters is not a JSON Schema: {exc.message}",
                field=f"{field}.{index}.parameters",
                status=422,
            ) from None
        specs.append(ClientToolSpec(tool.name, tool.description, tool.parameters))
    # Of two declarations of one name, the later counts (as a redefinition would).
    return tuple({spec.name: spec for spec in specs}.values())
