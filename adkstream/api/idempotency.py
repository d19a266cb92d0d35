"""`Idempotency-Key` on run creation: a retried `POST /v1/runs` joins the run the first
one started, instead of starting another.

The key names the run: its id is a hash of the user and the key, so a retry finds the
run wherever it runs, with no table of keys, and of two starts of one key exactly one
wins (`RunManager.start` reserves the id). The run keeps a hash of the request that
started it: the key sent again with another body is refused (422
`idempotency_key_reused`), as the IETF draft has it. A retry answers as the first
request would have: the run's stream from its start, its result, or its 202. A key lives
as long as its run is kept (`ADKSTREAM_RUN_RETENTION_S`).
"""

from __future__ import annotations

import asyncio
import hashlib
import re

from starlette.requests import Request

from adkstream.api.bodies import RunBody
from adkstream.errors import ConflictError, RequestError
from adkstream.runner.host import Host
from adkstream.runner.run_record import RunRecord

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
"""Visible ASCII, as header values are, up to 255 characters."""
FIND_RUN_S = 2.0
FIND_RUN_POLL_S = 0.02
"""How long a retry that lost the start to the first request looks for its run's record
(stored before the first request is answered), and how often."""


def idempotency_key(request: Request) -> str | None:
    """The request's key, or None.

    Raises:
        RequestError: a key that is empty, too long or not visible ASCII (400).
    """
    key = request.headers.get(HEADER)
    if key is not None and not _VALID_KEY.fullmatch(key):
        raise RequestError(f"{HEADER} must be 1 to 255 visible ASCII characters", field=HEADER)
    return key


def keyed_run_id(user: str, key: str) -> str:
    """The id of the run that `user`'s requests with `key` start (32 hex digits, as any)."""
    return hashlib.sha256(f"{user}\0{key}".encode()).hexdigest()[:32]


def request_fingerprint(body: RunBody) -> str:
    """A hash of what the request asks for (the body as validated, so that whitespace or
    the order of its fields do not count)."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def run_of_key(host: Host, run_id: str, fingerprint: str) -> RunRecord | None:
    """The run a key named before, if any; it was started by the same request.

    Raises:
        RequestError: the run was started by a request with another body (422).
    """
    record = await host.log.get_run(run_id)
    if record is not None and record.fingerprint != fingerprint:
        raise RequestError(
            f"this {HEADER} was used for a request with another body (run {run_id!r})",
            code="idempotency_key_reused",
            field=HEADER,
            status=422,
        )
    return record


async def started_meanwhile(host: Host, run_id: str, fingerprint: str) -> RunRecord:
    """The run another request with the key started while this one tried to.

    Raises:
        ConflictError: its record did not appear (the other request is still starting
            it, or failed to): 409 `idempotency_key_in_use`, worth retrying.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FIND_RUN_S
    while True:
        record = await run_of_key(host, run_id, fingerprint)
        if record is not None:
            return record
        if loop.time() >= deadline:
            raise ConflictError(
                f"another request with this {HEADER} is starting its run; retry",
                code="idempotency_key_in_use",
                field=HEADER,
            )
        await asyncio.sleep(FIND_RUN_POLL_S)
