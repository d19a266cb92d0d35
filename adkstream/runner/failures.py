"""The one seam where errors from ADK and google-genai become stable `run.failed` codes.

The message sent to clients is ours, never the exception's text (ADK sends `str(exc)`
to its clients; it can hold request details and internals). The log gets the traceback.
"""

from __future__ import annotations

import sqlite3

import google.auth.exceptions
import redis.exceptions
import sqlalchemy.exc
from google.genai import errors as genai_errors

from adkstream.events import ErrorInfo

RATE_LIMITED = ErrorInfo(
    code="rate_limited", message="The model is rate limited; try again in a moment."
)
MODEL_ERROR = ErrorInfo(code="model_error", message="The model failed to answer.")
MODEL_AUTH = ErrorInfo(
    code="model_auth_error", message="The server's model credentials were refused."
)
MODEL_NO_CREDENTIALS = ErrorInfo(
    code="model_auth_error", message="The server has no credentials for its model."
)
TIMEOUT = ErrorInfo(code="timeout", message="The run took longer than the server allows.")
INTERRUPTED = ErrorInfo(
    code="interrupted", message="The server stopped while the run was in progress."
)
INTERNAL = ErrorInfo(code="internal_error", message="The run failed on the server.")
STORAGE = ErrorInfo(
    code="storage_unavailable", message="The server's storage is unavailable; try again."
)
STORAGE_LOST = ErrorInfo(
    code="storage_lost",
    message="The server's storage lost the run while it was in progress; start it again.",
)
STORAGE_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,  # a database driver that cannot connect (asyncpg raises it raw)
    sqlite3.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def classify(exc: BaseException) -> ErrorInfo:
    """The stable error for an exception raised by a run."""
    if isinstance(exc, genai_errors.APIError):
        if exc.code == 429:
            return RATE_LIMITED
        if exc.code in (401, 403):
            return MODEL_AUTH
        return MODEL_ERROR
    if _missing_credentials(exc):
        return MODEL_NO_CREDENTIALS
    if isinstance(exc, STORAGE_ERRORS):
        return STORAGE
    if isinstance(exc, TimeoutError):
        return TIMEOUT
    return INTERNAL


def _missing_credentials(exc: BaseException) -> bool:
    """google-genai's client found no credentials: it raises a `ValueError` from its
    constructor ("No API key was provided", "Project and location or API key must be
    set", ...) before any request; google-auth, no Application Default Credentials."""
    if isinstance(exc, google.auth.exceptions.DefaultCredentialsError):
        return True
    if not isinstance(exc, ValueError):
        return False
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    frame = tb.tb_frame
    return (
        frame.f_globals.get("__name__") == "google.genai._api_client"
        and frame.f_code.co_name == "__init__"
    )


def classify_error_code(error_code: str) -> ErrorInfo:
    """The stable error for an ADK event's `error_code` when the run ends without raising."""
    if error_code in ("RESOURCE_EXHAUSTED", "429"):
        return RATE_LIMITED
    return MODEL_ERROR
