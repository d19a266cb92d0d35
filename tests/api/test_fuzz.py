"""Schemathesis against /openapi.json: generated requests for every operation, bounded in
count, find no 5xx and no answer that breaks the documented schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from adkstream.api import create_app
from adkstream.api.openapi import openapi_document
from adkstream.settings import Settings
from tests.servers import serve_app_in_thread

schema = schemathesis.openapi.from_dict(openapi_document())
PROTOCOL_BODIES = {"/v1/agui/{agent}", "/v1/vercel/{agent}", "/v1/chat/completions"}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        Settings(
            data_dir=data_dir,
            offline_tokens_per_s=0,
            offline_reply_tokens=5,
            rate_limit="100000/minute",
            max_runs_per_user=10000,
        )
    )
    with serve_app_in_thread(app) as url:
        yield url


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_fuzz_api_conforms(case: schemathesis.Case, base_url: str) -> None:
    # A fresh Idempotency-Key per request: generated bodies that happen to repeat must not
    # join (or be refused as a different body under) an earlier request's key.
    key = {"Idempotency-Key": uuid.uuid4().hex}
    # A protocol's body is its protocol's (described as any object): what it refuses is
    # that protocol's business, but never with a 5xx or an undocumented answer.
    loose = case.operation.path in PROTOCOL_BODIES
    excluded = [positive_data_acceptance] if loose else None
    case.call_and_validate(base_url=base_url, headers=key, excluded_checks=excluded, timeout=30)
