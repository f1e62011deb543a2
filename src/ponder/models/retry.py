"""Retry policy for HTTP backends: which failures are transient, and how long to wait.

Transient: timeouts, dropped or refused connections, 408, 409, 429 and 5xx. Everything else
(400, 401, 403, 404, 422, …) is fatal and never retried. Waits grow exponentially with full
jitter, capped, and honour a server's Retry-After when it gives one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TRANSIENT_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUS


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5          # total tries, the first included
    base_s: float = 0.5
    cap_s: float = 20.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number `attempt` (1-based): full jitter in
        [0, min(cap, base * 2**(attempt-1))], or the server's Retry-After if larger (capped)."""
        ceiling = min(self.cap_s, self.base_s * 2 ** (attempt - 1))
        wait = rng.uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap_s))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
