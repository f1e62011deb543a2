"""`ponder solve`: one question, answered by a strategy, stored as a one-item run."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from ponder.eval.session import Session
from ponder.strategies.registry import build_strategy
from ponder.types import Result, Task


async def solve(
    session: Session,
    question: str,
    strategy: str = "cot",
    kind: str = "number",
    **options: Any,
) -> Result:
    """Answer `question` with the session's model and the named strategy (options as in
    `build_strategy`; the session's judge is its verifier), stored as a one-item run."""
    store, judge, model = session.store, session.judge, session.model
    chosen = build_strategy(strategy, verifier_model=session.cached_judge(), **options)
    config = {k: v for k, v in options.items() if v is not None}
    if judge is not None:
        config["verifier_model"] = judge.model_id
    run_id = store.start_run("solve", model.model_id, strategy, config)
    task = Task(id=hashlib.sha256(question.encode()).hexdigest()[:12], question=question, kind=kind)
    try:
        result = await chosen.run(task, session.cached(), store.call_sink(run_id, task.id))
        result = dataclasses.replace(result, model=model.model_id)
        store.add_result(run_id, result)
        store.finish_run(run_id)
    except BaseException:
        store.finish_run(run_id, "failed")
        raise
    return result
