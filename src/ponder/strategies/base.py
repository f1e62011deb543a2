"""What every strategy shares: the token budget and the recorder that makes a task's calls.

A `Recorder` is created per task. Every model call goes through `Recorder.generate`, which
applies the budget, times the call and keeps it in the trace (see `ponder.trace`, where the budget
rules are); `Recorder.result` turns the trace into a Result with its compute, the answer scored
against the task's gold answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

from ponder import trace
from ponder.models import Model
from ponder.tasks.answers import same_answer
from ponder.trace import Budget, BudgetExhausted, TraceSink
from ponder.types import Task

__all__ = ["Budget", "BudgetExhausted", "Recorder", "TraceSink", "gather_within_budget"]

T = TypeVar("T")


class Recorder(trace.Recorder):
    """The trace's Recorder for a strategy: its model is a `Model`, and its results are scored
    against the task's gold answer."""

    model: Model

    def __init__(self, model: Model, budget: Budget | None = None, sink: TraceSink | None = None) -> None:
        super().__init__(model, budget, sink)

    def score(self, task: Task, answer: str | None) -> bool | None:
        return None if task.answer is None else same_answer(answer, task.answer, task.kind)


async def gather_within_budget(aws: Iterable[Awaitable[T]]) -> list[T | None]:
    """Run concurrently; an awaitable stopped by the budget gives None, other errors propagate."""
    out = await asyncio.gather(*aws, return_exceptions=True)
    for x in out:
        if isinstance(x, BaseException) and not isinstance(x, BudgetExhausted):
            raise x
    return [None if isinstance(x, BaseException) else x for x in out]
