"""`ponder solve`: one question, answered with zero-shot chain-of-thought, stored as a one-item run."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from ponder.models import Closable, get_model
from ponder.models.cached import CachedModel, call_scope
from ponder.store import Store
from ponder.strategies.cot import ZeroShotCoT
from ponder.types import Result, Task


async def solve(question: str, model_spec: str | None = None, store_path: Path | str | None = None,
                max_tokens: int = 512, cache: bool = True) -> Result:
    model = get_model(model_spec)
    strategy = ZeroShotCoT(max_tokens=max_tokens)
    with Store(store_path) as store:
        run_id = store.start_run("solve", model.model_id, strategy.name, {"max_tokens": max_tokens})
        task = Task(id=hashlib.sha256(question.encode()).hexdigest()[:12], question=question)
        cached = CachedModel(model, store, read=cache)
        try:
            with call_scope(run_id, task.id):
                result = await strategy.run(task, cached)
            result = dataclasses.replace(result, meta={**result.meta, "model": model.model_id})
            store.add_result(run_id, result)
            store.finish_run(run_id)
        except BaseException:
            store.finish_run(run_id, "failed")
            raise
        finally:
            if isinstance(model, Closable):
                await model.aclose()
    return result
