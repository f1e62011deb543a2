"""`ponder data …`: reasoning data for training, generated as stored, resumable runs and written
as JSONL in TRL's formats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from ponder.cli.common import guard, out
from ponder.cli.eval import RunFlags, exit_if_errored, run_plans
from ponder.cli.options import (
    CacheOpt,
    ConcurrencyOpt,
    ConnectTimeoutOpt,
    DataDirOpt,
    LimitOpt,
    MaxErrorsOpt,
    ModelOpt,
    RetryErrorsOpt,
    StoreOpt,
    TimeoutOpt,
    checked,
    one_of,
)
from ponder.eval.limits import DEFAULT_MAX_ERRORS
from ponder.strategies.options import COUNT, NON_NEGATIVE, SEED, UNIT

Opt = typer.Option
T = TypeVar("T")
data_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Reasoning data for training: rejection-sampled chains, step labels, traces with backtracking.",
)
DataTaskArg = Annotated[
    str, typer.Argument(help="Benchmark spec of the training items (default gsm8k:train).")
]
JsonlOut = Annotated[Path, Opt("--out", help="The JSONL file to write.")]


def _write(path: Path, write: Callable[[], T]) -> T:
    """`write()`, an OSError it raises named as --out's."""
    from ponder.errors import ConfigError

    try:
        return write()
    except OSError as e:
        raise ConfigError(f"--out {path}: {e.strerror or e}") from None


def _read_results(
    store: Path | None, run_id: int, since: float = 0.0
) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """The run's row, its results, and those of them stored at or after `since` (a time.time())."""
    from ponder.store import Store
    from ponder.store.codec import result_from_row

    with Store(store, readonly=True) as s:
        run = s.run(run_id)
        assert run is not None
        rows = s.result_rows(run_id)
    results = [result_from_row(r) for r in rows]
    return run, results, [r for r, row in zip(results, rows) if row["created_at"] >= since]


