"""A conversation as a strategy's result: the answer it reached, the transcript as the reasoning,
every event as the trace, and what it cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from ponder.agents.chat import ChatResult
from ponder.details import ChatDetails
from ponder.tasks.answers import same_answer
from ponder.types import Compute, Details, Event, Result, Task, Trace


def chat_fields(chat: ChatResult) -> dict[str, Any]:
    """The chat's details as keyword arguments, for the details that extend `ChatDetails`."""
    details = chat.details()
    return {f.name: getattr(details, f.name) for f in fields(ChatDetails)}


def scored_chat(
    task: Task,
    strategy: str,
    chat: ChatResult,
    answer: str | None,
    seconds: float,
    *,
    correct: bool | None = None,
    details: Details | None = None,
    more_events: Sequence[Event] = (),
) -> Result:
    """The result of a conversation about `task` that answered `answer`: `correct` as given, else
    the answer compared with the gold one; `details` the chat's unless given; `more_events` (a test
    run after the chat) are added to its trace."""
    if correct is None and task.answer is not None:
        correct = same_answer(answer, task.answer, task.kind)
    events = (*chat.events, *more_events)
    return Result(
        task=task,
        strategy=strategy,
        answer=answer,
        reasoning="\n\n".join(f"{m.speaker}: {m.content}" for m in chat.messages[1:]),
        correct=correct,
        trace=Trace(events),
        compute=Compute.of(events, seconds),
        details=details if details is not None else chat.details(),
    )
