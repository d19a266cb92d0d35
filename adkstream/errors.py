"""One error tree for adkstream, split by what the caller can do next.

    AdkStreamError
    ├── ConfigurationError        fix the settings or the agent reference, then restart
    │   └── AgentLoadError        an agent reference that does not import or is no agent
    ├── RequestError              the request is wrong: do not retry it as it is (4xx)
    │   ├── NotFoundError         404: no such session, run or agent (or not yours)
    │   ├── ConflictError         409: the resource is not in a state that allows it
    │   └── UnsupportedMediaError 406: no representation for that Accept
    ├── UnavailableError          try again later (429 / 503, with retry_after)
    └── RunFailedError            the run ended with `run.failed` (code, message)

Each carries a stable `code` (the `error.code` of the HTTP body) and, for request
errors, the `field` it concerns. Messages never carry exception text from below.
"""

from __future__ import annotations


class AdkStreamError(Exception):
    """Base of every error adkstream raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigurationError(AdkStreamError):
    code = "configuration_error"


class AgentLoadError(ConfigurationError):
    code = "agent_load_error"


class RequestError(AdkStreamError):
    """A request that cannot be served as it is."""

    code = "invalid_request"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.field = field
        if status is not None:
            self.status = status


class NotFoundError(RequestError):
    code = "not_found"
    status = 404


class ConflictError(RequestError):
    code = "conflict"
    status = 409


class UnsupportedMediaError(RequestError):
    code = "not_acceptable"
    status = 406


class UnavailableError(AdkStreamError):
    """Over a limit or overloaded: the same request may succeed later."""

    code = "unavailable"
    status = 503

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float = 1.0,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        if status is not None:
            self.status = status


class RunFailedError(AdkStreamError):
    """A run that ended with `run.failed`: `code` is the event's stable error code."""

    code = "run_failed"