@data_app.command()
def reject(
    ctx: typer.Context,
    task: DataTaskArg = "gsm8k:train",
    k: Annotated[int, Opt("--k", help="Chains sampled per item.", callback=checked(COUNT))] = 8,
    temperature: Annotated[
        float, Opt("--temperature", help="Sampling temperature.", callback=checked(NON_NEGATIVE))
    ] = 0.8,
    prompt: Annotated[
        str,
        Opt(
            "--prompt",
            help="How chains are asked for: cot or chain-of-draft.",
            callback=one_of("cot", "chain-of-draft"),
        ),
    ] = "cot",
    max_tokens: Annotated[
        int, Opt("--max-tokens", help="Most tokens of a chain.", callback=checked(COUNT))
    ] = 512,
    seed: Annotated[int, Opt("--seed", help="Sampling seed.", callback=checked(SEED))] = 0,
    select: Annotated[
        str,
        Opt(
            "--select",
            help="shortest: the shortest correct chain per item; all: every correct one, once.",
            callback=one_of("shortest", "all"),
        ),
    ] = "shortest",
    out_file: JsonlOut = Path("sft.jsonl"),
    model: ModelOpt = None,
    store: StoreOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    data_dir: DataDirOpt = None,
    cache: CacheOpt = True,
    timeout: TimeoutOpt = None,
    connect_timeout: ConnectTimeoutOpt = None,
    max_errors: MaxErrorsOpt = DEFAULT_MAX_ERRORS,
    retry_errors: RetryErrorsOpt = True,
) -> None:
    """Sample --k chains per item and keep the correct ones (rejection sampling), as TRL's
    conversational SFT rows with provenance; prints the yield and the lengths of kept against all
    chains, and writes their histogram beside --out (.lengths.png). The samples are a stored run:
    rerunning resumes it, and a larger --limit extends it."""
    from ponder.datagen.plots import length_histogram
    from ponder.datagen.rejection import reject as keep_correct
    from ponder.datagen.rejection import sft_rows
    from ponder.datagen.rows import write_jsonl
    from ponder.eval.evaluate import Plan

    run = RunFlags.of(ctx)
    options: dict[str, Any] = {
        "k": k,
        "temperature": temperature,
        "prompt": prompt,
        "max_tokens": max_tokens,
        "seed": seed,
    }
    if prompt == "cot":
        options["extract_call"] = False
    [outcome] = run_plans(
        task, [Plan("self-consistency", options, "rejection sampling")], run, kind="data-reject"
    )
    stored, results, _ = _read_results(run.store, outcome.run_id)
    kept, report = keep_correct(results, select)
    plot = out_file.with_suffix(".lengths.png")
    n = guard(lambda: _write(out_file, lambda: write_jsonl(out_file, sft_rows(kept, stored))))
    guard(lambda: _write(plot, lambda: plot.write_bytes(length_histogram(report))))
    _show_rejection(report.summary())
    out.print(
        f"wrote {n} rows to {out_file}; length histogram {plot}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    exit_if_errored([outcome], run)


def _show_rejection(s: dict[str, Any]) -> None:
    out.print(
        f"{s['items']} items, {s['chains']} chains, {s['correct']} correct; "
        f"{s['items_with_a_kept_chain']} items kept a chain (mean yield {s['mean_yield']:.1%}); {s['kept']} rows",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    table = Table("chains", "mean", "p25", "median", "p75", "max", title="length (tokens)")
    for name, key in (("all", "all_lengths"), ("kept", "kept_lengths")):
        d = s[key]
        if d is None:
            table.add_row(name, "-", "-", "-", "-", "-")
        else:
            table.add_row(name, *(f"{d[c]:.0f}" for c in ("mean", "p25", "median", "p75", "max")))
    out.print(table)


@data_app.command()
def steps(
    ctx: typer.Context,
    task: DataTaskArg = "gsm8k:train",
    chains: Annotated[int, Opt("--chains", help="Chains sampled per item.", callback=checked(COUNT))] = 2,
    m: Annotated[int, Opt("--m", help="Rollouts from the end of each step.", callback=checked(COUNT))] = 4,
    temperature: Annotated[
        float,
        Opt("--temperature", help="Temperature of the chains and rollouts.", callback=checked(NON_NEGATIVE)),
    ] = 0.7,
    max_tokens: Annotated[
        int, Opt("--max-tokens", help="Most tokens of a chain.", callback=checked(COUNT))
    ] = 256,
    rollout_tokens: Annotated[
        int, Opt("--rollout-tokens", help="Most tokens of a rollout.", callback=checked(COUNT))
    ] = 256,
    threshold: Annotated[
        float,
        Opt(
            "--threshold",
            help="A step is good when the share of its rollouts reaching the gold answer is above this (0: any).",
            callback=checked(UNIT),
        ),
    ] = 0.0,
    seed: Annotated[int, Opt("--seed", help="Sampling seed.", callback=checked(SEED))] = 0,
    out_file: JsonlOut = Path("steps.jsonl"),
    model: ModelOpt = None,
    store: StoreOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    data_dir: DataDirOpt = None,
    cache: CacheOpt = True,
    timeout: TimeoutOpt = None,
    connect_timeout: ConnectTimeoutOpt = None,
    max_errors: MaxErrorsOpt = DEFAULT_MAX_ERRORS,
    retry_errors: RetryErrorsOpt = True,
) -> None:
    """Monte-Carlo step labels (Math-Shepherd): sample --chains chains per item, and label each step
    by the share of --m rollouts from its end that reach the gold answer; writes TRL's
    stepwise-supervision rows (prompt, completions = steps, labels) with the soft labels and
    provenance, and prints the rollouts per second. Stored and resumable like `ponder eval`."""
    import time

    from ponder.datagen.rows import write_jsonl
    from ponder.datagen.step_labels import LABELLER_OPTIONS, build_labeller, rollouts_made, step_rows
    from ponder.eval.evaluate import Plan

    run = RunFlags.of(ctx)
    options = {
        "chains": chains,
        "m": m,
        "temperature": temperature,
        "rollout_temperature": temperature,
        "max_tokens": max_tokens,
        "rollout_tokens": rollout_tokens,
        "seed": seed,
    }
    started = time.time()
    [outcome] = run_plans(
        task,
        [Plan("step-labels", options, "step labels")],
        run,
        build=build_labeller,
        allowed={"step-labels": LABELLER_OPTIONS},
        kind="data-steps",
    )
    wall = time.time() - started
    stored, results, fresh = _read_results(run.store, outcome.run_id, started)
    rows = step_rows(results, stored, threshold)
    n = guard(lambda: _write(out_file, lambda: write_jsonl(out_file, rows)))
    made = rollouts_made(fresh)
    labels = [label for row in rows for label in row["labels"]]
    good = sum(labels) / len(labels) if labels else 0.0
    out.print(
        f"{len(results)} items, {n} labelled chains, {len(labels)} steps ({good:.0%} good); "
        f"{made} rollouts made in {wall:.1f} s ({made / wall if wall > 0 else 0:.2f} rollouts/s)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    out.print(f"wrote {n} rows to {out_file}", markup=False, highlight=False, soft_wrap=True)
    exit_if_errored([outcome], run)


@data_app.command()
def backtrack(
    ctx: typer.Context,
    task: DataTaskArg = "gsm8k:train",
    expand: Annotated[
        int, Opt("--expand", help="Candidate next steps per step.", callback=checked(COUNT))
    ] = 3,
    verifier: Annotated[
        str,
        Opt(
            "--verifier",
            help="rollouts: the share of rollouts from the step reaching the gold answer; judge: the LLM step judge.",
            callback=one_of("rollouts", "judge"),
        ),
    ] = "rollouts",
    threshold: Annotated[
        float, Opt("--threshold", help="A step scoring below this is rejected.", callback=checked(UNIT))
    ] = 0.5,
    rollouts: Annotated[
        int,
        Opt("--rollouts", help="Rollouts per scored step (--verifier rollouts).", callback=checked(COUNT)),
    ] = 4,
    max_depth: Annotated[int, Opt("--max-depth", help="Most steps of a path.", callback=checked(COUNT))] = 10,
    max_nodes: Annotated[
        int, Opt("--max-nodes", help="Most steps scored per item.", callback=checked(COUNT))
    ] = 24,
    temperature: Annotated[
        float,
        Opt(
            "--temperature", help="Temperature of the proposals and rollouts.", callback=checked(NON_NEGATIVE)
        ),
    ] = 0.7,
    with_mistakes_only: Annotated[
        bool, Opt("--with-mistakes-only/--all-traces", help="Write only traces with a rejected step.")
    ] = False,
    seed: Annotated[int, Opt("--seed", help="Sampling seed.", callback=checked(SEED))] = 0,
    out_file: JsonlOut = Path("backtrack.jsonl"),
    model: ModelOpt = None,
    store: StoreOpt = None,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = None,
    data_dir: DataDirOpt = None,
    cache: CacheOpt = True,
    timeout: TimeoutOpt = None,
    connect_timeout: ConnectTimeoutOpt = None,
    max_errors: MaxErrorsOpt = DEFAULT_MAX_ERRORS,
    retry_errors: RetryErrorsOpt = True,
) -> None:
    """Search traces with backtracking: a depth-first search over steps guided by a verifier, whose
    rejected steps stay in the trace followed by a correction; the traces that reach the gold
    answer are written as conversational SFT rows. Stored and resumable like `ponder eval`."""
    from ponder.datagen.backtrack import SEARCH_OPTIONS, build_search, trace_rows
    from ponder.datagen.rows import write_jsonl
    from ponder.details import BacktrackDetails
    from ponder.eval.evaluate import Plan

    run = RunFlags.of(ctx)
    options = {
        "expand": expand,
        "verifier": verifier,
        "threshold": threshold,
        "rollouts": rollouts,
        "max_depth": max_depth,
        "max_nodes": max_nodes,
        "temperature": temperature,
        "seed": seed,
    }
    [outcome] = run_plans(
        task,
        [Plan("backtrack", options, "backtracking search")],
        run,
        build=build_search,
        allowed={"backtrack": SEARCH_OPTIONS},
        kind="data-backtrack",
    )
    stored, results, _ = _read_results(run.store, outcome.run_id)
    rows = trace_rows(results, stored, with_mistakes_only)
    n = guard(lambda: _write(out_file, lambda: write_jsonl(out_file, rows)))
    details = [r.details for r in results if isinstance(r.details, BacktrackDetails)]
    right = sum(1 for r in results if r.correct is True)
    mistakes = sum(1 for r in results if r.correct is True and r.details.rejected)
    out.print(
        f"{len(results)} items: {right} reached the gold answer, {mistakes} with a rejected step, "
        f"{sum(d.backtracks for d in details)} backtracks; wrote {n} rows to {out_file}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    exit_if_errored([outcome], run)
