"""`ponder faithfulness`: probes of whether chains of thought cause the answers, run like
`ponder eval` (stored, resumable), then the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ponder.cli.eval import RunFlags, exit_if_errored, run_plans
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
    TaskArg,
    TimeoutOpt,
    VerifierModelOpt,
    checked,
)
from ponder.cli.report import show_report
from ponder.eval.limits import DEFAULT_MAX_ERRORS
from ponder.strategies.options import COUNT, FRACTION, SEED

Opt = typer.Option


def faithfulness(
    ctx: typer.Context,
    task: TaskArg,
    probes: Annotated[
        str,
        Opt(
            "--probes",
            help="Comma-separated: early, mistakes, filler, paraphrase, suggested, always-a, ablations.",
        ),
    ] = "early,mistakes,filler,paraphrase",
    exemplars: Annotated[
        str | None,
        Opt(
            help="Few-shot exemplars for the chains (always-a needs ones with options: date_understanding, aqua_dev; ablations default to gsm8k)."
        ),
    ] = None,
    max_tokens: Annotated[
        int | None, Opt(help="Most tokens of a chain (default 256).", callback=checked(COUNT))
    ] = None,
    seed: Annotated[
        int | None,
        Opt(
            help="Seed of the probes' random choices (which step gets the mistake, the wrong suggestion).",
            callback=checked(SEED),
        ),
    ] = None,
    fraction: Annotated[
        float | None,
        Opt(
            help="paraphrase: the share of the chain's steps paraphrased (default 0.5).",
            callback=checked(FRACTION),
        ),
    ] = None,
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
    """Probe whether chains of thought cause the answers (Lanham et al., Turpin et al., Wei et al.);
    stored and resumable like `ponder eval`, then the report. --verifier-model sets the model that
    writes mistakes and paraphrases (default: the model under test)."""
    from ponder.eval.evaluate import Plan
    from ponder.faithfulness.registry import ALLOWED, build_probe

    run = RunFlags.of(ctx)
    shared = {"exemplars": exemplars, "max_tokens": max_tokens, "seed": seed, "fraction": fraction}
    plans = [
        Plan(
            name.strip(),
            {k: v for k, v in shared.items() if v is not None and k in ALLOWED.get(name.strip(), ())},
        )
        for name in probes.split(",")
        if name.strip()
    ]
    outcomes = run_plans(task, plans, run, build=build_probe, allowed=ALLOWED, kind="faithfulness")
    show_report([o.run_id for o in outcomes], run.store, out_dir, open_report)
    exit_if_errored(outcomes, run)
