"""A conversation's budget and what it has spent: completion tokens, seconds and model calls of
every agent together. Checked before each call and never overshot: a call's `max_tokens` is cut
to the tokens left, its time to the seconds left, and no call starts when none is left."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ponder.errors import ConfigError


@dataclass(frozen=True)
class ChatBudget:
    """Limits on a whole conversation (None: no limit)."""

    tokens: int | None = None  # completion tokens generated
    seconds: float | None = None
    calls: int | None = None

    def __post_init__(self) -> None:
        for name in ("tokens", "seconds", "calls"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"the chat budget's {name} must be positive, got {value}")


class BudgetSpent(Exception):
    """No call may start: `reason` names the limit (tokens, seconds or calls)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"budget: {reason}")
        self.reason = reason


class Meter:
    """What a conversation has spent against its budget."""

    def __init__(self, budget: ChatBudget | None = None) -> None:
        self.budget = budget or ChatBudget()
        self.tokens = 0
        self.calls = 0
        self.started = time.monotonic()

    def seconds_left(self) -> float | None:
        if self.budget.seconds is None:
            return None
        return self.budget.seconds - (time.monotonic() - self.started)

    def admit(self, max_tokens: int) -> int:
        """The `max_tokens` a call may have now; BudgetSpent when no call may start."""
        if self.budget.calls is not None and self.calls >= self.budget.calls:
            raise BudgetSpent("calls")
        left = self.seconds_left()
        if left is not None and left <= 0:
            raise BudgetSpent("seconds")
        if self.budget.tokens is not None:
            tokens_left = self.budget.tokens - self.tokens
            if tokens_left < 1:
                raise BudgetSpent("tokens")
            max_tokens = min(max_tokens, tokens_left)
        return max_tokens

    def charge(self, completion_tokens: int) -> None:
        self.calls += 1
        self.tokens += completion_tokens
