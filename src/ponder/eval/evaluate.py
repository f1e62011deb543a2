"""`ponder eval` and `ponder compare` as library calls: a session and plans in, runs in the store out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ponder.eval.limits import DEFAULT_MAX_ERRORS, parse_max_errors
from ponder.eval.runner import Progress, RunSpec, open_run, run_tasks, tasks_sha256
from ponder.eval.session import Session
from ponder.models import preferred_concurrency
from ponder.strategies import Strategy
from ponder.strategies.attempts import Attempts
from ponder.strategies.registry import ALLOWED, build_strategy
from ponder.tasks.registry import canonical_spec, load_tasks, parse_spec


@dataclass(frozen=True)
class Plan:
    """One strategy to run: its name, its options, and a label for tables (default: the name)."""

    strategy: str
    options: dict[str, Any]
    label: str | None = None


@dataclass(frozen=True)
class Outcome:
    run_id: int
    label: str
    progress: Progress
    status: str = "done"


async def evaluate(
    session: Session,
    task: str,
    plans: Sequence[Plan],
    *,
    limit: int | None = None,
    concurrency: int | None = None,
    data_dir: Path | str | None = None,
    task_options: dict[str, Any] | None = None,
    on_progress: Callable[[str, Progress], None] | None = None,
    build: Callable[..., Strategy] = build_strategy,
    allowed: dict[str, set[str]] = ALLOWED,
    kind: str = "eval",
    max_errors: str = DEFAULT_MAX_ERRORS,
    retry_errors: bool = True,
) -> list[Outcome]:
    """Run each plan over the same tasks with the session's model, one plan after the other; every
    result is stored in the session's store as it finishes and a rerun resumes. Bad task files and
    bad options fail before any model is opened. The session stays open (its owner closes it).

    `build(name, **options)` makes what each plan names (strategies by default; the faithfulness
    probes pass their own) and `allowed` says which options each takes; `kind` marks the runs.
    `concurrency`: items in flight at once (default: what the model serves best, see
    `ponder.models.preferred_concurrency`). The session's judge, when it has one, is every plan's
    verifier. Items that error are stored as
    such and the run goes on (status "errored" at the end) unless more than `max_errors` (`20`
    items or `10%`) error, which raises RunFailed; `retry_errors` tries a resumed run's errored
    items again.

    Each run is found by its identity (see `eval.runner`): the strategy as built, the model, the
    task spec and the content of the whole benchmark, so that a larger `limit` extends it."""
    limit_errors = parse_max_errors(max_errors)
    benchmark = load_tasks(task, None, data_dir=data_dir, **(task_options or {}))
    tasks = benchmark if limit is None else benchmark[:limit]
    content = tasks_sha256(benchmark)
    bench, _ = parse_spec(task)
    plans = [with_defaults(p, dict(bench.defaults), allowed) for p in plans]
    spec_task = canonical_spec(task)
    if task_options:
        spec_task += " " + " ".join(f"{k}={v}" for k, v in sorted(task_options.items()) if v is not None)
    store, judge = session.store, session.judge
    strategies = [
        build(p.strategy, verifier_model=session.cached_judge(), data_dir=data_dir, **p.options)
        for p in plans
    ]
    if bench.attempts > 1:
        strategies = [Attempts(s, bench.attempts) for s in strategies]
    model = session.model
    outcomes = []
    for plan, strategy in zip(plans, strategies):
        options = dict(plan.options)
        if judge is not None:
            options["verifier_model"] = judge.model_id
        run_id = open_run(
            store,
            RunSpec(model.model_id, spec_task, plan.strategy, options, kind, strategy.config(), content),
        )
        store.plan_run(run_id, len(tasks))
        label = plan.label or plan.strategy
        report: Callable[[Progress], None] | None = None
        if on_progress is not None:
            report = partial(on_progress, label)
        try:
            progress = await run_tasks(
                strategy,
                model,
                tasks,
                store,
                run_id,
                concurrency or preferred_concurrency(model),
                session.cache,
                report,
                limit_errors,
                retry_errors,
            )
        except BaseException:
            store.finish_run(run_id, "failed")
            raise
        status = "errored" if progress.errored else "done" if progress.done == len(tasks) else "partial"
        store.finish_run(run_id, status)
        outcomes.append(Outcome(run_id, label, progress, status))
    return outcomes


def with_defaults(plan: Plan, defaults: dict[str, Any], allowed: dict[str, set[str]] = ALLOWED) -> Plan:
    """The benchmark's default options (e.g. ARC's longer answers) where the plan leaves them unset
    and its strategy takes them."""
    extra = {
        k: v
        for k, v in defaults.items()
        if plan.options.get(k) is None and k in allowed.get(plan.strategy, ())
    }
    return Plan(plan.strategy, {**extra, **plan.options}, plan.label) if extra else plan
