"""`ponder solve`: one question, answered by a strategy, stored as a one-item run."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from ponder.models import Closable, get_model
from ponder.models.cached import CachedModel, call_scope
from ponder.store import Store
from ponder.strategies.registry import build_strategy
from ponder.types import Result, Task


async def solve(
    question: str,
    model_spec: str | None = None,
    store_path: Path | str | None = None,
    strategy: str = "cot",
    cache: bool = True,
    kind: str = "number",
    verifier_model: str | None = None,
    **options: Any,
) -> Result:
    """Answer `question` with the named strategy (options as in `build_strategy`)."""
    model = get_model(model_spec)
    judge = get_model(verifier_model) if verifier_model else None
    try:
        with Store(store_path) as store:
            wrapped_judge = CachedModel(judge, store, read=cache) if judge is not None else None
            chosen = build_strategy(strategy, verifier_model=wrapped_judge, **options)
            config = {k: v for k, v in options.items() if v is not None}
            if verifier_model:
                config["verifier_model"] = judge.model_id
            run_id = store.start_run("solve", model.model_id, strategy, config)
            task = Task(id=hashlib.sha256(question.encode()).hexdigest()[:12], question=question, kind=kind)
            try:
                with call_scope(run_id, task.id):
                    result = await chosen.run(task, CachedModel(model, store, read=cache))
                result = dataclasses.replace(result, meta={**result.meta, "model": model.model_id})
                store.add_result(run_id, result)
                store.finish_run(run_id)
            except BaseException:
                store.finish_run(run_id, "failed")
                raise
    finally:
        for m in (model, judge):
            if isinstance(m, Closable):
                await m.aclose()
    return result
