"""What stands before a request reaches a model: the API key (compared in constant time), the
body size limit (an ASGI middleware, so an oversized body is refused before it is read whole) and
the concurrency gate (a request over the limit gets 429 and Retry-After at once, never a queue
that grows without bound).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

from ponder.server.errors import APIError

Scope = dict[str, Any]


def check_key(header: str | None, keys: Sequence[str]) -> None:
    """Raise 401 unless `header` is `Bearer KEY` for one of `keys` (every key compared, each in
    constant time, so the reply's timing says nothing of which key came close)."""
    if not keys:
        return
    scheme, _, token = (header or "").partition(" ")
    given = token.strip().encode() if scheme.lower() == "bearer" else b""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode())
    if not matched:
        message = "missing API key: send Authorization: Bearer KEY" if not given else "incorrect API key"
        raise APIError(401, message, "invalid_request_error", code="invalid_api_key")


class Gate:
    """At most `limit` requests in flight; `enter` refuses the one over it with 429."""

    def __init__(self, limit: int, retry_after_s: int) -> None:
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.refused = 0

    def enter(self) -> None:
        if self.in_flight >= self.limit:
            self.refused += 1
            raise APIError(
                429,
                f"the server is answering {self.limit} requests already; retry after {self.retry_after_s} s",
                "rate_limit_error",
                code="server_busy",
                headers={"Retry-After": str(self.retry_after_s)},
            )
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1


class BodyLimit:
    """An ASGI middleware refusing request bodies over `max_bytes` with 413: by Content-Length
    before reading, else while reading."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        error = APIError(413, f"the request body is over {self.max_bytes} bytes", code="body_too_large")
        body = json.dumps(error.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    """Raised by the counting receive: the body went over the limit while it was read."""


def over_limit(exc: BaseException) -> bool:
    """Whether `exc` was caused by a body over the limit (FastAPI wraps errors met while reading
    a body into a 400 whose cause is that error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _TooLarge):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
