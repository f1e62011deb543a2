"""What every strategy shares: the token budget and the recorder that makes a task's calls.

A `Recorder` is created per task. Every model call goes through `Recorder.generate`, which
applies the budget, times the call and keeps it in the trace; `Recorder.result` turns the trace
into a Result with its compute.

Budgets count generated (completion) tokens, the verifier's included:
- `per_call` caps `max_tokens` of every call (per sample);
- `per_task` caps the sum over all calls of a task. Before a call, the tokens it could use
  (n × max_tokens) are reserved, so concurrent calls never overshoot; a call that does not fit
  has its max_tokens lowered to what is left, and once nothing is left the call raises
  `BudgetExhausted`, which strategies catch to answer with what they have. A call may hold back
  tokens for the calls that must follow it (the zero-shot answer-extraction calls), so that a
  budget-cut chain can still be answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ponder.errors import ConfigError, PonderError, UnsupportedAbility
from ponder.models import Model
from ponder.models.cached import call_purpose
from ponder.tasks.answers import same_answer
from ponder.types import Call, Completion, Compute, GenerationRequest, Result, Task

T = TypeVar("T")


class BudgetExhausted(PonderError):
    """The task's token budget has no tokens left for another call."""


@dataclass(frozen=True)
class Budget:
    per_call: int | None = None
    per_task: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_call", "per_task"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"budget {name} must be a positive number of tokens, got {value}")


class Recorder:
    """Makes and records the calls of one task under a budget."""

    def __init__(self, model: Model, budget: Budget | None = None) -> None:
        self.model = model
        self.budget = budget or Budget()
        self.calls: list[Call] = []
        self.spent = 0
        self.reserved = 0
        self.budget_hit = False
        self.started = time.perf_counter()

    def require(self, ability: str, strategy: str, model: Model | None = None) -> None:
        model = model or self.model
        if ability not in getattr(model, "abilities", frozenset()):
            raise UnsupportedAbility(
                f"{strategy} needs {ability} but the backend "
                f"{getattr(model, 'model_id', model)!r} does not provide it"
            )

    @property
    def exhausted(self) -> bool:
        """No tokens of the per-task budget are left."""
        return self.budget.per_task is not None and self.budget.per_task - self.spent - self.reserved < 1

    def _fit(self, request: GenerationRequest, hold: int) -> tuple[GenerationRequest, bool]:
        limit = request.max_tokens
        if self.budget.per_call is not None:
            limit = min(limit, self.budget.per_call)
        if self.budget.per_task is not None:
            left = self.budget.per_task - self.spent - self.reserved
            if left - hold >= request.n:  # hold back only what the budget can spare
                left -= hold
            if left // request.n < 1:
                self.budget_hit = True
                raise BudgetExhausted(f"token budget of {self.budget.per_task} per task is spent")
            limit = min(limit, left // request.n)
        return dataclasses.replace(request, max_tokens=limit), limit < request.max_tokens

    async def generate(
        self, request: GenerationRequest, purpose: str = "generate", model: Model | None = None, hold: int = 0
    ) -> list[Completion]:
        """Make one call under the budget. `hold`: tokens of the task budget to leave for the
        calls that must follow this one (e.g. the answer-extraction calls after the chains)."""
        fitted, cut = self._fit(request, hold)
        reservation = fitted.n * fitted.max_tokens if self.budget.per_task is not None else 0
        self.reserved += reservation
        t0 = time.perf_counter()
        try:
            with call_purpose(purpose):
                completions = await (model or self.model).generate(fitted)
        finally:
            self.reserved -= reservation
        self.spent += sum(c.usage.completion_tokens for c in completions)
        self.calls.append(Call(fitted, tuple(completions), time.perf_counter() - t0, purpose))
        if cut and any(c.finish_reason == "length" for c in completions):
            self.budget_hit = True
        return completions

    def record(self, call: Call) -> None:
        """Add a call made outside `generate` (e.g. an HTTP reward model) to the trace."""
        self.calls.append(call)

    def result(self, task: Task, strategy: str, answer: str | None, reasoning: str, **meta: Any) -> Result:
        correct = None if task.answer is None else same_answer(answer, task.answer, task.kind)
        meta["budget"] = {
            "per_call": self.budget.per_call,
            "per_task": self.budget.per_task,
            "spent": self.spent,
            "hit": self.budget_hit,
        }
        return Result(
            task=task,
            strategy=strategy,
            answer=answer,
            reasoning=reasoning,
            correct=correct,
            calls=tuple(self.calls),
            compute=Compute.of(self.calls, time.perf_counter() - self.started),
            meta=meta,
        )


async def gather_within_budget(aws: Iterable[Awaitable[T]]) -> list[T | None]:
    """Run concurrently; an awaitable stopped by the budget gives None, other errors propagate."""
    out = await asyncio.gather(*aws, return_exceptions=True)
    for x in out:
        if isinstance(x, BaseException) and not isinstance(x, BudgetExhausted):
            raise x
    return [None if isinstance(x, BaseException) else x for x in out]
