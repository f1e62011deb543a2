"""Retry policy for HTTP backends: which failures are transient, and how long to wait.

Transient: timeouts, dropped or refused connections, 408, 409, 429, 5xx, and a 200 whose body is
not a valid reply (MalformedReply). Everything else (400, 401, 403, 404, 422, …) is fatal and
never retried. Waits grow exponentially with full jitter, capped, and honour a server's
Retry-After when it gives one.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ponder.errors import ConfigError

TRANSIENT_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


def is_transient_status(status: int) -> bool:
    return status in TRANSIENT_STATUS


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, the first included
    base_s: float = 0.5
    cap_s: float = 20.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int) or self.attempts < 1:
            raise ConfigError(
                f"retry attempts must be a whole number of tries, at least 1, got {self.attempts!r}"
            )
        for name in ("base_s", "cap_s"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"retry {name} must be a finite number of seconds >= 0, got {value!r}")

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
