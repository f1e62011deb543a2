"""Run one strategy over a benchmark's tasks, resumably.

A run is what it ran, not what was typed: its identity (`RunSpec.identity`, stored in
`runs.identity`) is the sha256 of the canonical JSON of the kind, the model's identity
(`model_id`: the weights' sha256 prefix for local models, the model and redacted URL for
servers), the task spec, the sha256 of the content of the whole benchmark as loaded (each task's
id, question, gold answer and answer kind, before any item limit), and the strategy's resolved
configuration (`config()`: every option with its default, the prompt templates' and exemplars'
sha256, the answer extraction's version). Running the same thing again finds the run in the store
and answers only the tasks it has no result for, so a killed run resumes and a finished one makes
no model call; a changed default, template, exemplar file or benchmark file makes a new run. The
item limit and the concurrency are not part of the identity: a larger `--limit` later extends the
same run. Options typed as their defaults are the same run as options left out; the options as
first typed stay in the run's config for its label. Runs stored before identities existed are
never found again. A spec without a resolved configuration (a caller that has no strategy object)
is identified by its options instead.

Every result is written (and committed) as soon as its task finishes, before the next one is
taken up; every model call is logged under its run and task as it returns (the task's trace is
given the store's sink, `Store.call_sink`).

An item whose calls keep failing (the backend gave up retrying a transient error or a malformed
reply) or whose strategy raised an unexpected exception is stored as errored, with the error, and
the other items go on; a resumed run tries errored items again (`retry_errors`). The run fails as
a whole only when more items errored than `ErrorLimit` allows, or on a fatal error (a refused
request, a missing model, a store that cannot be written), which stops it at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ponder.details import UnansweredDetails
from ponder.errors import ContextOverflow, PonderError, RunFailed, TransientModelError
from ponder.eval.limits import ErrorLimit
from ponder.models import Model
from ponder.models.cached import CachedModel
from ponder.store import Store
from ponder.strategies import Strategy
from ponder.strategies.config import canonical_sha256
from ponder.types import Compute, Result, Task, Trace

RUN_KIND = "eval"


@dataclass(frozen=True)
class RunSpec:
    """What identifies a run: the same spec finds the same run. `model` is the model's
    `model_id`; `options` as typed (the run's label); `resolved` the strategy's `config()`;
    `tasks_sha256` the benchmark's content (`tasks_sha256`)."""

    model: str
    task: str
    strategy: str
    options: dict[str, Any]
    kind: str = RUN_KIND
    resolved: dict[str, Any] | None = None
    tasks_sha256: str | None = None

    def config(self) -> dict[str, Any]:
        """What the store keeps of the spec (`runs.config`)."""
        out = {"task": self.task, "options": _plain(self.options)}
        if self.resolved is not None:
            out["resolved"] = self.resolved
        if self.tasks_sha256 is not None:
            out["tasks_sha256"] = self.tasks_sha256
        return out

    def identity(self) -> str:
        ran = self.resolved if self.resolved is not None else {"options": _plain(self.options)}
        return canonical_sha256(
            {
                "kind": self.kind,
                "model": self.model,
                "task": self.task,
                "tasks_sha256": self.tasks_sha256,
                "strategy": self.strategy,
                "config": ran,
            }
        )


def tasks_sha256(tasks: Iterable[Task]) -> str:
    """sha256 of the tasks' content, in order: id, question, gold answer and answer kind of each
    (read from the loaded tasks, so it is the same wherever the data came from)."""
    return canonical_sha256([[t.id, t.question, t.answer, t.kind] for t in tasks])


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(
        json.dumps({k: v for k, v in options.items() if v is not None}, default=str)
    )
    return plain


def find_run(store: Store, spec: RunSpec) -> int | None:
    run = store.run_with_identity(spec.identity())
    return None if run is None else int(run["id"])


def open_run(store: Store, spec: RunSpec) -> int:
    """The run for this spec, created if the store has none."""
    return store.find_or_start_run(spec.kind, spec.model, spec.strategy, spec.config(), spec.identity())


@dataclass
class Progress:
    """Running totals a progress display reads after every result. `done` counts answered items
    (accuracy is over them); `errored` the items that could not be answered, `last_error` the
    message of the latest."""

    total: int
    done: int = 0
    correct: int = 0
    tokens: int = 0
    resumed: int = 0
    errored: int = 0
    last_error: str | None = None

    @property
    def finished(self) -> int:
        return self.done + self.errored

    @property
    def accuracy(self) -> float:
        return self.correct / self.done if self.done else 0.0

    def add(self, correct: bool | None, tokens: int) -> None:
        self.done += 1
        self.correct += bool(correct)
        self.tokens += tokens


def _item_error(e: BaseException) -> str | None:
    """The message under which an item is stored as errored, or None when `e` must stop the run:
    a transient failure the backend gave up on, or an unexpected exception inside the strategy.
    Fatal model errors, bad configuration, store failures, assertions (the scripted test model)
    and cancellation stop the run."""
    if isinstance(e, TransientModelError):
        return str(e)
    if isinstance(e, (PonderError, AssertionError)) or not isinstance(e, Exception):
        return None
    return f"{type(e).__name__}: {e}"


async def run_tasks(
    strategy: Strategy,
    model: Model,
    tasks: Sequence[Task],
    store: Store,
    run_id: int,
    concurrency: int = 1,
    cache: bool = True,
    on_result: Callable[[Progress], None] | None = None,
    max_errors: ErrorLimit | None = None,
    retry_errors: bool = True,
) -> Progress:
    """Answer every task of `tasks` that has no result in the run yet; return the totals.

    Up to `concurrency` tasks are in flight at once; each task's events go to the store's sink as
    they happen. An item too long for the model's context is stored as unanswered, the error in its
    details (`UnansweredDetails`). An item whose calls keep failing is stored as errored
    (`Result.error`) and the others go on; with `retry_errors`, items stored as errored by an
    earlier invocation are tried again. When more items have errored than
    `max_errors` allows (default: none), the items in flight are cancelled and RunFailed is
    raised; any other fatal error stops the run after the results already written.
    """
    finished = {r["task_id"]: r for r in store.results_summary(run_id)}
    if retry_errors:
        finished = {k: r for k, r in finished.items() if r.get("error") is None}
    progress = Progress(total=len(tasks))
    for task in tasks:
        if task.id in finished:
            r = finished[task.id]
            if r.get("error") is not None:
                progress.errored += 1
                progress.last_error = r["error"]
            else:
                progress.add(r["correct"], r["prompt_tokens"] + r["completion_tokens"])
            progress.resumed += 1
    pending = [t for t in tasks if t.id not in finished]
    allowed = (max_errors or ErrorLimit(count=0)).of(len(tasks))
    if on_result:
        on_result(progress)
    _check_errors(progress, allowed, max_errors, run_id)
    if not pending:
        return progress
    wrapped = CachedModel(model, store, read=cache)
    queue: asyncio.Queue[Task] = asyncio.Queue()
    for t in pending:
        queue.put_nowait(t)

    async def worker() -> None:
        while not queue.empty():
            task = queue.get_nowait()
            try:
                result = await strategy.run(task, wrapped, store.call_sink(run_id, task.id))
            except ContextOverflow as e:
                result = failed_result(task, strategy.name, str(e))
            except Exception as e:
                message = _item_error(e)
                if message is None:
                    raise
                result = errored_result(task, strategy.name, message)
            result = dataclasses.replace(result, model=model.model_id)
            store.add_result(run_id, result)
            if result.error is not None:
                progress.errored += 1
                progress.last_error = result.error
            else:
                progress.add(result.correct, result.compute.tokens)
            if on_result:
                on_result(progress)
            _check_errors(progress, allowed, max_errors, run_id)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(pending))))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return progress


def _check_errors(progress: Progress, allowed: int, limit: ErrorLimit | None, run_id: int) -> None:
    if progress.errored > allowed:
        how = f"--max-errors {limit.text}" if limit is not None and limit.text else "none allowed"
        raise RunFailed(
            f"run {run_id} stopped: {progress.errored} of {progress.total} items errored "
            f"({how}); the last error: {progress.last_error}"
        )


def errored_result(task: Task, strategy: str, error: str) -> Result:
    """An item that could not be answered: no answer, not scored, the error kept for the retry."""
    return Result(
        task=task,
        strategy=strategy,
        answer=None,
        reasoning="",
        correct=None,
        trace=Trace(),
        compute=Compute(),
        error=error,
    )


def failed_result(task: Task, strategy: str, error: str) -> Result:
    return Result(
        task=task,
        strategy=strategy,
        answer=None,
        reasoning="",
        correct=None if task.answer is None else False,
        trace=Trace(),
        compute=Compute(),
        details=UnansweredDetails(error),
    )
