"""Errors in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the status
OpenAI would give: 400 for a request ponder cannot honour, 401 for a missing or wrong key, 404 for
an unknown model or trace, 413 for a body over the limit, 429 when every slot is busy (with
Retry-After), 502 when the backend failed, 504 when the request ran past its time limit.
"""

from __future__ import annotations

from typing import Any

from ponder.errors import (
    ConfigError,
    ContextOverflow,
    DataError,
    FatalModelError,
    ModelError,
    ModelUnavailable,
    ReplyFormatError,
    RequestError,
    UnsupportedAbility,
)
from ponder.server.schema import ErrorResponse


class APIError(Exception):
    """An error reply: its HTTP status and OpenAI's error fields."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, "invalid_request_error", param, code)


def unsupported(param: str, why: str) -> APIError:
    return APIError(400, f"{param}: {why}", "invalid_request_error", param, "unsupported_parameter")


def from_exception(e: BaseException) -> APIError:
    """The reply for an exception raised while serving a request."""
    if isinstance(e, APIError):
        return e
    if isinstance(e, (ConfigError, RequestError, DataError, ReplyFormatError)):
        return bad_request(str(e))
    if isinstance(e, (UnsupportedAbility, ContextOverflow)):
        return bad_request(str(e), code="unsupported_by_backend")
    if isinstance(e, ModelUnavailable):
        return APIError(502, f"the backend is unavailable: {e}", "upstream_error", code="backend_unavailable")
    if isinstance(e, FatalModelError):
        return APIError(502, f"the backend refused the request: {e}", "upstream_error", code="backend_error")
    if isinstance(e, ModelError):
        return APIError(502, f"the backend failed: {e}", "upstream_error", code="backend_unavailable")
    if isinstance(e, TimeoutError):
        return APIError(504, "the request ran past the server's time limit", "timeout", code="timeout")
    return APIError(500, f"internal error: {type(e).__name__}", "server_error", code="internal_error")


RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": what}
    for status, what in (
        (400, "A request ponder cannot honour"),
        (401, "A missing or wrong API key"),
        (404, "An unknown model or trace"),
        (413, "A request body over the limit"),
        (429, "Every slot is busy; retry after Retry-After seconds"),
        (502, "The backend failed"),
        (504, "The request ran past the time limit"),
    )
}
