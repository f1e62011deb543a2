"""`ponder eval` and `ponder compare` as library calls: spec strings in, runs in the store out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ponder.errors import ConfigError
from ponder.eval.limits import DEFAULT_MAX_ERRORS, parse_max_errors
from ponder.eval.runner import Progress, RunSpec, open_run, run_tasks, tasks_sha256
from ponder.models import Closable, default_spec, get_model
from ponder.models.cached import CachedModel
from ponder.redact import redact_spec
from ponder.store import Store
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


HTTP_KINDS = ("openai",)


def _models(
    model_spec: str | None, verifier_model: str | None, model_options: dict[str, Any] | None
) -> tuple[Any, Any]:
    """The model and the judge; `model_options` (HTTP timeouts) go to the specs of HTTP backends,
    and are refused when neither is one."""
    options = {k: v for k, v in (model_options or {}).items() if v is not None}
    specs = [model_spec or default_spec()] + ([verifier_model] if verifier_model else [])
    is_http = [s.strip().partition(":")[0] in HTTP_KINDS for s in specs]
    if options and not any(is_http):
        flags = ", ".join("--" + k.replace("_", "-") for k in sorted(options))
        raise ConfigError(f"{flags} apply to openai:MODEL@URL models, not {redact_spec(specs[0])!r}")
    model = get_model(specs[0], **(options if is_http[0] else {}))
    judge = get_model(specs[1], **(options if is_http[1] else {})) if verifier_model else None
    return model, judge


async def evaluate(
    task: str,
    plans: Sequence[Plan],
    model_spec: str | None = None,
    store_path: Path | str | None = None,
    limit: int | None = None,
    concurrency: int = 1,
    cache: bool = True,
    data_dir: Path | str | None = None,
    verifier_model: str | None = None,
    task_options: dict[str, Any] | None = None,
    on_progress: Callable[[str, Progress], None] | None = None,
    build: Callable[..., Any] = build_strategy,
    allowed: dict[str, set] = ALLOWED,
    kind: str = "eval",
    model_options: dict[str, Any] | None = None,
    max_errors: str = DEFAULT_MAX_ERRORS,
    retry_errors: bool = True,
) -> list[Outcome]:
    """Run each plan over the same tasks, one plan after the other; every result is stored as it
    finishes and a rerun resumes. Bad task files and bad options fail before any model call.

    `build(name, **options)` makes what each plan names (strategies by default; the faithfulness
    probes pass their own) and `allowed` says which options each takes; `kind` marks the runs.
    `model_options`: timeouts for HTTP backends. Items that error are stored as such and the run
    goes on (status "errored" at the end) unless more than `max_errors` (`20` items or `10%`)
    error, which raises RunFailed; `retry_errors` tries a resumed run's errored items again.

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
    model, judge = _models(model_spec, verifier_model, model_options)
    outcomes = []
    try:
        with Store(store_path) as store:
            wrapped_judge = CachedModel(judge, store, read=cache) if judge is not None else None
            strategies = [
                build(p.strategy, verifier_model=wrapped_judge, data_dir=data_dir, **p.options) for p in plans
            ]
            if bench.attempts > 1:
                strategies = [Attempts(s, bench.attempts) for s in strategies]
            for plan, strategy in zip(plans, strategies):
                options = dict(plan.options)
                if judge is not None:
                    options["verifier_model"] = judge.model_id
                run_id = open_run(
                    store,
                    RunSpec(
                        model.model_id, spec_task, plan.strategy, options, kind, strategy.config(), content
                    ),
                )
                label = plan.label or plan.strategy
                try:
                    progress = await run_tasks(
                        strategy,
                        model,
                        tasks,
                        store,
                        run_id,
                        concurrency,
                        cache,
                        (lambda p, label=label: on_progress(label, p)) if on_progress else None,
                        limit_errors,
                        retry_errors,
                    )
                except BaseException:
                    store.finish_run(run_id, "failed")
                    raise
                status = (
                    "errored" if progress.errored else "done" if progress.done == len(tasks) else "partial"
                )
                store.finish_run(run_id, status)
                outcomes.append(Outcome(run_id, label, progress, status))
    finally:
        for m in (model, judge):
            if isinstance(m, Closable):
                await m.aclose()
    return outcomes


def with_defaults(plan: Plan, defaults: dict[str, Any], allowed: dict[str, set] = ALLOWED) -> Plan:
    """The benchmark's default options (e.g. ARC's longer answers) where the plan leaves them unset
    and its strategy takes them."""
    extra = {
        k: v
        for k, v in defaults.items()
        if plan.options.get(k) is None and k in allowed.get(plan.strategy, ())
    }
    return Plan(plan.strategy, {**extra, **plan.options}, plan.label) if extra else plan
