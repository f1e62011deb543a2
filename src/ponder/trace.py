"""The trace of a task: what was done to answer it, event by event, under a token budget.

A trace is a list of typed, frozen events (`ponder.types`): `ModelCall` (a request, its
completions, seconds, purpose, model id), `ToolCall`, `CodeExecution`, `Observation`, `Utterance` and
`MemoryWrite`. Strategies, probes and judges record into it the same way, through a `Recorder`
created per task. Whoever runs the task hands the Recorder a `TraceSink`; each event goes to the
sink as it happens (the store's sink writes model calls to the calls table, which is the cache),
so what a task did is kept even when the task later fails.

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

import dataclasses
import time
from dataclasses import dataclass
from typing import Protocol

from ponder.errors import ConfigError, PonderError, UnsupportedAbility
from ponder.types import (
    BudgetUse,
    CodeExecution,
    Completion,
    Compute,
    Details,
    Event,
    GenerationRequest,
    MemoryWrite,
    ModelCall,
    Observation,
    Result,
    Task,
    ToolCall,
    Trace,
    Utterance,
)

__all__ = [
    "Budget",
    "BudgetExhausted",
    "BudgetUse",
    "CodeExecution",
    "Event",
    "Generator",
    "MemoryWrite",
    "ModelCall",
    "Observation",
    "Recorder",
    "ToolCall",
    "Trace",
    "TraceSink",
    "Utterance",
]


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


class TraceSink(Protocol):
    """Where a Recorder sends each event as it is recorded."""

    def emit(self, event: Event) -> None: ...


class Generator(Protocol):
    """What a Recorder calls: a model (`ponder.models.Model` is one)."""

    model_id: str
    abilities: frozenset[str]

    async def generate(self, request: GenerationRequest) -> list[Completion]: ...


class Recorder:
    """Makes and records the events of one task under a budget; each event also goes to `sink`."""

    def __init__(self, model: Generator, budget: Budget | None = None, sink: TraceSink | None = None) -> None:
        self.model = model
        self.budget = budget or Budget()
        self.sink = sink
        self.events: list[Event] = []
        self.spent = 0
        self.reserved = 0
        self.budget_hit = False
        self.started = time.perf_counter()

    @property
    def calls(self) -> list[ModelCall]:
        """The model calls recorded so far, in order."""
        return [e for e in self.events if isinstance(e, ModelCall)]

    @property
    def trace(self) -> Trace:
        return Trace(tuple(self.events))

    def require(self, ability: str, strategy: str, model: Generator | None = None) -> None:
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
        self,
        request: GenerationRequest,
        purpose: str = "generate",
        model: Generator | None = None,
        hold: int = 0,
    ) -> list[Completion]:
        """Make one call under the budget and record it. `hold`: tokens of the task budget to leave
        for the calls that must follow this one (e.g. the answer-extraction calls after the chains)."""
        fitted, cut = self._fit(request, hold)
        reservation = fitted.n * fitted.max_tokens if self.budget.per_task is not None else 0
        self.reserved += reservation
        chosen = model or self.model
        t0 = time.perf_counter()
        try:
            completions = await chosen.generate(fitted)
        finally:
            self.reserved -= reservation
        self.spent += sum(c.usage.completion_tokens for c in completions)
        self.record(ModelCall(fitted, tuple(completions), time.perf_counter() - t0, purpose, chosen.model_id))
        if cut and any(c.finish_reason == "length" for c in completions):
            self.budget_hit = True
        return completions

    def record(self, event: Event) -> None:
        """Add an event to the trace (a call made outside `generate`, such as an HTTP reward
        model's; a tool call; an observation…) and send it to the sink."""
        self.events.append(event)
        if self.sink is not None:
            self.sink.emit(event)

    def budget_use(self) -> BudgetUse:
        return BudgetUse(self.budget.per_call, self.budget.per_task, self.spent, self.budget_hit)

    def score(self, task: Task, answer: str | None) -> bool | None:
        """Whether `answer` is right; None (not scored) here. A strategy's Recorder scores it."""
        return None

    def result(
        self, task: Task, strategy: str, answer: str | None, reasoning: str, details: Details | None = None
    ) -> Result:
        """The Result of the task: its trace, compute (wall time since the Recorder was made), budget
        use and `score`."""
        return Result(
            task=task,
            strategy=strategy,
            answer=answer,
            reasoning=reasoning,
            correct=self.score(task, answer),
            trace=self.trace,
            compute=Compute.of(self.events, time.perf_counter() - self.started),
            details=details if details is not None else Details(),
            budget=self.budget_use(),
        )
