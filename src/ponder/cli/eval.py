"""`ponder eval` and `ponder compare`: strategies over a benchmark, stored and resumable; and
`run_plans`, how every command that runs over a benchmark runs its plans and reports them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from ponder.cli.common import EvalProgress, guard, in_session, out, print_error
from ponder.cli.options import (
    AnswerFieldOpt,
    CacheOpt,
    ConcurrencyOpt,
    ConnectTimeoutOpt,
    CountOpt,
    DataDirOpt,
    LimitOpt,
    MaxErrorsOpt,
    ModelOpt,
    OpenOpt,
    OutOpt,
    QuestionFieldOpt,
    RetryErrorsOpt,
    ScorerOpt,
    StoreOpt,
    StrategyOpt,
    TaskArg,
    TimeoutOpt,
    VerifierModelOpt,
)
from ponder.cli.report import show_report
from ponder.cli.strategy_flags import strategy_options
from ponder.eval.limits import DEFAULT_MAX_ERRORS
from ponder.strategies.options import parse_strategy_list


@dataclass(frozen=True)
class RunFlags:
    """The flags every run over a benchmark takes (eval, compare, faithfulness)."""

    model: str | None = None
    store: Path | None = None
    limit: int | None = None
    concurrency: int | None = None
    data_dir: Path | None = None
    verifier_model: str | None = None
    cache: bool = True
    question_field: str | None = None
    answer_field: str | None = None
    scorer: str | None = None
    count: int | None = None
    timeout: float | None = None
    connect_timeout: float | None = None
    max_errors: str = DEFAULT_MAX_ERRORS
    retry_errors: bool = True

    @classmethod
    def of(cls, ctx: typer.Context) -> RunFlags:
        """The run flags among the parameters the command was given."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in ctx.params.items() if k in names})

    def task_options(self) -> dict[str, Any]:
        """The benchmark loader's options that are set."""
        given = {
            "question_field": self.question_field,
            "answer_field": self.answer_field,
            "scorer": self.scorer,
            "count": self.count,
        }
        return {k: v for k, v in given.items() if v is not None}

    def model_options(self) -> dict[str, Any]:
        """The HTTP backends' timeouts that are set."""
        given = {"timeout": self.timeout, "connect_timeout": self.connect_timeout}
        return {k: v for k, v in given.items() if v is not None}


def run_plans(task: str, plans: list[Any], run: RunFlags, **how: Any) -> list[Any]:
    """Run the plans, then print a line per run. `how`: evaluate's build, allowed and kind (the
    probes use their own)."""
    from ponder.eval.evaluate import evaluate

    def go() -> list[Any]:
        with EvalProgress() as bars:
            return in_session(
                lambda session: evaluate(
                    session,
                    task,
                    plans,
                    limit=run.limit,
                    concurrency=run.concurrency,
                    data_dir=run.data_dir,
                    task_options=run.task_options(),
                    on_progress=bars,
                    max_errors=run.max_errors,
                    retry_errors=run.retry_errors,
                    **how,
                ),
                run.model,
                run.store,
                run.verifier_model,
                run.cache,
                run.model_options(),
            )

    outcomes = guard(go)
    retry = "rerun to retry them" if run.retry_errors else "rerun with --retry-errors to retry them"
    for o in outcomes:
        p = o.progress
        resumed = f", {p.resumed} already in the store" if p.resumed else ""
        errored = getattr(p, "errored", 0)
        failed = f", {errored} errored ({retry})" if errored else ""
        out.print(
            f"run {o.run_id} {o.label}: {p.correct}/{p.done} correct ({p.accuracy:.1%}), "
            f"{p.tokens:,} tokens{resumed}{failed}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return outcomes


def exit_if_errored(outcomes: list[Any], run: RunFlags) -> None:
    """Exit with status 1, after one error line, when items of the runs errored."""
    errored = sum(getattr(o.progress, "errored", 0) for o in outcomes)
    if errored:
        how = "" if run.retry_errors else " with --retry-errors"
        print_error(f"{errored} item(s) errored; rerun the same command{how} to retry them")
        raise typer.Exit(1)


def eval_command(
    ctx: typer.Context,
    task: TaskArg,
    strategy: StrategyOpt = "cot",
    model: ModelOpt = None,
    store: StoreOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    data_dir: DataDirOpt = None,
    verifier_model: VerifierModelOpt = None,
    cache: CacheOpt = True,
    question_field: QuestionFieldOpt = None,
    answer_field: AnswerFieldOpt = None,
    scorer: ScorerOpt = None,
    count: CountOpt = None,
    timeout: TimeoutOpt = None,
    connect_timeout: ConnectTimeoutOpt = None,
    max_errors: MaxErrorsOpt = DEFAULT_MAX_ERRORS,
    retry_errors: RetryErrorsOpt = True,
) -> None:
    """Run a strategy over a benchmark, storing each result as it finishes; rerun to resume."""
    from ponder.eval.evaluate import Plan

    run = RunFlags.of(ctx)
    options = {k: v for k, v in strategy_options(ctx).items() if v is not None}
    exit_if_errored(run_plans(task, [Plan(strategy, options)], run), run)


def compare(
    ctx: typer.Context,
    task: TaskArg,
    strategies: Annotated[
        str,
        typer.Option(
            "--strategies",
            help="Comma-separated, options in brackets: direct,cot,self-consistency[k=8,prompt=chain-of-draft].",
        ),
    ],
    out_dir: OutOpt = Path("ponder-report"),
    open_report: OpenOpt = False,
    model: ModelOpt = None,
    store: StoreOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    data_dir: DataDirOpt = None,
    verifier_model: VerifierModelOpt = None,
    cache: CacheOpt = True,
    question_field: QuestionFieldOpt = None,
    answer_field: AnswerFieldOpt = None,
    scorer: ScorerOpt = None,
    count: CountOpt = None,
    timeout: TimeoutOpt = None,
    connect_timeout: ConnectTimeoutOpt = None,
    max_errors: MaxErrorsOpt = DEFAULT_MAX_ERRORS,
    retry_errors: RetryErrorsOpt = True,
) -> None:
    """Run several strategies on the same items, then write the report. Flags apply to every
    strategy that takes them; bracketed options apply to one."""
    run = RunFlags.of(ctx)
    plans = guard(lambda: plans_of(strategies, strategy_options(ctx)))
    outcomes = run_plans(task, plans, run)
    show_report([o.run_id for o in outcomes], run.store, out_dir, open_report)
    exit_if_errored(outcomes, run)


def plans_of(strategies: str, flags: dict[str, Any]) -> list[Any]:
    """The plans of a `--strategies` list: each strategy's bracketed options over the flags that
    are set and that it takes."""
    from ponder.eval.evaluate import Plan
    from ponder.strategies.registry import ALLOWED

    shared = {k: v for k, v in flags.items() if v is not None}
    plans = []
    for label, name, own in parse_strategy_list(strategies):
        allowed = ALLOWED.get(name, set())
        plans.append(Plan(name, {**{k: v for k, v in shared.items() if k in allowed}, **own}, label))
    return plans
