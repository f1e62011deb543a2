"""A Result as the JSON of its row's `data` column, and back.

`data` holds the strategy, the task (question, gold answer, kind, meta), the trace (`trace`: each
event with its `event` kind), the details (`ponder.details`), the budget use and the model. The
row's own columns hold the task id, answer, correctness, reasoning, compute and error.

Rows written before the trace and details had types hold `calls` (model calls only) and a `meta`
dict instead; they read as the same Result with its details migrated (`details.from_meta`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from ponder import details as codec
from ponder.types import (
    BudgetUse,
    CodeExecution,
    Completion,
    Compute,
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

EVENTS: dict[str, type[Any]] = {
    "model_call": ModelCall,
    "tool_call": ToolCall,
    "code_execution": CodeExecution,
    "observation": Observation,
    "memory_write": MemoryWrite,
    "utterance": Utterance,
}
_KINDS = {cls: kind for kind, cls in EVENTS.items()}
COMPUTE_COLUMNS = tuple(f.name for f in dataclasses.fields(Compute))


def event_to_json(event: Event) -> dict[str, Any]:
    if isinstance(event, ModelCall):
        return {
            "event": "model_call",
            "model": event.model,
            "request": event.request.to_dict(),
            "purpose": event.purpose,
            "latency_s": event.latency_s,
            "completions": [x.to_dict() for x in event.completions],
        }
    return {"event": _KINDS[type(event)], **dataclasses.asdict(event)}


def event_from_json(d: Mapping[str, Any]) -> Event:
    """An event written by `event_to_json`; an entry without `event` is a model call as stored
    before other events existed."""
    kind = d.get("event", "model_call")
    if kind == "model_call":
        return ModelCall(
            GenerationRequest.from_dict(d["request"]),
            tuple(Completion.from_dict(x) for x in d["completions"]),
            d.get("latency_s", 0.0),
            d.get("purpose", "generate"),
            d.get("model"),
        )
    fields = {k: v for k, v in d.items() if k != "event"}
    event: Event = EVENTS[kind](**fields)
    return event


def result_data(result: Result) -> str:
    """The JSON of the row's `data` column."""
    data = {
        "strategy": result.strategy,
        "question": result.task.question,
        "gold": result.task.answer,
        "kind": result.task.kind,
        "task_meta": result.task.meta,
        "trace": [event_to_json(e) for e in result.trace],
        "details": codec.to_json(result.details),
        "budget": None if result.budget is None else dataclasses.asdict(result.budget),
        "model": result.model,
    }
    return json.dumps(data, default=str)


def result_from_row(row: Mapping[str, Any]) -> Result:
    """The Result a results row holds (see the module's docstring for rows of earlier versions)."""
    data = json.loads(row["data"] or "{}")
    strategy = data.get("strategy", "")
    task = Task(
        row["task_id"],
        data.get("question", ""),
        data.get("gold"),
        data.get("kind", "number"),
        data.get("task_meta") or {},
    )
    if "details" in data:
        details = codec.from_json(data["details"])
        budget = BudgetUse(**data["budget"]) if isinstance(data.get("budget"), dict) else None
        model = data.get("model")
    else:
        details, budget, model = codec.from_meta(strategy, data.get("meta") or {})
    events = data.get("trace", data.get("calls", ()))
    return Result(
        task=task,
        strategy=strategy,
        answer=row["answer"],
        reasoning=row["reasoning"],
        correct=None if row["correct"] is None else bool(row["correct"]),
        trace=Trace(tuple(event_from_json(e) for e in events)),
        compute=Compute(**{c: row[c] for c in COMPUTE_COLUMNS}),
        details=details,
        budget=budget,
        model=model,
        error=row["error"],
    )
