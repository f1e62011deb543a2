"""Several attempts at one task, scored as pass@k (ARC-AGI's two attempts per test input).

Attempt 1 is the strategy as configured. Attempt i > 1 uses the next seed (seed + i - 1) and,
where attempt 1 was greedy (temperature 0), samples at temperature 0.7 so that it can differ.
The Result's answer is attempt 1's; it is correct when any attempt is; every attempt's events
are in the trace, and each attempt's answer and correctness in the details (`AttemptsDetails`,
which holds attempt 1's details too).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from ponder.details import AttemptsDetails
from ponder.models import Model
from ponder.strategies.config import Configured
from ponder.trace import TraceSink
from ponder.types import Compute, Result, Task, Trace

RETRY_TEMPERATURE = 0.7


def varied(strategy: Any, attempt: int) -> Any:
    """The strategy for attempt number `attempt` (0-based)."""
    if attempt == 0:
        return strategy
    changes = {}
    if getattr(strategy, "seed", None) is not None:
        changes["seed"] = strategy.seed + attempt
    if getattr(strategy, "temperature", None) == 0:
        changes["temperature"] = RETRY_TEMPERATURE
    return dataclasses.replace(strategy, **changes)


@dataclass
class Attempts(Configured):
    inner: Any
    count: int = 2

    @property
    def name(self) -> str:
        return str(self.inner.name)

    async def run(self, task: Task, model: Model, sink: TraceSink | None = None) -> Result:
        started = time.perf_counter()
        results = [await varied(self.inner, i).run(task, model, sink) for i in range(self.count)]
        trace = Trace(tuple(e for r in results for e in r.trace))
        correct = None if task.answer is None else any(bool(r.correct) for r in results)
        first = results[0]
        return Result(
            task=task,
            strategy=self.name,
            answer=first.answer,
            reasoning=first.reasoning,
            correct=correct,
            trace=trace,
            compute=Compute.of(trace, time.perf_counter() - started),
            details=AttemptsDetails(
                first.details, tuple(r.answer for r in results), tuple(r.correct for r in results)
            ),
            budget=first.budget,
        )
