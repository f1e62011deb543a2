"""A conversation kept in the store as a run (kind "chat") of one result: the opening message as
its question, the last message as its reasoning, every message (`Utterance`), model call, tool call
and execution as its trace in order, and why it stopped and each agent's cost as its details. The
model calls go to the calls table as they happen; the result is written when the chat ends."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from ponder.agents.chat import ChatResult
from ponder.store import Store
from ponder.trace import TraceSink
from ponder.types import Compute, Details, Result, Task, Trace

RUN_KIND = "chat"


def chat_result(
    task: Task,
    label: str,
    chat: ChatResult,
    seconds: float,
    model: str | None = None,
    details: Details | None = None,
) -> Result:
    """The stored form of a finished conversation (`details`: the chat's own when not given)."""
    return Result(
        task=task,
        strategy=label,
        answer=None,
        reasoning=chat.summary,
        correct=None,
        trace=Trace(chat.events),
        compute=Compute.of(chat.events, seconds),
        details=chat.details() if details is None else details,
        model=model,
    )


async def stored_chat(
    store: Store,
    label: str,
    model: str,
    config: dict[str, Any],
    opening: str,
    run: Callable[[TraceSink], Awaitable[ChatResult]],
    details: Callable[[ChatResult], Details] | None = None,
) -> tuple[int, ChatResult]:
    """Run a conversation (`run`, given the sink for its model calls) as a run of the store; its id
    and result. The result's details are `details(chat)` when given, else the chat's own
    (`ChatResult.details`). A conversation that raises leaves the run marked failed, its calls kept."""
    run_id = store.start_run(RUN_KIND, model, label, {"task": RUN_KIND, **config})
    task = Task(f"chat/{run_id}", opening, None, "open")
    start = time.perf_counter()
    try:
        chat = await run(store.call_sink(run_id, task.id))
    except BaseException:
        store.finish_run(run_id, "failed")
        raise
    kept = details(chat) if details is not None else None
    store.add_result(run_id, chat_result(task, label, chat, time.perf_counter() - start, model, kept))
    store.finish_run(run_id, "done")
    return run_id, chat
