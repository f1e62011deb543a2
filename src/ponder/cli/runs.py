"""`ponder runs` (the stored runs; `runs show ID`, one run's configuration; `runs export ID`, its
samples as JSONL or CSV) and `ponder rescore`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ponder.cli.common import guard, out
from ponder.cli.options import RunIdsArg, StoreOpt

runs_app = typer.Typer(add_completion=False, help="List the stored runs, or show one.")

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
    from ponder.report.data import label_of
    from ponder.store import Store

    def rows() -> list[tuple[Any, int]]:
        with Store(store, readonly=True) as s:
            return [(r, len(s.results_summary(r["id"]))) for r in s.runs()]

    table = Table(title="runs")
    for col in ("id", "identity", "kind", "task", "strategy", "model", "results", "status"):
        table.add_column(col, no_wrap=col == "identity")
    for r, n in guard(rows):
        config = json.loads(r["config"])
        table.add_row(
            str(r["id"]),
            (r["identity"] or "-")[:IDENTITY_SHOWN],
            escape(r["kind"]),
            escape(str(config.get("task", ""))),
            escape(label_of(r["strategy"] or "", config.get("options", {}))),
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
    from ponder.errors import ConfigError
    from ponder.store import Store

    def find() -> dict[str, Any]:
        with Store(store or ctx.obj, readonly=True) as s:
            run = s.run(run_id)
            if run is None:
                raise ConfigError(f"run {run_id} is not in the store {s.path}")
            return {**run, "results": len(s.results_summary(run_id))}

    run = guard(find)
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


@runs_app.command("export")
def runs_export(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="Run id (see `ponder runs`).")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl (with details and trace) or csv.")] = "jsonl",
    out_file: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    show: Annotated[
        str | None,
        typer.Option(
            "--show", help="Only the samples of one status: correct, wrong, noanswer, errored, ungraded."
        ),
    ] = None,
    store: StoreOpt = None,
) -> None:
    """Write a run's samples, one per result in the order written: JSONL (one JSON object a line,
    with details and trace) or CSV (the flat columns, a header row). With --out, prints how many
    samples were written."""
    from ponder.errors import ConfigError
    from ponder.store import Store
    from ponder.store.browse import STATUSES, SampleQuery
    from ponder.store.samples import FORMATS, sample_records

    def export() -> int:
        if fmt not in FORMATS:
            raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if show is not None and show not in STATUSES:
            raise ConfigError(f"--show must be one of {', '.join(STATUSES)}, got {show!r}")
        count = 0
        with Store(store or ctx.obj, readonly=True) as s:
            for_export = sample_records(s, run_id, SampleQuery(show), full=fmt == "jsonl")

            def records() -> Iterator[dict[str, Any]]:
                nonlocal count
                for record in for_export:
                    count += 1
                    yield record

            if out_file is None:
                for chunk in FORMATS[fmt](records()):
                    sys.stdout.write(chunk)
                return count
            try:
                with open(out_file, "w", encoding="utf-8", newline="") as f:
                    for chunk in FORMATS[fmt](records()):
                        f.write(chunk)
            except OSError as e:
                raise ConfigError(f"cannot write {out_file}: {e.strerror or e}") from None
        return count

    count = guard(export)
    if out_file is not None:
        out.print(
            f"run {run_id}: {count} samples written to {out_file}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def rescore(runs: RunIdsArg, store: StoreOpt = None) -> None:
    """Read the stored outputs of runs again with the current answer extraction and scoring, and
    store each as a new run (kind rescore); no model is called. Prints the items that changed."""
    from ponder.eval.rescore import rescore_runs

    for r in guard(lambda: rescore_runs(store, runs)):
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
